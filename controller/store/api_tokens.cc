#include "controller/store/api_tokens.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

constexpr absl::Duration kRecordUseEvery = absl::Minutes(1);
constexpr char kSecretPrefix[] = "l4d2_";

absl::Status ValidateTokenName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) ok = ok && c >= ' ' && c < 0x7f;
  if (!ok) return absl::InvalidArgumentError("name: 1 to 64 printable ASCII characters");
  return absl::OkStatus();
}

struct TokenRow {
  std::string id, user_id, name, scopes;
  long long created = 0, last_used = 0, revoked = 0;
  soci::indicator last_used_ind = soci::i_null, revoked_ind = soci::i_null;

  ApiToken ToToken() const {
    ApiToken token{.id = id,
                   .user_id = user_id,
                   .name = name,
                   .scopes = absl::StrSplit(scopes, ',', absl::SkipEmpty()),
                   .created_at = absl::FromUnixMillis(created)};
    if (last_used_ind == soci::i_ok) token.last_used = absl::FromUnixMillis(last_used);
    if (revoked_ind == soci::i_ok) token.revoked_at = absl::FromUnixMillis(revoked);
    return token;
  }
};

}  // namespace

bool ScopesAllow(const std::vector<std::string>& scopes, TokenScope scope) {
  auto has = [&](const char* name) {
    return std::find(scopes.begin(), scopes.end(), name) != scopes.end();
  };
  return scope == TokenScope::kRead ? has("read") || has("write") : has("write");
}

ApiTokenStore::ApiTokenStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::StatusOr<ApiToken> ApiTokenStore::Create(const Actor& actor, const std::string& name,
                                               const std::vector<std::string>& scopes,
                                               std::string* secret) {
  L4D2_RETURN_IF_ERROR(ValidateTokenName(name));
  std::vector<std::string> kept = scopes.empty() ? std::vector<std::string>{"read"} : scopes;
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  for (const std::string& scope : kept) {
    if (scope != "read" && scope != "write") {
      return absl::InvalidArgumentError("scopes: each one of 'read', 'write'");
    }
  }
  if (actor.user_id.empty()) return absl::InvalidArgumentError("tokens belong to users");
  const absl::Time now = clock_.Now();
  ApiToken token{.id = "t" + TimeOrderedId(now),
                 .user_id = actor.user_id,
                 .name = name,
                 .scopes = kept,
                 .created_at = now};
  const std::string made = kSecretPrefix + RandomHex(24);
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long live = 0;
    sql << "SELECT COUNT(*) FROM api_tokens WHERE user_id = :u AND revoked_at_ms IS NULL",
        soci::use(token.user_id), soci::into(live);
    if (live >= kMaxTokensPerUser) {
      return absl::ResourceExhaustedError("too many live API tokens: revoke some first");
    }
    const std::string hash = SecretHash(made);
    const std::string scope_list = absl::StrJoin(kept, ",");
    long long now_ms = absl::ToUnixMillis(now);
    sql << "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at_ms)"
           " VALUES (:id, :u, :n, :h, :s, :c)",
        soci::use(token.id), soci::use(token.user_id), soci::use(name), soci::use(hash),
        soci::use(scope_list), soci::use(now_ms);
    return absl::OkStatus();
  }));
  *secret = made;
  return token;
}

absl::StatusOr<ApiToken> ApiTokenStore::Authenticate(const std::string& secret) {
  const absl::Status rejected = absl::UnauthenticatedError("unknown or revoked API token");
  if (!absl::StartsWith(secret, kSecretPrefix)) return rejected;
  const std::string hash = SecretHash(secret);
  TokenRow row;
  int disabled = 0;
  bool found = false;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    sql << "SELECT t.id, t.user_id, t.name, t.scopes, t.created_at_ms, t.last_used_ms,"
           " t.revoked_at_ms, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id"
           " WHERE t.token_hash = :h",
        soci::use(hash), soci::into(row.id), soci::into(row.user_id), soci::into(row.name),
        soci::into(row.scopes), soci::into(row.created),
        soci::into(row.last_used, row.last_used_ind), soci::into(row.revoked, row.revoked_ind),
        soci::into(disabled);
    found = sql.got_data();
    return absl::OkStatus();
  }));
  if (!found || row.revoked_ind == soci::i_ok || disabled != 0) return rejected;
  ApiToken token = row.ToToken();
  const absl::Time now = clock_.Now();
  if (!token.last_used || now >= *token.last_used + kRecordUseEvery) {
    L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) {
      long long now_ms = absl::ToUnixMillis(now);
      sql << "UPDATE api_tokens SET last_used_ms = :n WHERE id = :id", soci::use(now_ms),
          soci::use(token.id);
      return absl::OkStatus();
    }));
    token.last_used = now;
  }
  return token;
}

