#include "controller/fleet/steam_profiles.h"

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/steam/steam_web_api.h"
#include "common/utf8.h"

namespace l4d2::controller {
namespace {

constexpr size_t kIdsPerCall = 100;           // GetPlayerSummaries' limit
constexpr uint64_t kMaxReplyBytes = 1 << 20;  // 100 profiles are about 60 KB
constexpr size_t kMaxNameBytes = 128;         // Steam's names are at most 32 characters
constexpr size_t kMaxUrlBytes = 512;

// `url` when it is an https URL below one of `origins` (and not too long), else "".
template <typename Origins>
std::string UrlBelow(const std::string& url, const Origins& origins) {
  if (url.size() > kMaxUrlBytes) return "";
  for (absl::string_view origin : origins) {
    if (absl::StartsWith(url, absl::StrCat(origin, "/"))) return url;
  }
  return "";
}

}  // namespace

std::string PlayerSummariesUrl(const std::string& web_api, const std::string& key,
                               const std::vector<std::string>& steam_ids) {
  // SteamIDs are digits and the key hexadecimal: nothing to escape.
  return absl::StrCat(web_api, "/ISteamUser/GetPlayerSummaries/v2/?key=", key,
                      "&steamids=", absl::StrJoin(steam_ids, ","));
}

absl::StatusOr<std::vector<SteamProfile>> ParsePlayerSummaries(absl::string_view json) {
  L4D2_ASSIGN_OR_RETURN(google::protobuf::Struct response, ParseSteamWebApiResponse(json));
  const google::protobuf::Value* players = SteamField(response, "players");
  if (players == nullptr || !players->has_list_value()) {
    return absl::InvalidArgumentError("steam web api: reply without \"players\"");
  }
  static constexpr std::array<absl::string_view, 1> kProfileOrigins = {
      "https://steamcommunity.com"};
  std::vector<SteamProfile> profiles;
  for (const google::protobuf::Value& entry : players->list_value().values()) {
    if (!entry.has_struct_value()) continue;
    const google::protobuf::Struct& player = entry.struct_value();
    SteamProfile profile{.steam_id = SteamText(SteamField(player, "steamid"))};
    if (!IsSteamId64(profile.steam_id)) continue;
    profile.persona_name = SanitizeUtf8(SteamText(SteamField(player, "personaname")));
    if (profile.persona_name.size() > kMaxNameBytes) {
      profile.persona_name = Utf8Excerpt(profile.persona_name, kMaxNameBytes - 3);  // with "..."
    }
    profile.avatar_url =
        UrlBelow(SteamText(SteamField(player, "avatarmedium")), kSteamAvatarOrigins);
    profile.profile_url = UrlBelow(SteamText(SteamField(player, "profileurl")), kProfileOrigins);
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

SteamProfiles::SteamProfiles(PlayerHistory& players, HttpReader& http, Clock& clock,
                             SteamProfilesOptions options)
    : players_(players), http_(http), clock_(clock), options_(std::move(options)) {}

SteamProfiles::~SteamProfiles() { Stop(); }

void SteamProfiles::Want(const std::vector<std::string>& steam_ids) {
  absl::MutexLock lock(&mutex_);
  for (const std::string& id : steam_ids) {
    if (id.empty() || waiting_.size() >= options_.max_waiting) continue;
    if (waiting_set_.insert(id).second) waiting_.push_back(id);
  }
}

size_t SteamProfiles::waiting() const {
  absl::MutexLock lock(&mutex_);
  return waiting_.size();
}

SteamProfilesCounters SteamProfiles::counters() const {
  absl::MutexLock lock(&mutex_);
  return counters_;
}

absl::Status SteamProfiles::Batch() {
  std::vector<std::string> taken;
  {
    absl::MutexLock lock(&mutex_);
    const size_t count = std::min(waiting_.size(), kIdsPerCall);
    taken.assign(waiting_.begin(), waiting_.begin() + static_cast<ptrdiff_t>(count));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<ptrdiff_t>(count));
    for (const std::string& id : taken) waiting_set_.erase(id);
  }
  if (taken.empty()) return absl::OkStatus();
  absl::Status status = [&]() -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(std::vector<std::string> due,
                          players_.ProfilesDue(taken, clock_.Now() - options_.lifetime));
    if (due.empty()) return absl::OkStatus();
    {
      absl::MutexLock lock(&mutex_);
      ++counters_.calls;
    }
    L4D2_ASSIGN_OR_RETURN(std::string reply,
                          http_.Get(PlayerSummariesUrl(options_.web_api, options_.key, due),
                                    kMaxReplyBytes, options_.timeout));
    L4D2_ASSIGN_OR_RETURN(std::vector<SteamProfile> profiles, ParsePlayerSummaries(reply));
    // Only what was asked for is stored.
    std::erase_if(profiles, [&](const SteamProfile& profile) {
      return absl::c_find(due, profile.steam_id) == due.end();
    });
    L4D2_RETURN_IF_ERROR(players_.SaveProfiles(due, profiles));
    absl::MutexLock lock(&mutex_);
    counters_.profiles += static_cast<int64_t>(profiles.size());
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    absl::MutexLock lock(&mutex_);
    ++counters_.failures;
    for (const std::string& id : taken) {
      if (waiting_.size() < options_.max_waiting && waiting_set_.insert(id).second) {
        waiting_.push_back(id);
      }
    }
  }
  return status;
}

void SteamProfiles::Start() {
  thread_ = std::thread([this] {
    auto ready = [this]()
                     ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_ || !waiting_.empty(); };
    while (true) {
      {
        absl::MutexLock lock(&mutex_);
        mutex_.Await(absl::Condition(&ready));
        if (stopping_) return;
      }
      absl::Status status = Batch();
      if (status.ok()) continue;
      // The status names what failed (network, HTTP status, reply), never the URL and its key.
      L4D2_LOG(WARNING) << "steam profiles: " << status.message() << "; trying again in "
                        << absl::FormatDuration(options_.retry);
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.retry)) return;
    }
  });
}

void SteamProfiles::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace l4d2::controller
