#include "agent/os/linux/linux_process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

constexpr size_t kMaxLine = 64 * 1024;

class LinuxProcess final : public RunningProcess {
 public:
  LinuxProcess(pid_t pid, int output_fd) : pid_(pid), fd_(output_fd) {}
  ~LinuxProcess() override {
    if (!reaped_) {
      ::kill(-pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  int pid() const override { return pid_; }

  absl::StatusOr<std::string> ReadLine(absl::Time deadline) override {
    while (true) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos || buffer_.size() >= kMaxLine) {
        size_t take = newline != std::string::npos ? newline : kMaxLine;
        std::string line = buffer_.substr(0, take);
        buffer_.erase(0, newline != std::string::npos ? take + 1 : take);
        return line;
      }
      if (eof_) {
        if (buffer_.empty()) return absl::OutOfRangeError("end of output");
        std::string line = std::move(buffer_);
        buffer_.clear();
        return line;
      }
      int64_t ms = absl::ToInt64Milliseconds(RealTimeLeft(deadline));
      if (ms <= 0) return absl::DeadlineExceededError("no output line in time");
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
      if (ready < 0 && errno != EINTR) return ErrnoError(errno, "poll output of", argv0_);
      if (ready <= 0) continue;
      char chunk[16384];
      ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return ErrnoError(errno, "read output of", argv0_);
      }
      if (n == 0) {
        eof_ = true;
      } else {
        buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
  }

  void Signal(int signal_number) override {
    if (!reaped_) ::kill(-pid_, signal_number);
  }

  absl::StatusOr<ExitStatus> Wait(absl::Time deadline) override {
    while (!reaped_) {
      int status = 0;
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        reaped_ = true;
        exit_ = WIFSIGNALED(status) ? ExitStatus{true, WTERMSIG(status)}
                                    : ExitStatus{false, WEXITSTATUS(status)};
        break;
      }
      if (done < 0 && errno != EINTR) return ErrnoError(errno, "wait for", argv0_);
      if (RealTimeLeft(deadline) <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still runs"));
      }
      // Child exit is not pollable without a pidfd wait loop; a short sleep bounds the latency.
      absl::SleepFor(absl::Milliseconds(2));
    }
    return exit_;
  }

  void set_argv0(std::string argv0) { argv0_ = std::move(argv0); }

 private:
  pid_t pid_;
  int fd_;
  std::string argv0_;
  std::string buffer_;
  bool eof_ = false;
  bool reaped_ = false;
  ExitStatus exit_;
};

}  // namespace

absl::StatusOr<SpawnedChild> SpawnWithOutputPipe(const std::vector<std::string>& argv_in,
                                                 const std::vector<std::string>& env_in,
                                                 const std::string& cwd) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError(errno, "create a pipe for", "process");
  std::vector<std::string> argv_strings = argv_in;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = env_in;
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t all;
  sigfillset(&all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setsigmask(&attributes, &none);
  // A process group of its own: signals reach the whole tree, as systemd's control-group
  // kill does (srcds_run is a shell whose child is the server).
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int error = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pipe_fds[1]);
  if (error != 0) {
    ::close(pipe_fds[0]);
    return ErrnoError(error, "execute", argv_in[0]);
  }
  return SpawnedChild{.pid = pid, .output_fd = pipe_fds[0]};
}

absl::StatusOr<std::unique_ptr<RunningProcess>> LinuxProcessRunner::Start(
    const ProcessOptions& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/') {
    return absl::InvalidArgumentError("process: argv[0] must be an absolute path");
  }
  if (::access(options.argv[0].c_str(), X_OK) != 0) {
    return ErrnoError(errno, "execute", options.argv[0]);
  }
  L4D2_ASSIGN_OR_RETURN(SpawnedChild child,
                        SpawnWithOutputPipe(options.argv, options.env, options.cwd));
  auto process = std::make_unique<LinuxProcess>(child.pid, child.output_fd);
  process->set_argv0(options.argv[0]);
  return process;
}

}  // namespace l4d2::agent
