#pragma once

// gRPC adapter of the agent's API (proto/l4d2/agent/v1/agent_service.proto). It translates
// between protos and the host logic and maps absl::Status to gRPC status; it holds no logic.
//
// Calls run on gRPC's callback threads and must return quickly: work that can block for long
// (steamcmd, systemd jobs, RCON) runs on executors owned by the logic classes.

#include <functional>

#include "agent/backup/backup_store.h"
#include "agent/fleet/agent_certificate.h"
#include "agent/host/host_info_collector.h"
#include "agent/install/install_service.h"
#include "agent/instance/instance_manager.h"
#include "agent/operations/operation_registry.h"
#include "agent/operations/task_runner.h"
#include "agent/overlays/overlay_manager.h"
#include "agent/players/game_log_service.h"
#include "agent/service/log_stream.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"

namespace l4d2::agent {

// What the service adapts; everything must outlive it.
struct AgentServiceDeps {
  const HostInfoCollector& host_info;
  InstallService& installs;
  OperationRegistry& operations;
  InstanceManager& instances;
  TaskRunner& tasks;
  Journal& journal;
  OverlayManager& overlays;
  BackupStore& backups;
  // The TLS files, for renewals; null when the agent serves no TLS.
  AgentCertificate* certificate = nullptr;
  // Called after every operation that may have changed an instance (the host reporter's
  // Nudge); may be empty.
  std::function<void()> instances_changed;
  // The servers' log streams (players, maps); null when the agent has no log listener.
  const GameLogService* game_log = nullptr;
};

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  explicit AgentServiceImpl(AgentServiceDeps deps);

  grpc::ServerUnaryReactor* GetHostInfo(grpc::CallbackServerContext* context,
                                        const v1::GetHostInfoRequest* request,
                                        v1::HostInfo* response) override;
  grpc::ServerWriteReactor<v1::InstallEvent>* Install(grpc::CallbackServerContext* context,
                                                      const v1::InstallRequest* request) override;
  grpc::ServerUnaryReactor* CheckForUpdate(grpc::CallbackServerContext* context,
                                           const v1::CheckForUpdateRequest* request,
                                           v1::CheckForUpdateResponse* response) override;
  grpc::ServerUnaryReactor* BackupInstance(grpc::CallbackServerContext* context,
                                           const v1::BackupInstanceRequest* request,
                                           v1::BackupInstanceResponse* response) override;
  grpc::ServerUnaryReactor* ListBackups(grpc::CallbackServerContext* context,
                                        const v1::ListBackupsRequest* request,
                                        v1::ListBackupsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteBackup(grpc::CallbackServerContext* context,
                                         const v1::DeleteBackupRequest* request,
                                         v1::DeleteBackupResponse* response) override;
  grpc::ServerUnaryReactor* ReadBackup(grpc::CallbackServerContext* context,
                                       const v1::ReadBackupRequest* request,
                                       v1::BackupChunk* response) override;
  grpc::ServerUnaryReactor* WriteBackup(grpc::CallbackServerContext* context,
                                        const v1::WriteBackupRequest* request,
                                        v1::WriteBackupResponse* response) override;
  grpc::ServerUnaryReactor* RestoreBackup(grpc::CallbackServerContext* context,
                                          const v1::RestoreBackupRequest* request,
                                          v1::Instance* response) override;
  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* context,
                                         const v1::GetOperationRequest* request,
                                         v1::Operation* response) override;
  grpc::ServerUnaryReactor* InitializeInstance(grpc::CallbackServerContext* context,
                                               const v1::InitializeInstanceRequest* request,
                                               v1::Instance* response) override;
  grpc::ServerUnaryReactor* StartInstance(grpc::CallbackServerContext* context,
                                          const v1::StartInstanceRequest* request,
                                          v1::Instance* response) override;
  grpc::ServerUnaryReactor* StopInstance(grpc::CallbackServerContext* context,
                                         const v1::StopInstanceRequest* request,
                                         v1::Instance* response) override;
  grpc::ServerUnaryReactor* RestartInstance(grpc::CallbackServerContext* context,
                                            const v1::RestartInstanceRequest* request,
                                            v1::Instance* response) override;
  grpc::ServerUnaryReactor* ResetInstance(grpc::CallbackServerContext* context,
                                          const v1::ResetInstanceRequest* request,
                                          v1::Instance* response) override;
  grpc::ServerUnaryReactor* DeleteInstance(grpc::CallbackServerContext* context,
                                           const v1::DeleteInstanceRequest* request,
                                           v1::DeleteInstanceResponse* response) override;
  grpc::ServerUnaryReactor* GetInstance(grpc::CallbackServerContext* context,
                                        const v1::GetInstanceRequest* request,
                                        v1::Instance* response) override;
  grpc::ServerUnaryReactor* ListPlayerEvents(grpc::CallbackServerContext* context,
                                             const v1::ListPlayerEventsRequest* request,
                                             v1::ListPlayerEventsResponse* response) override;
  grpc::ServerUnaryReactor* ExecuteConsoleCommand(
      grpc::CallbackServerContext* context, const v1::ExecuteConsoleCommandRequest* request,
      v1::ExecuteConsoleCommandResponse* response) override;
  grpc::ServerWriteReactor<v1::LogBatch>* StreamLogs(grpc::CallbackServerContext* context,
                                                     const v1::StreamLogsRequest* request) override;
  grpc::ServerWriteReactor<v1::OverlaySyncEvent>* SyncOverlay(
      grpc::CallbackServerContext* context, const v1::SyncOverlayRequest* request) override;
  grpc::ServerUnaryReactor* ListOverlays(grpc::CallbackServerContext* context,
                                         const v1::ListOverlaysRequest* request,
                                         v1::ListOverlaysResponse* response) override;
  grpc::ServerUnaryReactor* ListInstances(grpc::CallbackServerContext* context,
                                          const v1::ListInstancesRequest* request,
                                          v1::ListInstancesResponse* response) override;
  grpc::ServerUnaryReactor* InstallCertificate(grpc::CallbackServerContext* context,
                                               const v1::InstallCertificateRequest* request,
                                               v1::InstallCertificateResponse* response) override;

 private:
  // Runs `work` as the idempotent operation `request` (see OperationRegistry) on a task
  // thread and answers with its result; a repeat waits for or replays the first run.
  template <typename Response>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context,
                                   const OperationRequest& request,
                                   std::function<absl::StatusOr<Response>()> work,
                                   Response* response);
  // Runs a read on a task thread.
  template <typename Response>
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context,
                                 std::function<absl::StatusOr<Response>()> work,
                                 Response* response);

  AgentServiceDeps deps_;
};

}  // namespace l4d2::agent
