// The shipped programs as an operator runs them: l4d2-agent, l4d2ctl and l4d2-controller as
// separate processes, with their flags, exit codes and signals.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "controller/jobs/agent_connector.h"
#include "controller/jobs/scheduler.h"
#include "controller/store/audit_log.h"
#include "controller/store/hosts.h"
#include "controller/store/job_queue.h"
#include "controller/store/migrations.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/testing/agent_binary.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

std::string Ctl(const std::vector<std::string>& args, int* code) {
  std::vector<std::string> argv = {L4D2CTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  int status = 0;
  absl::StatusOr<std::string> output = RunToCompletion({.argv = argv}, &status);
  *code = ExitCode(status);
  return output.ok() ? *output : output.status().ToString();
}

class AgentBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ChildProcess>> agent = ChildProcess::Start(
        {.argv =
             WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir_.Sub("root"), "--listen_tcp",
                               "127.0.0.1:0", "--plaintext_tcp", "--listen_unix", socket_,
                               "--steamcmd", L4D2_FAKE_STEAMCMD, "--unit_dir", dir_.Sub("units")}),
         .env = {{"HOME", dir_.Sub("home")}}});
    ASSERT_TRUE(agent.ok());
    agent_ = *std::move(agent);
    ASSERT_TRUE(agent_->WaitForOutput("serving root")) << agent_->Output();
    std::smatch match;
    std::string output = agent_->Output();
    ASSERT_TRUE(std::regex_search(output, match, std::regex(R"(\(port ([0-9]+)\))")));
    ASSERT_TRUE(absl::SimpleAtoi(match[1].str(), &tcp_port_));
  }

  TempDir dir_;
  std::string socket_ = dir_.Sub("run/agent.sock");
  std::unique_ptr<ChildProcess> agent_;
  int tcp_port_ = 0;
};

TEST_F(AgentBinaryTest, ServesBothListenersAndCreatesItsTree) {
  int code = 0;
  EXPECT_EQ(Ctl({"--agent", "unix:" + socket_, "health"}, &code), "SERVING\n");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(Ctl({"--agent", "127.0.0.1:" + std::to_string(tcp_port_), "health"}, &code),
            "SERVING\n");
  std::string host = Ctl({"--agent", socket_, "--json", "host"}, &code);
  EXPECT_EQ(code, 0) << host;
  EXPECT_THAT(host, HasSubstr("\"root\": \"" + dir_.Sub("root") + "\""));
  for (const char* sub : {"installation", "overlays", "instances", "runtime", "agent", "tmp"}) {
    struct stat st;
    EXPECT_EQ(stat((dir_.Sub("root/") + sub).c_str(), &st), 0) << sub;
  }
}

