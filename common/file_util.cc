#include "common/file_util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace l4d2 {
namespace {

// Closes a descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the error close(2) gives (data may be lost on NFS and full disks).
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::StatusOr<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes) {
  std::string contents;
  char buffer[64 * 1024];
  while (true) {
    L4D2_ASSIGN_OR_RETURN(size_t n, ReadSome(fd, buffer, sizeof(buffer), path));
    if (n == 0) break;
    if (contents.size() + n > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is larger than ", max_bytes, " bytes"));
    }
    contents.append(buffer, n);
  }
  return contents;
}

}  // namespace

absl::StatusOr<size_t> ReadSome(int fd, char* buffer, size_t size, absl::string_view path) {
  while (true) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError(errno, "read", path);
  }
}

absl::Status ReadFullyAt(int fd, char* buffer, size_t size, uint64_t offset,
                         absl::string_view path) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read", path);
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat("'", path, "' ends at ", offset + done, " bytes, before ", offset + size));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteFully(int fd, absl::string_view data, absl::string_view path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status WriteFullyAt(int fd, absl::string_view data, uint64_t offset, absl::string_view path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "write", path);
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ErrnoError(int error_number, absl::string_view action, absl::string_view path) {
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat("failed to ", action, " '", path, "': ", std::strerror(error_number)));
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  FdCloser fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  return ReadAll(fd.get(), path, max_bytes);
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string UniqueFd::ProcPath() const { return absl::StrCat("/proc/self/fd/", fd_); }

absl::StatusOr<UniqueFd> OpenBeneath(int directory, const std::string& relative, int flags,
                                     Symlinks symlinks) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (symlinks == Symlinks::kRefuse) how.resolve |= RESOLVE_NO_SYMLINKS;
  const long fd = ::syscall(SYS_openat2, directory, relative.c_str(), &how, sizeof(how));
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno == EXDEV) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", relative, "' resolves outside its directory"));
  }
  return ErrnoError(errno, "open", relative);
}

absl::StatusOr<UniqueFd> OpenBeneath(const std::string& directory, const std::string& relative,
                                     int flags, Symlinks symlinks) {
  UniqueFd root(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) return ErrnoError(errno, "open directory", directory);
  return OpenBeneath(root.get(), relative, flags, symlinks);
}

absl::StatusOr<std::string> ReadFileBeneath(const std::string& directory,
                                            const std::string& relative, size_t max_bytes,
                                            Symlinks symlinks) {
  L4D2_ASSIGN_OR_RETURN(UniqueFd fd,
                        OpenBeneath(directory, relative, O_RDONLY | O_NOCTTY, symlinks));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return ErrnoError(errno, "stat", relative);
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("'", relative, "' is not a regular file"));
  }
  return ReadAll(fd.get(), relative, max_bytes);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 Durability durability, std::optional<FileOwner> owner) {
  // A unique temporary name next to the target; rename(2) is atomic only within a file system.
  std::string temp = absl::StrCat(path, ".tmp.XXXXXX");
  FdCloser fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "create a temporary file for", path);
  auto remove_temp = [&temp](absl::Status status) {
    ::unlink(temp.c_str());
    return status;
  };
  if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
    return remove_temp(ErrnoError(errno, "chown", temp));
  }
  if (::fchmod(fd.get(), mode) != 0) return remove_temp(ErrnoError(errno, "chmod", temp));
  absl::Status written = WriteFully(fd.get(), contents, temp);
  if (!written.ok()) return remove_temp(written);
  if (durability == Durability::kSynced && ::fsync(fd.get()) != 0) {
    return remove_temp(ErrnoError(errno, "fsync", temp));
  }
  if (fd.Close() != 0) return remove_temp(ErrnoError(errno, "close", temp));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return remove_temp(ErrnoError(errno, "rename a temporary file to", path));
  }
  if (durability == Durability::kRegenerable) return absl::OkStatus();
  return SyncDirectory(DirectoryOf(path));  // the rename itself durable
}

absl::Status SyncDirectory(const std::string& directory) {
  FdCloser dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoError(errno, "open directory", directory);
  if (::fsync(dir.get()) != 0) return ErrnoError(errno, "fsync directory", directory);
  return absl::OkStatus();
}

bool WrittenLongerAgoThan(const std::string& path, absl::Duration age) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return false;
  return absl::Now() - absl::TimeFromTimespec(info.st_mtim) > age;
}

absl::Status WriteFileInPlace(const std::string& path, absl::string_view contents, mode_t mode) {
  FdCloser fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return ErrnoError(errno, "create", path);
  L4D2_RETURN_IF_ERROR(WriteFully(fd.get(), contents, path));
  if (fd.Close() != 0) return ErrnoError(errno, "close", path);
  return absl::OkStatus();
}

bool IsExecutableFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace l4d2
