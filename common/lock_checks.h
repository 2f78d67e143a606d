#pragma once

// Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on in every
// program linked against it: each Lock of any absl::Mutex (gRPC's own included) takes one
// process-wide lock and records the mutex, with a stack trace, in a graph of all mutexes. The
// long-running binaries turn it off once serving is what matters (docs/benchmarks.md, P7: 20%
// of the controller's CPU with 5,000 agents went to that graph). The tests keep it on, so a
// lock-order inversion still fails them.

namespace l4d2 {

// Call at the top of main, before any thread starts.
void DisableLockOrderChecks();

}  // namespace l4d2
