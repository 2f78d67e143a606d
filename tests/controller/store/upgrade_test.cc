// Issue Deploy: a newer controller migrates an older database as it starts and keeps every row.
// The database a dev fleet wrote at schema 13 (testdata/fleet-at-schema-13.sql: its rows as
// SQLite dumped them; the schema is made here by migrations 1-13), loaded into SQLite and
// PostgreSQL, migrated to the newest schema and read back through the stores. When a migration
// is added, keep this fixture and add one for the schema before it.

#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "controller/store/blueprints.h"
#include "controller/store/hosts.h"
#include "controller/store/migrations.h"
#include "controller/store/servers.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::UnorderedElementsAre;

using UpgradeTest = BackendTest;

constexpr int64_t kFixtureSchema = 13;

// The fixture's statements, one per line. SQLite's dump writes a text with line breaks as
// replace('...\n...','\n',char(10)), which PostgreSQL lacks: the breaks go back in the literal.
std::vector<std::string> FixtureRows() {
  static const std::regex kWithBreaks(R"re(replace\('((?:[^']|'')*)','\\n',char\(10\)\))re");
  std::ifstream in(std::string(L4D2_SOURCE_DIR) +
                   "/tests/controller/store/testdata/fleet-at-schema-13.sql");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> rows;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    if (!absl::StartsWith(line, "INSERT INTO ")) continue;
    std::string row;
    std::string rest(line);
    std::smatch match;
    while (std::regex_search(rest, match, kWithBreaks)) {
      absl::StrAppend(&row, match.prefix().str(), "'",
                      absl::StrReplaceAll(match[1].str(), {{"\\n", "\n"}}), "'");
      rest = match.suffix().str();
    }
    rows.push_back(row + rest);
  }
  return rows;
}

TEST_P(UpgradeTest, ADatabaseAtSchema13MigratesToTheNewestKeepingEveryRow) {
  std::vector<Migration> previous;
  for (const Migration& migration : ControllerMigrations()) {
    if (migration.version <= kFixtureSchema) previous.push_back(migration);
  }
  ASSERT_TRUE(ApplyMigrations(*db_, previous, clock_).ok());
  const std::vector<std::string> rows = FixtureRows();
  ASSERT_EQ(rows.size(), 94u);
  const absl::Status loaded = db_->Transact([&](soci::session& sql) {
    for (const std::string& row : rows) sql << row;
    return absl::OkStatus();
  });
  ASSERT_TRUE(loaded.ok()) << loaded;

  // What `l4d2-controller serve` does first.
  ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), clock_).ok());
  EXPECT_EQ(*SchemaVersion(*db_), ControllerMigrations().back().version);
  for (const auto& [table, count] :
       std::vector<std::pair<std::string, int64_t>>{{"users", 2},
                                                    {"hosts", 1},
                                                    {"servers", 2},
                                                    {"jobs", 4},
                                                    {"job_events", 40},
                                                    {"audit_log", 13},
                                                    {"metric_samples", 20},
                                                    {"player_samples", 5}}) {
    EXPECT_EQ(Count(table), count) << table;
  }

  // Everyone still signs in with their password, with their role.
  UserStore users(*db_, clock_, PasswordCost::Interactive());
  absl::StatusOr<User> admin = users.Authenticate("admin", "fixture-admin-pw");
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, Role::kAdmin);
  absl::StatusOr<User> alice = users.Authenticate("alice", "alice-long-password");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->role, Role::kOperator);

  // The host keeps its state and address; its certificate's expiry (migration 14) is unknown
  // until its next renewal.
  HostStore hosts(*db_, clock_);
  absl::StatusOr<Host> host = hosts.Get("h995514fb68876a94b7d9d9e1");
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->name, "local");
  EXPECT_EQ(host->state, "ready");
  EXPECT_EQ(host->address, "127.0.0.1:7543");
  EXPECT_FALSE(host->certificate_expires.has_value());
  EXPECT_TRUE(hosts.Certificate(host->id).ok());

  // Servers keep their host, blueprint and desired state: the reconciler leaves them be.
  ServerStore servers(*db_, clock_);
  absl::StatusOr<std::vector<Server>> listed = servers.List(Actor::Admin(admin->id));
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::pair<std::string, DesiredState>> seen;
  for (const Server& server : *listed) {
    EXPECT_EQ(server.host_id, host->id) << server.name;
    seen.emplace_back(server.name, server.desired_state);
  }
  EXPECT_THAT(seen, UnorderedElementsAre(std::pair{"vs1", DesiredState::kRunning},
                                         std::pair{"vs2", DesiredState::kStopped}));
  BlueprintStore blueprints(*db_, clock_);
  absl::StatusOr<Blueprint> coop =
      blueprints.Get(Actor::Admin(admin->id), listed->front().blueprint_id);
  ASSERT_TRUE(coop.ok()) << coop.status();
  EXPECT_EQ(coop->name, "coop");
}

L4D2_INSTANTIATE_BACKEND_TEST(UpgradeTest);

}  // namespace
}  // namespace l4d2::controller
