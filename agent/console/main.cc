// left4me-console: the main process of left4me-server@<name>.service. Runs the game with its
// console output going to the journal in entries of whole lines (console_forwarder.h) and ends
// as the game ended, so systemd's restart policy and the agent's crash detection see the game.
//
//   left4me-console [--identifier NAME] -- PROGRAM [ARGUMENT...]

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "agent/console/console_forwarder.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: left4me-console [--identifier NAME] -- PROGRAM [ARGUMENT...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string identifier;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--identifier" && i + 1 < argc) {
      identifier = argv[++i];
    } else {
      return Usage();
    }
  }
  if (i >= argc || argv[i][0] != '/') return Usage();
  std::vector<std::string> program(argv + i, argv + argc);
  if (identifier.empty()) identifier = program[0].substr(program[0].rfind('/') + 1);
  l4d2::agent::JournaldConsoleSink sink(identifier);
  std::string error;
  const int status = l4d2::agent::RunForwarded(program, sink, &error);
  if (status < 0) {
    std::fprintf(stderr, "left4me-console: %s\n", error.c_str());
    return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    // End the same way, so systemd records the game's signal; without a core of our own (not
    // dumpable: setrlimit is outside the unit's system call filter, prctl is not).
    const int signal_number = WTERMSIG(status);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(signal_number, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal_number);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    raise(signal_number);
    return 128 + signal_number;
  }
  return 1;
}
