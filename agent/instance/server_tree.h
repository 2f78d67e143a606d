#pragma once

// The files a game server owns (issue Isolation): it runs as an account of its own and its
// layers belong to root, so what it may write is made its own before each start.
//
// GiveDirectoriesTo makes every directory the server's merged tree shows (the union of its
// lower layers, highest first, as overlayfs merges them) a directory of the writable layer
// `upper` owned by the account, mode 0755: overlayfs takes a merged directory's owner and mode
// from its upper part, so the game may create and remove files anywhere its tree has a
// directory, as a server owning its install could. The layers' own files stay root's: the game
// reads them and cannot change them. A directory the upper layer hides (a whiteout, a file)
// stays hidden. Existing upper directories of another owner (a server moved from the shared
// account of earlier versions) are given to the account with everything in them.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/file_util.h"

namespace l4d2::agent {

// `lowers`: the layers' directories, highest first. At most 100,000 directories and 32 levels;
// RESOURCE_EXHAUSTED past them.
absl::Status GiveDirectoriesTo(const std::string& upper, const std::vector<std::string>& lowers,
                               FileOwner owner);

}  // namespace l4d2::agent
