#include "agent/console/console_forwarder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "agent/console/console_batcher.h"

namespace l4d2::agent {
namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

std::string ErrnoText(const char* what) { return std::string(what) + ": " + strerror(errno); }

void WriteAll(ConsoleSink& sink, const std::vector<std::string>& entries) {
  for (const std::string& entry : entries) sink.Write(entry);
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(int write_fd, const sigset_t& original_mask, char* const* argv) {
  for (int signal_number : kStopSignals) ::signal(signal_number, SIG_DFL);
  sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  if (dup2(write_fd, STDOUT_FILENO) < 0 || dup2(write_fd, STDERR_FILENO) < 0) _exit(127);
  if (write_fd != STDOUT_FILENO && write_fd != STDERR_FILENO) close(write_fd);
  execv(argv[0], argv);
  const char* reason = strerror(errno);
  const char* parts[] = {"left4me-console: cannot run ", argv[0], ": ", reason, "\n"};
  for (const char* part : parts) {
    if (write(STDERR_FILENO, part, strlen(part)) < 0) break;
  }
  _exit(127);
}

}  // namespace

JournaldConsoleSink::JournaldConsoleSink(std::string identifier)
    : identifier_field_("SYSLOG_IDENTIFIER=" + identifier) {}

void JournaldConsoleSink::Write(std::string_view entry) {
  static constexpr char kMessage[] = "MESSAGE=";
  static constexpr char kPriority[] = "PRIORITY=6";
  struct iovec fields[3];
  // MESSAGE= and its bytes as one field: sd_journal_sendv takes one iovec per field.
  std::string message;
  message.reserve(sizeof(kMessage) + entry.size());
  message.append(kMessage).append(entry);
  fields[0] = {message.data(), message.size()};
  fields[1] = {const_cast<char*>(kPriority), sizeof(kPriority) - 1};
  fields[2] = {const_cast<char*>(identifier_field_.data()), identifier_field_.size()};
  (void)sd_journal_sendv(fields, 3);
}

int RunForwarded(const std::vector<std::string>& argv, ConsoleSink& sink, std::string* error) {
  if (argv.empty()) {
    *error = "no program to run";
    return -1;
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = ErrnoText("pipe");
    return -1;
  }
  // Stop signals are blocked across fork, so none is lost or kills the forwarder before it
  // ignores them; the child gets the original mask and default actions back.
  sigset_t stops, original;
  sigemptyset(&stops);
  for (int signal_number : kStopSignals) sigaddset(&stops, signal_number);
  sigprocmask(SIG_BLOCK, &stops, &original);
  const pid_t child = fork();
  if (child < 0) {
    *error = ErrnoText("fork");
    sigprocmask(SIG_SETMASK, &original, nullptr);
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (child == 0) ExecChild(fds[1], original, args.data());
  close(fds[1]);
  for (int signal_number : kStopSignals) ::signal(signal_number, SIG_IGN);
  sigprocmask(SIG_SETMASK, &original, nullptr);

  // The output until the game exits. Its own children may keep the pipe open after it: the
  // service ends with the game (as systemd would see it without the forwarder), so the
  // forwarder watches the game's exit too and then takes only what is already in the pipe.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  ConsoleBatcher batcher;
  std::string buffer(64 * 1024, '\0');
  bool exited = false;
  while (true) {
    struct pollfd polls[2] = {{fds[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int ready = poll(polls, pidfd >= 0 ? 2 : 1, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (pidfd >= 0 && (polls[1].revents & POLLIN) != 0 && !exited) {
      exited = true;
      fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    }
    if ((polls[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0 && !exited) continue;
    const ssize_t n = read(fds[0], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of output, or (after the exit) nothing more in the pipe
    WriteAll(sink, batcher.Feed(std::string_view(buffer.data(), static_cast<size_t>(n))));
  }
  WriteAll(sink, batcher.Finish());
  close(fds[0]);
  if (pidfd >= 0) close(pidfd);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      *error = ErrnoText("waitpid");
      return -1;
    }
  }
  return status;
}

}  // namespace l4d2::agent
