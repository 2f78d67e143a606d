// l4d2ctl's controller commands, the real binary against the real controller (SQLite, no agents):
// where the URL and the token come from, names resolved to ids, YAML apply and export, jobs,
// and the documented exit codes.

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/clock.h"
#include "controller/store/player_history.h"
#include "controller/store/server_backups.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "l4d2/controller/v1/api.pb.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "l4d2/controller/v1/updates.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::ctl {
namespace {

using ::l4d2::testing::ChildProcess;
using ::l4d2::testing::HttpRequest;
using ::testing::HasSubstr;
using ::testing::Not;

class ControllerCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string database = "sqlite3:" + dir_.Sub("c.db");
    int status = 0;
    auto created =
        l4d2::testing::RunToCompletion({.argv = {L4D2_CONTROLLER_BINARY, "--database", database,
                                                 "admin", "create", "--username", "root"},
                                        .env = {{"L4D2_ADMIN_PASSWORD", "a long admin password"}}},
                                       &status);
    ASSERT_TRUE(created.ok() && WEXITSTATUS(status) == 0) << created.value_or("");
    port_ = l4d2::testing::FreeGamePort();
    auto controller =
        ChildProcess::Start({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "--pki_dir",
                                      dir_.Sub("pki"), "--report_listen", "127.0.0.1:0",
                                      "--listen_http", absl::StrCat("127.0.0.1:", port_)}});
    ASSERT_TRUE(controller.ok());
    controller_ = *std::move(controller);
    ASSERT_TRUE(controller_->WaitForOutput("serving HTTP")) << controller_->Output();
    url_ = absl::StrCat("http://127.0.0.1:", port_);
    // Sign in as a browser would, and make a write token for the command line.
    auto login = HttpRequest(port_, "POST", "/api/v1/session", {"Content-Type: application/json"},
                             R"({"username":"root","password":"a long admin password"})");
    ASSERT_TRUE(login.ok() && login->status == 200) << login.status();
    const std::string cookie = l4d2::testing::SetCookieOf(*login, "l4d2_session");
    auto info = FromJson<controller::v1::SessionInfo>(login->body);
    ASSERT_TRUE(info.ok());
    auto made = HttpRequest(
        port_, "POST", "/api/v1/tokens",
        {"Content-Type: application/json", "Cookie: " + cookie.substr(0, cookie.find(';')),
         "X-CSRF-Token: " + info->csrf_token()},
        R"({"name":"cli","scopes":["write"]})");
    ASSERT_TRUE(made.ok() && made->status == 201) << made->body;
    token_ = FromJson<controller::v1::CreateApiTokenResponse>(made->body)->secret();
    std::ofstream(dir_.Sub("token")) << token_ << "\n";
  }

  // l4d2ctl with the controller and token file given as flags.
  std::string Ctl(std::vector<std::string> args, int* code,
                  std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {L4D2CTL_BINARY, "--controller", url_, "--token_file",
                                     dir_.Sub("token")};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, code, std::move(env));
  }
  std::string Run(const std::vector<std::string>& argv, int* code,
                  std::map<std::string, std::string> env = {}) {
    env.emplace("HOME", dir_.Sub("home"));
    int status = 0;
    auto output = l4d2::testing::RunToCompletion({.argv = argv, .env = env}, &status);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output.ok() ? *output : output.status().ToString();
  }

  l4d2::testing::TempDir dir_;
  std::unique_ptr<ChildProcess> controller_;
  int port_ = 0;
  std::string url_;
  std::string token_;
};

