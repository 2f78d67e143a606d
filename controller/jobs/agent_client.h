#pragma once

// What a job asks of one host's agent, as values: each call returns the agent's answer or a
// status in the canonical codes (UNAVAILABLE when the agent cannot be reached, DEADLINE_EXCEEDED
// when it does not answer in time, CANCELLED when the job was, the agent's own code otherwise).
// GrpcAgentClient is the real one; tests use a fake (tests/controller/jobs/fake_agent_client.h).
//
// Every call runs under an AgentCall: for a job, the job's run, which can cancel the call in
// flight (a user's cancellation, a lost lease, the controller stopping) and takes the progress
// and log lines of long operations (install, overlay sync) for the job's event log; for an API
// request, a PlainAgentCall.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/jobs/agent_connector.h"
#include "controller/store/hosts.h"
#include "l4d2/agent/v1/agent_service.pb.h"

namespace l4d2::controller {

class AgentCall {
 public:
  virtual ~AgentCall() = default;
  // Registers how to cancel the call about to start; false when the job is cancelled already
  // (the call must not start). Detach once the call ended.
  virtual bool Attach(std::function<void()> cancel) = 0;
  virtual void Detach() = 0;
  // An event for the job's log: ("progress", JSON), ("log", a line), ("step", what happens).
  virtual void Event(const std::string& kind, std::string data) = 0;
};

// A call nobody cancels and whose events nobody keeps (an API request's).
class PlainAgentCall final : public AgentCall {
 public:
  bool Attach(std::function<void()>) override { return true; }
  void Detach() override {}
  void Event(const std::string&, std::string) override {}
};

class AgentClient {
 public:
  virtual ~AgentClient() = default;
  // Long operations, followed to their end: progress and log lines go to `call`.
  virtual absl::StatusOr<agent::v1::InstallResult> Install(const Host& host,
                                                           const agent::v1::InstallRequest& request,
                                                           AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::OverlaySyncResult> SyncOverlay(
      const Host& host, const agent::v1::SyncOverlayRequest& request, AgentCall& call) = 0;
  // One instance.
  virtual absl::StatusOr<agent::v1::Instance> InitializeInstance(
      const Host& host, const agent::v1::InitializeInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> StartInstance(
      const Host& host, const agent::v1::StartInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> StopInstance(
      const Host& host, const agent::v1::StopInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> RestartInstance(
      const Host& host, const agent::v1::RestartInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> ResetInstance(
      const Host& host, const agent::v1::ResetInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> GetInstance(
      const Host& host, const agent::v1::GetInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::Status DeleteInstance(const Host& host,
                                      const agent::v1::DeleteInstanceRequest& request,
                                      AgentCall& call) = 0;
  // The installed build beside the newest one Steam offers (steamcmd on the host: seconds).
  virtual absl::StatusOr<agent::v1::CheckForUpdateResponse> CheckForUpdate(
      const Host& host, const agent::v1::CheckForUpdateRequest& request, AgentCall& call) = 0;
  // A console command over RCON, with its output.
  virtual absl::StatusOr<agent::v1::ExecuteConsoleCommandResponse> ExecuteConsoleCommand(
      const Host& host, const agent::v1::ExecuteConsoleCommandRequest& request,
      AgentCall& call) = 0;
  // A server's player events after a cursor, and who is in the game now.
  virtual absl::StatusOr<agent::v1::ListPlayerEventsResponse> ListPlayerEvents(
      const Host& host, const agent::v1::ListPlayerEventsRequest& request, AgentCall& call) = 0;
  // The newest log lines (`request.follow()` must be false): every line the agent sends.
  virtual absl::StatusOr<std::vector<agent::v1::LogLine>> ReadLogs(
      const Host& host, const agent::v1::StreamLogsRequest& request, AgentCall& call) = 0;
  // Backups (agent/backup): taken, part of an archive read or written (a copy to another
  // host), restored, deleted.
  virtual absl::StatusOr<agent::v1::BackupInstanceResponse> BackupInstance(
      const Host& host, const agent::v1::BackupInstanceRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::BackupChunk> ReadBackup(
      const Host& host, const agent::v1::ReadBackupRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::WriteBackupResponse> WriteBackup(
      const Host& host, const agent::v1::WriteBackupRequest& request, AgentCall& call) = 0;
  virtual absl::StatusOr<agent::v1::Instance> RestoreBackup(
      const Host& host, const agent::v1::RestoreBackupRequest& request, AgentCall& call) = 0;
  virtual absl::Status DeleteBackup(const Host& host, const agent::v1::DeleteBackupRequest& request,
                                    AgentCall& call) = 0;
  // Follows an instance's log (`request.follow()` must be true): `on_batch` gets each batch as
  // it comes, until the agent ends the stream or the call is cancelled (CANCELLED). No deadline.
  virtual absl::Status FollowLogs(const Host& host, const agent::v1::StreamLogsRequest& request,
                                  const std::function<void(const agent::v1::LogBatch&)>& on_batch,
                                  AgentCall& call) = 0;
};

// Over gRPC, through `agents`' channels; each unary call bounded by `call_timeout`, streams by
// the agent's own limits. Thread-safe.
class GrpcAgentClient final : public AgentClient {
 public:
  GrpcAgentClient(AgentConnector& agents, absl::Duration call_timeout)
      : agents_(agents), call_timeout_(call_timeout) {}

  absl::StatusOr<agent::v1::InstallResult> Install(const Host& host,
                                                   const agent::v1::InstallRequest& request,
                                                   AgentCall& call) override;
  absl::StatusOr<agent::v1::OverlaySyncResult> SyncOverlay(
      const Host& host, const agent::v1::SyncOverlayRequest& request, AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> InitializeInstance(
      const Host& host, const agent::v1::InitializeInstanceRequest& request,
      AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> StartInstance(const Host& host,
                                                    const agent::v1::StartInstanceRequest& request,
                                                    AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> StopInstance(const Host& host,
                                                   const agent::v1::StopInstanceRequest& request,
                                                   AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> RestartInstance(
      const Host& host, const agent::v1::RestartInstanceRequest& request, AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> ResetInstance(const Host& host,
                                                    const agent::v1::ResetInstanceRequest& request,
                                                    AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> GetInstance(const Host& host,
                                                  const agent::v1::GetInstanceRequest& request,
                                                  AgentCall& call) override;
  absl::StatusOr<agent::v1::CheckForUpdateResponse> CheckForUpdate(
      const Host& host, const agent::v1::CheckForUpdateRequest& request, AgentCall& call) override;
  absl::Status DeleteInstance(const Host& host, const agent::v1::DeleteInstanceRequest& request,
                              AgentCall& call) override;
  absl::StatusOr<agent::v1::ListPlayerEventsResponse> ListPlayerEvents(
      const Host& host, const agent::v1::ListPlayerEventsRequest& request,
      AgentCall& call) override;
  absl::StatusOr<agent::v1::ExecuteConsoleCommandResponse> ExecuteConsoleCommand(
      const Host& host, const agent::v1::ExecuteConsoleCommandRequest& request,
      AgentCall& call) override;
  absl::StatusOr<std::vector<agent::v1::LogLine>> ReadLogs(
      const Host& host, const agent::v1::StreamLogsRequest& request, AgentCall& call) override;
  absl::StatusOr<agent::v1::BackupInstanceResponse> BackupInstance(
      const Host& host, const agent::v1::BackupInstanceRequest& request, AgentCall& call) override;
  absl::StatusOr<agent::v1::BackupChunk> ReadBackup(const Host& host,
                                                    const agent::v1::ReadBackupRequest& request,
                                                    AgentCall& call) override;
  absl::StatusOr<agent::v1::WriteBackupResponse> WriteBackup(
      const Host& host, const agent::v1::WriteBackupRequest& request, AgentCall& call) override;
  absl::StatusOr<agent::v1::Instance> RestoreBackup(const Host& host,
                                                    const agent::v1::RestoreBackupRequest& request,
                                                    AgentCall& call) override;
  absl::Status DeleteBackup(const Host& host, const agent::v1::DeleteBackupRequest& request,
                            AgentCall& call) override;
  absl::Status FollowLogs(const Host& host, const agent::v1::StreamLogsRequest& request,
                          const std::function<void(const agent::v1::LogBatch&)>& on_batch,
                          AgentCall& call) override;

 private:
  AgentConnector& agents_;
  const absl::Duration call_timeout_;
};

}  // namespace l4d2::controller
