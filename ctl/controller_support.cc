#include "ctl/controller_support.h"

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {

int Report(const CommandContext& context, const absl::Status& status) {
  return ReportFailure(*context.err, status);
}

absl::StatusOr<std::string> ServerId(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Server>> servers =
      All(context, "/api/v1/servers?q=" + name, &v1::ListServersResponse::servers);
  if (!servers.ok()) return servers.status();
  for (const v1::Server& server : *servers) {
    if (server.name() == name) return server.id();
  }
  if (Get<v1::Server>(context, "/api/v1/servers/" + name).ok()) return name;
  return absl::NotFoundError(absl::StrCat("no server '", name, "'"));
}

absl::StatusOr<std::string> HostId(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::vector<v1::Host>> hosts =
      All(context, "/api/v1/hosts", &v1::ListHostsResponse::hosts);
  if (!hosts.ok()) return hosts.status();
  for (const v1::Host& host : *hosts) {
    if (host.name() == name || host.id() == name) return host.id();
  }
  return absl::NotFoundError(absl::StrCat("no host '", name, "'"));
}

absl::StatusOr<v1::Blueprint> FindBlueprint(const CommandContext& context,
                                            const std::string& name) {
  absl::StatusOr<v1::SessionInfo> me = Get<v1::SessionInfo>(context, "/api/v1/session");
  if (!me.ok()) return me.status();
  absl::StatusOr<std::vector<v1::Blueprint>> blueprints =
      All(context, "/api/v1/blueprints?q=" + name, &v1::ListBlueprintsResponse::blueprints);
  if (!blueprints.ok()) return blueprints.status();
  const v1::Blueprint* found = nullptr;
  for (const v1::Blueprint& blueprint : *blueprints) {
    if (blueprint.name() != name) continue;
    if (found == nullptr || blueprint.owner_id() == me->user().id()) found = &blueprint;
  }
  if (found != nullptr) return *found;
  absl::StatusOr<v1::Blueprint> by_id = Get<v1::Blueprint>(context, "/api/v1/blueprints/" + name);
  if (by_id.ok()) return by_id;
  return absl::NotFoundError(absl::StrCat("no blueprint '", name, "'"));
}

absl::StatusOr<std::vector<v1::Overlay>> Overlays(const CommandContext& context) {
  return All(context, "/api/v1/overlays", &v1::ListOverlaysResponse::overlays);
}

absl::StatusOr<v1::Overlay> FindOverlay(const CommandContext& context, const std::string& ref) {
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return overlays.status();
  for (const v1::Overlay& overlay : *overlays) {
    if (overlay.ref() == ref || overlay.id() == ref) return overlay;
  }
  return absl::NotFoundError(absl::StrCat("no overlay '", ref, "'"));
}

std::string Time(const google::protobuf::Timestamp& stamp) {
  if (stamp.seconds() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(stamp.seconds()),
                          absl::LocalTimeZone());
}

namespace {

// A job stream's event as a line: log lines as they are, progress as a percentage.
void PrintJobEvent(const CommandContext& context, const std::string& data) {
  const v1::JobEvent event = FromJsonIgnoringUnknown<v1::JobEvent>(data).value_or(v1::JobEvent());
  const auto& value = event.data();
  if (value.has_string_value()) {
    *context.out << event.kind() << ": " << value.string_value() << "\n";
  } else if (value.has_struct_value() && value.struct_value().fields().count("percent")) {
    const auto& fields = value.struct_value().fields();
    const double percent = fields.at("percent").number_value();
    if (percent >= 0) {
      *context.out << absl::StrFormat("%s: %.0f%%\n", event.kind(), percent);
      return;
    }
    // No percentage to tell (a step under way): its phase and message, if any.
    std::string said;
    for (const char* key : {"phase", "message"}) {
      auto field = fields.find(key);
      if (field == fields.end() || field->second.string_value().empty()) continue;
      absl::StrAppend(&said, said.empty() ? "" : " ", field->second.string_value());
    }
    if (!said.empty()) *context.out << event.kind() << ": " << said << "\n";
  }
}

}  // namespace

int WatchJob(const CommandContext& context, const std::string& job_id) {
  int exit = kExitFailed;
  absl::Status status = context.controller->Stream(
      "/api/v1/jobs/" + job_id + "/events/stream", [&](const SseFrame& frame) {
        if (context.json) *context.out << frame.data << "\n";
        if (frame.type == "end") {
          const v1::Job job = FromJsonIgnoringUnknown<v1::Job>(frame.data).value_or(v1::Job());
          if (!context.json) {
            *context.out << "job " << job.id() << " (" << job.kind() << "): " << job.state();
            if (!job.error().message().empty()) *context.out << ": " << job.error().message();
            *context.out << "\n";
          }
          exit = job.state() == "succeeded" ? kExitOk : kExitFailed;
          return false;
        }
        if (!context.json) PrintJobEvent(context, frame.data);
        return true;
      });
  if (!status.ok()) return Report(context, status);
  return exit;
}

int Queued(const CommandContext& context, const std::string& what, const std::string& job_id) {
  if (context.wait) return WatchJob(context, job_id);
  if (context.json) {
    v1::JobRef ref;
    ref.set_job_id(job_id);
    *context.out << ToJson(ref) << "\n";
  } else {
    *context.out << what << ": job " << job_id << "\n";
  }
  return kExitOk;
}

int Delete(const CommandContext& context, const std::string& path, const std::string& what) {
  absl::StatusOr<std::string> done = context.controller->Call("DELETE", path);
  if (!done.ok()) return Report(context, done.status());
  *context.out << what << " deleted\n";
  return kExitOk;
}

int PrintRaw(const CommandContext& context, const std::string& path) {
  absl::StatusOr<std::string> body = context.controller->Call("GET", path);
  if (!body.ok()) return Report(context, body.status());
  *context.out << *body << "\n";
  return kExitOk;
}

}  // namespace l4d2::ctl
