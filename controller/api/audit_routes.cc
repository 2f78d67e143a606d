#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/event_sources.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"

namespace l4d2::controller {
namespace {

// The audit log, and the fleet's changes as events.
class AuditRoutes {
 public:
  AuditRoutes(const RestApiDeps& deps, const RestApiOptions& options) : d_(deps) {}

  absl::StatusOr<ApiResponse> Audit(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(PageRequest page, ParsePage(request));
    AuditQuery query{.visible_to = request.actor.admin ? "" : request.actor.user_id,
                     .limit = page.limit + 1,
                     .actor = request.Query("actor"),
                     .action_prefix = request.Query("action"),
                     .target = request.Query("target")};
    for (const std::string* filter : {&query.actor, &query.action_prefix, &query.target}) {
      if (filter->size() > 200)
        return absl::InvalidArgumentError("audit filters: at most 200 bytes");
    }
    if (!page.token.empty()) query.before_id = *PageKey(page.token);
    // Ids from an index; entries never change: each is read and printed once.
    L4D2_ASSIGN_OR_RETURN(std::vector<RowRevision> rows, d_.stores.audit.ListIds(query));
    return MemoPage(
        json_, rows, page,
        [&](absl::Span<const std::string> ids) {
          return d_.stores.audit.GetMany(query.visible_to, ids);
        },
        [](const RowRevision& row) { return row.id; });
  }

  absl::StatusOr<StreamRequest> FleetStream(const ApiRequest& request) {
    StreamRequest stream{.topic = EventSources::kFleetTopic};
    if (request.last_event_id.empty()) {
      stream.from_now = true;
      return stream;
    }
    L4D2_ASSIGN_OR_RETURN(
        std::vector<AuditEntry> missed,
        d_.stores.audit.List({.visible_to = request.actor.admin ? "" : request.actor.user_id,
                              .after_id = request.last_event_id,
                              .limit = 1000}));
    stream.after_id = request.last_event_id;
    for (const AuditEntry& entry : missed) {
      stream.replay.push_back(EventSources::AuditEvent(entry));
      stream.after_id = entry.id;
    }
    return stream;
  }

 private:
  RestApiDeps d_;
  // Entries never change: each one's JSON is printed once.
  RowJsonMemo<AuditEntry> json_{"entries",
                                [](const AuditEntry& row) { return ToJson(ToApi(row)); }};
};

}  // namespace

void AddAuditRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                    std::vector<Route>& routes) {
  auto api = std::make_shared<AuditRoutes>(deps, options);
  using M = AuditRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(routes, {
                           {.method = "GET",
                            .path = "/api/v1/audit",
                            .summary = "The audit log, newest first",
                            .response = v1::ListAuditResponse::descriptor(),
                            .query = {"actor", "action", "target", "limit", "page_token"},
                            .handler = bind(&M::Audit)},
                           {.method = "GET",
                            .path = "/api/v1/events",
                            .summary = "The fleet's changes (audit entries) as Server-Sent Events",
                            .stream = bind(&M::FleetStream)},
                       });
}

}  // namespace l4d2::controller
