#pragma once

// Gives back the memory a long-running daemon's start-up alone needed.
//
// Loading and initialising a process touches much of its binary's and shared libraries' code
// and constants (relocations, static initializers, option parsing), and the kernel maps pages
// around every fault besides; little of it runs again. The agent's resident memory is mostly
// such pages (docs/benchmarks.md, P8). Once started, a daemon can ask the kernel to reclaim the
// pages of its read-only file mappings; the ones it still uses fault back in from the page
// cache or the file. Pages another process also maps (libc, libcrypto) are left alone by the
// kernel's reclaim; of those, code pages are still dropped from this process's page tables.

#include <cstdint>

#include "absl/status/statusor.h"

namespace l4d2 {

// madvise(MADV_PAGEOUT) over every read-only file mapping of this process (executable code and
// constants; never writable or anonymous memory), then madvise(MADV_DONTNEED) over its code
// (mapped r-x, never written: the file's own pages; read-only data is not, since relocated
// constants were written before being made read-only). Returns the bytes advised.
absl::StatusOr<int64_t> ReleaseStartupPages();

}  // namespace l4d2
