#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/api/api_messages.h"
#include "controller/api/resource_routes.h"
#include "controller/api/rest_support.h"
#include "controller/jobs/server_backups.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "rpc/proto_time.h"

namespace l4d2::controller {
namespace {

// Backups of servers' state (docs/backups.md): listed from the catalog, taken, restored and
// deleted as jobs on the servers' hosts. A backup is its server's owner's.
class BackupRoutes {
 public:
  explicit BackupRoutes(const RestApiDeps& deps) : d_(deps) {}

  absl::StatusOr<ApiResponse> List(const ApiRequest& request) {
    int limit = 100;
    const std::string given = request.Query("limit", "");
    if (!given.empty() && (!absl::SimpleAtoi(given, &limit) || limit < 1 || limit > 500)) {
      return absl::InvalidArgumentError("limit: 1 to 500");
    }
    const std::string server_id = request.Query("server_id", "");
    if (!server_id.empty()) {
      // NOT_FOUND for a server the actor does not see, rather than an empty list.
      L4D2_RETURN_IF_ERROR(d_.stores.servers.Get(request.actor, server_id).status());
    }
    L4D2_ASSIGN_OR_RETURN(std::vector<v1::Backup> backups,
                          d_.stores.backups.List(request.actor, server_id, limit));
    v1::BackupList list;
    for (v1::Backup& backup : backups) *list.add_backups() = std::move(backup);
    return Json(list);
  }

  absl::StatusOr<ApiResponse> Get(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::Backup backup,
                          d_.stores.backups.Get(request.actor, request.Param("id")));
    return Json(backup);
  }

  absl::StatusOr<ApiResponse> Take(const ApiRequest& request) {
    v1::BackupRequest body;
    if (!request.body.empty()) {
      L4D2_ASSIGN_OR_RETURN(body, Body<v1::BackupRequest>(request));
    }
    L4D2_ASSIGN_OR_RETURN(
        std::string job,
        RequestBackup(d_.stores, request.actor, request.Param("id"), body.keep(),
                      body.has_keep_for() ? DurationOf(body.keep_for()) : absl::ZeroDuration()));
    return Queued(job);
  }

  absl::StatusOr<ApiResponse> Restore(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(v1::RestoreRequest body, Body<v1::RestoreRequest>(request));
    if (body.backup_id().empty()) return absl::InvalidArgumentError("backup_id: required");
    L4D2_ASSIGN_OR_RETURN(std::string job, RequestRestore(d_.stores, request.actor,
                                                          request.Param("id"), body.backup_id()));
    return Queued(job);
  }

  absl::StatusOr<ApiResponse> Delete(const ApiRequest& request) {
    L4D2_ASSIGN_OR_RETURN(std::string job,
                          RequestBackupDeletion(d_.stores, request.actor, request.Param("id")));
    return Queued(job);
  }

 private:
  static ApiResponse Queued(const std::string& job) {
    v1::JobRef ref;
    ref.set_job_id(job);
    return Json(ref, 202);
  }

  RestApiDeps d_;
};

}  // namespace

void AddBackupRoutes(const RestApiDeps& deps, const RestApiOptions& options,
                     std::vector<Route>& routes) {
  auto api = std::make_shared<BackupRoutes>(deps);
  using M = BackupRoutes;
  auto bind = [api](auto method) { return BindRoute(api, method); };
  AppendRoutes(
      routes,
      {
          {.method = "GET",
           .path = "/api/v1/backups",
           .summary = "Backups the caller sees, newest first (of one server with server_id; "
                      "those of deleted servers too)",
           .response = v1::BackupList::descriptor(),
           .query = {"server_id", "limit"},
           .handler = bind(&M::List)},
          {.method = "GET",
           .path = "/api/v1/backups/{id}",
           .summary = "One backup: where it is, its size, SHA-256 and the build it was taken on",
           .response = v1::Backup::descriptor(),
           .handler = bind(&M::Get)},
          {.method = "DELETE",
           .path = "/api/v1/backups/{id}",
           .summary = "Delete a backup from its host (a backup.delete job)",
           .response = v1::JobRef::descriptor(),
           .success_status = 202,
           .handler = bind(&M::Delete)},
          {.method = "POST",
           .path = "/api/v1/servers/{id}/backups",
           .summary = "Back up the server's writable layer and record now (a server.backup "
                      "job; body optional: retention)",
           .request = v1::BackupRequest::descriptor(),
           .response = v1::JobRef::descriptor(),
           .success_status = 202,
           .handler = bind(&M::Take)},
          {.method = "POST",
           .path = "/api/v1/servers/{id}/restore",
           .summary = "Replace the server's writable layer with a backup's, from any host (a "
                      "server.restore job: a running server is stopped and started again)",
           .request = v1::RestoreRequest::descriptor(),
           .response = v1::JobRef::descriptor(),
           .success_status = 202,
           .handler = bind(&M::Restore)},
      });
}

}  // namespace l4d2::controller
