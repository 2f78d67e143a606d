#pragma once

// left4me-fetch: downloads and archive extraction for overlay syncs, in a process of their own
// so that HTTP responses and untrusted archives are parsed outside the agent (and the agent
// need not load libcurl and libarchive). The agent runs it through os/linux/fetch_helper.h.
//
//   left4me-fetch get URL OUT MAX_BYTES TIMEOUT_MS             body to OUT (mode 0600)
//   left4me-fetch post URL FORM_FILE OUT MAX_BYTES TIMEOUT_MS  a form POST; body to OUT
//   left4me-fetch post-json URL BODY_FILE OUT MAX_BYTES TIMEOUT_MS   a JSON POST; body to OUT
//   left4me-fetch extract ARCHIVE DEST STRIP MAX_BYTES MAX_ENTRIES
//
// It prints one line: "ok <N>" (bytes written, or files extracted) with exit status 0, or
// "error <canonical code number> <message>" with exit status 1; usage errors exit 2.

#include <ostream>
#include <string>
#include <vector>

namespace l4d2::agent {

// Runs one command (`args` without the program name); returns the exit status.
int RunFetchCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace l4d2::agent
