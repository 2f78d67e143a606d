#pragma once

// left4me-console: runs a game server with its standard output and error in a pipe, and writes
// what comes out to the journal as entries of whole lines (console_batcher.h).
//
// It is the unit's main process (ExecStart=left4me-console -- .../srcds_run ...), so systemd's
// view is unchanged: the service ends when the game does, with the game's exit code or signal
// (main.cc passes it on). Stop signals need no relaying: systemd sends KillSignal to every
// process of the unit (KillMode=control-group), the game included; the forwarder itself
// ignores them and exits once the game has.
//
// Pure C++ and libsystemd, no Abseil: one runs beside every server.

#include <string>
#include <string_view>
#include <vector>

namespace l4d2::agent {

// Where the entries go.
class ConsoleSink {
 public:
  virtual ~ConsoleSink() = default;
  // One entry; a failure is not the game's problem (it is dropped).
  virtual void Write(std::string_view entry) = 0;
};

// journald's native protocol (sd_journal_sendv): MESSAGE, PRIORITY=6 (info) and
// SYSLOG_IDENTIFIER, attributed by journald to the unit the process runs in.
class JournaldConsoleSink final : public ConsoleSink {
 public:
  explicit JournaldConsoleSink(std::string identifier);
  void Write(std::string_view entry) override;

 private:
  const std::string identifier_field_;
};

// Runs `argv` (argv[0] a path) with the forwarder's standard input and environment, its output
// to `sink`, and returns the wait status of the program once it has exited and its output is
// written. -1 with `error` set when it could not be started (fork or pipe failed); a program
// that cannot be executed exits 127 after saying why on its output.
int RunForwarded(const std::vector<std::string>& argv, ConsoleSink& sink, std::string* error);

}  // namespace l4d2::agent
