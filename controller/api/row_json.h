#pragma once

// The JSON of a list's rows as the API shows them (a server, a blueprint, an overlay),
// remembered per row id and revision (a counter every change to the row bumps). A page of a
// list then costs one index-only SQL read of ids, keys and revisions, and a full read of only
// the rows changed since they were last shown: protobuf's JSON parsing and printing per row was
// most of a list's time (docs/benchmarks.md, P6). The text is the row's `print`, protobuf's
// own printing of its API message, so a list assembled from it is what printing the whole
// List...Response gives. Thread-safe.
//
//   RowJsonMemo<Server> servers("servers", [](const Server& s) { return ToJson(ToApi(s)); });
//   body = servers.ListJson(page, next_token, [&](ids) { return store.GetMany(actor, ids); });
//
// Rows without a revision column (jobs, audit entries, users, tokens, hosts) are read in full,
// which is cheap, and remembered by a fingerprint of every field their JSON shows instead:
//   RowJsonMemo<Job> jobs("jobs", print, [](const Job& job) { return absl::HashOf(...); });
//   body = jobs.PageJson(rows, next_token);

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "controller/store/page.h"

namespace l4d2::controller {

// Row: a struct with `std::string id` and, unless a Version is given, `int64_t revision`.
template <typename Row>
class RowJsonMemo {
 public:
  using Print = std::function<std::string(const Row&)>;
  // A row's version: equal for two rows only when their JSON is the same.
  using Version = std::function<int64_t(const Row&)>;
  // Reads the full rows of `ids` (those still visible; any order).
  using Fetch = std::function<absl::StatusOr<std::vector<Row>>(absl::Span<const std::string> ids)>;

  // `field`: the list's name in its response ("servers"). Rows remembered at most `capacity`;
  // past it the memo starts afresh.
  // past it the memo starts afresh. Without `version`, a row's version is its revision.
  RowJsonMemo(std::string field, Print print, Version version = nullptr, size_t capacity = 200000)
      : field_(std::move(field)),
        print_(std::move(print)),
        version_(std::move(version)),
        capacity_(capacity) {}

  std::string Json(const Row& row) { return *Shared(row, VersionOf(row)); }

  // The body of the list's response for `rows`, read in full, and the next page token.
  std::string PageJson(absl::Span<const Row> rows, const std::string& next_page_token) {
    std::vector<int64_t> versions;
    versions.reserve(rows.size());
    for (const Row& row : rows) versions.push_back(VersionOf(row));
    std::vector<std::shared_ptr<const std::string>> parts;
    if (std::optional<std::string> body = Known(
            rows.size(), [&](size_t i) -> const std::string& { return rows[i].id; },
            [&](size_t i) { return versions[i]; }, next_page_token, parts)) {
      return *std::move(body);
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      if (parts[i] == nullptr) parts[i] = Remember(rows[i], versions[i]);
    }
    return Body(rows.size(), next_page_token, [&](size_t i) { return parts[i].get(); });
  }

  // The body of the list's response for `page` (as listed, in order) and the next page token.
  // Rows whose revision is not remembered are read with `fetch`; a row gone since the page was
  // listed is left out, one changed since is shown as it is now.
  absl::StatusOr<std::string> ListJson(absl::Span<const RowRevision> page,
                                       const std::string& next_page_token, const Fetch& fetch) {
    std::vector<std::shared_ptr<const std::string>> parts;
    if (std::optional<std::string> body = Known(
            page.size(), [&](size_t i) -> const std::string& { return page[i].id; },
            [&](size_t i) { return page[i].revision; }, next_page_token, parts)) {
      return *std::move(body);
    }
    // The others read in one query, printed and remembered.
    std::vector<std::string> missing;
    for (size_t i = 0; i < page.size(); ++i) {
      if (parts[i] == nullptr) missing.push_back(page[i].id);
    }
    absl::StatusOr<std::vector<Row>> rows = fetch(missing);
    if (!rows.ok()) return rows.status();
    absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> fetched;
    for (const Row& row : *rows) fetched[row.id] = Remember(row, VersionOf(row));
    for (size_t i = 0; i < page.size(); ++i) {
      if (parts[i] != nullptr) continue;
      auto it = fetched.find(page[i].id);
      if (it != fetched.end()) parts[i] = it->second;
    }
    return Body(page.size(), next_page_token, [&](size_t i) { return parts[i].get(); });
  }

