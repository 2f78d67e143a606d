#include "controller/api/server_json.h"

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/api/api_messages.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

size_t RowHash(const Server& server) {
  return absl::HashOf(server.id, server.owner_id, server.name, server.blueprint_id, server.host_id,
                      server.port, server.desired_state, server.actual_state, server.status,
                      server.status_at.value_or(absl::InfinitePast()), server.created_at);
}

}  // namespace

std::string ServerJsonCache::Json(const Server& server) {
  const size_t hash = RowHash(server);
  {
    absl::MutexLock lock(&mutex_);
    auto it = by_id_.find(server.id);
    if (it != by_id_.end() && it->second.first == hash) return it->second.second;
  }
  std::string json = ToJson(ToApi(server));
  absl::MutexLock lock(&mutex_);
  if (by_id_.size() >= capacity_) by_id_.clear();
  by_id_[server.id] = {hash, json};
  return json;
}

std::string ServerJsonCache::ListJson(const std::vector<Server>& servers, size_t count,
                                      const std::string& next_page_token) {
  // The rows already known under one lock; the others printed (and remembered) after it.
  std::vector<std::string> parts(count);
  std::vector<size_t> missing;
  {
    absl::MutexLock lock(&mutex_);
    for (size_t i = 0; i < count; ++i) {
      auto it = by_id_.find(servers[i].id);
      if (it != by_id_.end() && it->second.first == RowHash(servers[i])) {
        parts[i] = it->second.second;
      } else {
        missing.push_back(i);
      }
    }
  }
  for (size_t i : missing) parts[i] = Json(servers[i]);
  // As protobuf prints ListServersResponse: empty fields left out.
  std::string body = "{";
  if (count > 0) absl::StrAppend(&body, "\"servers\":[", absl::StrJoin(parts, ","), "]");
  if (!next_page_token.empty()) {
    // Page tokens are URL-safe base64: nothing to escape.
    absl::StrAppend(&body, count > 0 ? "," : "", "\"nextPageToken\":\"", next_page_token, "\"");
  }
  return body + "}";
}

}  // namespace l4d2::controller
