#include "agent/operations/operation_registry.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crash_points.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

void SetTime(google::protobuf::Timestamp* out, absl::Time time) {
  out->set_seconds(absl::ToUnixSeconds(time));
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(absl::ToUnixSeconds(time)))));
}

}  // namespace

std::shared_ptr<OperationRun> OperationRun::Ended(v1::Operation operation,
                                                  std::vector<std::string> events,
                                                  absl::Status status) {
  auto run = std::make_shared<OperationRun>(std::move(operation));
  absl::MutexLock lock(&run->mutex_);
  run->events_ = std::move(events);
  run->done_ = true;
  run->status_ = std::move(status);
  return run;
}

v1::Operation OperationRun::Snapshot() const {
  absl::MutexLock lock(&mutex_);
  return operation_;
}

void OperationRun::Publish(std::string event, const v1::Progress* progress) {
  absl::MutexLock lock(&mutex_);
  events_.push_back(std::move(event));
  if (progress != nullptr) *operation_.mutable_last_progress() = *progress;
  FireLocked();
}

OperationRun::Read OperationRun::ReadFrom(size_t index) const {
  absl::MutexLock lock(&mutex_);
  Read read;
  for (size_t i = index; i < events_.size(); ++i) read.events.push_back(events_[i]);
  read.done = done_;
  read.status = status_;
  read.result = result_;
  return read;
}

bool OperationRun::NotifyAfter(size_t index, std::function<void()> callback) {
  absl::MutexLock lock(&mutex_);
  if (HasNewsLocked(index)) return false;
  waiters_.emplace_back(index, std::move(callback));
  return true;
}

void OperationRun::WaitAfter(size_t index, absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  auto news = [this, index]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return HasNewsLocked(index); };
  mutex_.AwaitWithDeadline(absl::Condition(&news), deadline);
}

void OperationRun::FireLocked() {
  // Callbacks run without the lock: they may read or register again.
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (HasNewsLocked(it->first)) {
      ready.push_back(std::move(it->second));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  if (ready.empty()) return;
  mutex_.Unlock();
  for (auto& callback : ready) callback();
  mutex_.Lock();
}

void OperationRun::End(absl::Status status, std::string result, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  done_ = true;
  status_ = status;
  result_ = std::move(result);
  operation_.set_state(status.ok() ? v1::OPERATION_STATE_SUCCEEDED : v1::OPERATION_STATE_FAILED);
  operation_.set_error_code(static_cast<int32_t>(status.code()));
  operation_.set_error_message(std::string(status.message()));
  SetTime(operation_.mutable_finished_at(), now);
  FireLocked();
}

OperationRegistry::OperationRegistry(std::string dir, Clock& clock, absl::Duration retention)
    : dir_(std::move(dir)), clock_(clock), retention_(retention) {}

absl::Status OperationRegistry::ValidateId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                c == ':' || c == '-');
  }
  if (!ok || id == "." || id == "..") {
    return absl::InvalidArgumentError("operation_id must be 1-128 characters of [A-Za-z0-9._:-]");
  }
  return absl::OkStatus();
}

std::string OperationRegistry::PathOf(const std::string& id) const {
  return absl::StrCat(dir_, "/", id, ".binpb");
}

absl::Status OperationRegistry::Load() {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return ErrnoError(error.value(), "create directory", dir_);
  Prune();
  return absl::OkStatus();
}

void OperationRegistry::Prune() {
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mutex_);
    last_prune_ = now;
  }
  const absl::Time cutoff = now - retention_;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, error)) {
    struct stat st;
    if (::stat(entry.path().c_str(), &st) == 0 && absl::FromTimeT(st.st_mtime) < cutoff) {
      fs::remove(entry.path(), error);
    }
  }
}

absl::StatusOr<internal::OperationRecord> OperationRegistry::ReadRecord(
    const std::string& id) const {
  L4D2_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(PathOf(id), 16 << 20));
  internal::OperationRecord record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("operation record '", id, "' is corrupt"));
  }
  return record;
}

