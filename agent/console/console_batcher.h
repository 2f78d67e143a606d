#pragma once

// A game's console output, as it comes out of a pipe, cut into journal entries of whole lines.
//
// journald's cost is per entry, not per byte: one line per entry caps a host at its ingest
// rate (about 60,000 entries/s on two cores, docs/benchmarks.md, P3). The console forwarder
// (console_forwarder.h) writes every complete line one read brought as one entry instead: a
// quiet server still gets an entry per line, a flood gets few entries of many lines. An entry
// keeps its lines' newlines, the last one included, so the agent splits it back into exactly
// the lines the game printed (agent/logs/journal.h, ToLogLines).
//
// Pure and without Abseil: the forwarder runs beside every server and stays small.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace l4d2::agent {

class ConsoleBatcher {
 public:
  // No entry is longer than `max_entry_bytes`: a longer line is cut (journald's LineMax does
  // the same to a line it reads from a stream), and lines are never split between entries
  // otherwise.
  explicit ConsoleBatcher(size_t max_entry_bytes = 48 * 1024);

  // Takes the next bytes of output; returns the entries they completed, oldest first.
  std::vector<std::string> Feed(std::string_view bytes);
  // At the end of the output: the last line if it had no newline (as an entry without one).
  std::vector<std::string> Finish();

 private:
  const size_t max_entry_bytes_;
  std::string pending_;  // bytes not yet in an entry
};

}  // namespace l4d2::agent
