#include "controller/api/server_json.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

std::shared_ptr<const std::string> ServerJsonCache::Remember(const Server& server) {
  auto json = std::make_shared<const std::string>(ToJson(ToApi(server)));
  absl::MutexLock lock(&mutex_);
  if (by_id_.size() >= capacity_) by_id_.clear();
  Entry& entry = by_id_[server.id];
  // Two readers may race to print different revisions: keep the newer.
  if (entry.json == nullptr || entry.revision <= server.revision) {
    entry = Entry{.revision = server.revision, .json = json};
  }
  return json;
}

std::string ServerJsonCache::Json(const Server& server) {
  {
    absl::ReaderMutexLock lock(&mutex_);
    auto it = by_id_.find(server.id);
    if (it != by_id_.end() && it->second.revision == server.revision) return *it->second.json;
  }
  return *Remember(server);
}

namespace {

// As protobuf prints ListServersResponse: empty fields left out. `Part(i)` is the i-th row's
// JSON or null for a row left out.
template <typename Part>
std::string ListBody(size_t count, const std::string& next_page_token, Part part) {
  size_t size = 64 + next_page_token.size();
  for (size_t i = 0; i < count; ++i) size += part(i) == nullptr ? 0 : part(i)->size() + 1;
  std::string body;
  body.reserve(size);
  body += "{";
  bool first = true;
  for (size_t i = 0; i < count; ++i) {
    const std::string* json = part(i);
    if (json == nullptr) continue;
    body += first ? "\"servers\":[" : ",";
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

}  // namespace

absl::StatusOr<std::string> ServerJsonCache::ListJson(absl::Span<const ServerRevision> page,
                                                      const std::string& next_page_token,
                                                      const Fetch& fetch) {
  // Usually every row is known at its revision: the body is assembled under the (shared) lock.
  std::vector<std::shared_ptr<const std::string>> parts;
  std::vector<std::string> missing;
  {
    absl::ReaderMutexLock lock(&mutex_);
    std::vector<const std::string*> known(page.size());
    for (size_t i = 0; i < page.size(); ++i) {
      auto it = by_id_.find(page[i].id);
      if (it != by_id_.end() && it->second.revision == page[i].revision) {
        known[i] = it->second.json.get();
      } else {
        missing.push_back(page[i].id);
      }
    }
    if (missing.empty()) {
      return ListBody(page.size(), next_page_token, [&](size_t i) { return known[i]; });
    }
    parts.resize(page.size());
    for (size_t i = 0; i < page.size(); ++i) {
      if (known[i] != nullptr) parts[i] = by_id_.find(page[i].id)->second.json;
    }
  }
  // The others read in one query, printed and remembered.
  L4D2_ASSIGN_OR_RETURN(std::vector<Server> servers, fetch(missing));
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> fetched;
  for (const Server& server : servers) fetched[server.id] = Remember(server);
  for (size_t i = 0; i < page.size(); ++i) {
    if (parts[i] != nullptr) continue;
    auto it = fetched.find(page[i].id);
    if (it != fetched.end()) parts[i] = it->second;
  }
  return ListBody(page.size(), next_page_token, [&](size_t i) { return parts[i].get(); });
}

}  // namespace l4d2::controller
