// l4d2ctl updates ...: the game's builds across the fleet and the update policy (docs/updates.md).

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "l4d2/controller/v1/updates.pb.h"
#include "rpc/proto_time.h"

namespace l4d2::ctl {
namespace {

std::string Span(const google::protobuf::Duration& duration) {
  const absl::Duration span = DurationOf(duration);
  return span == absl::ZeroDuration() ? "never" : absl::FormatDuration(span);
}

// "--deadline 2h" into `field`; false (after a usage error) when it is no duration.
bool ParseSpan(const std::string& text, const char* flag, google::protobuf::Duration* field,
               std::string* error) {
  if (text.empty()) return true;
  absl::Duration span;
  if (!absl::ParseDuration(text, &span)) {
    *error = absl::StrCat("--", flag, ": a duration like 30m or 2h expected");
    return false;
  }
  *field = ProtoDurationOf(span);
  return true;
}

}  // namespace

int RunUpdatesShow(const CommandContext& context, const Invocation&) {
  absl::StatusOr<v1::UpdateStatus> status = Get<v1::UpdateStatus>(context, "/api/v1/updates");
  if (!status.ok()) return Report(context, status.status());
  if (context.json) {
    *context.out << ToJson(*status) << "\n";
    return kExitOk;
  }
  const v1::UpdatePolicy& policy = status->policy();
  std::ostream& out = *context.out;
  out << "policy:   " << policy.mode();
  if (policy.mode() == "rolling" || !policy.host_modes().empty()) {
    out << " (deadline " << Span(policy.deadline()) << ", warning " << Span(policy.warning_lead())
        << " before it, " << policy.max_parallel() << " at a time)";
  }
  out << "\nnewest:   " << (status->latest_build().empty() ? "-" : status->latest_build())
      << " (checked " << Time(status->checked_at()) << ")\n";
  out << "jobs:     check " << (status->check_job_id().empty() ? "-" : status->check_job_id())
      << ", update " << (status->update_job_id().empty() ? "-" : status->update_job_id()) << "\n\n";
  out << absl::StrFormat("%-20s %-8s %-10s %-10s %-7s %s\n", "HOST", "MODE", "INSTALLED", "NEWEST",
                         "BEHIND", "LAST CHECK");
  for (const v1::HostBuild& host : status->hosts()) {
    out << absl::StrFormat(
        "%-20s %-8s %-10s %-10s %-7d %s\n", host.host_name(), host.mode(),
        host.installed_build().empty() ? "-" : host.installed_build(),
        host.latest_build().empty() ? "-" : host.latest_build(), host.servers_behind(),
        host.error().empty() ? Time(host.checked_at()) : "failed: " + host.error());
  }
  if (status->hosts().empty()) out << "(no host checked yet: l4d2ctl updates check)\n";
  return kExitOk;
}

int RunUpdatesPolicy(const CommandContext& context, const Invocation& invocation) {
  const UpdatePolicyOptions& options = context.options.update_policy;
  absl::StatusOr<v1::UpdateStatus> status = Get<v1::UpdateStatus>(context, "/api/v1/updates");
  if (!status.ok()) return Report(context, status.status());
  v1::UpdatePolicy policy = status->policy();
  if (!options.mode.empty()) policy.set_mode(options.mode);
  std::string error;
  if (!ParseSpan(options.deadline, "deadline", policy.mutable_deadline(), &error) ||
      !ParseSpan(options.warning_lead, "warning_lead", policy.mutable_warning_lead(), &error)) {
    return UsageError(context, invocation, error);
  }
  if (!options.warning.empty())
    policy.set_warning(options.warning == "none" ? "" : options.warning);
  if (options.max_parallel != 0) policy.set_max_parallel(options.max_parallel);
  for (const std::string& entry : options.host_modes) {
    std::pair<std::string, std::string> host_mode = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (host_mode.first.empty() || host_mode.second.empty()) {
      return UsageError(context, invocation, "--host_modes: HOST=MODE expected");
    }
    absl::StatusOr<std::string> id = HostId(context, host_mode.first);
    if (!id.ok()) return Report(context, id.status());
    if (host_mode.second == "fleet") {
      policy.mutable_host_modes()->erase(*id);
    } else {
      (*policy.mutable_host_modes())[*id] = host_mode.second;
    }
  }
  policy.clear_updated_at();
  policy.clear_updated_by();
  absl::StatusOr<v1::UpdatePolicy> stored =
      Send<v1::UpdatePolicy>(context, "PUT", "/api/v1/updates/policy", ToJson(policy));
  if (!stored.ok()) return Report(context, stored.status());
  if (context.json) {
    *context.out << ToJson(*stored) << "\n";
    return kExitOk;
  }
  *context.out << "update policy: " << stored->mode() << ", deadline " << Span(stored->deadline())
               << ", warning " << Span(stored->warning_lead()) << " before it, "
               << stored->max_parallel() << " at a time\n";
  return kExitOk;
}

int RunUpdatesCheck(const CommandContext& context, const Invocation&) {
  absl::StatusOr<v1::UpdateJobQueued> queued =
      Send<v1::UpdateJobQueued>(context, "POST", "/api/v1/updates/check");
  if (!queued.ok()) return Report(context, queued.status());
  return Queued(context, "update check", queued->job_id());
}

int RunUpdatesRoll(const CommandContext& context, const Invocation&) {
  v1::RollRequest roll;
  if (!context.options.servers_bulk.host.empty()) {
    absl::StatusOr<std::string> id = HostId(context, context.options.servers_bulk.host);
    if (!id.ok()) return Report(context, id.status());
    roll.add_host_ids(*id);
  }
  absl::StatusOr<v1::UpdateJobQueued> queued =
      Send<v1::UpdateJobQueued>(context, "POST", "/api/v1/updates/roll", ToJson(roll));
  if (!queued.ok()) return Report(context, queued.status());
  return Queued(context, "rolling update", queued->job_id());
}

}  // namespace l4d2::ctl
