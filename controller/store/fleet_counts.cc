#include "controller/store/fleet_counts.h"

#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "l4d2/agent/v1/instance.pb.h"
#include "soci/soci.h"

namespace l4d2::controller {

absl::StatusOr<FleetCounts> CountFleet(Database& db) {
  FleetCounts counts;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& sql) {
    std::string a, b;
    long long n = 0;
    {
      soci::statement select = (sql.prepare << "SELECT state, COUNT(*) FROM hosts GROUP BY state",
                                soci::into(a), soci::into(n));
      select.execute();
      while (select.fetch()) counts.hosts[a] = n;
    }
    {
      soci::statement select = (sql.prepare << "SELECT desired_state, actual_state, COUNT(*)"
                                               " FROM servers GROUP BY desired_state, actual_state",
                                soci::into(a), soci::into(b), soci::into(n));
      select.execute();
      while (select.fetch()) counts.servers[{a, b}] = n;
    }
    {
      // Finished jobs pile up; the states of all of them are still one index scan.
      soci::statement select =
          (sql.prepare << "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state",
           soci::into(a), soci::into(b), soci::into(n));
      select.execute();
      while (select.fetch()) counts.jobs[{a, b}] = n;
    }
    {
      std::string status;
      soci::statement select = (sql.prepare << "SELECT status FROM servers"
                                               " WHERE actual_state = 'running'",
                                soci::into(status));
      select.execute();
      agent::v1::InstanceStatus parsed;
      while (select.fetch()) {
        parsed.Clear();
        if (google::protobuf::util::JsonStringToMessage(status, &parsed).ok()) {
          counts.players += parsed.game().players();
        }
      }
    }
    sql << "SELECT COUNT(*) FROM users", soci::into(n);
    counts.users = n;
    return absl::OkStatus();
  }));
  return counts;
}

}  // namespace l4d2::controller
