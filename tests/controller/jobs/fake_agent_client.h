#pragma once

// A scripted agent for job tests: records each call (method, host, instance, operation id),
// answers with the instance state it is told, and fails the methods it is told to fail (on
// every host, or on one). And a
// AgentCall that records the events a job writes and can be cancelled.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/sha256.h"
#include "controller/jobs/agent_client.h"
#include "spec/ports.h"

namespace l4d2::controller {

class FakeAgentClient final : public AgentClient {
 public:
  // "Start s1 j1:start", in order.
  std::vector<std::string> calls;
  // Method name -> the status it fails with.
  std::map<std::string, absl::Status> failures;
  agent::v1::InstanceState state = agent::v1::INSTANCE_STATE_RUNNING;
  std::string installed_build = "9000002";  // what Install installs
  std::string latest_build = "9000002";     // what CheckForUpdate says Steam offers
  // Instance name -> the players A2S counts in it (GetInstance, RestartInstance's answers).
  std::map<std::string, int> players_in_game;
  std::string synced_version = "3";

  absl::StatusOr<agent::v1::InstallResult> Install(const Host& host,
                                                   const agent::v1::InstallRequest& request,
                                                   AgentCall& call) override {
    if (absl::Status failed = Record("Install", host, "", request.operation_id(), call);
        !failed.ok()) {
      return failed;
    }
    call.Event("progress", R"({"fraction":1})");
    agent::v1::InstallResult result;
    result.set_build_id(installed_build);
    result.set_changed(true);
    return result;
  }
  absl::StatusOr<agent::v1::OverlaySyncResult> SyncOverlay(
      const Host& host, const agent::v1::SyncOverlayRequest& request, AgentCall& call) override {
    if (absl::Status failed =
            Record("SyncOverlay", host, request.ref(), request.operation_id(), call);
        !failed.ok()) {
      return failed;
    }
    agent::v1::OverlaySyncResult result;
    result.set_version(synced_version);
    result.set_changed(true);
    return result;
  }
  // (host id, port) taken by something the controller does not know of: Initialize on it
  // fails as the agent's does (spec::PortTakenError).
  std::set<std::pair<std::string, int>> taken_ports;

