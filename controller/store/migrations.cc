#include "controller/store/migrations.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "soci/soci.h"

namespace l4d2::controller {
namespace {

// Serializes migrating controllers on one PostgreSQL database.
constexpr int64_t kMigrationLockKey = 0x6c34643264;  // "l4d2d"

constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " applied_at_ms BIGINT NOT NULL)";

int64_t MaxVersion(soci::session& session) {
  soci::indicator indicator = soci::i_null;
  long long version = 0;
  session << "SELECT MAX(version) FROM schema_migrations", soci::into(version, indicator);
  return indicator == soci::i_ok ? version : 0;
}

}  // namespace

const std::vector<Migration>& ControllerMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1,
       "controller settings",
       {"CREATE TABLE settings ("
        " name TEXT PRIMARY KEY,"
        " value TEXT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL)"}},
      {2,
       "fleet: users, hosts, overlays, blueprints, servers, jobs, audit, metrics",
       {// People and their credentials (docs/on-disk-layout.md, "Controller database").
        "CREATE TABLE users ("
        " id TEXT PRIMARY KEY,"
        " username TEXT NOT NULL UNIQUE,"
        " password_hash TEXT NOT NULL,"
        " role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),"
        " disabled INTEGER NOT NULL DEFAULT 0,"
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL)",
        "CREATE TABLE sessions ("
        " id_hash TEXT PRIMARY KEY,"
        " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " csrf_token TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " last_seen_ms BIGINT NOT NULL,"
        " expires_at_ms BIGINT NOT NULL)",
        "CREATE INDEX sessions_by_user ON sessions(user_id)",
        "CREATE TABLE api_tokens ("
        " id TEXT PRIMARY KEY,"
        " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL,"
        " token_hash TEXT NOT NULL UNIQUE,"
        " scopes TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " last_used_ms BIGINT,"
        " revoked_at_ms BIGINT)",
        // Hosts and what runs where.
        "CREATE TABLE hosts ("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " address TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN"
        "  ('enrolling', 'ready', 'draining', 'unreachable')),"
        " cert_fingerprint TEXT,"
        " enroll_token_hash TEXT,"
        " enroll_expires_ms BIGINT,"
        " max_instances INTEGER NOT NULL,"
        " memory_bytes BIGINT NOT NULL DEFAULT 0,"
        " port_first INTEGER NOT NULL,"
        " port_last INTEGER NOT NULL,"
        " installed_build TEXT,"
        " last_seen_ms BIGINT,"
        " created_at_ms BIGINT NOT NULL)",
        "CREATE TABLE overlays ("
        " id TEXT PRIMARY KEY,"
        " owner_id TEXT REFERENCES users(id),"  // NULL: a global overlay (admins)
        " ref TEXT NOT NULL UNIQUE,"
        " definition TEXT NOT NULL,"  // the source, JSON of l4d2.agent.v1.SyncOverlayRequest
        " revision BIGINT NOT NULL,"  // bumped by every change of the definition
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL)",
        "CREATE TABLE overlay_hosts ("
        " overlay_id TEXT NOT NULL REFERENCES overlays(id) ON DELETE CASCADE,"
        " host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
        " revision BIGINT NOT NULL,"  // the overlay revision synced to the host
        " version TEXT NOT NULL,"     // the agent's version of it
        " synced_at_ms BIGINT NOT NULL,"
        " PRIMARY KEY (overlay_id, host_id))",
        "CREATE TABLE blueprints ("
        " id TEXT PRIMARY KEY,"
        " owner_id TEXT NOT NULL REFERENCES users(id),"
        " name TEXT NOT NULL,"
        " settings TEXT NOT NULL,"  // game settings and launch options, JSON
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL,"
        " UNIQUE (owner_id, name))",
        "CREATE TABLE blueprint_overlays ("
        " blueprint_id TEXT NOT NULL REFERENCES blueprints(id) ON DELETE CASCADE,"
        " position INTEGER NOT NULL,"
        " overlay_id TEXT NOT NULL REFERENCES overlays(id),"
        " exec_server_cfg INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (blueprint_id, position))",
        "CREATE TABLE servers ("
        " id TEXT PRIMARY KEY,"
        " owner_id TEXT NOT NULL REFERENCES users(id),"
        " name TEXT NOT NULL UNIQUE,"
        " blueprint_id TEXT NOT NULL REFERENCES blueprints(id),"  // in use: cannot be deleted
        " host_id TEXT REFERENCES hosts(id),"
        " port INTEGER,"
        " desired_state TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped')),"
        " status TEXT NOT NULL DEFAULT '',"  // last known l4d2.agent.v1.InstanceStatus, JSON
        " status_at_ms BIGINT,"
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL,"
        " UNIQUE (host_id, port))",
        // Work: a durable queue (controller/store/job_queue.h).
        "CREATE TABLE jobs ("
        " id TEXT PRIMARY KEY,"
        " kind TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN"
        "  ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
        " lock_key TEXT NOT NULL DEFAULT '',"
        " params TEXT NOT NULL,"
        " attempt INTEGER NOT NULL DEFAULT 0,"
        " max_attempts INTEGER NOT NULL,"
        " not_before_ms BIGINT NOT NULL,"
        " lease_owner TEXT NOT NULL DEFAULT '',"
        " lease_expires_ms BIGINT NOT NULL DEFAULT 0,"
        " cancel_requested INTEGER NOT NULL DEFAULT 0,"
        " created_by TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " started_at_ms BIGINT,"
        " finished_at_ms BIGINT,"
        " result TEXT NOT NULL DEFAULT '',"
        " error_code INTEGER NOT NULL DEFAULT 0,"
        " error_message TEXT NOT NULL DEFAULT '')",
        // Ids sort in creation order: the queue is FIFO by id.
        "CREATE INDEX jobs_queue ON jobs(state, id)",
        // At most one running job per lock (a server, a host's install), whatever claims it.
        "CREATE UNIQUE INDEX jobs_one_running_per_lock ON jobs(lock_key)"
        " WHERE state = 'running' AND lock_key <> ''",
        "CREATE TABLE job_events ("
        " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
        " seq BIGINT NOT NULL,"
        " at_ms BIGINT NOT NULL,"
        " kind TEXT NOT NULL,"
        " data TEXT NOT NULL,"
        " PRIMARY KEY (job_id, seq))",
        "CREATE TABLE audit_log ("
        " id TEXT PRIMARY KEY,"
        " at_ms BIGINT NOT NULL,"
        " actor_id TEXT,"
        " action TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " detail TEXT NOT NULL)",
        "CREATE INDEX audit_by_time ON audit_log(at_ms)",
        "CREATE TABLE metric_samples ("
        " server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,"
        " at_ms BIGINT NOT NULL,"
        " players INTEGER NOT NULL,"
        " cpu_millis BIGINT NOT NULL,"
        " memory_bytes BIGINT NOT NULL,"
        " PRIMARY KEY (server_id, at_ms))"}},
      {3,
       "servers: actual state and the reconciler's restart backoff; metric retention index",
       {"ALTER TABLE servers ADD COLUMN actual_state TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE servers ADD COLUMN restart_attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE servers ADD COLUMN next_restart_ms BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX metric_samples_by_time ON metric_samples(at_ms)",
        "CREATE INDEX servers_by_blueprint ON servers(blueprint_id)"}},
      {4,
       "audit owners (operators' views, the event stream), job list indexes, drained hosts",
       {"ALTER TABLE audit_log ADD COLUMN owner_id TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX audit_by_owner ON audit_log(owner_id, id)",
        "CREATE INDEX jobs_by_creator ON jobs(created_by, id)",
        "CREATE INDEX jobs_by_lock ON jobs(lock_key, id)",
        "ALTER TABLE hosts ADD COLUMN drained INTEGER NOT NULL DEFAULT 0"}},
      {5,
       "server revisions (the API's JSON memo) and list indexes covering a page",
       {"ALTER TABLE servers ADD COLUMN revision BIGINT NOT NULL DEFAULT 0",
        // An operator's page and an admin's: ids, names and revisions from the index alone.
        "CREATE INDEX servers_page_by_owner ON servers(owner_id, name, revision, id)",
        "CREATE INDEX servers_page ON servers(name, revision, id)"}},
      {6,
       "servers: players as last reported (the fleet's count without parsing every status)",
       // Filled by the next observation of each server (ObserveHost writes on a difference).
       {"ALTER TABLE servers ADD COLUMN players INTEGER NOT NULL DEFAULT 0"}},
      {7,
       "host reports: the certificate issued at enrollment (its key verifies the host's signed"
       " reports); jobs by end time",
       {"ALTER TABLE hosts ADD COLUMN certificate_pem TEXT",
        // The reconciler's look at jobs that just ended (JobQueue::BusyLocks).
        "CREATE INDEX jobs_by_finish ON jobs(finished_at_ms)"}},
      {8,
       "list indexes covering a page of blueprints and overlays (keyset over name or ref, id)",
       {"CREATE INDEX blueprints_page ON blueprints(name, id)",
        "CREATE INDEX blueprints_page_by_owner ON blueprints(owner_id, name, id)",
        "CREATE INDEX overlays_page ON overlays(ref, id)",
        "CREATE INDEX overlays_page_by_owner ON overlays(owner_id, ref, id)"}},
      {9,
       "list indexes covering a page of users, hosts and one's API tokens",
       {"CREATE INDEX users_page ON users(username, id)",
        "CREATE INDEX hosts_page ON hosts(name, id)",
        "CREATE INDEX api_tokens_page_by_user ON api_tokens(user_id, id)"}},
      {10,
       "what is taken on a host: ports in use as its agent reports them, and instances no"
       " server of the controller names",
       {"ALTER TABLE hosts ADD COLUMN ports_in_use TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE hosts ADD COLUMN unmanaged_instances TEXT NOT NULL DEFAULT ''"}},
      {11,
       "blueprints get a revision every change bumps; the page indexes of blueprints and overlays"
       " cover their revisions (a page is read from the index alone, rows only when changed)",
       {"ALTER TABLE blueprints ADD COLUMN revision BIGINT NOT NULL DEFAULT 0",
        "DROP INDEX blueprints_page", "DROP INDEX blueprints_page_by_owner",
        "DROP INDEX overlays_page", "DROP INDEX overlays_page_by_owner",
        "CREATE INDEX blueprints_page ON blueprints(name, id, revision)",
        "CREATE INDEX blueprints_page_by_owner ON blueprints(owner_id, name, id, revision)",
        "CREATE INDEX overlays_page ON overlays(ref, id, revision)",
        "CREATE INDEX overlays_page_by_owner ON overlays(owner_id, ref, id, revision)"}},
      {12,
       "jobs carry the user who sees them (a server job's server owner, else its creator) and a"
       " revision every change bumps: a page of jobs is read from an index (ids and revisions),"
       " not by a subquery over the user's servers, and rows only when changed",
       {"ALTER TABLE jobs ADD COLUMN owner_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN revision BIGINT NOT NULL DEFAULT 0",
        "UPDATE jobs SET owner_id = substr(created_by, 6) WHERE created_by LIKE 'user:%'",
        "UPDATE jobs SET owner_id = (SELECT s.owner_id FROM servers s"
        " WHERE 'server:' || s.id = jobs.lock_key)"
        " WHERE lock_key IN (SELECT 'server:' || id FROM servers)",
        "CREATE INDEX jobs_by_owner ON jobs(owner_id, id, revision)",
        "CREATE INDEX jobs_page ON jobs(id, revision)"}},
      {13,
       "for the web UI: players online sampled once a minute per owner (the dashboard's 24 h"
       " chart reads 1,440 rows, not every server's metric samples); the audit log filtered by"
       " actor or target from an index; servers whose status changed found by time (live"
       " `server` events)",
       {"CREATE TABLE player_samples ("
        " at_ms BIGINT NOT NULL,"
        " owner_id TEXT NOT NULL,"
        " players INTEGER NOT NULL,"
        " PRIMARY KEY (at_ms, owner_id))",
        "CREATE INDEX player_samples_by_owner ON player_samples(owner_id, at_ms)",
        "CREATE INDEX audit_by_actor ON audit_log(actor_id, id)",
        "CREATE INDEX audit_by_target ON audit_log(target, id)",
        "CREATE INDEX servers_by_status_time ON servers(status_at_ms)"}},
      {14,
       "hosts show when their agent's certificate expires (renewed by the controller before"
       " then); unknown (NULL) until the next enrollment or renewal",
       {"ALTER TABLE hosts ADD COLUMN cert_not_after_ms BIGINT"}},
      {15,
       "indexes for what /metrics and the lists ask by kind and state: the jobs counted by kind"
       " and state from an index (no scan and sort of every job), a page of jobs of one kind,"
       " servers filtered by desired or actual state read in name order",
       {"CREATE INDEX jobs_by_kind_state ON jobs(kind, state)",
        "CREATE INDEX jobs_by_kind ON jobs(kind, id, revision)",
        "CREATE INDEX servers_by_desired ON servers(desired_state, name, revision, id)",
        "CREATE INDEX servers_by_actual ON servers(actual_state, name, revision, id)"}},
      {16,
       "metrics downsampled: samples rolled up into 1-minute and 10-minute points kept longer"
       " than the raw ones (metric_rollups, up to where metric_rollup_marks says); the A2S"
       " latency a live figure in samples, no longer in servers' status",
       {"ALTER TABLE metric_samples ADD COLUMN latency_us BIGINT NOT NULL DEFAULT 0",
        "CREATE TABLE metric_rollups ("
        " server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,"
        " step_s INTEGER NOT NULL,"
        " at_ms BIGINT NOT NULL,"
        " players INTEGER NOT NULL,"
        " cpu_millis BIGINT NOT NULL,"
        " memory_bytes BIGINT NOT NULL,"
        " PRIMARY KEY (server_id, step_s, at_ms))",
        "CREATE INDEX metric_rollups_by_time ON metric_rollups(step_s, at_ms)",
        "CREATE TABLE metric_rollup_marks ("
        " step_s INTEGER PRIMARY KEY,"
        " done_until_ms BIGINT NOT NULL)"}},
      {17,
       "the counts the dashboard and /metrics show read from covering indexes, never the rows:"
       " servers by state with their players (an operator's by owner), by desired and actual"
       " state, hosts by state",
       {"CREATE INDEX servers_counts_by_owner ON servers(owner_id, actual_state, players)",
        "CREATE INDEX servers_counts ON servers(actual_state, players)",
        "CREATE INDEX servers_by_states ON servers(desired_state, actual_state)",
        "CREATE INDEX hosts_by_state ON hosts(state)"}},
      {18,
       "an operator's jobs of one kind or in one state read a page from an index in id order"
       " (not every such job sorted), and counted by state from it (the dashboard); a host's"
       " servers read in name order",
       {"CREATE INDEX jobs_by_owner_kind ON jobs(owner_id, kind, id, revision)",
        "CREATE INDEX jobs_by_owner_state ON jobs(owner_id, state, id, revision, finished_at_ms)",
        "CREATE INDEX servers_by_host ON servers(host_id, name, revision, id)"}},
      {19,
       "jobs counted by kind and state without reading them (/metrics): every change of a job's"
       " state leaves a +1/-1 in job_count_changes (triggers, so no code path can miss one),"
       " folded into job_counts as the reconciler goes; the actions the audit log holds, and"
       " its pages by action read from an index in id order",
       {"CREATE TABLE job_counts ("
        " kind TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " n BIGINT NOT NULL,"
        " PRIMARY KEY (kind, state))",
        "CREATE TABLE job_count_changes ("
        " kind TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " delta BIGINT NOT NULL)",
        "INSERT INTO job_counts (kind, state, n) SELECT kind, state, COUNT(*) FROM jobs"
        " GROUP BY kind, state",
        "CREATE TABLE audit_actions (action TEXT PRIMARY KEY)",
        "INSERT INTO audit_actions (action) SELECT DISTINCT action FROM audit_log",
        "CREATE INDEX audit_by_action ON audit_log(action, id)",
        "CREATE INDEX audit_by_owner_action ON audit_log(owner_id, action, id)",
        "CREATE INDEX audit_by_actor_action ON audit_log(actor_id, action, id)"},
       // SQLite: row triggers.
       {"CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs BEGIN"
        " INSERT INTO job_count_changes (kind, state, delta) VALUES (NEW.kind, NEW.state, 1);"
        " END",
        "CREATE TRIGGER jobs_counted_update AFTER UPDATE OF kind, state ON jobs"
        " WHEN OLD.state <> NEW.state OR OLD.kind <> NEW.kind BEGIN"
        " INSERT INTO job_count_changes (kind, state, delta)"
        " VALUES (OLD.kind, OLD.state, -1), (NEW.kind, NEW.state, 1);"
        " END",
        "CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs BEGIN"
        " INSERT INTO job_count_changes (kind, state, delta) VALUES (OLD.kind, OLD.state, -1);"
        " END",
        "CREATE TRIGGER audit_actions_known AFTER INSERT ON audit_log BEGIN"
        " INSERT OR IGNORE INTO audit_actions (action) VALUES (NEW.action);"
        " END"},
       // PostgreSQL: statement triggers over transition tables, one grouped INSERT per
       // statement (a bulk enqueue or a pruning batch is one row per kind and state, not one
       // per job).
       {"CREATE FUNCTION jobs_counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'INSERT' THEN"
        "  INSERT INTO job_count_changes (kind, state, delta)"
        "  SELECT kind, state, COUNT(*) FROM added GROUP BY kind, state;"
        " ELSIF TG_OP = 'DELETE' THEN"
        "  INSERT INTO job_count_changes (kind, state, delta)"
        "  SELECT kind, state, -COUNT(*) FROM removed GROUP BY kind, state;"
        " ELSE"
        "  INSERT INTO job_count_changes (kind, state, delta)"
        "  SELECT kind, state, SUM(delta) FROM ("
        "   SELECT o.kind, o.state, -1 AS delta FROM removed o JOIN added n USING (id)"
        "   WHERE o.state <> n.state OR o.kind <> n.kind"
        "   UNION ALL SELECT n.kind, n.state, 1 FROM removed o JOIN added n USING (id)"
        "   WHERE o.state <> n.state OR o.kind <> n.kind) AS changed"
        "  GROUP BY kind, state;"
        " END IF;"
        " RETURN NULL;"
        " END $$",
        "CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION jobs_counted()",
        "CREATE TRIGGER jobs_counted_update AFTER UPDATE ON jobs"
        " REFERENCING OLD TABLE AS removed NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION jobs_counted()",
        "CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS removed"
        " FOR EACH STATEMENT EXECUTE FUNCTION jobs_counted()",
        "CREATE FUNCTION audit_actions_known() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO audit_actions (action) SELECT DISTINCT action FROM added"
        " ON CONFLICT DO NOTHING;"
        " RETURN NULL;"
        " END $$",
        "CREATE TRIGGER audit_actions_known AFTER INSERT ON audit_log"
        " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION"
        " audit_actions_known()"}},
      {20,
       "players: sessions (who was on which server, from when to when, why they left), the"
       " timeline of each server's joins, leaves and map changes, every player seen with their"
       " totals, each server's place in its agent's event numbering; read by player, by server"
       " and time, and by name prefix from indexes",
       {"CREATE TABLE player_sessions ("
        " id TEXT PRIMARY KEY,"
        " server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,"
        " steam_id TEXT NOT NULL,"  // SteamID64 digits; '' while Steam had not validated it
        " user_id INTEGER NOT NULL,"
        " name TEXT NOT NULL,"
        " joined_at_ms BIGINT NOT NULL,"
        " left_at_ms BIGINT,"  // NULL: in the game now
        " reason TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX sessions_by_player ON player_sessions(steam_id, joined_at_ms)",
        "CREATE INDEX sessions_by_server_left ON player_sessions(server_id, left_at_ms,"
        " joined_at_ms)",
        "CREATE INDEX sessions_by_left ON player_sessions(left_at_ms)",
        "CREATE TABLE player_events ("
        " id TEXT PRIMARY KEY,"
        " server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,"
        " at_ms BIGINT NOT NULL,"
        " kind TEXT NOT NULL,"  // joined, left, map_changed, update_required
        " steam_id TEXT NOT NULL DEFAULT '',"
        " name TEXT NOT NULL DEFAULT '',"
        " text TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX player_events_by_server ON player_events(server_id, id)",
        "CREATE INDEX player_events_by_time ON player_events(at_ms)",
        "CREATE TABLE server_game_logs ("
        " server_id TEXT PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,"
        " epoch BIGINT NOT NULL,"
        " seq BIGINT NOT NULL,"
        " map TEXT NOT NULL,"
        " update_required INTEGER NOT NULL,"
        " players INTEGER NOT NULL,"
        " sessions_started BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL)",
        // /metrics sums the figures from the index alone.
        "CREATE INDEX server_game_logs_figures ON server_game_logs(players, server_id,"
        " update_required, sessions_started)"},
       // The players' names are searched by prefix in byte order: SQLite compares text so;
       // PostgreSQL is told to ("C"), whatever the database's collation.
       {"CREATE TABLE players ("
        " steam_id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " name_key TEXT NOT NULL,"
        " first_seen_ms BIGINT NOT NULL,"
        " last_seen_ms BIGINT NOT NULL,"
        " sessions BIGINT NOT NULL,"
        " seconds BIGINT NOT NULL)",
        "CREATE INDEX players_by_name ON players(name_key, steam_id)"},
       {"CREATE TABLE players ("
        " steam_id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " name_key TEXT COLLATE \"C\" NOT NULL,"
        " first_seen_ms BIGINT NOT NULL,"
        " last_seen_ms BIGINT NOT NULL,"
        " sessions BIGINT NOT NULL,"
        " seconds BIGINT NOT NULL)",
        "CREATE INDEX players_by_name ON players(name_key, steam_id)"}},
      {21,
       "players: their Steam profiles (name and avatar from the Steam Web API) and when Steam"
       " was last asked",
       {"ALTER TABLE players ADD COLUMN persona_name TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE players ADD COLUMN avatar_url TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE players ADD COLUMN profile_url TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE players ADD COLUMN profile_asked_ms BIGINT NOT NULL DEFAULT 0"}},
      {22,
       "schedules: what the controller does by itself at given times (a cron expression or an"
       " interval, a target, a chain of steps), each taken when due by one controller",
       {"CREATE TABLE schedules ("
        " id TEXT PRIMARY KEY,"
        " owner_id TEXT NOT NULL REFERENCES users(id),"
        " name TEXT NOT NULL,"
        " definition TEXT NOT NULL,"  // l4d2.controller.v1.ScheduleDefinition, JSON
        " enabled INTEGER NOT NULL,"
        " next_run_at_ms BIGINT NOT NULL,"  // 0: disabled, or never due again
        " last_run_at_ms BIGINT NOT NULL,"
        " last_job_id TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL,"
        " revision BIGINT NOT NULL,"
        " UNIQUE (owner_id, name))",
        // The runner's question every few seconds: the due ones, from the index alone.
        "CREATE INDEX schedules_due ON schedules(enabled, next_run_at_ms)",
        "CREATE INDEX schedules_page ON schedules(name, id)",
        "CREATE INDEX schedules_page_by_owner ON schedules(owner_id, name, id)"}},
      {23,
       "webhooks: where alerts go (events, URL, format, signing secret); the audit log's position"
       " up to which alerts were made",
       {"CREATE TABLE webhooks ("
        " id TEXT PRIMARY KEY,"
        " owner_id TEXT NOT NULL REFERENCES users(id),"
        " name TEXT NOT NULL,"
        " url TEXT NOT NULL,"
        " format TEXT NOT NULL,"
        " events TEXT NOT NULL,"  // comma-separated
        " secret TEXT NOT NULL,"  // the HMAC key deliveries are signed with
        " enabled INTEGER NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " updated_at_ms BIGINT NOT NULL,"
        " revision BIGINT NOT NULL,"
        " UNIQUE (owner_id, name))",
        "CREATE INDEX webhooks_page ON webhooks(name, id)",
        "CREATE INDEX webhooks_page_by_owner ON webhooks(owner_id, name, id)",
        "CREATE TABLE alert_cursor ("
        " name TEXT PRIMARY KEY,"
        " audit_id TEXT NOT NULL)"}},
      {24,
       "settings.revision: settings written with a compare-and-set (the update policy, what the"
       " update checks keep); servers.build: the game build a server's instance runs",
       {"ALTER TABLE settings ADD COLUMN revision BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE servers ADD COLUMN build TEXT NOT NULL DEFAULT ''",
        // Which running servers are behind their host's build, counted per host.
        "CREATE INDEX servers_builds ON servers(host_id, actual_state, build)"}},
      {25,
       "hosts.disk_low: the host's disk nearly full, as the host monitor last judged it",
       {"ALTER TABLE hosts ADD COLUMN disk_low INTEGER NOT NULL DEFAULT 0"}},
      {26,
       "backups: the catalog of servers' backups (the archives are on their hosts), a server's"
       " newest first and an owner's",
       {"CREATE TABLE backups ("
        " id TEXT PRIMARY KEY,"
        " server_id TEXT NOT NULL,"  // no foreign key: a deleted server's backups stay
        " owner_id TEXT NOT NULL,"
        " host_id TEXT NOT NULL,"
        // Where the archive is: backups/<instance>/<archive_id> on the host.
        " instance TEXT NOT NULL,"
        " archive_id TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL,"
        " record TEXT NOT NULL,"  // the Backup message's JSON
        " UNIQUE (host_id, instance, archive_id))",
        "CREATE INDEX backups_by_server ON backups(server_id, created_at_ms)",
        "CREATE INDEX backups_by_owner ON backups(owner_id, created_at_ms)",
        "CREATE INDEX backups_by_time ON backups(created_at_ms)"}},
      {27,
       "backups.vault_sha256: the archive's SHA-256 when a copy of it is in the controller's"
       " vault (its file's name there), else empty; a backup and its copies share one",
       {"ALTER TABLE backups ADD COLUMN vault_sha256 TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX backups_by_vault ON backups(vault_sha256)"}},
  };
  return *migrations;
}

