#pragma once

// Overlay archives: extraction of tar.gz and zip files with libarchive. Runs in left4me-fetch,
// not in the agent (untrusted input stays out of the agent's process).
//
// Extraction refuses absolute paths, ".." components and (with libarchive's secure flags)
// writing through symlinks; it refuses link, device and fifo entries outright (game content
// needs none, and a link is the classic way out of a directory). Owners are not restored;
// modes are masked to 0755 for directories and executables, 0644 otherwise.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "agent/os/archive_extractor.h"

namespace l4d2::agent {

// Extracts `archive` into the existing directory `destination`, dropping `strip_components`
// leading path components of every entry (entries left empty are skipped). Returns the number
// of files written. INVALID_ARGUMENT for a malformed archive or a refused entry (named),
// RESOURCE_EXHAUSTED above the limits.
absl::StatusOr<uint64_t> ExtractArchive(const std::string& archive, const std::string& destination,
                                        uint32_t strip_components, const ExtractLimits& limits);

// ArchiveExtractor in this process, with ExtractArchive.
class LibarchiveExtractor final : public ArchiveExtractor {
 public:
  absl::StatusOr<uint64_t> Extract(const std::string& archive, const std::string& destination,
                                   uint32_t strip_components,
                                   const ExtractLimits& limits) override {
    return ExtractArchive(archive, destination, strip_components, limits);
  }
};

}  // namespace l4d2::agent
