// l4d2ctl tokens ...: one's API tokens.

#include <ostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {

int RunTokensList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<v1::ListApiTokensResponse> tokens =
      Get<v1::ListApiTokensResponse>(context, "/api/v1/tokens?limit=1000");
  if (!tokens.ok()) return Report(context, tokens.status());
  if (context.json) {
    *context.out << ToJson(*tokens) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-34s %-20s %-12s %-20s %s\n", "ID", "NAME", "SCOPES",
                                  "LAST USED", "REVOKED");
  for (const v1::ApiToken& token : tokens->tokens()) {
    *context.out << absl::StrFormat("%-34s %-20s %-12s %-20s %s\n", token.id(), token.name(),
                                    absl::StrJoin(token.scopes(), ","), Time(token.last_used_at()),
                                    Time(token.revoked_at()));
  }
  return kExitOk;
}

int RunTokensCreate(const CommandContext& context, const Invocation& invocation) {
  v1::CreateApiTokenRequest create;
  create.set_name(invocation.args[0]);
  for (const std::string& scope : context.options.token_create.scopes) create.add_scopes(scope);
  absl::StatusOr<v1::CreateApiTokenResponse> made =
      Send<v1::CreateApiTokenResponse>(context, "POST", "/api/v1/tokens", ToJson(create));
  if (!made.ok()) return Report(context, made.status());
  if (context.json) {
    *context.out << ToJson(*made) << "\n";
  } else {
    // The only time the secret is shown: on standard output alone, for a file or a vault.
    *context.err << "token " << made->token().id() << " ("
                 << absl::StrJoin(made->token().scopes(), ",") << "); its secret, shown once:\n";
    *context.out << made->secret() << "\n";
  }
  return kExitOk;
}

int RunTokensRevoke(const CommandContext& context, const Invocation& invocation) {
  const std::string& id = invocation.args[0];
  absl::StatusOr<std::string> done = context.controller->Call("DELETE", "/api/v1/tokens/" + id);
  if (!done.ok()) return Report(context, done.status());
  *context.out << "token " << id << " revoked\n";
  return kExitOk;
}

}  // namespace l4d2::ctl
