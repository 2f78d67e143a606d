#pragma once

// OS capability: extracting an untrusted archive (tar.gz, zip) into a directory, refusing
// entries that would escape it. Implementations: fetch/archive.h (libarchive, in process; what
// left4me-fetch runs) and os/linux/fetch_helper.h (the agent's: through left4me-fetch).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace l4d2::agent {

struct ExtractLimits {
  uint64_t max_bytes = uint64_t{8} << 30;
  uint64_t max_entries = 200000;
};

class ArchiveExtractor {
 public:
  virtual ~ArchiveExtractor() = default;
  // Extracts `archive` into the existing directory `destination`, dropping `strip_components`
  // leading path components of every entry. Returns the number of files written.
  // INVALID_ARGUMENT for a malformed archive or a refused entry (named), RESOURCE_EXHAUSTED
  // above the limits.
  virtual absl::StatusOr<uint64_t> Extract(const std::string& archive,
                                           const std::string& destination,
                                           uint32_t strip_components,
                                           const ExtractLimits& limits) = 0;
};

}  // namespace l4d2::agent
