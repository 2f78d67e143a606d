#pragma once

// What every resource's routes share (controller/api/*_routes.cc): JSON answers, decoding a
// body into its message, pages and page tokens, query parameters, the session cookie, and
// binding a resource's handler methods into the route table.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controller/api/route.h"
#include "controller/api/row_json.h"
#include "controller/api/strict_json.h"
#include "controller/store/player_history.h"
#include "controller/store/users.h"
#include "google/protobuf/message.h"
#include "l4d2/controller/v1/api.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {

// The largest page any list serves.
inline constexpr int kMaxPageSize = 1000;

// A page of a list ordered by a key: items after the page token, at most `limit`, and the
// token of the next page ("" on the last).
struct PageRequest {
  std::string token;
  int limit = 100;
};
// INVALID_ARGUMENT for a malformed token or limit.
absl::StatusOr<PageRequest> ParsePage(const ApiRequest& request);
std::string PageToken(const std::string& key);
absl::StatusOr<std::string> PageKey(const std::string& token);

// The answer of a list read as a page's ids, keys and revisions (`rows`: up to page.limit + 1,
// the one past the page telling that there is a next), with each row's JSON from `memo`, rows
// it does not hold at their revision read with `fetch`.
// The page token's key is the last row's PageKeyOf(name, id), or `key` of it when given.
template <typename Row>
absl::StatusOr<ApiResponse> MemoPage(
    RowJsonMemo<Row>& memo, const std::vector<RowRevision>& rows, const PageRequest& page,
    const typename RowJsonMemo<Row>::Fetch& fetch,
    const std::function<std::string(const RowRevision&)>& key = nullptr) {
  const size_t shown = std::min(rows.size(), static_cast<size_t>(page.limit));
  std::string next;
  if (rows.size() > shown && shown > 0) {
    const RowRevision& last = rows[shown - 1];
    next = PageToken(key ? key(last) : PageKeyOf(last.name, last.id));
  }
  absl::StatusOr<std::string> body =
      memo.ListJson(absl::MakeConstSpan(rows).first(shown), next, fetch);
  if (!body.ok()) return body.status();
  return ApiResponse{.body = *std::move(body)};
}

// The answer of a list read in full (`rows`: up to page.limit + 1, the one past the page telling
// that there is a next), with
// each row's JSON from `memo`; `key` gives a row's page token key.
template <typename Row, typename Key>
ApiResponse MemoPageOfRows(RowJsonMemo<Row>& memo, const std::vector<Row>& rows,
                           const PageRequest& page, Key key) {
  const size_t shown = std::min(rows.size(), static_cast<size_t>(page.limit));
  const std::string next = rows.size() > shown && shown > 0 ? PageToken(key(rows[shown - 1])) : "";
  return ApiResponse{.body = memo.PageJson(absl::MakeConstSpan(rows).first(shown), next)};
}

// The keyset position a page token names ("" for the first page; ParsePage checked it).
inline std::string PageAfter(const PageRequest& page) {
  return page.token.empty() ? "" : *PageKey(page.token);
}

// `message` as the JSON body of an answer with `status`.
ApiResponse Json(const google::protobuf::Message& message, int status = 200);
// 204, no body.
ApiResponse NoContent();

// The request's body as `Message` (protobuf's JSON mapping); INVALID_ARGUMENT naming the field.
template <typename Message>
absl::StatusOr<Message> Body(const ApiRequest& request) {
  if (request.body.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: expected JSON of ", Message::descriptor()->full_name()));
  }
  // What protobuf's parser would let through (duplicate keys, lists inside lists) first.
  if (absl::Status strict = CheckStrictJson(request.body, Message::descriptor()); !strict.ok()) {
    return strict;
  }
  return FromJson<Message>(request.body, "body");
}

// A true/false query parameter (absent: false).
absl::StatusOr<bool> BoolQuery(const ApiRequest& request, const std::string& name);
// An RFC 3339 time query parameter, `fallback` when absent.
absl::StatusOr<absl::Time> TimeQuery(const ApiRequest& request, const std::string& name,
                                     absl::Time fallback);
// "admin" or "operator" ("" is operator).
absl::StatusOr<Role> ParseRoleName(const std::string& role);

// Gives each session the Steam profile of its player when one is known (one read of the
// players for the list).
absl::Status AddSteamProfiles(PlayerHistory& players,
                              google::protobuf::RepeatedPtrField<v1::PlayerSession>& sessions);

// The Set-Cookie value carrying a session (an empty value with no age ends it).
std::string CookieHeader(const std::string& value, absl::Duration max_age, bool secure);

// A resource's handler method as a route's handler; the routes share ownership of `handlers`.
template <typename Handlers>
RouteHandler BindRoute(std::shared_ptr<Handlers> handlers,
                       absl::StatusOr<ApiResponse> (Handlers::*method)(const ApiRequest&)) {
  return [handlers = std::move(handlers), method](const ApiRequest& request) {
    return ((*handlers).*method)(request);
  };
}
template <typename Handlers>
StreamHandler BindRoute(std::shared_ptr<Handlers> handlers,
                        absl::StatusOr<StreamRequest> (Handlers::*method)(const ApiRequest&)) {
  return [handlers = std::move(handlers), method](const ApiRequest& request) {
    return ((*handlers).*method)(request);
  };
}

// Appends `more` to `routes`, in order.
void AppendRoutes(std::vector<Route>& routes, std::vector<Route> more);

}  // namespace l4d2::controller
