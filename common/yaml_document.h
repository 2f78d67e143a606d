#pragma once

// Safe loading of YAML written by users and operators (configs, instance specs, blueprints).
//
// yaml-cpp builds whatever a document describes, so a hostile 350-byte document with nested
// aliases expands to millions of nodes. Before building any node, ParseYamlDocument walks the
// event stream once and rejects what we never accept: more bytes than the limit, NUL bytes,
// anchors and aliases, explicit tags, non-scalar or duplicate mapping keys, nesting deeper than
// the limit, too many nodes, and more than one document.
//
// YamlMapReader then maps one mapping onto a typed struct field by field, with the path of each
// value in error messages ("listen.tcp: expected a string") and unknown keys rejected, so a typo
// in a config is an error instead of a silently ignored setting.
//
// All errors are INVALID_ARGUMENT, except an unreadable file (the errno's code).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace l4d2 {

struct YamlLimits {
  size_t max_bytes = 1 << 20;
  int max_depth = 16;
  size_t max_nodes = 20000;
};

// `what` names the document in messages, e.g. "instance spec 'spec.yaml'".
// An empty document yields a null node.
absl::StatusOr<YAML::Node> ParseYamlDocument(absl::string_view text, absl::string_view what,
                                             const YamlLimits& limits = {});

// Reads at most limits.max_bytes + 1 bytes of `path` and parses them as above.
absl::StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const YamlLimits& limits = {});

class YamlMapReader {
 public:
  // `node` must be a mapping or null (treated as empty). `path` prefixes every key in errors;
  // empty for the document root.
  YamlMapReader(const YAML::Node& node, std::string path);

  // Each reader sets *out only when the key is present and valid; absent optional keys keep
  // the caller's default. The first error is kept; later calls after an error do nothing.
  void String(absl::string_view key, std::string* out, bool required = false);
  void Int(absl::string_view key, int64_t* out, int64_t min, int64_t max, bool required = false);
  void Int(absl::string_view key, int* out, int min, int max, bool required = false);
  void Bool(absl::string_view key, bool* out);
  // Abseil duration syntax: "10s", "1m30s", "250ms".
  void Duration(absl::string_view key, absl::Duration* out);
  void StringList(absl::string_view key, std::vector<std::string>* out);
  // A nested mapping (null node when absent). Read it with a YamlMapReader of its own, whose
  // path is Child(key).
  YAML::Node Map(absl::string_view key);
  std::string Child(absl::string_view key) const;
  // A nested list (null node when absent); its items' paths are Child(key) + "[i]".
  YAML::Node Sequence(absl::string_view key);

  // Records an error for `key` from the caller's own validation.
  void Fail(absl::string_view key, absl::string_view message);

  // OK, or the first error; unknown keys are an error here.
  absl::Status Finish();

 private:
  // Returns the value of `key` and marks it consumed; null node when absent.
  YAML::Node Take(absl::string_view key);

  YAML::Node node_;
  std::string path_;
  absl::flat_hash_set<std::string> consumed_;
  absl::Status status_;
};

}  // namespace l4d2
