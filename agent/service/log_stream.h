#pragma once

// StreamLogs: one unit's journal entries as LogBatch messages of up to 256 lines. A reader
// task owns the JournalReader: it sends what is there, then, when following, looks again every
// 10 ms (journald's own change notifications come only every 250 ms). The reactor sends. A
// bounded queue (64 batches) between them makes a slow client slow the reader (journald keeps
// everything meanwhile), never the agent. Cancellation (client gone, server shutdown) ends the
// reader task at its next look.
//
// One write in flight; Finish exactly once; state shared with the reader outlives the reactor.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/logs/journal.h"
#include "agent/operations/task_runner.h"
#include "agent/os/journal_reader.h"
#include "grpcpp/support/server_callback.h"
#include "l4d2/agent/v1/logs.pb.h"

namespace l4d2::agent {

class LogStream final : public grpc::ServerWriteReactor<v1::LogBatch> {
 public:
  // Starts the reader on `tasks`. `journal` and `tasks` must outlive the stream's reader.
  LogStream(Journal& journal, TaskRunner& tasks, JournalQuery query);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Shared;
  static void Read(std::shared_ptr<Shared> shared, Journal& journal, const JournalQuery& query);

  std::shared_ptr<Shared> shared_;
};

}  // namespace l4d2::agent