absl::StatusOr<int64_t> SchemaVersion(Database& db) {
  int64_t version = 0;
  L4D2_RETURN_IF_ERROR(db.WithSession([&](soci::session& session) {
    session << kCreateMigrationsTable;
    version = MaxVersion(session);
    return absl::OkStatus();
  }));
  return version;
}

absl::Status ApplyMigrations(Database& db, absl::Span<const Migration> migrations, Clock& clock) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::InvalidArgumentError("migrations: versions must be strictly increasing");
    }
  }
  L4D2_RETURN_IF_ERROR(SchemaVersion(db).status());
  const int64_t newest_known = migrations.empty() ? 0 : migrations.back().version;
  for (const Migration& migration : migrations) {
    L4D2_RETURN_IF_ERROR(db.Transact([&](soci::session& session) -> absl::Status {
      if (db.backend() == DatabaseBackend::kPostgresql) {
        session << "SELECT pg_advisory_xact_lock(" << kMigrationLockKey << ")";
      }
      // Re-read under the lock: another controller may have just applied it.
      int64_t current = MaxVersion(session);
      if (current > newest_known) {
        return absl::FailedPreconditionError(absl::StrCat(
            "database schema version ", current, " is newer than this controller knows (",
            newest_known, "); upgrade the controller"));
      }
      if (current >= migration.version) return absl::OkStatus();
      for (const std::string& statement : migration.statements) session << statement;
      const bool postgres = db.backend() == DatabaseBackend::kPostgresql;
      for (const std::string& statement : postgres ? migration.postgresql : migration.sqlite) {
        session << statement;
      }
      long long version = migration.version;
      long long now_ms = absl::ToUnixMillis(clock.Now());
      session << "INSERT INTO schema_migrations (version, description, applied_at_ms) "
                 "VALUES (:v, :d, :t)",
          soci::use(version), soci::use(migration.description), soci::use(now_ms);
      return absl::OkStatus();
    }));
  }
  // A database newer than this binary fails even when it has nothing left to apply.
  L4D2_ASSIGN_OR_RETURN(int64_t version, SchemaVersion(db));
  if (version > newest_known) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", version,
                                                      " is newer than this controller knows (",
                                                      newest_known, "); upgrade the controller"));
  }
  return absl::OkStatus();
}

}  // namespace l4d2::controller
