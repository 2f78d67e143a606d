#pragma once

// The Steam Web API's stand-in (tests/fakes/steam_web_api.py: Workshop details, player
// summaries, the file CDN) on a free loopback port, serving the state in `state_dir`, started
// and answering.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"

namespace l4d2::testing {

struct SteamWebApiStandIn {
  std::unique_ptr<ChildProcess> process;
  std::string url;  // http://127.0.0.1:<port>
};

inline absl::StatusOr<SteamWebApiStandIn> StartSteamWebApi(const std::string& state_dir) {
  const int port = FreeGamePort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start({.argv = {"/usr/bin/env", "python3",
                                    std::string(L4D2_SOURCE_DIR) + "/tests/fakes/steam_web_api.py",
                                    std::to_string(port), state_dir}});
  if (!process.ok()) return process.status();
  if (!(*process)->WaitForOutput("Serving Steam Web API stand-in")) {
    return absl::UnavailableError(
        absl::StrCat("the Steam Web API stand-in did not start: ", (*process)->Output()));
  }
  return SteamWebApiStandIn{*std::move(process), absl::StrCat("http://127.0.0.1:", port)};
}

}  // namespace l4d2::testing