absl::StatusOr<OperationRegistry::ClaimResult> OperationRegistry::Claim(
    const OperationRequest& request) {
  L4D2_RETURN_IF_ERROR(ValidateId(request.id));
  absl::MutexLock lock(&mutex_);
  auto reused = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("operation_id '", request.id, "' was already used for a different request"));
  };
  if (auto it = running_.find(request.id); it != running_.end()) {
    if (it->second.request.fingerprint != request.fingerprint) {
      return reused();
    }
    return ClaimResult{ClaimState::kRunning, it->second.run, {}};
  }
  absl::StatusOr<internal::OperationRecord> record = ReadRecord(request.id);
  if (record.ok()) {
    if (record->fingerprint() != request.fingerprint) return reused();
    return ClaimResult{ClaimState::kFinished, nullptr, *std::move(record)};
  }
  if (!absl::IsNotFound(record.status())) {
    L4D2_LOG(WARNING) << record.status().message() << "; running the operation again";
  }
  if (auto it = locks_.find(request.lock); it != locks_.end()) {
    return absl::AbortedError(absl::StrCat("another operation ('", it->second, "') is running on '",
                                           request.lock, "'; retry later"));
  }
  v1::Operation operation;
  operation.set_id(request.id);
  operation.set_kind(request.kind);
  operation.set_target(request.target);
  operation.set_state(v1::OPERATION_STATE_RUNNING);
  SetTime(operation.mutable_started_at(), clock_.Now());
  auto run = std::make_shared<OperationRun>(std::move(operation));
  running_[request.id] = Running{request, run};
  locks_[request.lock] = request.id;
  return ClaimResult{ClaimState::kNew, run, {}};
}

absl::Status OperationRegistry::Finish(const std::shared_ptr<OperationRun>& run,
                                       const absl::Status& status, const std::string& result) {
  // The work is done, its record not yet written: a retry must not do it twice.
  CrashPoint("operation.before_record");
  const absl::Time now = clock_.Now();
  internal::OperationRecord record;
  v1::Operation* operation = record.mutable_operation();
  *operation = run->Snapshot();
  operation->set_state(status.ok() ? v1::OPERATION_STATE_SUCCEEDED : v1::OPERATION_STATE_FAILED);
  operation->set_error_code(static_cast<int32_t>(status.code()));
  operation->set_error_message(std::string(status.message()));
  SetTime(operation->mutable_finished_at(), now);
  if (status.ok()) record.set_result(result);
  // Recorded and released before anyone learns of the end, so that whoever saw the end and
  // asks again finds the record. The write (an fsync) happens outside the registry's lock, so
  // that operations on other instances end in parallel; meanwhile the operation still counts
  // as running, and a retry re-attaches to it.
  std::optional<std::string> fingerprint;
  {
    absl::MutexLock lock(&mutex_);
    auto it = running_.find(operation->id());
    if (it != running_.end()) fingerprint = it->second.request.fingerprint;
  }
  absl::Status persisted;
  if (fingerprint) {
    record.set_fingerprint(*fingerprint);
    persisted = WriteFileAtomically(PathOf(operation->id()), record.SerializeAsString(), 0600);
    absl::MutexLock lock(&mutex_);
    auto it = running_.find(operation->id());
    if (it != running_.end()) {
      locks_.erase(it->second.request.lock);
      running_.erase(it);
    }
  }
  run->End(status, status.ok() ? result : "", now);
  bool prune = false;
  {
    absl::MutexLock lock(&mutex_);
    prune = now - last_prune_ >= kPruneInterval;
  }
  if (prune) Prune();  // An agent that runs for months keeps a week of records, not months.
  return persisted;
}

absl::StatusOr<v1::Operation> OperationRegistry::Get(const std::string& id) {
  L4D2_RETURN_IF_ERROR(ValidateId(id));
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = running_.find(id); it != running_.end()) return it->second.run->Snapshot();
  }
  absl::StatusOr<internal::OperationRecord> record = ReadRecord(id);
  if (absl::IsNotFound(record.status())) {
    return absl::NotFoundError(absl::StrCat("no operation '", id, "'"));
  }
  L4D2_RETURN_IF_ERROR(record.status());
  return record->operation();
}

}  // namespace l4d2::agent
