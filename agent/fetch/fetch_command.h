#pragma once

// left4me-fetch: downloads and archive extraction for overlay syncs, in a process of their own
// so that HTTP responses and untrusted archives are parsed outside the agent (and the agent
// need not load libcurl and libarchive). The agent runs it through os/linux/fetch_helper.h.
//
//   left4me-fetch get URL OUT MAX_BYTES TIMEOUT_MS             body to OUT (mode 0600)
//   left4me-fetch post URL FORM_FILE OUT MAX_BYTES TIMEOUT_MS  a form POST; body to OUT
//   left4me-fetch post-json URL BODY_FILE OUT MAX_BYTES TIMEOUT_MS   a JSON POST; body to OUT
//   left4me-fetch extract ARCHIVE DEST STRIP MAX_BYTES MAX_ENTRIES
//   left4me-fetch id                                           "ok <uid>": who does the work
//
// With `--as UID:GID` first, the work runs as that account, never as root (issue Isolation,
// 5 and 8: HTTP and archives are parsed by an account that owns nothing else, and a full disk
// stops it before root's reserved blocks). The files the agent hands over (OUT, FORM_FILE,
// ARCHIVE) are opened before the drop and given to the account, then reached through
// /proc/self/fd; an extraction's DEST must already be the account's (the agent takes the tree
// back afterwards).
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
