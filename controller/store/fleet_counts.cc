#include "controller/store/fleet_counts.h"

#include "common/status_macros.h"
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
    // The players column is the last status's game.players (ServerStore::ObserveHost).
    sql << "SELECT COALESCE(SUM(players), 0) FROM servers WHERE actual_state = 'running'",
        soci::into(n);
    counts.players = n;
    sql << "SELECT COUNT(*) FROM users", soci::into(n);
    counts.users = n;
    return absl::OkStatus();
  }));
  return counts;
}

}  // namespace l4d2::controller