TEST_F(AgentBinaryTest, CtlInstallsFollowsProgressAndChecksForUpdates) {
  int code = 0;
  std::string install = Ctl({"--agent", socket_, "--operation_id", "first", "install"}, &code);
  EXPECT_EQ(code, 0) << install;
  EXPECT_THAT(install, HasSubstr("downloading        100.0%"));
  EXPECT_THAT(install, HasSubstr("installed build 9000001\n"));
  EXPECT_THAT(Ctl({"--agent", socket_, "host"}, &code), HasSubstr("installed build: 9000001"));
  std::string check = Ctl({"--agent", socket_, "check-update"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(check, HasSubstr("up to date"));
  // The same operation id: the recorded outcome, as JSON lines.
  std::string again =
      Ctl({"--agent", socket_, "--json", "--operation_id", "first", "install"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(again, HasSubstr("\"build_id\":\"9000001\""));
  // steamcmd's own error reaches the operator with exit code 1.
  std::filesystem::create_directories(dir_.Sub("home/.fake-steamcmd"));
  std::ofstream(dir_.Sub("home/.fake-steamcmd/public_buildid")) << "9000002";
  std::ofstream(dir_.Sub("home/.fake-steamcmd/fail")) << "No subscription";
  std::string failed = Ctl({"--agent", socket_, "install"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(failed,
              HasSubstr("l4d2ctl: steamcmd: Failed to install app '222860' (No subscription)"));
  EXPECT_THAT(Ctl({"--agent", socket_, "host"}, &code), HasSubstr("installed build: 9000001"));
}

TEST_F(AgentBinaryTest, SigtermShutsDownCleanlyAndRemovesTheSocket) {
  agent_->Signal(SIGTERM);
  absl::StatusOr<int> status = agent_->Wait(absl::Seconds(5));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(ExitCode(*status), 0);
  EXPECT_TRUE(agent_->WaitForOutput("signal 15, shutting down"));
  EXPECT_NE(access(socket_.c_str(), F_OK), 0);
  int code = 0;
  Ctl({"--agent", socket_, "--timeout", "1s", "health"}, &code);
  EXPECT_EQ(code, 3);
}

TEST(AgentBinaryConfigTest, BadConfigurationExitsWithACleanMessage) {
  TempDir dir;
  int status = 0;
  // TCP without mutual TLS, on loopback too (issue Isolation, 3): refused, nothing served.
  for (const char* address : {"192.0.2.1:7543", "127.0.0.1:0"}) {
    absl::StatusOr<std::string> output = RunToCompletion(
        {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir.path(), "--listen_tcp", address,
                                   "--unit_dir", dir.Sub("units")})},
        &status);
    ASSERT_TRUE(output.ok());
    EXPECT_EQ(ExitCode(status), 2);
    EXPECT_THAT(*output, HasSubstr("needs mutual TLS"));
  }
  absl::StatusOr<std::string> output = RunToCompletion(
      {.argv =
           WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir.path(), "--listen_tcp",
                             "192.0.2.1:7543", "--plaintext_tcp", "--unit_dir", dir.Sub("units")})},
      &status);
  ASSERT_TRUE(output.ok());
  EXPECT_EQ(ExitCode(status), 2);
  EXPECT_THAT(*output, HasSubstr("not a loopback address"));

  std::ofstream(dir.Sub("agent.yaml")) << "root: " << dir.path() << "\nlisten: {tpc: x}\n";
  output = RunToCompletion(
      {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--config", dir.Sub("agent.yaml")})}, &status);
  EXPECT_EQ(ExitCode(status), 2);
  EXPECT_THAT(*output, HasSubstr("listen.tpc: unknown key"));
}

TEST(AgentBinaryConfigTest, AMissingHelperRefusesTheStartNamingIt) {
  TempDir dir;
  for (const auto& [flag, key] : {std::pair{"--console_helper", "systemd.console_helper"},
                                  std::pair{"--fetch_helper", "fetch_helper"},
                                  std::pair{"--overlay_helper", "systemd.overlay_helper"}}) {
    int status = 0;
    absl::StatusOr<std::string> output = RunToCompletion(
        {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir.Sub("root"), "--listen_tcp",
                                   "127.0.0.1:0", "--plaintext_tcp", "--listen_unix", "none",
                                   "--unit_dir", dir.Sub("units"), flag, dir.Sub("missing")})},
        &status);
    ASSERT_TRUE(output.ok());
    EXPECT_EQ(ExitCode(status), 1) << *output;
    EXPECT_THAT(*output, HasSubstr(absl::StrCat(key, ": '", dir.Sub("missing"),
                                                "' is missing or not executable")));
    EXPECT_THAT(*output, Not(HasSubstr("serving root")));
  }
}

TEST(ControllerBinaryTest, AdminCreateTakesThePasswordFromTheEnvironmentOrStandardInput) {
  TempDir dir;
  const std::string database = "sqlite3:" + dir.Sub("controller.db");
  int status = 0;
  absl::StatusOr<std::string> created =
      RunToCompletion({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "admin", "create",
                                "--username", "root"},
                       .env = {{"L4D2_ADMIN_PASSWORD", "a long admin password"}}},
                      &status);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(ExitCode(status), 0) << *created;
  EXPECT_THAT(*created, HasSubstr("administrator 'root' created"));
  EXPECT_THAT(*created, ::testing::Not(HasSubstr("a long admin password")));
  // From standard input (the environment variable unset), and a taken name is refused.
  const std::string piped =
      absl::StrCat("printf 'second admin password\\n' | ", L4D2_CONTROLLER_BINARY, " --database ",
                   database, " admin create --username second");
  created = RunToCompletion(
      {.argv = {"/bin/sh", "-c", piped}, .env = {{"L4D2_ADMIN_PASSWORD", ""}}}, &status);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(ExitCode(status), 2) << *created;  // An empty variable is an empty password.
  created = RunToCompletion(
      {.argv = {"/usr/bin/env", "-u", "L4D2_ADMIN_PASSWORD", "/bin/sh", "-c", piped}}, &status);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(ExitCode(status), 0) << *created;
  EXPECT_THAT(*created, HasSubstr("administrator 'second' created"));
  created = RunToCompletion(
      {.argv = {"/usr/bin/env", "-u", "L4D2_ADMIN_PASSWORD", "/bin/sh", "-c", piped}}, &status);
  EXPECT_EQ(ExitCode(status), 1);
  EXPECT_THAT(*created, HasSubstr("already exists"));
  created = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "admin", "create"}}, &status);
  EXPECT_EQ(ExitCode(status), 2);
  EXPECT_THAT(*created, HasSubstr("--username"));
}