absl::StatusOr<std::vector<ApiToken>> ApiTokenStore::List(const Actor& actor) {
  std::vector<ApiToken> tokens;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    TokenRow row;
    const std::string user = actor.user_id;
    const int all = actor.admin ? 1 : 0;
    soci::statement select =
        (sql.prepare << "SELECT id, user_id, name, scopes, created_at_ms, last_used_ms,"
                        " revoked_at_ms FROM api_tokens WHERE user_id = :u OR 1 = :all"
                        " ORDER BY id DESC",
         soci::use(user), soci::use(all), soci::into(row.id), soci::into(row.user_id),
         soci::into(row.name), soci::into(row.scopes), soci::into(row.created),
         soci::into(row.last_used, row.last_used_ind), soci::into(row.revoked, row.revoked_ind));
    select.execute();
    while (select.fetch()) tokens.push_back(row.ToToken());
    return absl::OkStatus();
  }));
  return tokens;
}

absl::StatusOr<std::vector<ApiToken>> ApiTokenStore::List(const Actor& actor,
                                                          const std::string& before, int limit) {
  std::vector<ApiToken> tokens;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::string where = "1 = 1";
    std::vector<std::string> params;
    if (!actor.admin) {
      params.push_back(actor.user_id);
      where += " AND user_id = :p1";
    }
    if (!before.empty()) {
      params.push_back(before);
      where += absl::StrCat(" AND id < :p", params.size());
    }
    TokenRow row;
    soci::statement select(sql);
    for (const std::string& param : params) select.exchange(soci::use(param));
    select.exchange(soci::into(row.id));
    select.exchange(soci::into(row.user_id));
    select.exchange(soci::into(row.name));
    select.exchange(soci::into(row.scopes));
    select.exchange(soci::into(row.created));
    select.exchange(soci::into(row.last_used, row.last_used_ind));
    select.exchange(soci::into(row.revoked, row.revoked_ind));
    select.alloc();
    select.prepare(
        absl::StrCat("SELECT id, user_id, name, scopes, created_at_ms, last_used_ms,"
                     " revoked_at_ms FROM api_tokens WHERE ",
                     where, " ORDER BY id DESC LIMIT ", limit));
    select.define_and_bind();
    select.execute(false);
    while (select.fetch()) tokens.push_back(row.ToToken());
    return absl::OkStatus();
  }));
  return tokens;
}

absl::StatusOr<ApiToken> ApiTokenStore::Revoke(const Actor& actor, const std::string& id) {
  const long long now_ms = absl::ToUnixMillis(clock_.Now());
  ApiToken revoked;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    TokenRow row;
    sql << "SELECT id, user_id, name, scopes, created_at_ms, last_used_ms, revoked_at_ms"
           " FROM api_tokens WHERE id = :id",
        soci::use(id), soci::into(row.id), soci::into(row.user_id), soci::into(row.name),
        soci::into(row.scopes), soci::into(row.created),
        soci::into(row.last_used, row.last_used_ind), soci::into(row.revoked, row.revoked_ind);
    if (!sql.got_data() || !actor.Owns(row.user_id)) {
      return absl::NotFoundError(absl::StrCat("no API token '", id, "'"));
    }
    sql << "UPDATE api_tokens SET revoked_at_ms = :n WHERE id = :id AND revoked_at_ms IS NULL",
        soci::use(now_ms), soci::use(id);
    revoked = row.ToToken();
    if (!revoked.revoked_at) revoked.revoked_at = absl::FromUnixMillis(now_ms);
    return absl::OkStatus();
  }));
  return revoked;
}

absl::Status ApiTokenStore::RevokeAllOf(const std::string& user_id) {
  const long long now_ms = absl::ToUnixMillis(clock_.Now());
  return db_.Transact([&](soci::session& sql) {
    sql << "UPDATE api_tokens SET revoked_at_ms = :n WHERE user_id = :u"
           " AND revoked_at_ms IS NULL",
        soci::use(now_ms), soci::use(user_id);
    return absl::OkStatus();
  });
}

}  // namespace l4d2::controller