TEST_F(ControllerCommandsTest, LoginSavesATokenThatLaterCommandsUseWithoutFlags) {
  const std::string config_home = dir_.Sub("xdg");
  const std::map<std::string, std::string> env = {{"XDG_CONFIG_HOME", config_home}};
  int code = -1;
  // A wrong password: refused, nothing written.
  auto with_password = [&](const std::string& password) {
    std::map<std::string, std::string> e = env;
    e["L4D2_PASSWORD"] = password;
    return e;
  };
  std::string out = Run({L4D2CTL_BINARY, "--controller", url_, "login", "--username", "root"},
                        &code, with_password("not the password"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_FALSE(std::filesystem::exists(config_home + "/l4d2ctl/token"));
  // No username: usage.
  out = Run({L4D2CTL_BINARY, "--controller", url_, "login"}, &code, with_password("x"));
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--username NAME"));

  out = Run({L4D2CTL_BINARY, "--controller", url_, "login", "--username", "root"}, &code,
            with_password("a long admin password"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("signed in to " + url_ + " as root"));
  const std::string token_file = config_home + "/l4d2ctl/token";
  EXPECT_THAT(out, HasSubstr("saved to " + token_file));
  EXPECT_EQ(std::filesystem::status(token_file).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream saved(token_file);
  const std::string secret(std::istreambuf_iterator<char>(saved), {});
  EXPECT_THAT(out, Not(HasSubstr(std::string(absl::StripAsciiWhitespace(secret)))));
  // The config now names the controller and the token: no flags needed, and the token writes.
  out = Run({L4D2CTL_BINARY, "hosts", "create", "h9", "--address", "127.0.0.1:9"}, &code, env);
  EXPECT_EQ(code, 0) << out;
  out = Run({L4D2CTL_BINARY, "tokens", "list"}, &code, env);
  EXPECT_THAT(out, HasSubstr("l4d2ctl@"));
  EXPECT_THAT(out, HasSubstr("read,write"));
}

TEST_F(ControllerCommandsTest, HostsOverlaysBlueprintsServersAndJobs) {
  int code = -1;
  std::string out = Ctl({"hosts", "create", "h1", "--address", "127.0.0.1:9"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("Enrollment token (shown once): "));
  // The controller has its CA: the one command that joins the host, with the CA pinned.
  EXPECT_THAT(out, HasSubstr("join --controller " + url_ + " --ca_sha256 sha256:"));
  EXPECT_THAT(Ctl({"hosts", "list"}, &code), HasSubstr("h1"));
  EXPECT_THAT(Ctl({"hosts", "drain", "h1"}, &code), HasSubstr("drained"));
  out = Ctl({"hosts", "revoke", "h1"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("h1: certificate revoked"));
  EXPECT_THAT(out, HasSubstr("Enrollment token (shown once): "));
  EXPECT_THAT(Ctl({"hosts", "revoke", "nope"}, &code), HasSubstr("nope"));
  EXPECT_NE(code, 0);

  std::filesystem::create_directories(dir_.Sub("maps/left4dead2/cfg"));
  std::ofstream(dir_.Sub("maps/left4dead2/cfg/server.cfg")) << "sv_cheats 0\n";
  out = Ctl({"overlays", "apply", "maps", "--dir", dir_.Sub("maps")}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("overlay maps at revision 1"));
  out = Ctl({"overlays", "apply", "maps", "--dir", dir_.Sub("maps")}, &code);
  EXPECT_THAT(out, HasSubstr("revision 2"));
  // Export writes the files out and a file that applies them back.
  out = Ctl({"overlays", "export", "maps", "--dir", dir_.Sub("exported-maps")}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("ref: maps"));
  std::ifstream cfg(dir_.Sub("exported-maps/left4dead2/cfg/server.cfg"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(cfg), {}), "sv_cheats 0\n");
  std::ofstream(dir_.Sub("maps.yaml")) << out;
  EXPECT_THAT(Ctl({"overlays", "apply", "-f", dir_.Sub("maps.yaml")}, &code),
              HasSubstr("revision 3"));
  std::ofstream(dir_.Sub("addons.yaml")) << "ref: addons\nworkshop: {items: [123, 456]}\n";
  EXPECT_THAT(Ctl({"overlays", "apply", "-f", dir_.Sub("addons.yaml")}, &code),
              HasSubstr("overlay addons at revision 1"));
  EXPECT_THAT(Ctl({"overlays", "export", "addons"}, &code), HasSubstr("items: [123, 456]"));
  std::ofstream(dir_.Sub("two.yaml")) << "ref: two\ndir: x\nworkshop: {items: [1]}\n";
  out = Ctl({"overlays", "apply", "-f", dir_.Sub("two.yaml")}, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("exactly one of"));

  std::ofstream(dir_.Sub("versus.yaml")) << "name: versus\nhostname: Friday\ngame_mode: versus\n"
                                            "max_players: 8\ncvars: {sv_alltalk: 1}\n"
                                            "overlays: [maps]\nexec_overlay_cfg: [maps]\n";
  out = Ctl({"blueprints", "apply", "-f", dir_.Sub("versus.yaml")}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("blueprint versus created"));
  EXPECT_THAT(Ctl({"blueprints", "apply", "-f", dir_.Sub("versus.yaml")}, &code),
              HasSubstr("blueprint versus updated"));
  // Export gives back a file that applies to the same blueprint.
  const std::string exported = Ctl({"blueprints", "export", "versus"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(exported, HasSubstr("name: versus"));
  EXPECT_THAT(exported, HasSubstr("sv_alltalk: \"1\""));
  EXPECT_THAT(exported, HasSubstr("exec_overlay_cfg:"));
  std::ofstream(dir_.Sub("exported.yaml")) << exported;
  EXPECT_THAT(Ctl({"blueprints", "apply", "-f", dir_.Sub("exported.yaml")}, &code),
              HasSubstr("updated"));
  std::ofstream(dir_.Sub("bad.yaml")) << "name: x\nport: 27015\n";
  out = Ctl({"blueprints", "apply", "-f", dir_.Sub("bad.yaml")}, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("port: unknown key"));

  out = Ctl({"servers", "create", "s1", "--blueprint", "versus", "--stopped"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("server s1 created: job "));
  out = Ctl({"--json", "servers", "list"}, &code);
  auto listed = FromJson<controller::v1::ListServersResponse>(out.substr(0, out.find('\n')));
  ASSERT_TRUE(listed.ok()) << out;
  ASSERT_EQ(listed->servers_size(), 1);
  EXPECT_EQ(listed->servers(0).desired_state(), "stopped");
  EXPECT_THAT(Ctl({"servers", "show", "s1"}, &code), HasSubstr("desired:   stopped"));
  out = Ctl({"servers", "start", "s1"}, &code);
  EXPECT_EQ(code, 0) << out;
  const std::string job = out.substr(out.rfind("job ") + 4, 32);
  EXPECT_THAT(Ctl({"jobs", "list"}, &code), HasSubstr("server.start"));
  // No host is ready: placement fails for good and the job says so; watch exits 1.
  out = Ctl({"jobs", "watch", job}, &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("failed"));
  out = Ctl({"servers", "bulk", "stop", "--blueprint", "versus", "--stagger", "5s"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("servers stop: job "));
  EXPECT_EQ(Ctl({"blueprints", "delete", "versus"}, &code).find("in use") != std::string::npos ||
                code == 1,
            true);
  EXPECT_THAT(Ctl({"servers", "console", "s1", "status"}, &code), HasSubstr("not placed"));
  EXPECT_EQ(code, 1);
}

TEST_F(ControllerCommandsTest, CredentialsComeFromFlagsEnvironmentOrConfigAndFailuresAreCoded) {
  int code = -1;
  // Environment.
  std::string out = Run({L4D2CTL_BINARY, "servers", "list"}, &code,
                        {{"L4D2_CONTROLLER", url_}, {"L4D2_TOKEN", token_}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("NAME"));
  // The config file.
  std::filesystem::create_directories(dir_.Sub("home/.config/l4d2ctl"));
  std::ofstream(dir_.Sub("home/.config/l4d2ctl/config.yaml"))
      << "controller: " << url_ << "\ntoken_file: " << dir_.Sub("token") << "\n";
  out = Run({L4D2CTL_BINARY, "hosts", "list"}, &code);
  EXPECT_EQ(code, 0) << out;
  // No controller: a usage error naming what is missing.
  out = Run({L4D2CTL_BINARY, "--config", "/dev/null", "jobs", "list"}, &code,
            {{"HOME", "/nonexistent"}});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--controller"));
  // A wrong token: refused with the controller's message.
  std::ofstream(dir_.Sub("wrong")) << "l4d2_" << std::string(48, '0') << "\n";
  out =
      Run({L4D2CTL_BINARY, "--controller", url_, "--token_file", dir_.Sub("wrong"), "jobs", "list"},
          &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("unknown or revoked API token"));
  // Nobody listening: unreachable.
  out = Run({L4D2CTL_BINARY, "--controller",
             absl::StrCat("http://127.0.0.1:", l4d2::testing::FreeGamePort()), "--token_file",
             dir_.Sub("token"), "servers", "list"},
            &code);
  EXPECT_EQ(code, 3) << out;
  // Deleting what is not there is done; showing it is an error.
  EXPECT_THAT(Ctl({"servers", "delete", "ghost"}, &code), HasSubstr("does not exist"));
  EXPECT_EQ(code, 0);
  EXPECT_THAT(Ctl({"servers", "show", "ghost"}, &code), HasSubstr("no server 'ghost'"));
  EXPECT_EQ(code, 1);
  // Tokens: the secret never appears in a listing.
  out = Ctl({"tokens", "create", "ci", "--scopes", "read"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(Ctl({"tokens", "list"}, &code), Not(HasSubstr(token_)));
  EXPECT_EQ(Ctl({"servers", "frobnicate", "x"}, &code).empty(), false);
  EXPECT_EQ(code, 2);
}

// The players commands over a history recorded as the controller's player feed records it
// (the agents' side is tests/root/fleet_test.cc).
// Schedules from a YAML file: applied, listed, shown with their next runs, exported to the same
// file, run by hand, disabled, deleted; a bad file is a usage error naming the key.
TEST_F(ControllerCommandsTest, SchedulesApplyShowRunExportDisableAndDelete) {
  int code = 0;
  std::ofstream(dir_.Sub("versus.yaml")) << "name: versus\ngame_mode: versus\n";
  ASSERT_EQ(Ctl({"blueprints", "apply", "-f", dir_.Sub("versus.yaml")}, &code).find("created") !=
                std::string::npos,
            true);
  const std::string file =
      "name: nightly\ncron: \"0 4 * * *\"\ntime_zone: Europe/Berlin\nenabled: true\n"
      "target: {blueprint: versus}\nonly_when_empty: true\ncontinue_on_failure: false\n"
      "missed: run_once\nsteps:\n  - command: say Restart in 5 minutes\n  - wait: 5m\n"
      "  - action: restart\n";
  std::ofstream(dir_.Sub("nightly.yaml")) << file;
  std::string out = Ctl({"schedules", "apply", "-f", dir_.Sub("nightly.yaml")}, &code);
  std::cout << "$ l4d2ctl schedules apply -f nightly.yaml\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("schedule nightly applied; next run "));
  out = Ctl({"schedules", "list"}, &code);
  std::cout << "$ l4d2ctl schedules list\n" << out;
  EXPECT_THAT(out, HasSubstr("0 4 * * * Europe/Berlin"));
  out = Ctl({"schedules", "show", "nightly"}, &code);
  std::cout << "$ l4d2ctl schedules show nightly\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("   1. command say Restart in 5 minutes"));
  EXPECT_THAT(out, HasSubstr("   2. wait 5m"));
  EXPECT_THAT(out, HasSubstr("target        blueprint versus\n"));
  EXPECT_THAT(out, HasSubstr("only when empty"));
  EXPECT_THAT(out, HasSubstr("next runs\n"));
  EXPECT_EQ(Ctl({"schedules", "export", "nightly"}, &code), file);
  out = Ctl({"schedules", "run", "nightly"}, &code);
  std::cout << "$ l4d2ctl schedules run nightly\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(Ctl({"jobs", "list"}, &code), HasSubstr("schedule.run"));
  out = Ctl({"schedules", "disable", "nightly"}, &code);
  EXPECT_THAT(out, HasSubstr("schedule nightly disabled"));
  EXPECT_THAT(Ctl({"schedules", "list"}, &code), HasSubstr(" no "));
  EXPECT_THAT(Ctl({"schedules", "enable", "nightly"}, &code),
              HasSubstr("schedule nightly enabled; next run "));
  std::ofstream(dir_.Sub("bad.yaml")) << "name: x\ncron: \"0 4 * * *\"\ntarget: {fleet: true}\n"
                                         "steps:\n  - reboot: now\n";
  out = Ctl({"schedules", "apply", "-f", dir_.Sub("bad.yaml")}, &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("steps[0].reboot: unknown key"));
  EXPECT_THAT(Ctl({"schedules", "delete", "nightly"}, &code),
              HasSubstr("schedule nightly deleted"));
  EXPECT_THAT(Ctl({"schedules", "show", "nightly"}, &code), HasSubstr("no schedule 'nightly'"));
}

// Alerts: a webhook made from flags prints its secret alone on standard output; listed; a test
// delivery queued and in its delivery log; a loopback URL refused; deleted.
TEST_F(ControllerCommandsTest, AlertsCreateListTestDeliveriesAndDelete) {
  int code = 0;
  std::string out = Ctl({"alerts", "create", "ops", "--url", "https://hooks.example.org/l4d2",
                         "--events", "server.crash_loop,host.unreachable"},
                        &code);
  EXPECT_EQ(code, 0) << out;
  // The secret alone on its line (standard output; the words before it are standard error's).
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), ::testing::MatchesRegex("[0-9a-f]{64}"));
  out = Ctl({"alerts", "list"}, &code);
  std::cout << "$ l4d2ctl alerts list\n" << out;
  EXPECT_THAT(out, HasSubstr("server.crash_loop,host.unreachable"));
  EXPECT_THAT(out, Not(HasSubstr(token_)));
  out = Ctl({"alerts", "test", "ops"}, &code);
  std::cout << "$ l4d2ctl alerts test ops\n" << out;
  EXPECT_EQ(code, 0) << out;
  out = Ctl({"alerts", "deliveries", "ops"}, &code);
  std::cout << "$ l4d2ctl alerts deliveries ops\n" << out;
  EXPECT_THAT(out, HasSubstr("JOB"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  out =
      Ctl({"alerts", "create", "local", "--url", "http://127.0.0.1:9/", "--events", "server.hung"},
          &code);
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("loopback"));
  out = Ctl({"alerts", "create", "x", "--url", "https://hooks.example.org/"}, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(Ctl({"alerts", "delete", "ops"}, &code), HasSubstr("webhook ops deleted"));
  EXPECT_THAT(Ctl({"alerts", "list"}, &code), Not(HasSubstr("ops")));
}

TEST_F(ControllerCommandsTest, UpdatesPolicyCheckAndShow) {
  int code = 0;
  ASSERT_EQ((Ctl({"hosts", "create", "edge1", "--address", "127.0.0.1:9"}, &code), code), 0);
  std::string out = Ctl({"updates", "policy", "--mode", "rolling", "--deadline", "90m",
                         "--max_parallel", "3", "--host_modes", "edge1=off"},
                        &code);
  std::cout << "$ l4d2ctl updates policy --mode rolling --deadline 90m --max_parallel 3 "
               "--host_modes edge1=off\n"
            << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(
      out, HasSubstr("update policy: rolling, deadline 1h30m, warning 5m before it, 3 at a time"));
  EXPECT_EQ((Ctl({"updates", "policy", "--deadline", "soon"}, &code), code), 2);
  out = Ctl({"updates", "policy", "--mode", "sometimes"}, &code);
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("mode: off, notify or rolling expected"));
  out = Ctl({"updates", "check"}, &code);
  EXPECT_EQ(code, 0) << out;
  out = Ctl({"updates", "show"}, &code);
  std::cout << "$ l4d2ctl updates show\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out,
              HasSubstr("policy:   rolling (deadline 1h30m, warning 5m before it, 3 at a time)"));
  EXPECT_THAT(out, HasSubstr("(no host checked yet: l4d2ctl updates check)"));
  out = Ctl({"--json", "updates", "show"}, &code);
  const auto status = FromJson<controller::v1::UpdateStatus>(out.substr(0, out.find('\n')));
  ASSERT_TRUE(status.ok()) << out;
  ASSERT_EQ(status->policy().host_modes_size(), 1);
  EXPECT_EQ(status->policy().host_modes().begin()->second, "off");
  EXPECT_FALSE(status->check_job_id().empty());
  // Back to the fleet's mode.
  EXPECT_EQ((Ctl({"updates", "policy", "--host_modes", "edge1=fleet"}, &code), code), 0);
  out = Ctl({"--json", "updates", "show"}, &code);
  EXPECT_EQ(FromJson<controller::v1::UpdateStatus>(out.substr(0, out.find('\n')))
                ->policy()
                .host_modes_size(),
            0);
}

TEST_F(ControllerCommandsTest, BackupsListRequestsAndRefusals) {
  int code = -1;
  std::ofstream(dir_.Sub("coop.yaml")) << "name: coop\nhostname: Sunday\ngame_mode: coop\n";
  ASSERT_EQ((Ctl({"blueprints", "apply", "-f", dir_.Sub("coop.yaml")}, &code), code), 0);
  std::string out = Ctl({"servers", "create", "b1", "--blueprint", "coop", "--stopped"}, &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl({"--json", "servers", "show", "b1"}, &code);
  const auto server = FromJson<controller::v1::Server>(out.substr(0, out.find('\n')));
  ASSERT_TRUE(server.ok()) << out;
  out = Ctl({"backups", "list"}, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("(no backups: l4d2ctl servers backup NAME)"));
  // A backup in the catalog, as a server.backup job on its host records it.
  std::string id;
  {
    auto db = controller::Database::Open({.url = "sqlite3:" + dir_.Sub("c.db")});
    ASSERT_TRUE(db.ok());
    controller::ServerBackupStore backups(**db, Clock::Real());
    controller::v1::Backup backup;
    backup.set_server_id(server->id());
    backup.set_server_name("b1");
    backup.set_owner_id(server->owner_id());
    backup.set_host_id("h1");
    backup.set_host_name("fra-1");
    backup.set_archive_id("20261204T120000Z-0a1b2c3d");
    *backup.mutable_created_at() = TimestampOf(absl::Now() - absl::Hours(2));
    backup.set_size_bytes(460732763);
    backup.set_content_bytes(1074561024);
    backup.set_build_id("9000002");
    backup.set_sha256(std::string(64, 'a'));
    backup.set_vaulted(true);
    ASSERT_TRUE((*db)
                    ->Transact([&](soci::session& sql) {
                      backups.Add(sql, backup);
                      return absl::OkStatus();
                    })
                    .ok());
    id = backup.id();
  }
  out = Ctl({"backups", "list", "b1"}, &code);
  std::cout << "$ l4d2ctl backups list b1\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr(id));
  EXPECT_THAT(out, HasSubstr("fra-1"));
  EXPECT_THAT(out, HasSubstr("439.4 MiB"));
  EXPECT_THAT(out, HasSubstr("1.0 GiB"));
  EXPECT_THAT(out, HasSubstr(" VAULT "));
  EXPECT_THAT(out, HasSubstr("1.0 GiB yes   9000002"));
  // Refused with the reason: a server never placed has no files; a retention that is no
  // duration is a usage error.
  out = Ctl({"servers", "backup", "b1"}, &code);
  std::cout << "$ l4d2ctl servers backup b1\n" << out;
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("never placed"));
  EXPECT_EQ((Ctl({"servers", "backup", "b1", "--keep_for", "soon"}, &code), code), 2);
  out = Ctl({"servers", "restore", "b1", id}, &code);
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("never placed"));
  out = Ctl({"backups", "delete", id}, &code);
  std::cout << "$ l4d2ctl backups delete " << id << "\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("deletion of backup " + id + ": job "));
}

TEST_F(ControllerCommandsTest, PlayersOnlineSessionsTimelineSearchAndShow) {
  int code = -1;
  std::ofstream(dir_.Sub("coop.yaml")) << "name: coop\nhostname: Sunday\ngame_mode: coop\n";
  ASSERT_EQ((Ctl({"blueprints", "apply", "-f", dir_.Sub("coop.yaml")}, &code), code), 0);
  std::string out = Ctl({"servers", "create", "c1", "--blueprint", "coop", "--stopped"}, &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl({"--json", "servers", "show", "c1"}, &code);
  const std::string server_id =
      FromJson<controller::v1::Server>(out.substr(0, out.find('\n')))->id();
  {
    auto db = controller::Database::Open({.url = "sqlite3:" + dir_.Sub("c.db")});
    ASSERT_TRUE(db.ok());
    controller::PlayerHistory history(**db, Clock::Real());
    const absl::Time now = absl::Now();
    agent::v1::ListPlayerEventsResponse answer;
    answer.set_epoch(1);
    answer.set_map("c5m1_waterfront");
    auto add = [&](int seq, agent::v1::PlayerEvent::Kind kind, uint64_t steam,
                   const std::string& name, absl::Duration ago, const std::string& text) {
      agent::v1::PlayerEvent* event = answer.add_events();
      event->set_seq(seq);
      event->set_kind(kind);
      *event->mutable_at() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now - ago));
      event->mutable_player()->set_name(name);
      event->mutable_player()->set_steam_id64(steam);
      event->set_text(text);
    };
    add(1, agent::v1::PlayerEvent::KIND_MAP_CHANGED, 0, "", absl::Minutes(50), "c5m1_waterfront");
    add(2, agent::v1::PlayerEvent::KIND_JOINED, 76561197960287930u, "Ellis", absl::Minutes(45), "");
    add(3, agent::v1::PlayerEvent::KIND_JOINED, 76561197960265738u, "Rochelle", absl::Minutes(40),
        "");
    add(4, agent::v1::PlayerEvent::KIND_LEFT, 76561197960265738u, "Rochelle", absl::Minutes(10),
        "Disconnect by user.");
    agent::v1::LivePlayer* ellis = answer.add_players();
    ellis->set_name("Ellis");
    ellis->set_steam_id64(76561197960287930u);
    ASSERT_TRUE(history.Record(server_id, {}, answer).ok());
    // What the controller's Steam profiles stored of Ellis.
    ASSERT_TRUE(history
                    .SaveProfiles({"76561197960287930"},
                                  {{.steam_id = "76561197960287930",
                                    .persona_name = "ellis_on_steam",
                                    .avatar_url = "https://avatars.steamstatic.com/e_medium.jpg",
                                    .profile_url = "https://steamcommunity.com/id/ellis/"}})
                    .ok());
  }
  out = Ctl({"players", "online", "c1"}, &code);
  std::cout << "$ l4d2ctl players online c1\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("map: c5m1_waterfront"));
  EXPECT_THAT(out, HasSubstr("Ellis                76561197960287930"));
  EXPECT_THAT(out, HasSubstr("in the game"));
  EXPECT_THAT(out, Not(HasSubstr("Rochelle")));
  out = Ctl({"players", "sessions", "c1"}, &code);
  std::cout << "$ l4d2ctl players sessions c1\n" << out;
  EXPECT_THAT(out, HasSubstr("Rochelle"));
  EXPECT_THAT(out, HasSubstr("30m00s"));
  EXPECT_THAT(out, HasSubstr("(Disconnect by user.)"));
  out = Ctl({"players", "timeline", "c1"}, &code);
  std::cout << "$ l4d2ctl players timeline c1\n" << out;
  EXPECT_THAT(out, HasSubstr("map_changed"));
  out = Ctl({"players", "search", "roch"}, &code);
  std::cout << "$ l4d2ctl players search roch\n" << out;
  EXPECT_THAT(out, HasSubstr("76561197960265738 Rochelle"));
  out = Ctl({"players", "show", "76561197960287930"}, &code);
  std::cout << "$ l4d2ctl players show 76561197960287930\n" << out;
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("online:     yes"));
  EXPECT_THAT(out, HasSubstr("steam name: ellis_on_steam\nprofile:    "
                             "https://steamcommunity.com/id/ellis/"));
  EXPECT_THAT(out, HasSubstr("c1 "));
  // A SteamID that is not one: the API's clear refusal, exit 1.
  out = Ctl({"players", "show", "12345"}, &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("SteamID64"));
}

}  // namespace
}  // namespace l4d2::ctl
