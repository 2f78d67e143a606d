// l4d2ctl jobs ...: the controller's durable jobs.

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"

namespace l4d2::ctl {

int RunJobsList(const CommandContext& context, const Invocation&) {
  std::string path = "/api/v1/jobs?limit=100";
  if (const std::string& state = context.options.jobs_list.state; !state.empty()) {
    path += "&state=" + state;
  }
  absl::StatusOr<v1::ListJobsResponse> jobs = Get<v1::ListJobsResponse>(context, path);
  if (!jobs.ok()) return Report(context, jobs.status());
  if (context.json) {
    *context.out << ToJson(*jobs) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-34s %-24s %-10s %-8s %s\n", "ID", "KIND", "STATE", "ATTEMPT",
                                  "CREATED");
  for (const v1::Job& job : jobs->jobs()) {
    *context.out << absl::StrFormat("%-34s %-24s %-10s %d/%-6d %s\n", job.id(), job.kind(),
                                    job.state(), job.attempt(), job.max_attempts(),
                                    Time(job.created_at()));
  }
  return kExitOk;
}

int RunJobsShow(const CommandContext& context, const Invocation& invocation) {
  return PrintRaw(context, "/api/v1/jobs/" + invocation.args[0]);
}

int RunJobsWatch(const CommandContext& context, const Invocation& invocation) {
  return WatchJob(context, invocation.args[0]);
}

int RunJobsCancel(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Job> job =
      Send<v1::Job>(context, "POST", "/api/v1/jobs/" + invocation.args[0] + "/cancel");
  if (!job.ok()) return Report(context, job.status());
  *context.out << (context.json ? ToJson(*job)
                                : absl::StrCat("job ", job->id(), ": ", job->state()))
               << "\n";
  return kExitOk;
}

}  // namespace l4d2::ctl
