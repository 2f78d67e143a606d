// l4d2ctl hosts ...: the fleet's hosts through the controller (admins).

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {
namespace {

// The host's API path, from its name or id.
absl::StatusOr<std::string> HostPath(const CommandContext& context, const std::string& name) {
  absl::StatusOr<std::string> id = HostId(context, name);
  if (!id.ok()) return id.status();
  return "/api/v1/hosts/" + *id;
}

// The one-time token and what to run on the host with it.
void PrintEnrollment(const CommandContext& context, const v1::CreateHostResponse& enrollment) {
  *context.out << "Enrolling until " << Time(enrollment.token_expires_at())
               << ". Enrollment token (shown once): " << enrollment.enrollment_token()
               << "\nOn the host, with the token in a file only root can read:\n  "
               << enrollment.enroll_command() << "\n";
}

// `hosts create --wait`: polls the host until its agent has joined (state ready), for as long
// as its token is valid. For CI: create, run the printed command on the host, and this returns
// when the controller has the host.
int WaitUntilJoined(const CommandContext& context, const std::string& name,
                    const v1::CreateHostResponse& created) {
  const absl::Time started = absl::Now();
  const absl::Time until = absl::FromUnixSeconds(created.token_expires_at().seconds());
  if (!context.json) *context.out << "Waiting for host " << name << " to join...\n" << std::flush;
  const std::string path = "/api/v1/hosts/" + created.host().id();
  while (true) {
    absl::StatusOr<v1::Host> host = Get<v1::Host>(context, path);
    if (!host.ok()) return Report(context, host.status());
    if (host->state() == "ready") {
      if (!context.json) {
        *context.out << "host " << name << " joined: ready after "
                     << absl::FormatDuration(
                            absl::Trunc(absl::Now() - started, absl::Milliseconds(100)))
                     << ".\n";
      }
      return kExitOk;
    }
    if (absl::Now() >= until) {
      return Report(context, absl::DeadlineExceededError(
                                 absl::StrCat("host ", name,
                                              " did not join before its enrollment token expired "
                                              "(l4d2ctl hosts revoke ",
                                              name, " makes a new one)")));
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

}  // namespace

int RunHostsList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Host>> hosts =
      All(context, "/api/v1/hosts", &v1::ListHostsResponse::hosts);
  if (!hosts.ok()) return Report(context, hosts.status());
  if (context.json) {
    v1::ListHostsResponse all;
    for (const v1::Host& host : *hosts) *all.add_hosts() = host;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-20s %-12s %-8s %-22s %-10s %8s %9s %s\n", "NAME", "STATE",
                                  "DRAINED", "ADDRESS", "BUILD", "SERVERS", "UNMANAGED",
                                  "LAST SEEN");
  int unmanaged = 0;
  for (const v1::Host& host : *hosts) {
    *context.out << absl::StrFormat("%-20s %-12s %-8s %-22s %-10s %4d/%-3d %9d %s\n", host.name(),
                                    host.state(), host.drained() ? "yes" : "no", host.address(),
                                    host.installed_build().empty() ? "-" : host.installed_build(),
                                    host.server_count(), host.max_instances(),
                                    host.unmanaged_instances_size(), Time(host.last_seen_at()));
    unmanaged += host.unmanaged_instances_size();
  }
  if (unmanaged > 0) {
    *context.out << unmanaged
                 << " instance(s) on these hosts were not created by the controller (it never"
                    " touches them; their ports are kept free): see l4d2ctl hosts show NAME\n";
  }
  return kExitOk;
}

int RunHostsCreate(const CommandContext& context, const Invocation& invocation) {
  const HostCreateOptions& options = context.options.host_create;
  if (options.address.empty()) return UsageError(context, invocation, "--address is required");
  const std::string& name = invocation.args[0];
  v1::CreateHostRequest create;
  create.set_name(name);
  create.set_address(options.address);
  create.set_max_instances(options.max_instances);
  create.set_port_first(options.port_first);
  create.set_port_last(options.port_last);
  absl::StatusOr<v1::CreateHostResponse> created =
      Send<v1::CreateHostResponse>(context, "POST", "/api/v1/hosts", ToJson(create));
  if (!created.ok()) return Report(context, created.status());
  if (context.json) {
    *context.out << ToJson(*created) << "\n" << std::flush;
    return context.wait ? WaitUntilJoined(context, name, *created) : kExitOk;
  }
  *context.out << "host " << name << " created (id " << created->host().id() << ").\n";
  PrintEnrollment(context, *created);
  if (!context.wait) return kExitOk;
  return WaitUntilJoined(context, name, *created);
}

int RunHostsRevoke(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<std::string> path = HostPath(context, name);
  if (!path.ok()) return Report(context, path.status());
  absl::StatusOr<v1::CreateHostResponse> revoked =
      Send<v1::CreateHostResponse>(context, "POST", *path + "/revoke");
  if (!revoked.ok()) return Report(context, revoked.status());
  if (context.json) {
    *context.out << ToJson(*revoked) << "\n";
    return kExitOk;
  }
  *context.out << "host " << name
               << ": certificate revoked; its agent is refused until it enrolls again (its "
                  "servers keep running).\n";
  PrintEnrollment(context, *revoked);
  *context.out << "then restart the agent (systemctl restart left4me-agent) onto the new files.\n";
  return kExitOk;
}

int RunHostsShow(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<std::string> path = HostPath(context, invocation.args[0]);
  if (!path.ok()) return Report(context, path.status());
  return PrintRaw(context, *path);
}

int RunHostsDrain(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<std::string> path = HostPath(context, name);
  if (!path.ok()) return Report(context, path.status());
  absl::StatusOr<v1::Host> host =
      Send<v1::Host>(context, "POST", *path + "/" + invocation.verb);  // drain or undrain
  if (!host.ok()) return Report(context, host.status());
  *context.out << (context.json
                       ? ToJson(*host)
                       : absl::StrCat("host ", name,
                                      host->drained() ? " drained" : " takes servers again"))
               << "\n";
  return kExitOk;
}

int RunHostsInstall(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<std::string> path = HostPath(context, name);
  if (!path.ok()) return Report(context, path.status());
  v1::InstallHostRequest install;
  install.set_validate(context.options.install.validate);
  install.set_branch(context.options.install.branch);
  absl::StatusOr<v1::JobRef> ref =
      Send<v1::JobRef>(context, "POST", *path + "/install", ToJson(install));
  if (!ref.ok()) return Report(context, ref.status());
  return Queued(context, "host " + name + " install", ref->job_id());
}

int RunHostsDelete(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<std::string> path = HostPath(context, name);
  if (!path.ok()) return Report(context, path.status());
  return Delete(context, *path, "host " + name);
}

}  // namespace l4d2::ctl
