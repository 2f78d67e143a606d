#pragma once

// Orderly shutdown of daemons on SIGTERM (systemd's stop) and SIGINT (Ctrl-C).
//
// Call BlockTerminationSignals() first thing in main(), before any thread exists, so that every
// thread inherits the blocked mask and the signal stays pending for the one thread that waits
// for it in WaitForTerminationSignal(). No async signal handler runs at all.

namespace l4d2 {

void BlockTerminationSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace l4d2
