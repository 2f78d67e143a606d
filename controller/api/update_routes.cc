#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/jobs/game_update.h"
#include "l4d2/controller/v1/updates.pb.h"

namespace l4d2::controller {
namespace {

// Game updates across the fleet (docs/updates.md): the policy, what the checks found, a check
// or a rolling update now. Admins only: they act on every host.
class UpdateRoutes {
 public:
  explicit UpdateRoutes(const RestApiDeps& deps) : d_(deps) {}

  // The two settings rows in one read and one covering count: no host or server is read.
  absl::StatusOr<ApiResponse> Status(const ApiRequest&) {
    L4D2_ASSIGN_OR_RETURN(UpdateSettings settings, d_.stores.updates.Settings());
    L4D2_ASSIGN_OR_RETURN(auto behind, d_.stores.servers.BehindByHost());
    const Versioned<v1::UpdateState>& state = settings.state;
    v1::UpdateStatus status;
    *status.mutable_policy() = std::move(settings.policy);
    status.set_latest_build(state.value.latest_build());
    if (state.value.has_checked_at()) *status.mutable_checked_at() = state.value.checked_at();
    for (v1::HostBuild host : state.value.hosts()) {
      auto it = behind.find(host.host_id());
      host.set_servers_behind(it == behind.end() ? 0 : it->second);
      host.set_mode(HostUpdateMode(status.policy(), host.host_id()));
      *status.add_hosts() = std::move(host);
    }
    status.set_check_job_id(state.value.check_job_id());
    status.set_update_job_id(state.value.update_job_id());
    return Json(status);
  }

  absl::StatusOr<ApiResponse> SetPolicy(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy policy, Body<v1::UpdatePolicy>(request));
    L4D2_ASSIGN_OR_RETURN(v1::UpdatePolicy stored,
                          d_.stores.updates.SetPolicy(request.actor.Name(), std::move(policy)));
    return Json(stored);
  }

  // A check now, or the one already queued or running.
  absl::StatusOr<ApiResponse> Check(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(std::string job,
                          QueueGameCheck(d_.stores, request.actor.Name(), request.actor.Name()));
    if (job.empty()) {
      L4D2_ASSIGN_OR_RETURN(Versioned<v1::UpdateState> state, d_.stores.updates.State());
      job = state.value.check_job_id();
    }
    v1::UpdateJobQueued queued;
    queued.set_job_id(job);
    return Json(queued, 202);
  }

  absl::StatusOr<ApiResponse> Roll(const ApiRequest& request) {
    v1::RollRequest roll;
    if (!request.body.empty()) {
      L4D2_ASSIGN_OR_RETURN(roll, Body<v1::RollRequest>(request));
    }
    L4D2_ASSIGN_OR_RETURN(
        std::string job,
        QueueGameUpdate(d_.stores, {roll.host_ids().begin(), roll.host_ids().end()},
                        request.actor.Name()));
    v1::UpdateJobQueued queued;
    queued.set_job_id(job);
    return Json(queued, 202);
  }

 private:
  RestApiDeps d_;
};

}  // namespace

void AddUpdateRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes) {
  auto api = std::make_shared<UpdateRoutes>(deps);
  using M = UpdateRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes,
               {
                   {.method = "GET",
                    .path = "/api/v1/updates",
                    .access = Access::kAdmin,
                    .summary = "The update policy, the newest build and each host's, as the last "
                               "check saw them",
                    .response = v1::UpdateStatus::descriptor(),
                    .handler = bind(&M::Status)},
                   {.method = "PUT",
                    .path = "/api/v1/updates/policy",
                    .access = Access::kAdmin,
                    .summary = "Set the update policy (off, notify, rolling; deadline, warning, "
                               "servers at a time, per-host modes)",
                    .request = v1::UpdatePolicy::descriptor(),
                    .response = v1::UpdatePolicy::descriptor(),
                    .handler = bind(&M::SetPolicy)},
                   {.method = "POST",
                    .path = "/api/v1/updates/check",
                    .access = Access::kAdmin,
                    .summary = "Ask the hosts for the newest build now (a game.check job)",
                    .response = v1::UpdateJobQueued::descriptor(),
                    .success_status = 202,
                    .handler = bind(&M::Check)},
                   {.method = "POST",
                    .path = "/api/v1/updates/roll",
                    .access = Access::kAdmin,
                    .summary = "Move hosts and their servers to the newest build now (a "
                               "game.update job; body optional: which hosts)",
                    .request = v1::RollRequest::descriptor(),
                    .response = v1::UpdateJobQueued::descriptor(),
                    .success_status = 202,
                    .handler = bind(&M::Roll)},
               });
}

}  // namespace l4d2::controller