 private:
  struct Entry {
    int64_t revision = 0;
    std::shared_ptr<const std::string> json;
  };

  // Looks rows 0..count-1 (`id(i)`, `version(i)`) up under one shared lock: usually every one
  // is known at its version, and the body is assembled there and returned. Otherwise nullopt,
  // with `parts` holding the known rows' JSON and null for the others.
  template <typename Id, typename Version>
  std::optional<std::string> Known(size_t count, Id id, Version version,
                                   const std::string& next_page_token,
                                   std::vector<std::shared_ptr<const std::string>>& parts) {
    absl::ReaderMutexLock lock(&mutex_);
    std::vector<const std::string*> known(count);
    bool all = true;
    for (size_t i = 0; i < count; ++i) {
      auto it = by_id_.find(id(i));
      if (it != by_id_.end() && it->second.revision == version(i)) {
        known[i] = it->second.json.get();
      } else {
        all = false;
      }
    }
    if (all) return Body(count, next_page_token, [&](size_t i) { return known[i]; });
    parts.assign(count, nullptr);
    for (size_t i = 0; i < count; ++i) {
      if (known[i] != nullptr) parts[i] = by_id_.find(id(i))->second.json;
    }
    return std::nullopt;
  }

  int64_t VersionOf(const Row& row) const {
    if (version_) return version_(row);
    if constexpr (requires { row.revision; }) {
      return row.revision;
    } else {
      return 0;
    }
  }

  // The row's JSON at `version`, remembered or printed now.
  std::shared_ptr<const std::string> Shared(const Row& row, int64_t version) {
    {
      absl::ReaderMutexLock lock(&mutex_);
      auto it = by_id_.find(row.id);
      if (it != by_id_.end() && it->second.revision == version) return it->second.json;
    }
    return Remember(row, version);
  }

  // Prints and remembers the row's JSON.
  std::shared_ptr<const std::string> Remember(const Row& row, int64_t version) {
    auto json = std::make_shared<const std::string>(print_(row));
    absl::MutexLock lock(&mutex_);
    if (by_id_.size() >= capacity_) by_id_.clear();
    Entry& entry = by_id_[row.id];
    // Two readers may race to print different revisions: keep the newer. (Fingerprints have
    // no order: the last printed is kept.)
    if (entry.json == nullptr || version_ || entry.revision <= version) {
      entry = Entry{.revision = version, .json = json};
    }
    return json;
  }

  // As protobuf prints the response: empty fields left out. `part(i)` is the i-th row's JSON,
  // or null for a row left out.
  template <typename Part>
  std::string Body(size_t count, const std::string& next_page_token, Part part) const {
    size_t size = 64 + field_.size() + next_page_token.size();
    for (size_t i = 0; i < count; ++i) size += part(i) == nullptr ? 0 : part(i)->size() + 1;
    std::string body;
    body.reserve(size);
    body += "{";
    bool first = true;
    for (size_t i = 0; i < count; ++i) {
      const std::string* json = part(i);
      if (json == nullptr) continue;
      if (first) {
        absl::StrAppend(&body, "\"", field_, "\":[");
      } else {
        body += ",";
      }
      body += *json;
      first = false;
    }
    if (!first) body += "]";
    if (!next_page_token.empty()) {
      // Page tokens are URL-safe base64: nothing to escape.
      absl::StrAppend(&body, first ? "" : ",", "\"nextPageToken\":\"", next_page_token, "\"");
    }
    body += "}";
    return body;
  }

  const std::string field_;
  const Print print_;
  const Version version_;
  const size_t capacity_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> by_id_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace l4d2::controller
