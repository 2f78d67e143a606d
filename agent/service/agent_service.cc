#include "agent/service/agent_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/service/operation_stream.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_time.h"

namespace l4d2::agent {

AgentServiceImpl::AgentServiceImpl(AgentServiceDeps deps) : deps_(deps) {}

grpc::ServerUnaryReactor* AgentServiceImpl::GetHostInfo(grpc::CallbackServerContext* context,
                                                        const v1::GetHostInfoRequest* request,
                                                        v1::HostInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A handful of small /proc reads: cheap enough for the callback thread.
  absl::StatusOr<v1::HostInfo> info = deps_.host_info.Collect();
  if (info.ok()) *response = *std::move(info);
  reactor->Finish(ToGrpcStatus(info.status()));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::InstallCertificate(
    grpc::CallbackServerContext* context, const v1::InstallCertificateRequest* request,
    v1::InstallCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (deps_.certificate == nullptr) {
    reactor->Finish(ToGrpcStatus(absl::FailedPreconditionError(
        "this agent serves no TLS (listen.tls): there is no certificate to renew")));
    return reactor;
  }
  // Two small file reads, a signature check and a write: cheap enough for the callback thread.
  absl::StatusOr<tls::CertificateFacts> installed =
      deps_.certificate->Install(request->certificate());
  if (installed.ok()) {
    response->set_serial(installed->serial);
    *response->mutable_not_after() =
        google::protobuf::util::TimeUtil::TimeTToTimestamp(absl::ToTimeT(installed->not_after));
    L4D2_LOG(INFO) << "certificate " << installed->serial << " installed, valid until "
                   << absl::FormatTime(installed->not_after) << "; served from the next reload";
  } else {
    L4D2_LOG(WARNING) << "certificate refused: " << installed.status().message();
  }
  reactor->Finish(ToGrpcStatus(installed.status()));
  return reactor;
}

grpc::ServerWriteReactor<v1::InstallEvent>* AgentServiceImpl::Install(
    grpc::CallbackServerContext* context, const v1::InstallRequest* request) {
  absl::StatusOr<std::shared_ptr<OperationRun>> run = deps_.installs.Install(*request);
  if (!run.ok()) return FailedStream<v1::InstallEvent>(run.status());
  return new OperationStream<v1::InstallEvent>(*std::move(run));
}

grpc::ServerUnaryReactor* AgentServiceImpl::CheckForUpdate(grpc::CallbackServerContext* context,
                                                           const v1::CheckForUpdateRequest* request,
                                                           v1::CheckForUpdateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // steamcmd takes seconds: answer from a task thread.
  deps_.installs.CheckForUpdate(
      request->branch(), [reactor, response](absl::StatusOr<v1::CheckForUpdateResponse> result) {
        if (result.ok()) *response = *std::move(result);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

namespace {

// The request without its operation id, prefixed with the method: the operation's identity.
template <typename Request>
std::string Fingerprint(absl::string_view method, Request request) {
  request.clear_operation_id();
  return absl::StrCat(method, ":", request.SerializeAsString());
}

template <typename Request>
OperationRequest InstanceOperation(v1::OperationKind kind, absl::string_view method,
                                   const Request& request) {
  return {.id = request.operation_id(),
          .kind = kind,
          .target = request.name(),
          .lock = absl::StrCat("instance/", request.name()),
          .fingerprint = Fingerprint(method, request)};
}

// Answers `reactor` from an ended run: its status and, on success, its serialized result.
template <typename Response>
void ReplyFromEndedRun(const OperationRun::Read& read, Response* response,
                       grpc::ServerUnaryReactor* reactor) {
  if (read.status.ok() && !response->ParseFromString(read.result)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "corrupt operation result"));
    return;
  }
  reactor->Finish(ToGrpcStatus(read.status));
}

}  // namespace

template <typename Response>
grpc::ServerUnaryReactor* AgentServiceImpl::Mutate(grpc::CallbackServerContext* context,
                                                   const OperationRequest& request,
                                                   std::function<absl::StatusOr<Response>()> work,
                                                   Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<OperationRegistry::ClaimResult> claim = deps_.operations.Claim(request);
  if (!claim.ok()) {
    reactor->Finish(ToGrpcStatus(claim.status()));
    return reactor;
  }
  switch (claim->state) {
    case OperationRegistry::ClaimState::kFinished: {
      const v1::Operation& operation = claim->record.operation();
      OperationRun::Read read;
      read.status = absl::Status(static_cast<absl::StatusCode>(operation.error_code()),
                                 operation.error_message());
      read.result = claim->record.result();
      ReplyFromEndedRun(read, response, reactor);
      return reactor;
    }
    case OperationRegistry::ClaimState::kRunning: {
      // Unary operations publish no events: the notification is the end.
      std::shared_ptr<OperationRun> run = claim->run;
      auto reply = [run, response, reactor] {
        ReplyFromEndedRun(run->ReadFrom(0), response, reactor);
      };
      if (!run->NotifyAfter(0, reply)) reply();
      return reactor;
    }
    case OperationRegistry::ClaimState::kNew:
      break;
  }
  std::shared_ptr<OperationRun> run = claim->run;
  deps_.tasks.Run([this, run, work = std::move(work), response, reactor] {
    absl::StatusOr<Response> result = work();
    absl::Status recorded = deps_.operations.Finish(run, result.status(),
                                                    result.ok() ? result->SerializeAsString() : "");
    if (!recorded.ok()) L4D2_LOG(ERROR) << "operation record: " << recorded.message();
    if (deps_.instances_changed) deps_.instances_changed();
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

template <typename Response>
grpc::ServerUnaryReactor* AgentServiceImpl::Read(grpc::CallbackServerContext* context,
                                                 std::function<absl::StatusOr<Response>()> work,
                                                 Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  deps_.tasks.Run([work = std::move(work), response, reactor] {
    absl::StatusOr<Response> result = work();
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::InitializeInstance(
    grpc::CallbackServerContext* context, const v1::InitializeInstanceRequest* request,
    v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_INITIALIZE, "initialize", *request),
      [this, name = request->name(), spec = request->spec()] {
        return deps_.instances.Initialize(name, spec);
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::StartInstance(grpc::CallbackServerContext* context,
                                                          const v1::StartInstanceRequest* request,
                                                          v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_START, "start", *request),
      [this, name = request->name()] { return deps_.instances.Start(name); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::StopInstance(grpc::CallbackServerContext* context,
                                                         const v1::StopInstanceRequest* request,
                                                         v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_STOP, "stop", *request),
      [this, name = request->name()] { return deps_.instances.Stop(name); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::RestartInstance(
    grpc::CallbackServerContext* context, const v1::RestartInstanceRequest* request,
    v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_RESTART, "restart", *request),
      [this, name = request->name()] { return deps_.instances.Restart(name); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ResetInstance(grpc::CallbackServerContext* context,
                                                          const v1::ResetInstanceRequest* request,
                                                          v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_RESET, "reset", *request),
      [this, name = request->name()] { return deps_.instances.Reset(name); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::DeleteInstance(grpc::CallbackServerContext* context,
                                                           const v1::DeleteInstanceRequest* request,
                                                           v1::DeleteInstanceResponse* response) {
  return Mutate<v1::DeleteInstanceResponse>(
      context, InstanceOperation(v1::OPERATION_KIND_DELETE, "delete", *request),
      [this, name = request->name()]() -> absl::StatusOr<v1::DeleteInstanceResponse> {
        absl::StatusOr<bool> existed = deps_.instances.Delete(name);
        if (!existed.ok()) return existed.status();
        v1::DeleteInstanceResponse deleted;
        deleted.set_existed(*existed);
        return deleted;
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetInstance(grpc::CallbackServerContext* context,
                                                        const v1::GetInstanceRequest* request,
                                                        v1::Instance* response) {
  // A fresh shared observation is answered here, on the callback thread: status polls cost
  // what the RPC costs (docs/benchmarks.md, P2).
  if (std::optional<v1::Instance> cached =
          deps_.instances.Cached(request->name(), request->include_players())) {
    *response = *std::move(cached);
    if (deps_.game_log != nullptr) AddGameLogState(*deps_.game_log, *response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  return Read<v1::Instance>(
      context,
      [this, name = request->name(),
       players = request->include_players()]() -> absl::StatusOr<v1::Instance> {
        absl::StatusOr<v1::Instance> instance = deps_.instances.Get(name, players);
        if (instance.ok() && deps_.game_log != nullptr) {
          AddGameLogState(*deps_.game_log, *instance);
        }
        return instance;
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ListInstances(grpc::CallbackServerContext* context,
                                                          const v1::ListInstancesRequest* request,
                                                          v1::ListInstancesResponse* response) {
  return Read<v1::ListInstancesResponse>(
      context,
      [this, game = request->include_game_status()]() -> absl::StatusOr<v1::ListInstancesResponse> {
        absl::StatusOr<v1::ListInstancesResponse> list = deps_.instances.List(game);
        if (list.ok() && deps_.game_log != nullptr) AddGameLogStates(*deps_.game_log, *list);
        return list;
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ListPlayerEvents(
    grpc::CallbackServerContext* context, const v1::ListPlayerEventsRequest* request,
    v1::ListPlayerEventsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::ListPlayerEventsResponse> events =
      [&]() -> absl::StatusOr<v1::ListPlayerEventsResponse> {
    if (absl::Status name = ValidateInstanceName(request->name()); !name.ok()) return name;
    if (request->limit() < 0 || request->limit() > 1000 || request->after() < 0) {
      return absl::InvalidArgumentError("limit: 0 to 1000 (0: 500); after: 0 or more");
    }
    if (deps_.game_log == nullptr) {
      return absl::FailedPreconditionError(
          "this agent has no game log listener (game_log.listen is off, or its address could "
          "not be bound: see the agent's log)");
    }
    return deps_.game_log->ListEvents(request->name(), request->epoch(), request->after(),
                                      request->limit() == 0 ? 500 : request->limit());
  }();
  if (events.ok()) *response = *std::move(events);
  reactor->Finish(ToGrpcStatus(events.status()));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::ExecuteConsoleCommand(
    grpc::CallbackServerContext* context, const v1::ExecuteConsoleCommandRequest* request,
    v1::ExecuteConsoleCommandResponse* response) {
  absl::Duration timeout = request->has_timeout()
                               ? absl::Seconds(request->timeout().seconds()) +
                                     absl::Nanoseconds(request->timeout().nanos())
                               : absl::Seconds(5);
  timeout = std::clamp(timeout, absl::Milliseconds(100), absl::Seconds(60));
  // Not under the instance's lock: a console command may run while the instance is busy.
  return Mutate<v1::ExecuteConsoleCommandResponse>(
      context,
      {.id = request->operation_id(),
       .kind = v1::OPERATION_KIND_CONSOLE_COMMAND,
       .target = request->name(),
       .lock = absl::StrCat("console/", request->operation_id()),
       .fingerprint = Fingerprint("console", *request)},
      [this, name = request->name(), command = request->command(),
       timeout]() -> absl::StatusOr<v1::ExecuteConsoleCommandResponse> {
        absl::StatusOr<std::string> output = deps_.instances.Console(name, command, timeout);
        if (!output.ok()) return output.status();
        L4D2_LOG(INFO) << "console '" << name << "': " << command;
        v1::ExecuteConsoleCommandResponse response;
        response.set_output(*output);
        return response;
      },
      response);
}

grpc::ServerWriteReactor<v1::LogBatch>* AgentServiceImpl::StreamLogs(
    grpc::CallbackServerContext* context, const v1::StreamLogsRequest* request) {
  absl::StatusOr<internal::InstanceRecord> record = deps_.instances.Record(request->name());
  if (!record.ok()) return FailedStream<v1::LogBatch>(record.status());
  if (request->lines() < 0 || request->lines() > 10000) {
    return FailedStream<v1::LogBatch>(absl::InvalidArgumentError("lines: 0 to 10000"));
  }
  if (!request->after_cursor().empty()) {
    absl::Status cursor = ValidateJournalCursor(request->after_cursor());
    if (!cursor.ok()) return FailedStream<v1::LogBatch>(cursor);
  }
  return new LogStream(deps_.journal, deps_.tasks,
                       {.unit = deps_.instances.UnitOf(request->name()),
                        .lines = request->lines() == 0 ? 200 : request->lines(),
                        .after_cursor = request->after_cursor(),
                        .follow = request->follow()});
}

grpc::ServerWriteReactor<v1::OverlaySyncEvent>* AgentServiceImpl::SyncOverlay(
    grpc::CallbackServerContext* context, const v1::SyncOverlayRequest* request) {
  absl::StatusOr<OperationRegistry::ClaimResult> claim =
      deps_.operations.Claim({.id = request->operation_id(),
                              .kind = v1::OPERATION_KIND_SYNC_OVERLAY,
                              .target = request->ref(),
                              .lock = absl::StrCat("overlay/", request->ref()),
                              .fingerprint = Fingerprint("sync", *request)});
  if (!claim.ok()) return FailedStream<v1::OverlaySyncEvent>(claim.status());
  if (claim->state == OperationRegistry::ClaimState::kFinished) {
    const v1::Operation& operation = claim->record.operation();
    std::vector<std::string> events;
    if (operation.state() == v1::OPERATION_STATE_SUCCEEDED) {
      events.push_back(claim->record.result());
    }
    return new OperationStream<v1::OverlaySyncEvent>(
        OperationRun::Ended(operation, std::move(events),
                            absl::Status(static_cast<absl::StatusCode>(operation.error_code()),
                                         operation.error_message())));
  }
  std::shared_ptr<OperationRun> run = claim->run;
  if (claim->state == OperationRegistry::ClaimState::kNew) {
    deps_.tasks.Run([this, run, request = *request] {
      v1::OverlaySyncEvent started;
      started.mutable_progress()->set_phase("writing");
      started.mutable_progress()->set_percent(-1);
      *started.mutable_operation() = run->Snapshot();
      run->Publish(started.SerializeAsString(), &started.progress());
      absl::StatusOr<v1::OverlaySyncResult> result =
          deps_.overlays.Sync(request, request.operation_id(), [&run](absl::string_view line) {
            v1::OverlaySyncEvent event;
            event.set_log_line(std::string(line));
            run->Publish(event.SerializeAsString());
          });
      std::string final_event;
      if (result.ok()) {
        v1::OverlaySyncEvent event;
        *event.mutable_result() = *result;
        final_event = event.SerializeAsString();
        run->Publish(final_event);
        L4D2_LOG(INFO) << "overlay '" << request.ref() << "' at version " << result->version()
                       << (result->changed() ? "" : " (unchanged)");
      }
      absl::Status recorded = deps_.operations.Finish(run, result.status(), final_event);
      if (!recorded.ok()) L4D2_LOG(ERROR) << "operation record: " << recorded.message();
    });
  }
  return new OperationStream<v1::OverlaySyncEvent>(run);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ListOverlays(grpc::CallbackServerContext* context,
                                                         const v1::ListOverlaysRequest* request,
                                                         v1::ListOverlaysResponse* response) {
  return Read<v1::ListOverlaysResponse>(
      context, [this] { return deps_.overlays.List(); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::BackupInstance(grpc::CallbackServerContext* context,
                                                           const v1::BackupInstanceRequest* request,
                                                           v1::BackupInstanceResponse* response) {
  BackupRetention retention{.keep = request->keep()};
  if (request->has_keep_for()) retention.keep_for = DurationOf(request->keep_for());
  return Mutate<v1::BackupInstanceResponse>(
      context, InstanceOperation(v1::OPERATION_KIND_BACKUP, "backup", *request),
      [this, name = request->name(), retention] { return deps_.backups.Take(name, retention); },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ListBackups(grpc::CallbackServerContext* context,
                                                        const v1::ListBackupsRequest* request,
                                                        v1::ListBackupsResponse* response) {
  return Read<v1::ListBackupsResponse>(
      context,
      [this, name = request->name()]() -> absl::StatusOr<v1::ListBackupsResponse> {
        absl::StatusOr<std::vector<v1::Backup>> backups = deps_.backups.List(name);
        if (!backups.ok()) return backups.status();
        v1::ListBackupsResponse list;
        for (v1::Backup& backup : *backups) *list.add_backups() = std::move(backup);
        return list;
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::DeleteBackup(grpc::CallbackServerContext* context,
                                                         const v1::DeleteBackupRequest* request,
                                                         v1::DeleteBackupResponse* response) {
  return Read<v1::DeleteBackupResponse>(
      context,
      [this, name = request->name(),
       id = request->id()]() -> absl::StatusOr<v1::DeleteBackupResponse> {
        absl::StatusOr<bool> existed = deps_.backups.Delete(name, id);
        if (!existed.ok()) return existed.status();
        if (*existed) L4D2_LOG(INFO) << "backup " << id << " of '" << name << "' deleted";
        v1::DeleteBackupResponse deleted;
        deleted.set_existed(*existed);
        return deleted;
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ReadBackup(grpc::CallbackServerContext* context,
                                                       const v1::ReadBackupRequest* request,
                                                       v1::BackupChunk* response) {
  return Read<v1::BackupChunk>(
      context,
      [this, request = *request] {
        return deps_.backups.Read(request.name(), request.id(), request.offset(),
                                  request.max_bytes());
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::WriteBackup(grpc::CallbackServerContext* context,
                                                        const v1::WriteBackupRequest* request,
                                                        v1::WriteBackupResponse* response) {
  return Read<v1::WriteBackupResponse>(
      context, [this, request = *request] { return deps_.backups.Write(request); }, response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::RestoreBackup(grpc::CallbackServerContext* context,
                                                          const v1::RestoreBackupRequest* request,
                                                          v1::Instance* response) {
  return Mutate<v1::Instance>(
      context, InstanceOperation(v1::OPERATION_KIND_RESTORE, "restore", *request),
      [this, name = request->name(), id = request->id()]() -> absl::StatusOr<v1::Instance> {
        L4D2_RETURN_IF_ERROR(deps_.backups.Restore(name, id));
        return deps_.instances.Get(name, false);
      },
      response);
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetOperation(grpc::CallbackServerContext* context,
                                                         const v1::GetOperationRequest* request,
                                                         v1::Operation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Operation> operation = deps_.operations.Get(request->operation_id());
  if (operation.ok()) *response = *std::move(operation);
  reactor->Finish(ToGrpcStatus(operation.status()));
  return reactor;
}

}  // namespace l4d2::agent
