#pragma once

// Named crash points for the fault tests of recovery (tests/root/agent_crash_test.cc): when the
// environment variable L4D2_CRASH_AT equals a point's name, the process kills itself with
// SIGKILL on reaching it, as kill -9 or a power cut would at that moment. Without the variable
// (production) a point costs one comparison. Points are named "<operation>.<moment>" and listed
// in docs/development.md ("Crash points").

namespace l4d2 {

void CrashPoint(const char* name);

}  // namespace l4d2
