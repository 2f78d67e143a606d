#include "tests/testing/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/os/linux/linux_process_runner.h"
#include "tests/testing/eventually.h"

extern char** environ;

namespace l4d2::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const ChildOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  // The test's own environment with the options' additions.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : options.env) env[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);

  absl::StatusOr<agent::SpawnedChild> spawned =
      agent::SpawnWithOutputPipe(options.argv, env_strings, options.cwd);
  if (!spawned.ok()) return spawned.status();
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = spawned->pid;
  child->reader_ = std::thread(&ChildProcess::ReadOutput, spawned->output_fd, child->output_);
  return child;
}

void ChildProcess::ReadOutput(int fd, std::shared_ptr<SharedOutput> output) {
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&output->mutex);
    output->text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  absl::MutexLock lock(&output->mutex);
  output->closed = true;
}

bool ChildProcess::WaitForOutputClosed(absl::Duration timeout) const {
  absl::MutexLock lock(&output_->mutex);
  return output_->mutex.AwaitWithTimeout(absl::Condition(&output_->closed), timeout);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    // The group outlives its leader when descendants remain; end them all.
    ::kill(-pid_, SIGKILL);
    if (!reaped_) ::waitpid(pid_, &status_, 0);
  }
  if (!reader_.joinable()) return;
  if (WaitForOutputClosed(absl::Seconds(5))) {
    reader_.join();
  } else {
    reader_.detach();  // Safe: the reader owns its share of the output.
  }
}

std::string ChildProcess::Output() const {
  absl::MutexLock lock(&output_->mutex);
  return output_->text;
}

bool ChildProcess::WaitForOutput(const std::string& text, absl::Duration timeout) const {
  return Eventually([&] { return Output().find(text) != std::string::npos; }, timeout);
}

void ChildProcess::Signal(int signal_number) const {
  if (pid_ > 0) ::kill(-pid_, signal_number);
}

bool ChildProcess::Running() {
  if (reaped_) return false;
  pid_t done = ::waitpid(pid_, &status_, WNOHANG);
  if (done == pid_) reaped_ = true;
  return !reaped_;
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (!Eventually([&] { return !Running(); }, timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still runs"));
  }
  (void)WaitForOutputClosed(absl::Seconds(2));
  return status_;
}

absl::StatusOr<std::string> RunToCompletion(const ChildOptions& options, int* status,
                                            absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(options);
  if (!child.ok()) return child.status();
  absl::StatusOr<int> waited = (*child)->Wait(timeout);
  if (!waited.ok()) return waited.status();
  *status = *waited;
  // The reader may lag the exit by a moment: wait for the end of the output.
  if (!(*child)->WaitForOutputClosed(timeout)) {
    return absl::DeadlineExceededError("output still open (a descendant holds it)");
  }
  return (*child)->Output();
}

}  // namespace l4d2::testing
