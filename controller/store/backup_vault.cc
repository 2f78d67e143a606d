#include "controller/store/backup_vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace l4d2::controller {
namespace fs = std::filesystem;
namespace {

constexpr absl::string_view kSuffix = ".tar.zst";
constexpr absl::string_view kIncoming = ".incoming-";

absl::Status ValidateDigest(absl::string_view sha256) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError("sha256: 64 lowercase hex digits expected");
  }
  return absl::OkStatus();
}

}  // namespace

BackupVault::Incoming::Incoming(std::string path, std::string final_path, std::string sha256,
                                uint64_t size_bytes, UniqueFd fd)
    : path_(std::move(path)),
      final_path_(std::move(final_path)),
      sha256_(std::move(sha256)),
      size_bytes_(size_bytes),
      fd_(std::move(fd)) {}

BackupVault::Incoming::~Incoming() {
  if (!finished_) ::unlink(path_.c_str());
}

absl::Status BackupVault::Incoming::Append(absl::string_view data) {
  if (received_ + data.size() > size_bytes_) {
    return absl::DataLossError(
        absl::StrCat("the archive ", sha256_, " is longer than its ", size_bytes_, " bytes"));
  }
  L4D2_RETURN_IF_ERROR(WriteFully(fd_.get(), data, path_));
  digest_.Update(data);
  received_ += data.size();
  return absl::OkStatus();
}

absl::Status BackupVault::Incoming::Finish() {
  if (received_ != size_bytes_) {
    return absl::DataLossError(absl::StrCat("the archive ", sha256_, " ended at ", received_,
                                            " of its ", size_bytes_, " bytes"));
  }
  const std::string received = digest_.HexDigest();
  if (received != sha256_) {
    return absl::DataLossError(absl::StrCat("the archive received does not match its SHA-256 (",
                                            received, ", recorded ", sha256_, ")"));
  }
  if (::fsync(fd_.get()) != 0) return ErrnoError(errno, "fsync", path_);
  if (::rename(path_.c_str(), final_path_.c_str()) != 0) return ErrnoError(errno, "rename", path_);
  finished_ = true;
  return SyncDirectory(fs::path(final_path_).parent_path().string());
}

BackupVault::BackupVault(std::string dir) : dir_(std::move(dir)) {}

absl::Status BackupVault::Open() {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return ErrnoError(error.value(), "create directory", dir_);
  if (::chmod(dir_.c_str(), 0700) != 0) return ErrnoError(errno, "chmod", dir_);
  for (auto it = fs::directory_iterator(dir_, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    if (absl::StartsWith(it->path().filename().string(), kIncoming) &&
        WrittenLongerAgoThan(it->path(), absl::Hours(24))) {
      L4D2_LOG(INFO) << "backup vault: removing the abandoned " << it->path().string();
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
  if (error) return ErrnoError(error.value(), "list", dir_);
  return absl::OkStatus();
}

std::string BackupVault::PathOf(absl::string_view sha256) const {
  return absl::StrCat(dir_, "/", sha256, kSuffix);
}

bool BackupVault::Has(absl::string_view sha256) const {
  if (!ValidateDigest(sha256).ok()) return false;
  struct stat info;
  return ::stat(PathOf(sha256).c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

absl::StatusOr<std::unique_ptr<BackupVault::Incoming>> BackupVault::Receive(
    absl::string_view sha256, uint64_t size_bytes) {
  L4D2_RETURN_IF_ERROR(ValidateDigest(sha256));
  std::string path = absl::StrCat(dir_, "/", kIncoming, sha256, "-XXXXXX");
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "create", path);
  return std::unique_ptr<Incoming>(new Incoming(std::move(path), PathOf(sha256),
                                                std::string(sha256), size_bytes, std::move(fd)));
}

absl::StatusOr<BackupVault::Part> BackupVault::Read(absl::string_view sha256, uint64_t offset,
                                                    size_t max_bytes) const {
  L4D2_RETURN_IF_ERROR(ValidateDigest(sha256));
  const std::string path = PathOf(sha256);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) return ErrnoError(errno, "stat", path);
  Part part;
  part.size_bytes = static_cast<uint64_t>(info.st_size);
  if (offset > part.size_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " beyond the archive's ", part.size_bytes, " bytes"));
  }
  part.data.resize(std::min<uint64_t>(max_bytes, part.size_bytes - offset));
  L4D2_RETURN_IF_ERROR(ReadFullyAt(fd.get(), part.data.data(), part.data.size(), offset, path));
  return part;
}

absl::Status BackupVault::Remove(absl::string_view sha256) {
  L4D2_RETURN_IF_ERROR(ValidateDigest(sha256));
  const std::string path = PathOf(sha256);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> BackupVault::RemoveUnreferenced(
    const absl::flat_hash_set<std::string>& referenced, absl::Duration min_age) {
  std::vector<std::string> removed;
  std::error_code error;
  for (auto it = fs::directory_iterator(dir_, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (!absl::EndsWith(file, kSuffix)) continue;
    const std::string sha256 = file.substr(0, file.size() - kSuffix.size());
    if (!IsSha256Hex(sha256) || referenced.contains(sha256) ||
        !WrittenLongerAgoThan(it->path(), min_age)) {
      continue;
    }
    L4D2_LOG(INFO) << "backup vault: removing " << file << ", which no backup refers to";
    L4D2_RETURN_IF_ERROR(Remove(sha256));
    removed.push_back(sha256);
  }
  if (error) return ErrnoError(error.value(), "list", dir_);
  return removed;
}

}  // namespace l4d2::controller
