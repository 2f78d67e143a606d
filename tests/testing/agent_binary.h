#pragma once

// The l4d2-agent binary as tests start it: with the helpers this build made. Their installed
// defaults (<libexec>/left4me/...) are not there in a build tree, and the agent refuses to start
// without them. Needs the test binaries' compile definitions (tests/CMakeLists.txt).

#include <string>
#include <vector>

namespace l4d2::testing {

// `argv` (the agent binary first) with the built helpers' flags after the program.
inline std::vector<std::string> WithBuiltHelpers(std::vector<std::string> argv) {
  argv.insert(argv.begin() + 1, {"--overlay_helper", L4D2_OVERLAY_HELPER, "--console_helper",
                                 L4D2_CONSOLE_HELPER, "--fetch_helper", L4D2_FETCH_HELPER});
  return argv;
}

}  // namespace l4d2::testing
