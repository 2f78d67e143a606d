#include "agent/install/install_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace l4d2::agent {
namespace {

std::string Fingerprint(v1::InstallRequest request) {
  request.clear_operation_id();
  return absl::StrCat("install:", request.SerializeAsString());
}

}  // namespace

InstallService::InstallService(Installer& installer, OperationRegistry& registry, TaskRunner& tasks,
                               PinnedBuilds pinned)
    : installer_(installer), registry_(registry), tasks_(tasks), pinned_(std::move(pinned)) {}

absl::StatusOr<std::shared_ptr<OperationRun>> InstallService::Install(
    const v1::InstallRequest& request) {
  absl::StatusOr<OperationRegistry::ClaimResult> claim =
      registry_.Claim({.id = request.operation_id(),
                       .kind = v1::OPERATION_KIND_INSTALL,
                       .target = "",
                       .lock = "install",
                       .fingerprint = Fingerprint(request)});
  if (!claim.ok()) return claim.status();
  switch (claim->state) {
    case OperationRegistry::ClaimState::kRunning:
      return claim->run;
    case OperationRegistry::ClaimState::kFinished: {
      // Answer from the record: the final event (a success) or the recorded error.
      const v1::Operation& operation = claim->record.operation();
      std::vector<std::string> events;
      if (operation.state() == v1::OPERATION_STATE_SUCCEEDED) {
        events.push_back(claim->record.result());
      }
      absl::Status status(static_cast<absl::StatusCode>(operation.error_code()),
                          operation.error_message());
      return OperationRun::Ended(operation, std::move(events), status);
    }
    case OperationRegistry::ClaimState::kNew:
      break;
  }
  std::shared_ptr<OperationRun> run = claim->run;
  tasks_.Run([this, run, request] {
    L4D2_LOG(INFO) << "install '" << request.operation_id() << "' started";
    absl::StatusOr<v1::InstallResult> result = installer_.Install(
        request, request.operation_id(), pinned_(), [&run](const v1::InstallEvent& event) {
          v1::InstallEvent with_operation = event;
          *with_operation.mutable_operation() = run->Snapshot();
          run->Publish(with_operation.SerializeAsString(),
                       event.has_progress() ? &event.progress() : nullptr);
        });
    std::string final_event;
    if (result.ok()) {
      v1::InstallEvent event;
      *event.mutable_result() = *result;
      final_event = event.SerializeAsString();
      run->Publish(final_event);
      L4D2_LOG(INFO) << "install '" << request.operation_id() << "' installed build "
                     << result->build_id() << (result->changed() ? "" : " (unchanged)");
    } else {
      L4D2_LOG(WARNING) << "install '" << request.operation_id()
                        << "' failed: " << result.status().message();
    }
    absl::Status recorded = registry_.Finish(run, result.status(), final_event);
    if (!recorded.ok()) L4D2_LOG(ERROR) << "install: " << recorded.message();
  });
  return run;
}

void InstallService::CheckForUpdate(
    const std::string& branch,
    std::function<void(absl::StatusOr<v1::CheckForUpdateResponse>)> done) {
  tasks_.Run([this, branch, done = std::move(done)] { done(installer_.CheckForUpdate(branch)); });
}

}  // namespace l4d2::agent
