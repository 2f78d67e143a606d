#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/store/fleet_counts.h"

namespace l4d2::controller {
namespace {

// The fleet at a glance, as the caller sees it: the web UI's dashboard in one request (its
// counts are GROUP BYs over indexed columns, its chart the minute samples of player_samples).
class SummaryRoutes {
 public:
  SummaryRoutes(const RestApiDeps& deps, const RestApiOptions&) : d_(deps) {}

  absl::StatusOr<ApiResponse> Summary(const ApiRequest& request) {
    const absl::Time now = d_.stores.clock.Now();
    L4D2_ASSIGN_OR_RETURN(FleetSummaryCounts counts,
                          SummarizeFleet(d_.db, request.actor.admin ? "" : request.actor.user_id,
                                         now - absl::Hours(24), now - absl::Hours(24)));
    v1::FleetSummary summary;
    for (const auto& [state, n] : counts.hosts) {
      (*summary.mutable_hosts_by_state())[state] = static_cast<int32_t>(n);
      summary.set_hosts(summary.hosts() + static_cast<int32_t>(n));
    }
    for (const auto& [state, n] : counts.servers) {
      (*summary.mutable_servers_by_state())[state] = static_cast<int32_t>(n);
      summary.set_servers(summary.servers() + static_cast<int32_t>(n));
    }
    summary.set_players(static_cast<int32_t>(counts.players));
    summary.set_jobs_active(static_cast<int32_t>(counts.jobs_active));
    summary.set_jobs_failed(static_cast<int32_t>(counts.jobs_failed));
    for (const auto& [at, players] : counts.players_history) {
      v1::PlayersSample* sample = summary.add_players_history();
      *sample->mutable_at() = ToTimestamp(at);
      sample->set_players(static_cast<int32_t>(players));
    }
    return Json(summary);
  }

 private:
  RestApiDeps d_;
};

}  // namespace

void AddSummaryRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                      std::vector<Route>& routes) {
  auto api = std::make_shared<SummaryRoutes>(deps, options);
  AppendRoutes(routes, {{.method = "GET",
                         .path = "/api/v1/summary",
                         .summary = "The fleet at a glance: hosts and servers by state, players "
                                    "now and over 24 h, jobs running and failed",
                         .response = v1::FleetSummary::descriptor(),
                         .handler = BindRoute(api, &SummaryRoutes::Summary)}});
}

}  // namespace l4d2::controller
