#include "controller/api/rest_support.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/authenticator.h"

namespace l4d2::controller {

absl::StatusOr<PageRequest> ParsePage(const ApiRequest& request) {
  PageRequest page;
  if (const std::string limit = request.Query("limit"); !limit.empty()) {
    if (!absl::SimpleAtoi(limit, &page.limit) || page.limit < 1 || page.limit > kMaxPageSize) {
      return absl::InvalidArgumentError(absl::StrCat("limit: 1 to ", kMaxPageSize));
    }
  }
  page.token = request.Query("page_token");
  if (!page.token.empty()) L4D2_RETURN_IF_ERROR(PageKey(page.token).status());
  return page;
}

std::string PageToken(const std::string& key) { return absl::WebSafeBase64Escape(key); }

absl::StatusOr<std::string> PageKey(const std::string& token) {
  std::string key;
  if (token.size() > 512 || !absl::WebSafeBase64Unescape(token, &key) || key.empty()) {
    return absl::InvalidArgumentError("page_token: not a token of this list");
  }
  return key;
}

ApiResponse Json(const google::protobuf::Message& message, int status) {
  return {.status = status, .body = ToJson(message)};
}

ApiResponse NoContent() { return {.status = 204, .body = "", .content_type = ""}; }

absl::StatusOr<bool> BoolQuery(const ApiRequest& request, const std::string& name) {
  const std::string value = request.Query(name);
  if (value.empty()) return false;
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(name, ": expected true or false"));
}

absl::StatusOr<absl::Time> TimeQuery(const ApiRequest& request, const std::string& name,
                                     absl::Time fallback) {
  const std::string text = request.Query(name);
  if (text.empty()) return fallback;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": expected an RFC 3339 time, got '", text.substr(0, 64), "'"));
  }
  return time;
}

absl::StatusOr<Role> ParseRoleName(const std::string& role) {
  if (role == "admin") return Role::kAdmin;
  if (role == "operator" || role.empty()) return Role::kOperator;
  return absl::InvalidArgumentError("role: 'admin' or 'operator'");
}

std::string CookieHeader(const std::string& value, absl::Duration max_age, bool secure) {
  return absl::StrCat(kSessionCookie, "=", value, "; Path=/; HttpOnly; SameSite=Strict",
                      secure ? "; Secure" : "",
                      "; Max-Age=", std::max<int64_t>(0, absl::ToInt64Seconds(max_age)));
}

void AppendRoutes(std::vector<Route>& routes, std::vector<Route> more) {
  routes.insert(routes.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
}

absl::Status AddSteamProfiles(PlayerHistory& players,
                              google::protobuf::RepeatedPtrField<v1::PlayerSession>& sessions) {
  std::vector<std::string> steam_ids;
  for (const v1::PlayerSession& session : sessions) steam_ids.push_back(session.steam_id());
  if (steam_ids.empty()) return absl::OkStatus();
  L4D2_ASSIGN_OR_RETURN(auto profiles, players.Profiles(steam_ids));
  for (v1::PlayerSession& session : sessions) {
    auto it = profiles.find(session.steam_id());
    if (it != profiles.end()) *session.mutable_profile() = ToApi(it->second);
  }
  return absl::OkStatus();
}

}  // namespace l4d2::controller