TEST(FleetBinariesTest, AnAgentEnrollsOnceAndThenOnlyTheControllerReachesIt) {
  TempDir dir;
  const std::string database = "sqlite3:" + dir.Sub("controller.db");
  std::string token;
  std::string host_id;
  {
    auto db = controller::Database::Open({.url = database});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        controller::ApplyMigrations(**db, controller::ControllerMigrations(), Clock::Real()).ok());
    controller::HostStore hosts(**db, Clock::Real());
    auto created = hosts.Create({.name = "h", .address = "127.0.0.1:1"}, absl::Hours(1));
    ASSERT_TRUE(created.ok());
    host_id = created->first.id;
    token = created->second;
  }
  const int http_port = FreeGamePort();
  auto controller =
      ChildProcess::Start({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "--pki_dir",
                                    dir.Sub("pki"), "--report_listen", "127.0.0.1:0",
                                    "--listen_http", absl::StrCat("127.0.0.1:", http_port)}});
  ASSERT_TRUE(controller.ok());
  ASSERT_TRUE((*controller)->WaitForOutput("serving HTTP")) << (*controller)->Output();

  std::ofstream(dir.Sub("agent.yaml"))
      << "root: " << dir.Sub("root") << "\nlisten: {unix: " << dir.Sub("agent.sock") << "}\n"
      << "fetch_helper: " << L4D2_FETCH_HELPER
      << "\n"
      // left4me-fetch parses the controller's answer as its own account (as root: nobody).
      << "fetch_user: " << (getuid() == 0 ? "nobody" : "\"\"") << "\n"
      << "systemd: {unit_dir: " << dir.Sub("units") << "}\n";
  std::ofstream(dir.Sub("token")) << token << "\n";
  const std::vector<std::string> enroll = WithBuiltHelpers(
      {L4D2_AGENT_BINARY, "--config", dir.Sub("agent.yaml"), "enroll", "--controller",
       absl::StrCat("http://127.0.0.1:", http_port), "--token_file", dir.Sub("token")});
  int status = 0;
  absl::StatusOr<std::string> enrolled = RunToCompletion({.argv = enroll}, &status);
  ASSERT_TRUE(enrolled.ok());
  ASSERT_EQ(ExitCode(status), 0) << *enrolled << (*controller)->Output();
  EXPECT_THAT(*enrolled, HasSubstr("enrolled as host " + host_id));
  // The TCP listener comes with the certificate: never one without the other.
  EXPECT_THAT(*enrolled, HasSubstr("listen:\n  tcp: \"0.0.0.0:7543\"\n  tls: {certificate: "));
  EXPECT_THAT(*enrolled, ::testing::Not(HasSubstr(token)));
  // Told where to send its host reports: the controller's report port.
  std::smatch report_match;
  ASSERT_TRUE(std::regex_search(*enrolled, report_match,
                                std::regex(R"(report:\n  to: \[(127\.0\.0\.1:[0-9]+)\])")))
      << *enrolled;
  const std::string report_to = report_match[1].str();
  EXPECT_THAT((*controller)->Output(),
              HasSubstr("agents are told to send them to '" + report_to + "'"));
  struct stat st;
  ASSERT_EQ(::stat(dir.Sub("root/agent/tls/agent.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The token is spent.
  absl::StatusOr<std::string> again = RunToCompletion({.argv = enroll}, &status);
  EXPECT_EQ(ExitCode(status), 1) << *again;
  EXPECT_THAT(*again, HasSubstr("401"));

  // Served with its certificate, the agent answers the controller's and nobody else.
  std::ofstream(dir.Sub("agent-tls.yaml"))
      << "root: " << dir.Sub("root") << "\nlisten: {tcp: \"127.0.0.1:0\", unix: \"\", tls: {"
      << "certificate: " << dir.Sub("root/agent/tls/agent.pem")
      << ", key: " << dir.Sub("root/agent/tls/agent.key")
      << ", ca: " << dir.Sub("root/agent/tls/ca.pem") << "}}\n"
      << "report: {to: [\"" << report_to << "\"]}\n"
      << "systemd: {unit_dir: " << dir.Sub("units") << "}\n";
  const absl::Time agent_started = absl::Now();
  auto agent = ChildProcess::Start(
      {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--config", dir.Sub("agent-tls.yaml")}),
       .env = {{"HOME", dir.Sub("home")}}});
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE((*agent)->WaitForOutput("serving root")) << (*agent)->Output();
  std::smatch match;
  const std::string output = (*agent)->Output();
  ASSERT_TRUE(std::regex_search(output, match, std::regex(R"(\(port ([0-9]+)\))")));
  auto read = [&](const std::string& name) { return *ReadFileToString(dir.Sub("pki/" + name)); };
  controller::MutualTlsAgentConnector connector({.certificate_pem = read("controller.pem"),
                                                 .key_pem = read("controller.key"),
                                                 .ca_pem = read("ca.pem")});
  auto stub = connector.Stub({.id = host_id, .address = "127.0.0.1:" + match[1].str()});
  grpc::ClientContext context;
  agent::v1::HostInfo info;
  grpc::Status answered = stub->GetHostInfo(&context, agent::v1::GetHostInfoRequest(), &info);
  EXPECT_TRUE(answered.ok()) << answered.error_message();
  auto plain = agent::v1::AgentService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + match[1].str(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext plain_context;
  plain_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  EXPECT_FALSE(plain->GetHostInfo(&plain_context, agent::v1::GetHostInfoRequest(), &info).ok());

  // The controller hears from the host by its signed reports alone: the host's address in the
  // controller's table (127.0.0.1:1) answers nothing, yet its health round sees it.
  auto db = controller::Database::Open({.url = database});
  ASSERT_TRUE(db.ok());
  controller::HostStore hosts(**db, Clock::Real());
  EXPECT_TRUE(Eventually(
      [&] {
        absl::StatusOr<controller::Host> host = hosts.Get(host_id);
        return host.ok() && host->last_seen.has_value() && *host->last_seen > agent_started;
      },
      absl::Seconds(15)))
      << (*controller)->Output();
  EXPECT_EQ(hosts.Get(host_id)->state, "ready");
  EXPECT_THAT((*controller)->Output(), ::testing::Not(HasSubstr("host report refused")));
  EXPECT_THAT((*agent)->Output(), HasSubstr("reporting host " + host_id));
}

TEST(FleetBinariesTest, KillingTheControllerDuringAHundredJobsLosesAndRepeatsNothing) {
  TempDir dir;
  auto agent = ChildProcess::Start(
      {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir.Sub("root"), "--listen_tcp",
                                 "127.0.0.1:0", "--plaintext_tcp", "--listen_unix", "none",
                                 "--steamcmd", L4D2_FAKE_STEAMCMD, "--unit_dir", dir.Sub("units")}),
       .env = {{"HOME", dir.Sub("home")}}});
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE((*agent)->WaitForOutput("serving root")) << (*agent)->Output();
  std::smatch match;
  std::string output = (*agent)->Output();
  ASSERT_TRUE(std::regex_search(output, match, std::regex(R"(\(port ([0-9]+)\))")));
  // --listen_unix none: no unix socket (tests running at once would share the default one).
  EXPECT_THAT(output, Not(HasSubstr(" unix '"))) << output;

  const std::string database = "sqlite3:" + dir.Sub("controller.db");
  auto db = controller::Database::Open({.url = database});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(
      controller::ApplyMigrations(**db, controller::ControllerMigrations(), Clock::Real()).ok());
  controller::HostStore hosts(**db, Clock::Real());
  controller::JobQueue queue(**db, Clock::Real());
  auto host = hosts.Create({.name = "h", .address = "127.0.0.1:" + match[1].str()}, absl::Hours(1));
  ASSERT_TRUE(host.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> id = queue.Enqueue(controller::HostInstallJob(host->first.id, "t"));
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  std::ofstream(dir.Sub("controller.yaml")) << "agents: {plaintext: true}\n"
                                            << "jobs: {workers: 2, lease: 2s}\n";
  auto start_controller = [&] {
    return ChildProcess::Start(
        {.argv = {L4D2_CONTROLLER_BINARY, "--config", dir.Sub("controller.yaml"), "--database",
                  database, "--pki_dir", dir.Sub("pki"), "--report_listen", "127.0.0.1:0",
                  "--listen_http", absl::StrCat("127.0.0.1:", FreeGamePort())}});
  };
  auto ended = [&] {
    int count = 0;
    for (const std::string& id : ids) {
      absl::StatusOr<controller::Job> job = queue.Get(id);
      if (job.ok() && job->state != controller::JobState::kQueued &&
          job->state != controller::JobState::kRunning) {
        ++count;
      }
    }
    return count;
  };
  auto first = start_controller();
  ASSERT_TRUE(first.ok());
  // Killed mid-run, with jobs done, one running and the rest queued.
  ASSERT_TRUE(Eventually([&] { return ended() >= 10; }, absl::Seconds(30))) << (*first)->Output();
  (*first)->Signal(SIGKILL);
  ASSERT_TRUE((*first)->Wait().ok());
  const int before = ended();
  EXPECT_LT(before, 100);
  const absl::Time restarted = absl::Now();
  auto second = start_controller();
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(Eventually([&] { return ended() == 100; }, absl::Seconds(60)))
      << ended() << " of 100 ended\n"
      << (*second)->Output();
  const absl::Duration took = absl::Now() - restarted;
  EXPECT_LT(took, absl::Seconds(30));
  output = (*agent)->Output();
  for (const std::string& id : ids) {
    absl::StatusOr<controller::Job> job = queue.Get(id);
    EXPECT_EQ(job->state, controller::JobState::kSucceeded) << id << " " << job->error;
    // The side effect happened once: one install per job on the agent, never two.
    const std::string started = absl::StrCat("install '", id, ":install' started");
    EXPECT_NE(output.find(started), std::string::npos) << id;
    EXPECT_EQ(output.find(started), output.rfind(started)) << id << " ran twice";
  }
  std::cout << "[ figure ] controller kill -9 after " << before
            << " of 100 jobs: 0 lost, 0 repeated, all ended " << absl::ToInt64Milliseconds(took)
            << " ms after the restart (target 30000)\n";
}

// Two controllers on one PostgreSQL (L4D2_TEST_POSTGRES; ctest's pg label): they share the
// work, and killing one mid-run loses and repeats nothing.
TEST(PgFleetTest, TwoControllersShareTheWorkAndOneDyingLosesNothing) {
  const char* conninfo = std::getenv("L4D2_TEST_POSTGRES");
  if (conninfo == nullptr) GTEST_SKIP() << "L4D2_TEST_POSTGRES is not set (tests/pg/start)";
  TempDir dir;
  const std::string name = absl::StrCat("l4d2_fleet_", getpid());
  {
    soci::session admin(soci::postgresql, std::string(conninfo) + " dbname=postgres");
    admin << "DROP DATABASE IF EXISTS " << name;
    admin << "CREATE DATABASE " << name;
  }
  const std::string database = absl::StrCat("postgresql:", conninfo, " dbname=", name);
  // Three hosts, each its own agent: three installs can run at once.
  std::vector<std::unique_ptr<ChildProcess>> agents;
  std::vector<std::string> addresses;
  for (int a = 0; a < 3; ++a) {
    const std::string sub = absl::StrCat("agent", a);
    std::filesystem::create_directories(dir.Sub(sub));
    auto agent = ChildProcess::Start(
        {.argv = WithBuiltHelpers({L4D2_AGENT_BINARY, "--root", dir.Sub(sub + "/root"),
                                   "--listen_tcp", "127.0.0.1:0", "--plaintext_tcp",
                                   "--listen_unix", "none", "--steamcmd", L4D2_FAKE_STEAMCMD,
                                   "--unit_dir", dir.Sub(sub + "/units")}),
         .env = {{"HOME", dir.Sub(sub + "/home")}}});
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE((*agent)->WaitForOutput("serving root")) << (*agent)->Output();
    std::smatch match;
    const std::string text = (*agent)->Output();
    ASSERT_TRUE(std::regex_search(text, match, std::regex(R"(\(port ([0-9]+)\))")));
    addresses.push_back("127.0.0.1:" + match[1].str());
    agents.push_back(*std::move(agent));
  }
  auto db = controller::Database::Open({.url = database});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(
      controller::ApplyMigrations(**db, controller::ControllerMigrations(), Clock::Real()).ok());
  controller::HostStore hosts(**db, Clock::Real());
  controller::JobQueue queue(**db, Clock::Real());
  std::vector<std::string> host_ids;
  for (int a = 0; a < 3; ++a) {
    auto host =
        hosts.Create({.name = absl::StrCat("h", a), .address = addresses[a]}, absl::Hours(1));
    ASSERT_TRUE(host.ok());
    host_ids.push_back(host->first.id);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(*queue.Enqueue(controller::HostInstallJob(host_ids[i % 3], "t")));
  }
  std::ofstream(dir.Sub("controller.yaml")) << "agents: {plaintext: true}\n"
                                            << "jobs: {workers: 2, lease: 2s}\n";
  auto start_controller = [&](const std::string& pki) {
    return ChildProcess::Start(
        {.argv = {L4D2_CONTROLLER_BINARY, "--config", dir.Sub("controller.yaml"), "--database",
                  database, "--pki_dir", dir.Sub(pki), "--report_listen", "127.0.0.1:0",
                  "--listen_http", absl::StrCat("127.0.0.1:", FreeGamePort())}});
  };
  auto succeeded = [&] {
    int count = 0;
    for (const std::string& id : ids) {
      count += queue.Get(id)->state == controller::JobState::kSucceeded ? 1 : 0;
    }
    return count;
  };
  auto one = start_controller("pki1");
  auto two = start_controller("pki2");
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_TRUE(Eventually([&] { return succeeded() >= 30; }, absl::Seconds(60)));
  (*one)->Signal(SIGKILL);
  ASSERT_TRUE((*one)->Wait().ok());
  ASSERT_TRUE(Eventually([&] { return succeeded() == 100; }, absl::Seconds(60)))
      << succeeded() << " of 100\n"
      << (*two)->Output();
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  // The test's installs only (each controller also runs its own update check at start).
  const int by_one = count((*one)->Output(), "(host.install) succeeded");
  const int by_two = count((*two)->Output(), "(host.install) succeeded");
  EXPECT_GT(by_one, 0) << "the work was not shared\n" << (*one)->Output();
  EXPECT_GT(by_two, 0);
  // Each logs after recording; a kill between the two loses at most one line.
  EXPECT_GE(by_one + by_two, 99);
  EXPECT_LE(by_one + by_two, 100);
  std::string output;
  for (const auto& agent : agents) output += agent->Output();
  for (const std::string& id : ids) {
    const std::string started = absl::StrCat("install '", id, ":install' started");
    EXPECT_EQ(count(output, started), 1) << id;
  }
  std::cout << "[ figure ] two controllers on PostgreSQL: " << by_one << " + " << by_two
            << " of 100 jobs, one killed mid-run, 0 lost, 0 repeated\n";
  db->reset();
  soci::session admin(soci::postgresql, std::string(conninfo) + " dbname=postgres");
  admin << "DROP DATABASE IF EXISTS " << name << " WITH (FORCE)";
}

TEST(ControllerBinaryTest, HostCreatePrintsTheTokenOnceAndTheEnrollmentCommand) {
  TempDir dir;
  const std::string database = "sqlite3:" + dir.Sub("controller.db");
  int status = 0;
  absl::StatusOr<std::string> created = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "host", "create", "--name", "fra-1",
                "--address", "10.0.0.5:7543", "--controller_url", "https://ctl.example:8080"}},
      &status);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(ExitCode(status), 0) << *created;
  std::smatch token;
  ASSERT_TRUE(
      std::regex_search(*created, token, std::regex("token \\(shown once\\): ([0-9a-f]{64})")))
      << *created;
  EXPECT_THAT(*created, HasSubstr("enroll --controller https://ctl.example:8080"));
  // The database keeps only the token's hash.
  auto db = controller::Database::Open({.url = database});
  ASSERT_TRUE(db.ok());
  std::string hash;
  ASSERT_TRUE((*db)
                  ->WithSession([&](soci::session& sql) {
                    sql << "SELECT enroll_token_hash FROM hosts", soci::into(hash);
                    return absl::OkStatus();
                  })
                  .ok());
  // Recorded in the audit log, without the token.
  std::string action, detail;
  ASSERT_TRUE((*db)
                  ->WithSession([&](soci::session& sql) {
                    sql << "SELECT action, detail FROM audit_log", soci::into(action),
                        soci::into(detail);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(action, "host.create");
  EXPECT_THAT(detail, HasSubstr("fra-1"));
  EXPECT_THAT(detail, ::testing::Not(HasSubstr(token[1].str())));
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_NE(hash, token[1].str());
  created = RunToCompletion({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "host",
                                      "create", "--name", "fra-1", "--address", "10.0.0.6:7543"}},
                            &status);
  EXPECT_EQ(ExitCode(status), 1);
  EXPECT_THAT(*created, HasSubstr("already exists"));
  created = RunToCompletion({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "host",
                                      "create", "--name", "Bad Name", "--address", "x:1"}},
                            &status);
  EXPECT_EQ(ExitCode(status), 2);
}

