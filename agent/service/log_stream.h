#pragma once

// StreamLogs: journalctl's output for one unit, as LogBatch messages of up to 256 lines, sent
// as soon as 20 ms pass without a new line. A reader task owns the journalctl process; the
// reactor sends. A bounded queue (64 batches) between them makes a slow client slow the
// reader (journald keeps everything meanwhile), never the agent. Cancellation (client gone,
// server shutdown) kills journalctl, which ends the reader task.
//
// One write in flight; Finish exactly once; state shared with the reader outlives the reactor.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/logs/journal.h"
#include "agent/operations/task_runner.h"
#include "agent/os/process_runner.h"
#include "grpcpp/support/server_callback.h"
#include "l4d2/agent/v1/logs.pb.h"

namespace l4d2::agent {

struct LogStreamOptions {
  std::string journalctl = "/usr/bin/journalctl";
  std::vector<std::string> env;
};

class LogStream final : public grpc::ServerWriteReactor<v1::LogBatch> {
 public:
  // Starts the reader on `tasks`. `runner` and `tasks` must outlive the stream's reader.
  LogStream(ProcessRunner& runner, TaskRunner& tasks, const LogStreamOptions& options,
            std::vector<std::string> journalctl_args);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Shared;
  static void Read(std::shared_ptr<Shared> shared, ProcessRunner& runner, ProcessOptions process);

  std::shared_ptr<Shared> shared_;
};

}  // namespace l4d2::agent
