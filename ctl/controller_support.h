#pragma once

// What the controller commands (servers_commands.cc, hosts_commands.cc, ...) share: typed
// calls to the API, every page of a list, names to ids, following a job, printing.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ctl/command.h"
#include "ctl/controller_client.h"
#include "google/protobuf/timestamp.pb.h"
#include "l4d2/controller/v1/api.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::ctl {

namespace v1 = ::l4d2::controller::v1;

// Prints the failure; its exit code (exit_codes.h).
int Report(const CommandContext& context, const absl::Status& status);

// A GET (or another method with `body`) whose answer is a `Message`. A newer controller may
// say more than this build knows: unknown fields are skipped.
template <typename Message>
absl::StatusOr<Message> Send(const CommandContext& context, const std::string& method,
                             const std::string& path, const std::string& body = "") {
  absl::StatusOr<std::string> answer = context.controller->Call(method, path, body);
  if (!answer.ok()) return answer.status();
  if (answer->empty()) return Message();
  absl::StatusOr<Message> message = FromJsonIgnoringUnknown<Message>(*answer);
  if (!message.ok()) {
    return absl::InternalError(absl::StrCat("the controller's answer to ", path, " is not JSON"));
  }
  return message;
}
template <typename Message>
absl::StatusOr<Message> Get(const CommandContext& context, const std::string& path) {
  return Send<Message>(context, "GET", path);
}

// Every page of a list, joined.
template <typename Response, typename Item>
absl::StatusOr<std::vector<Item>> All(
    const CommandContext& context, const std::string& path,
    const google::protobuf::RepeatedPtrField<Item>& (Response::*items)() const) {
  std::vector<Item> all;
  std::string token;
  do {
    const std::string page =
        absl::StrCat(path, path.find('?') == std::string::npos ? "?" : "&", "limit=1000",
                     token.empty() ? "" : "&page_token=" + token);
    absl::StatusOr<Response> response = Get<Response>(context, page);
    if (!response.ok()) return response.status();
    for (const Item& item : ((*response).*items)()) all.push_back(item);
    token = response->next_page_token();
  } while (!token.empty());
  return all;
}

// A name (or id) to an object's id; NOT_FOUND naming it.
absl::StatusOr<std::string> ServerId(const CommandContext& context, const std::string& name);
absl::StatusOr<std::string> HostId(const CommandContext& context, const std::string& name);
// One's own blueprint of that name first (admins see everyone's), or the blueprint of that id.
absl::StatusOr<v1::Blueprint> FindBlueprint(const CommandContext& context, const std::string& name);
absl::StatusOr<std::vector<v1::Overlay>> Overlays(const CommandContext& context);
absl::StatusOr<v1::Overlay> FindOverlay(const CommandContext& context, const std::string& ref);

// A timestamp in local time, "-" when unset.
std::string Time(const google::protobuf::Timestamp& stamp);

// Follows a job's events to its end: progress and log lines as they come, then its state.
// 0 when it succeeded.
int WatchJob(const CommandContext& context, const std::string& job_id);
// A queued job: its id, or with --wait its outcome.
int Queued(const CommandContext& context, const std::string& what, const std::string& job_id);

// A DELETE whose answer is empty; prints "<what> deleted".
int Delete(const CommandContext& context, const std::string& path, const std::string& what);
// Prints the raw JSON of a GET (show commands).
int PrintRaw(const CommandContext& context, const std::string& path);

}  // namespace l4d2::ctl
