#include "common/crash_points.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/logging.h"

namespace l4d2 {

void CrashPoint(const char* name) {
  static const char* const armed = std::getenv("L4D2_CRASH_AT");
  if (armed == nullptr || std::strcmp(armed, name) != 0) return;
  L4D2_LOG(WARNING) << "crash point '" << name << "': killing this process (L4D2_CRASH_AT)";
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace l4d2
