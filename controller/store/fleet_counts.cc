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
      // Finished jobs pile up (a year: millions): their counts are kept, not counted
      // (migration 19; the changes not folded yet are a few seconds' worth).
      soci::statement select =
          (sql.prepare << "SELECT kind, state, CAST(SUM(n) AS BIGINT) FROM (SELECT kind, state,"
                          " n FROM job_counts UNION ALL SELECT kind, state, delta FROM"
                          " job_count_changes) AS counted GROUP BY kind, state",
           soci::into(a), soci::into(b), soci::into(n));
      select.execute();
      while (select.fetch()) {
        if (n != 0) counts.jobs[{a, b}] = n;
      }
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

absl::Status FoldJobCounts(Database& db) {
  // Most rounds nothing changed: a read, not a write transaction (SQLite has one writer).
  bool pending = false;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& sql) {
    soci::indicator found = soci::i_null;
    int one = 0;
    sql << "SELECT 1 FROM job_count_changes LIMIT 1", soci::into(one, found);
    pending = sql.got_data() && found == soci::i_ok;
    return absl::OkStatus();
  }));
  if (!pending) return absl::OkStatus();
  return db.Transact([&](soci::session& sql) {
    if (db.backend() == DatabaseBackend::kPostgresql) {
      // One statement: the changes it deletes are the ones it adds, whatever commits
      // meanwhile (READ COMMITTED gives each statement its own snapshot). Several controllers
      // folding at once each take other rows; keys upserted in order cannot deadlock.
      sql << "WITH moved AS (DELETE FROM job_count_changes RETURNING kind, state, delta)"
             " INSERT INTO job_counts (kind, state, n) SELECT kind, state, SUM(delta) FROM moved"
             " GROUP BY kind, state ORDER BY kind, state"
             " ON CONFLICT (kind, state) DO UPDATE SET n = job_counts.n + excluded.n";
    } else {
      // SQLite has one writer: nothing lands between the two statements of a transaction.
      sql << "INSERT INTO job_counts (kind, state, n) SELECT kind, state, SUM(delta) FROM"
             " job_count_changes WHERE 1 = 1 GROUP BY kind, state"
             " ON CONFLICT (kind, state) DO UPDATE SET n = job_counts.n + excluded.n";
      sql << "DELETE FROM job_count_changes";
    }
    sql << "DELETE FROM job_counts WHERE n = 0";
    return absl::OkStatus();
  });
}

absl::StatusOr<FleetSummaryCounts> SummarizeFleet(Database& db, const std::string& owner,
                                                  absl::Time failed_since,
                                                  absl::Time history_since) {
  FleetSummaryCounts summary;
  // Every query is one statement with or without the owner's condition; the owner is bound
  // by name (SOCI binds by reference, so the bound values are these named locals).
  const std::string mine = owner.empty() ? "" : " AND owner_id = :owner";
  const long long failed_ms = absl::ToUnixMillis(failed_since);
  const long long history_ms = absl::ToUnixMillis(history_since);
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& sql) {
    std::string state;
    long long n = 0, players = 0;
    if (owner.empty()) {
      soci::statement select = (sql.prepare << "SELECT state, COUNT(*) FROM hosts GROUP BY state",
                                soci::into(state), soci::into(n));
      select.execute();
      while (select.fetch()) summary.hosts[state] = n;
    }
    {
      soci::statement select(sql);
      if (!owner.empty()) select.exchange(soci::use(owner, "owner"));
      select.exchange(soci::into(state));
      select.exchange(soci::into(n));
      select.exchange(soci::into(players));
      select.alloc();
      select.prepare(
          "SELECT actual_state, COUNT(*), COALESCE(SUM(CASE WHEN actual_state = 'running'"
          " THEN players ELSE 0 END), 0) FROM servers WHERE 1 = 1" +
          mine + " GROUP BY actual_state");
      select.define_and_bind();
      select.execute();
      while (select.fetch()) {
        summary.servers[state] = n;
        summary.players += players;
      }
    }
    auto count = [&](const std::string& where, long long* since, int64_t& out) {
      soci::statement select(sql);
      if (since != nullptr) select.exchange(soci::use(*since, "since"));
      if (!owner.empty()) select.exchange(soci::use(owner, "owner"));
      select.exchange(soci::into(n));
      select.alloc();
      select.prepare("SELECT COUNT(*) FROM jobs WHERE " + where + mine);
      select.define_and_bind();
      select.execute(true);
      out = n;
    };
    count("state IN ('queued', 'running')", nullptr, summary.jobs_active);
    long long since = failed_ms;
    count("state = 'failed' AND finished_at_ms > :since", &since, summary.jobs_failed);
    {
      long long at = 0;
      soci::statement select(sql);
      long long from = history_ms;
      select.exchange(soci::use(from, "since"));
      if (!owner.empty()) select.exchange(soci::use(owner, "owner"));
      select.exchange(soci::into(at));
      select.exchange(soci::into(n));
      select.alloc();
      select.prepare("SELECT at_ms, SUM(players) FROM player_samples WHERE at_ms >= :since" + mine +
                     " GROUP BY at_ms ORDER BY at_ms");
      select.define_and_bind();
      select.execute();
      while (select.fetch()) summary.players_history.emplace_back(absl::FromUnixMillis(at), n);
    }
    return absl::OkStatus();
  }));
  return summary;
}

absl::StatusOr<bool> SamplePlayers(Database& db, absl::Time now, absl::Time keep_since) {
  const long long minute = absl::ToUnixMillis(now) / 60000 * 60000;
  const long long keep_ms = absl::ToUnixMillis(keep_since);
  bool wrote = false;
  L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& sql) -> absl::Status {
    long long present = 0;
    sql << "SELECT COUNT(*) FROM player_samples WHERE at_ms = :at", soci::use(minute),
        soci::into(present);
    if (present > 0) return absl::OkStatus();
    // Another controller may write the same minute between the check and the insert: the
    // primary key keeps one, and DO NOTHING keeps this one from failing (SQLite and
    // PostgreSQL both take ON CONFLICT).
    // A server's players as its game log tells them (the player history: every join and
    // leave), or as A2S last reported for one whose log the controller has not heard yet.
    sql << "INSERT INTO player_samples (at_ms, owner_id, players)"
           " SELECT :at, s.owner_id, SUM(CASE WHEN s.actual_state = 'running'"
           " THEN COALESCE(g.players, s.players) ELSE 0 END)"
           " FROM servers s LEFT JOIN server_game_logs g ON g.server_id = s.id"
           " WHERE 1 = 1 GROUP BY s.owner_id ON CONFLICT DO NOTHING",
        soci::use(minute);
    sql << "DELETE FROM player_samples WHERE at_ms < :keep", soci::use(keep_ms);
    wrote = true;
    return absl::OkStatus();
  }));
  return wrote;
}

}  // namespace l4d2::controller
