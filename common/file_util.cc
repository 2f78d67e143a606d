#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
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

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::Status ErrnoError(int error_number, absl::string_view action, absl::string_view path) {
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat("failed to ", action, " '", path, "': ", std::strerror(error_number)));
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  FdCloser fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  std::string contents;
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read", path);
    }
    if (n == 0) break;
    if (contents.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is larger than ", max_bytes, " bytes"));
    }
    contents.append(buffer, static_cast<size_t>(n));
  }
  return contents;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 Durability durability) {
  // A unique temporary name next to the target; rename(2) is atomic only within a file system.
  std::string temp = absl::StrCat(path, ".tmp.XXXXXX");
  FdCloser fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "create a temporary file for", path);
  auto remove_temp = [&temp](absl::Status status) {
    ::unlink(temp.c_str());
    return status;
  };
  if (::fchmod(fd.get(), mode) != 0) return remove_temp(ErrnoError(errno, "chmod", temp));
  absl::Status written = WriteAll(fd.get(), contents, temp);
  if (!written.ok()) return remove_temp(written);
  if (durability == Durability::kSynced && ::fsync(fd.get()) != 0) {
    return remove_temp(ErrnoError(errno, "fsync", temp));
  }
  if (fd.Close() != 0) return remove_temp(ErrnoError(errno, "close", temp));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return remove_temp(ErrnoError(errno, "rename a temporary file to", path));
  }
  if (durability == Durability::kRegenerable) return absl::OkStatus();
  // Make the rename itself durable.
  std::string directory = DirectoryOf(path);
  FdCloser dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoError(errno, "open directory", directory);
  if (::fsync(dir.get()) != 0) return ErrnoError(errno, "fsync directory", directory);
  return absl::OkStatus();
}

bool IsExecutableFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace l4d2