  absl::StatusOr<agent::v1::Instance> InitializeInstance(
      const Host& host, const agent::v1::InitializeInstanceRequest& request,
      AgentCall& call) override {
    if (taken_ports.contains({host.id, request.spec().port()})) {
      calls.push_back(absl::StrCat("Initialize ", request.name(), " ", request.operation_id(),
                                   " port ", request.spec().port(), " taken"));
      return spec::PortTakenError(request.spec().port(), "another process on this host");
    }
    return Answer("Initialize", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::Instance> StartInstance(const Host& host,
                                                    const agent::v1::StartInstanceRequest& request,
                                                    AgentCall& call) override {
    return Answer("Start", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::Instance> StopInstance(const Host& host,
                                                   const agent::v1::StopInstanceRequest& request,
                                                   AgentCall& call) override {
    return Answer("Stop", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::Instance> RestartInstance(
      const Host& host, const agent::v1::RestartInstanceRequest& request,
      AgentCall& call) override {
    return Answer("Restart", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::Instance> ResetInstance(const Host& host,
                                                    const agent::v1::ResetInstanceRequest& request,
                                                    AgentCall& call) override {
    return Answer("Reset", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::Instance> GetInstance(const Host& host,
                                                  const agent::v1::GetInstanceRequest& request,
                                                  AgentCall& call) override {
    return Answer("Get", host, request.name(), "", call);
  }
  // Events set with SetPlayerEvents for the instance, after the request's cursor.
  absl::StatusOr<agent::v1::ListPlayerEventsResponse> ListPlayerEvents(
      const Host& host, const agent::v1::ListPlayerEventsRequest& request,
      AgentCall& call) override {
    if (absl::Status failed = Record("ListPlayerEvents", host, request.name(), "", call);
        !failed.ok()) {
      return failed;
    }
    auto it = player_events_.find(request.name());
    if (it == player_events_.end()) return absl::NotFoundError("no game log");
    agent::v1::ListPlayerEventsResponse answer = it->second;
    answer.clear_events();
    answer.set_reset(request.epoch() != answer.epoch());
    const int64_t after = answer.reset() ? 0 : request.after();
    for (const agent::v1::PlayerEvent& event : it->second.events()) {
      if (event.seq() > after) *answer.add_events() = event;
    }
    return answer;
  }
  void SetPlayerEvents(const std::string& name, agent::v1::ListPlayerEventsResponse events) {
    player_events_[name] = std::move(events);
  }
  absl::StatusOr<agent::v1::CheckForUpdateResponse> CheckForUpdate(
      const Host& host, const agent::v1::CheckForUpdateRequest& request, AgentCall& call) override {
    if (absl::Status failed = Record("CheckForUpdate", host, "", "", call); !failed.ok()) {
      return failed;
    }
    // The build the controller last recorded for the host, as its agent would read it.
    agent::v1::CheckForUpdateResponse answer;
    answer.set_installed_build_id(host.installed_build);
    answer.set_latest_build_id(latest_build);
    answer.set_update_available(host.installed_build != latest_build);
    return answer;
  }
  absl::Status DeleteInstance(const Host& host, const agent::v1::DeleteInstanceRequest& request,
                              AgentCall& call) override {
    return Record("Delete", host, request.name(), request.operation_id(), call);
  }
  absl::StatusOr<agent::v1::ExecuteConsoleCommandResponse> ExecuteConsoleCommand(
      const Host& host, const agent::v1::ExecuteConsoleCommandRequest& request,
      AgentCall& call) override {
    if (absl::Status failed = Record("Console", host, request.name(), request.operation_id(), call);
        !failed.ok()) {
      return failed;
    }
    agent::v1::ExecuteConsoleCommandResponse response;
    response.set_output(absl::StrCat("ran ", request.command(), "\n"));
    return response;
  }
  absl::StatusOr<std::vector<agent::v1::LogLine>> ReadLogs(
      const Host& host, const agent::v1::StreamLogsRequest& request, AgentCall& call) override {
    if (absl::Status failed = Record("Logs", host, request.name(), "", call); !failed.ok()) {
      return failed;
    }
    std::vector<agent::v1::LogLine> lines(1);
    lines[0].set_text("a line");
    return lines;
  }
  absl::Status FollowLogs(const Host& host, const agent::v1::StreamLogsRequest& request,
                          const std::function<void(const agent::v1::LogBatch&)>& on_batch,
                          AgentCall& call) override {
    if (absl::Status failed = Record("FollowLogs", host, request.name(), "", call); !failed.ok()) {
      return failed;
    }
    agent::v1::LogBatch batch;
    batch.add_lines()->set_text("a line");
    on_batch(batch);
    return absl::OkStatus();
  }

  // Backups: each archive's bytes "backup of <name> #<n>", by "<host id>/<name>/<id>".
  struct StoredBackup {
    agent::v1::Backup backup;
    std::string bytes;
  };
  std::map<std::string, StoredBackup> backups;
  // Ids of the backups pruned by the next BackupInstance, and the last request it had.
  std::vector<std::string> prune_next;
  agent::v1::BackupInstanceRequest last_backup_request;

  absl::StatusOr<agent::v1::BackupInstanceResponse> BackupInstance(
      const Host& host, const agent::v1::BackupInstanceRequest& request, AgentCall& call) override {
    if (absl::Status failed = Record("Backup", host, request.name(), request.operation_id(), call);
        !failed.ok()) {
      return failed;
    }
    absl::MutexLock lock(mutex_.get());
    last_backup_request = request;
    StoredBackup stored;
    stored.bytes = absl::StrCat("backup of ", request.name(), " #", backups.size() + 1);
    agent::v1::Backup& backup = stored.backup;
    backup.set_id(absl::StrFormat("20261204T120000Z-%08x", static_cast<int>(backups.size() + 1)));
    backup.set_name(request.name());
    backup.mutable_created_at()->set_seconds(1796385600 + static_cast<int64_t>(backups.size()));
    backup.set_size_bytes(stored.bytes.size());
    backup.set_files(3);
    backup.set_sha256(Sha256Hex(stored.bytes));
    backup.set_build_id(installed_build);
    agent::v1::BackupInstanceResponse response;
    *response.mutable_backup() = backup;
    for (const std::string& id : prune_next) {
      backups.erase(absl::StrCat(host.id, "/", request.name(), "/", id));
      response.add_pruned(id);
    }
    prune_next.clear();
    backups[absl::StrCat(host.id, "/", request.name(), "/", backup.id())] = std::move(stored);
    return response;
  }
  absl::StatusOr<agent::v1::BackupChunk> ReadBackup(const Host& host,
                                                    const agent::v1::ReadBackupRequest& request,
                                                    AgentCall& call) override {
    if (absl::Status failed = Record("ReadBackup", host, request.name(), "", call); !failed.ok()) {
      return failed;
    }
    absl::MutexLock lock(mutex_.get());
    auto it = backups.find(absl::StrCat(host.id, "/", request.name(), "/", request.id()));
    if (it == backups.end()) return absl::NotFoundError("no backup " + request.id());
    agent::v1::BackupChunk chunk;
    chunk.set_size_bytes(it->second.bytes.size());
    // Parts of 4 bytes, to make copies take several.
    chunk.set_data(it->second.bytes.substr(request.offset(), 4));
    return chunk;
  }
  absl::StatusOr<agent::v1::WriteBackupResponse> WriteBackup(
      const Host& host, const agent::v1::WriteBackupRequest& request, AgentCall& call) override {
    if (absl::Status failed = Record("WriteBackup", host, request.name(), "", call); !failed.ok()) {
      return failed;
    }
    absl::MutexLock lock(mutex_.get());
    agent::v1::WriteBackupResponse response;
    const std::string key = absl::StrCat(host.id, "/", request.name(), "/", request.backup().id());
    if (backups.contains(key)) {  // a retry after the last part
      response.set_received_bytes(request.backup().size_bytes());
      response.set_complete(true);
      return response;
    }
    std::string& incoming = incoming_[key];
    if (request.offset() != incoming.size()) return absl::FailedPreconditionError("offset");
    incoming += request.data();
    response.set_received_bytes(incoming.size());
    if (!request.last()) return response;
    // As the agent: the copy received is kept under its name or discarded.
    const std::string received = std::move(incoming);
    incoming_.erase(key);
    if (Sha256Hex(received) != request.backup().sha256()) {
      return absl::DataLossError("does not match its SHA-256");
    }
    StoredBackup stored{.backup = request.backup(), .bytes = received};
    stored.backup.set_name(request.name());
    backups[absl::StrCat(host.id, "/", request.name(), "/", request.backup().id())] =
        std::move(stored);
    response.set_complete(true);
    return response;
  }
  absl::StatusOr<agent::v1::Instance> RestoreBackup(const Host& host,
                                                    const agent::v1::RestoreBackupRequest& request,
                                                    AgentCall& call) override {
    {
      absl::MutexLock lock(mutex_.get());
      if (!backups.contains(absl::StrCat(host.id, "/", request.name(), "/", request.id()))) {
        return absl::NotFoundError("no backup " + request.id());
      }
    }
    return Answer("Restore", host, request.name(), request.operation_id(), call);
  }
  absl::Status DeleteBackup(const Host& host, const agent::v1::DeleteBackupRequest& request,
                            AgentCall& call) override {
    if (absl::Status failed = Record("DeleteBackup", host, request.name(), request.id(), call);
        !failed.ok()) {
      return failed;
    }
    absl::MutexLock lock(mutex_.get());
    backups.erase(absl::StrCat(host.id, "/", request.name(), "/", request.id()));
    return absl::OkStatus();
  }

 private:
  std::map<std::string, agent::v1::ListPlayerEventsResponse> player_events_;
  std::map<std::string, std::string> incoming_;
  static std::string Sha256Hex(const std::string& bytes) {
    Sha256 digest;
    digest.Update(bytes);
    return digest.HexDigest();
  }

  // Calls may come from several threads (a game check asks hosts at once).
  absl::Status Record(const std::string& method, const Host& host, const std::string& name,
                      const std::string& operation_id, AgentCall& call) {
    if (!call.Attach([] {})) return absl::CancelledError("cancelled");
    call.Detach();
    std::vector<std::string> words = {method};
    for (const std::string& word : {name, operation_id}) {
      if (!word.empty()) words.push_back(word);
    }
    absl::MutexLock lock(mutex_.get());
    calls.push_back(absl::StrJoin(words, " "));
    // "Method@host-name" fails on that host only.
    auto failure = failures.find(method + "@" + host.name);
    if (failure == failures.end()) failure = failures.find(method);
    return failure == failures.end() ? absl::OkStatus() : failure->second;
  }
  // Shared, so that the fake stays assignable (tests start over with a fresh one).
  std::shared_ptr<absl::Mutex> mutex_ = std::make_shared<absl::Mutex>();
  absl::StatusOr<agent::v1::Instance> Answer(const std::string& method, const Host& host,
                                             const std::string& name,
                                             const std::string& operation_id, AgentCall& call) {
    if (absl::Status failed = Record(method, host, name, operation_id, call); !failed.ok()) {
      return failed;
    }
    agent::v1::Instance instance;
    instance.set_name(name);
    instance.mutable_status()->set_state(state);
    auto players = players_in_game.find(name);
    if (players != players_in_game.end()) {
      instance.mutable_status()->mutable_game()->set_players(players->second);
    }
    return instance;
  }
};

class FakeAgentCall final : public AgentCall {
 public:
  bool cancelled = false;
  std::vector<std::string> events;  // "kind: data"

  bool Attach(std::function<void()>) override { return !cancelled; }
  void Detach() override {}
  void Event(const std::string& kind, std::string data) override {
    events.push_back(absl::StrCat(kind, ": ", data));
  }
};

}  // namespace l4d2::controller