// Issue Deploy: `backup` while the controller serves and writes go on holds every write
// acknowledged before it began; `restore` is refused while a controller serves the database,
// and a controller started on the restored file finds those writes.
TEST(ControllerBinaryTest, ABackupUnderWriteLoadRestoresEveryAcknowledgedWrite) {
  TempDir dir;
  const std::string database = "sqlite3:" + dir.Sub("controller.db");
  auto serve = [&](const std::string& url) {
    return ChildProcess::Start({.argv = {L4D2_CONTROLLER_BINARY, "--database", url, "--pki_dir",
                                         dir.Sub("pki"), "--report_listen", "", "--listen_http",
                                         absl::StrCat("127.0.0.1:", FreeGamePort())}});
  };
  auto controller = serve(database);
  ASSERT_TRUE(controller.ok());
  ASSERT_TRUE((*controller)->WaitForOutput("serving HTTP")) << (*controller)->Output();
  // A second controller on the same SQLite file is refused.
  auto second = serve(database);
  ASSERT_TRUE(second.ok());
  absl::StatusOr<int> second_status = (*second)->Wait();
  ASSERT_TRUE(second_status.ok());
  EXPECT_EQ(ExitCode(*second_status), 1) << (*second)->Output();
  EXPECT_THAT((*second)->Output(), HasSubstr("a controller serves"));

  // Writes acknowledged one after another (audit entries, each its own transaction), beside the
  // serving controller.
  auto db = controller::Database::Open({.url = database});
  ASSERT_TRUE(db.ok());
  controller::AuditLog audit(**db, Clock::Real());
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      if (audit.Append("test", "test.write", absl::StrCat("w", i)).ok()) acknowledged = i + 1;
    }
  });
  ASSERT_TRUE(Eventually([&] { return acknowledged >= 200; }));
  const int before_backup = acknowledged;
  int status = 0;
  absl::StatusOr<std::string> backup = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "backup", dir.Sub("backup.db")}},
      &status);
  const int after_backup = acknowledged;
  stop = true;
  writer.join();
  ASSERT_TRUE(backup.ok());
  ASSERT_EQ(ExitCode(status), 0) << *backup;
  EXPECT_GT(after_backup, before_backup) << "no write went on during the backup";
  EXPECT_EQ(std::filesystem::status(dir.Sub("backup.db")).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("backup.db.partial")));

  // Not over a served database.
  absl::StatusOr<std::string> refused = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "restore", dir.Sub("backup.db")}},
      &status);
  EXPECT_EQ(ExitCode(status), 1) << *refused;
  EXPECT_THAT(*refused, HasSubstr("a controller serves"));
  // Nor anything but a controller database.
  std::ofstream(dir.Sub("junk.db")) << "not a database";
  absl::StatusOr<std::string> junk = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", "sqlite3:" + dir.Sub("restored.db"),
                "restore", dir.Sub("junk.db")}},
      &status);
  EXPECT_EQ(ExitCode(status), 1) << *junk;
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("restored.db")));

  // Into a new controller: every write acknowledged before the backup began is there.
  (*controller)->Signal(SIGTERM);
  ASSERT_TRUE((*controller)->Wait().ok());
  const std::string restored = "sqlite3:" + dir.Sub("restored.db");
  absl::StatusOr<std::string> restore = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", restored, "restore", dir.Sub("backup.db")}},
      &status);
  ASSERT_EQ(ExitCode(status), 0) << *restore;
  auto again = serve(restored);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->WaitForOutput("serving HTTP")) << (*again)->Output();
  auto restored_db = controller::Database::Open({.url = restored});
  ASSERT_TRUE(restored_db.ok());
  long long kept = 0, missing = 0;
  ASSERT_TRUE((*restored_db)
                  ->WithSession([&](soci::session& sql) {
                    sql << "SELECT COUNT(*) FROM audit_log WHERE action = 'test.write'",
                        soci::into(kept);
                    for (int i = 0; i < before_backup; ++i) {
                      long long found = 0;
                      const std::string target = absl::StrCat("w", i);
                      sql << "SELECT COUNT(*) FROM audit_log WHERE target = :t", soci::use(target),
                          soci::into(found);
                      missing += found == 0;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(missing, 0);
  EXPECT_GE(kept, before_backup);
  EXPECT_LE(kept, after_backup);
  std::cout << "[ figure ] backup under write load: " << before_backup
            << " writes acknowledged before it, all restored (" << kept << " in the backup, "
            << after_backup << " acknowledged when it ended)\n";
}

TEST(ControllerBinaryTest, MigratesThenServesHealthAndStopsOnSigterm) {
  TempDir dir;
  std::string database = "sqlite3:" + dir.Sub("controller.db");
  int status = 0;
  absl::StatusOr<std::string> migrated = RunToCompletion(
      {.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "migrate"}}, &status);
  ASSERT_TRUE(migrated.ok());
  EXPECT_EQ(ExitCode(status), 0) << *migrated;
  EXPECT_THAT(*migrated,
              HasSubstr(absl::StrCat("sqlite3 database at schema version ",
                                     controller::ControllerMigrations().back().version)));

  int port = FreeGamePort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> controller =
      ChildProcess::Start({.argv = {L4D2_CONTROLLER_BINARY, "--database", database, "--pki_dir",
                                    dir.Sub("pki"), "--report_listen", "127.0.0.1:0",
                                    "--listen_http", "127.0.0.1:" + std::to_string(port)}});
  ASSERT_TRUE(controller.ok());
  ASSERT_TRUE((*controller)->WaitForOutput("serving HTTP")) << (*controller)->Output();
  absl::StatusOr<HttpResponse> health = HttpRequest(port, "GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  (*controller)->Signal(SIGTERM);
  absl::StatusOr<int> exited = (*controller)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exited.ok());
  EXPECT_EQ(ExitCode(*exited), 0);
}

}  // namespace
}  // namespace l4d2::testing
