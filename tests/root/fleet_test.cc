// The fleet end to end: the controller's stores, scheduler and reconciler (in this process, on
// SQLite) and two real l4d2-agent hosts running the fake game as units of the sandbox's systemd
// (each agent with a unit prefix of its own, as two machines would have two managers). As in
// production: each agent enrolls (a one-time token and a signing request, the fleet CA's
// certificate back), serves mutual TLS, and reports its host by signed datagrams that host
// health and the reconciler read first (fleet/report_sources.h). From
// operators' blueprints to servers placed, synced, started, stopped behind the controller's back
// and started again, restarted in a staggered bulk action, switched to another blueprint and
// deleted.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/os/linux/linux_game_client.h"
#include "common/file_util.h"
#include "common/http/curl_http_fetcher.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "controller/api/controller_api.h"
#include "controller/fleet/certificate_renewal.h"
#include "controller/fleet/enrollment.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/player_feed.h"
#include "controller/fleet/reconciler.h"
#include "controller/fleet/report_receiver.h"
#include "controller/fleet/report_sources.h"
#include "controller/fleet/schedule_runner.h"
#include "controller/fleet/steam_profiles.h"
#include "controller/jobs/game_update.h"
#include "controller/jobs/scheduler.h"
#include "controller/jobs/server_actions.h"
#include "controller/jobs/server_backups.h"
#include "controller/store/backup_vault.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "l4d2/controller/v1/schedules.pb.h"
#include "l4d2/controller/v1/updates.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "soci/soci.h"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/net.h"
#include "tests/testing/steam_web_api.h"
#include "tests/testing/temp_dir.h"
#include "tls/certificates.h"
#include "tls/pki.h"

namespace l4d2::controller {
namespace {

namespace fs = std::filesystem;
using ::l4d2::testing::ChildProcess;
using ::l4d2::testing::Eventually;
using ::l4d2::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kPortsPerHost = 4;
// As l4d2-controller's main: the health interval (agents report every 5 s) and a second.
constexpr absl::Duration kFreshness = absl::Seconds(6);

struct AgentHost {
  std::string name;
  std::string root;
  int first_port = 0;
  int grpc_port = 0;
  int game_log_port = 0;  // fixed: servers keep sending to it across agent restarts
  std::unique_ptr<ChildProcess> process;
  Host host;
};

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getuid() != 0 || std::getenv("L4D2_SANDBOX") == nullptr) {
      GTEST_SKIP() << "root tier: run as root inside tests/sandbox/run";
    }
    ::chmod(dir_.path().c_str(), 0755);
    absl::StatusOr<std::unique_ptr<Database>> db =
        Database::Open({.url = "sqlite3:" + dir_.Sub("controller.db")});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(ApplyMigrations(*db_, ControllerMigrations(), Clock::Real()).ok());
    stores_ = std::make_unique<FleetStores>(*db_, Clock::Real());
    UserStore users(*db_, Clock::Real(), PasswordCost::Minimal());
    admin_ = Actor::Admin(users.Create("root", "correct horse battery", Role::kAdmin)->id);
    alice_ = Actor::Operator(users.Create("alice", "correct horse battery", Role::kOperator)->id);
    // The fleet CA and the controller's certificate, as tls/ca_files.h makes them.
    const absl::Time now = absl::Now();
    const tls::Validity validity{.not_before = now - absl::Hours(1),
                                 .not_after = now + absl::Hours(24)};
    absl::StatusOr<tls::CertificateAuthority> ca =
        tls::CertificateAuthority::Create("ca", validity);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<tls::CertificateAuthority>(*std::move(ca));
    tls::KeyAndRequest controller_key = *tls::NewKeyAndRequest();
    tls_ = {
        .certificate_pem = *ca_->Issue(controller_key.request_pem, tls::kControllerName, validity),
        .key_pem = controller_key.key_pem,
        .ca_pem = ca_->certificate_pem()};
    // As l4d2-controller: each host's agent pinned to the certificate stored for it.
    agents_ = std::make_unique<MutualTlsAgentConnector>(
        tls_, [this](const std::string& id) { return stores_->hosts.Certificate(id); });
    enrollment_ = std::make_unique<Enrollment>(stores_->hosts, *ca_, &stores_->audit);
    reports_ = std::make_unique<HostReportBook>(
        [this](const std::string& id) { return stores_->hosts.Certificate(id); }, Clock::Real());
    reports_->SetListener([this](const std::string& host_id) {
      if (PlayerFeed* feed = feed_.load()) feed->Notify(host_id);
    });
    absl::StatusOr<std::unique_ptr<ReportReceiver>> receiver =
        ReportReceiver::Start("127.0.0.1:0", *reports_);
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
    for (const std::string& name : host_names_) StartAgent(name);
    vault_ = std::make_unique<BackupVault>(dir_.Sub("vault"));
    ASSERT_TRUE(vault_->Open().ok());
    scheduler_ = std::make_unique<Scheduler>(
        *stores_, *agents_,
        SchedulerOptions{
            .owner = "test", .workers = 4, .poll = absl::Milliseconds(20), .vault = vault_.get()});
    scheduler_->Start();
    agent_lister_ = std::make_unique<AgentInstanceLister>(*agents_, absl::Seconds(5));
    lister_ = std::make_unique<ReportedInstanceLister>(*reports_, *agent_lister_, Clock::Real(),
                                                       kFreshness);
    reconciler_ = std::make_unique<Reconciler>(*stores_, *lister_,
                                               ReconcilerOptions{.observation_lag = kFreshness});
  }

  void TearDown() override {
    if (scheduler_ != nullptr) scheduler_->Stop();
    // Whatever a test left running goes with its units.
    for (AgentHost& agent : agents_on_) {
      grpc::ClientContext list_context;
      agent::v1::ListInstancesResponse instances;
      (void)agents_->Stub(agent.host)->ListInstances(&list_context, {}, &instances);
      for (const agent::v1::Instance& instance : instances.instances()) {
        grpc::ClientContext context;
        agent::v1::DeleteInstanceRequest request;
        request.set_operation_id("teardown-" + instance.name());
        request.set_name(instance.name());
        agent::v1::DeleteInstanceResponse response;
        (void)agents_->Stub(agent.host)->DeleteInstance(&context, request, &response);
      }
    }
  }

  // An agent that enrolls as host `name` and then serves mutual TLS on a port of its own and
  // reports to the receiver.
  void StartAgent(const std::string& name) {
    AgentHost agent{.name = name, .root = dir_.Sub(name + "/root")};
    agent.first_port = ::l4d2::testing::FreeGamePortRange(ports_per_host_);
    agent.grpc_port = ::l4d2::testing::FreeGamePort();
    agent.game_log_port = ::l4d2::testing::FreeGamePort();
    auto created = stores_->hosts.Create({.name = name,
                                          .address = absl::StrCat("127.0.0.1:", agent.grpc_port),
                                          .max_instances = max_instances_,
                                          .port_first = agent.first_port,
                                          .port_last = agent.first_port + ports_per_host_ - 1},
                                         absl::Hours(1));
    ASSERT_TRUE(created.ok()) << created.status();
    // Enrollment as the agent's `enroll` does it, through the controller's own code.
    tls::KeyAndRequest key = *tls::NewKeyAndRequest();
    v1::EnrollRequest request;
    request.set_token(created->second);
    request.set_certificate_request(key.request_pem);
    absl::StatusOr<v1::EnrollResponse> enrolled = enrollment_->Enroll(request);
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    const std::string tls_dir = dir_.Sub(name + "/tls");
    std::filesystem::create_directories(tls_dir);
    std::ofstream(tls_dir + "/agent.pem") << enrolled->certificate();
    std::ofstream(tls_dir + "/agent.key") << key.key_pem;
    std::ofstream(tls_dir + "/ca.pem") << enrolled->ca_certificate();
    std::filesystem::create_directories(dir_.Sub(name + "/home"));
    WriteAgentConfig(agent, tls_dir);
    RunAgent(agent);
    absl::StatusOr<Host> ready = stores_->hosts.Get(created->first.id);
    ASSERT_TRUE(ready.ok()) << ready.status();
    ASSERT_EQ(ready->state, "ready");
    agent.host = *ready;
    agents_on_.push_back(std::move(agent));
  }

  // The units of host `name`'s agent: of this test process only (ctest runs the fleet tests
  // side by side in one systemd, and an agent lists every unit of its prefix).
  static std::string UnitPrefix(const std::string& name) {
    return absl::StrCat("l4d2-fleet-", getpid(), "-", name);
  }

  std::string ConfigOf(const AgentHost& agent) { return dir_.Sub(agent.name + ".yaml"); }

  // The agent's configuration, its TLS files (agent.pem, agent.key, ca.pem) in `tls_dir`.
  void WriteAgentConfig(const AgentHost& agent, const std::string& tls_dir) {
    const std::string& name = agent.name;
    std::ofstream(ConfigOf(agent))
        << "root: " << agent.root << "\n"
        << "listen: {tcp: \"127.0.0.1:" << agent.grpc_port
        << "\", unix: \"\", tls: {certificate: " << tls_dir << "/agent.pem, key: " << tls_dir
        << "/agent.key, ca: " << tls_dir << "/ca.pem, reload: 1s}}\n"
        << "report: {to: [\"127.0.0.1:" << receiver_->port() << "\"]}\n"
        << "steamcmd: " << L4D2_FAKE_STEAMCMD << "\n"
        << "steam: {home: " << dir_.Sub(name + "/home") << "}\n"
        << "systemd:\n  scope: user\n  unit_dir: " << std::getenv("XDG_RUNTIME_DIR")
        << "/systemd/user\n"
        << "  unit_prefix: " << UnitPrefix(name) << "\n"
        << "  overlay_helper: " << L4D2_OVERLAY_HELPER
        << "\n  console_helper: " << L4D2_CONSOLE_HELPER
        << "\n  server_users: \"\"\n  hardening: false\n"
        << "ports: {first: " << agent.first_port
        << ", last: " << agent.first_port + ports_per_host_ - 1 << "}\n"
        << "bind_ip: 127.0.0.1\n"
        << "game_log: {port: " << agent.game_log_port << "}\n"
        << "scripts: {user: nobody}\n"
        << "fetch_helper: " << L4D2_FETCH_HELPER << "\nfetch_user: nobody\n";
  }

  void RunAgent(AgentHost& agent) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        ChildProcess::Start({.argv = {L4D2_AGENT_BINARY, "--config", ConfigOf(agent)}});
    ASSERT_TRUE(process.ok());
    agent.process = *std::move(process);
    ASSERT_TRUE(agent.process->WaitForOutput("serving root")) << agent.process->Output();
  }

  // The certificate `agent` presents to a new connection (PEM).
  std::string Presented(const AgentHost& agent) {
    MutualTlsAgentConnector fresh(tls_);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    agent::v1::HostInfo info;
    if (!fresh.Stub(agent.host)->GetHostInfo(&context, {}, &info).ok()) return "";
    for (const grpc::string_ref& pem :
         context.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
      return std::string(pem.data(), pem.size());
    }
    return "";
  }

  grpc::StatusCode HostInfoOf(const AgentHost& agent) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    agent::v1::HostInfo info;
    grpc::Status status = agents_->Stub(agent.host)->GetHostInfo(&context, {}, &info);
    if (!status.ok()) L4D2_LOG(INFO) << agent.name << ": " << status.error_message();
    return status.error_code();
  }

  // Waits for a job's end; its record.
  Job Finish(const std::string& id) {
    Job job;
    EXPECT_TRUE(Eventually(
        [&] {
          job = *stores_->jobs.Get(id);
          return job.state != JobState::kQueued && job.state != JobState::kRunning;
        },
        absl::Seconds(60)))
        << id << " still " << JobStateName(job.state);
    EXPECT_EQ(job.state, JobState::kSucceeded) << job.kind << ": " << job.error;
    return job;
  }

  Server Get(const std::string& id) { return *stores_->servers.Get(Actor::System(), id); }

  absl::StatusOr<int64_t> Count(const std::string& table) {
    int64_t count = 0;
    L4D2_RETURN_IF_ERROR(db_->WithSession([&](soci::session& sql) {
      long long n = 0;
      sql << "SELECT COUNT(*) FROM " << table, soci::into(n);
      count = n;
      return absl::OkStatus();
    }));
    return count;
  }

  const AgentHost& On(const Server& server) {
    for (const AgentHost& agent : agents_on_) {
      if (agent.host.id == server.host_id) return agent;
    }
    ADD_FAILURE() << "server " << server.name << " on no known host";
    return agents_on_.front();
  }

  // The agent's own view of a server's instance.
  agent::v1::Instance Instance(const Server& server) {
    grpc::ClientContext context;
    agent::v1::GetInstanceRequest request;
    request.set_name(server.name);
    agent::v1::Instance instance;
    grpc::Status status = agents_->Stub(On(server).host)->GetInstance(&context, request, &instance);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return instance;
  }

  // The newest lines of a server's journal, as its agent serves them.
  std::string JournalOf(const Server& server) {
    grpc::ClientContext context;
    agent::v1::StreamLogsRequest request;
    request.set_name(server.name);
    request.set_lines(500);
    std::string text;
    auto reader = agents_->Stub(On(server).host)->StreamLogs(&context, request);
    agent::v1::LogBatch batch;
    while (reader->Read(&batch)) {
      for (const agent::v1::LogLine& line : batch.lines())
        absl::StrAppend(&text, line.text(), "\n");
    }
    EXPECT_TRUE(reader->Finish().ok());
    return text;
  }

  // Rounds of the reconciler until every server in `ids` is reported `state`.
  bool ReconcileUntil(const std::vector<std::string>& ids, ServerState state) {
    return Eventually(
        [&] {
          if (!reconciler_->Round().ok()) return false;
          for (const std::string& id : ids) {
            if (Get(id).actual_state != state) return false;
          }
          return true;
        },
        absl::Seconds(30));
  }

  // Signs `username` (password "correct horse battery") in to the HTTP API on `port`.
  struct ApiSession {
    std::string cookie;  // "Cookie: l4d2_session=..."
    std::string csrf;    // "X-CSRF-Token: ..."
  };
  ApiSession SignIn(int port, const std::string& username) {
    auto login = l4d2::testing::HttpRequest(
        port, "POST", "/api/v1/session", {"Content-Type: application/json"},
        absl::StrCat(R"({"username":")", username, R"(","password":"correct horse battery"})"));
    EXPECT_TRUE(login.ok() && login->status == 200);
    if (!login.ok()) return {};
    const std::string set_cookie = l4d2::testing::SetCookieOf(*login, "l4d2_session");
    return {.cookie = "Cookie: " + set_cookie.substr(0, set_cookie.find(';')),
            .csrf = "X-CSRF-Token: " + FromJson<v1::SessionInfo>(login->body)->csrf_token()};
  }

  absl::StatusOr<agent::A2sInfo> Query(int port) {
    agent::LinuxGameClient client;
    absl::StatusOr<agent::A2sInfo> info;
    Eventually([&] {
      info = client.QueryInfo({"127.0.0.1", port}, absl::Milliseconds(300));
      return info.ok();
    });
    return info;
  }

  // The fleet SetUp starts: a derived fixture may ask for more, or bigger, hosts.
  std::vector<std::string> host_names_ = {"h1", "h2"};
  int ports_per_host_ = kPortsPerHost;
  int max_instances_ = 2;

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FleetStores> stores_;
  std::unique_ptr<tls::CertificateAuthority> ca_;
  ControllerTls tls_;
  std::unique_ptr<MutualTlsAgentConnector> agents_;
  std::unique_ptr<Enrollment> enrollment_;
  std::unique_ptr<HostReportBook> reports_;
  std::unique_ptr<ReportReceiver> receiver_;
  std::vector<AgentHost> agents_on_;
  std::unique_ptr<BackupVault> vault_;  // backups.vault
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<AgentInstanceLister> agent_lister_;
  std::unique_ptr<ReportedInstanceLister> lister_;
  std::unique_ptr<Reconciler> reconciler_;
  // The player feed a test runs, told of each report as the controller's is.
  std::atomic<PlayerFeed*> feed_{nullptr};
  Actor admin_, alice_;
};

TEST_F(FleetTest, ServersFromBlueprintsAcrossTwoHostsThroughTheirWholeLife) {
  // The game on both hosts.
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  // A global overlay with its own server.cfg, and Alice's blueprint using it.
  agent::v1::SyncOverlayRequest source;
  agent::v1::InlineFile* cfg = source.mutable_inline_files()->add_files();
  cfg->set_path("left4dead2/cfg/server.cfg");
  cfg->set_content("sv_allow_lobby_connect_only 0\n");
  agent::v1::InlineFile* motd = source.mutable_inline_files()->add_files();
  motd->set_path("left4dead2/motd.txt");
  motd->set_content("revision 1\n");
  absl::StatusOr<Overlay> overlay = stores_->overlays.Create(admin_, "standard", true, source);
  ASSERT_TRUE(overlay.ok()) << overlay.status();
  BlueprintInput versus{.name = "versus", .overlays = {{overlay->id, true}}};
  versus.settings.set_hostname("Fleet versus");
  versus.settings.set_game_mode("versus");
  versus.settings.set_max_players(4);
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, versus);
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();

  // Three servers: placed over both hosts (two instances each at most), synced, started.
  std::vector<std::string> ids;
  for (const char* name : {"vs1", "vs2", "vs3"}) {
    absl::StatusOr<QueuedServerJob> created =
        CreateServer(*stores_, alice_, name, blueprint->id, DesiredState::kRunning);
    ASSERT_TRUE(created.ok()) << created.status();
    Finish(created->job_id);
    ids.push_back(created->server.id);
  }
  std::set<std::string> hosts_used;
  for (const std::string& id : ids) {
    Server server = Get(id);
    hosts_used.insert(server.host_id);
    const AgentHost& agent = On(server);
    EXPECT_GE(server.port, agent.first_port);
    EXPECT_LT(server.port, agent.first_port + kPortsPerHost);
    absl::StatusOr<agent::A2sInfo> info = Query(server.port);
    ASSERT_TRUE(info.ok()) << server.name << ": " << info.status();
    EXPECT_EQ(info->name, "Fleet versus");
    EXPECT_EQ(info->max_players, 4);
    std::ifstream in(agent.root + "/runtime/" + server.name + "/merged/left4dead2/motd.txt");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "revision 1\n");
  }
  EXPECT_EQ(hosts_used.size(), 2u);
  for (const AgentHost& agent : agents_on_) {
    EXPECT_EQ((*stores_->overlays.OnHost(overlay->id, agent.host.id))->revision, 1);
  }
  ASSERT_TRUE(ReconcileUntil(ids, ServerState::kRunning));
  EXPECT_TRUE(stores_->metrics.Latest(ids[0])->has_value());

  // Stopped by its operator: stays stopped.
  Finish(*RequestServerAction(*stores_, alice_, ids[0], "stop"));
  ASSERT_TRUE(ReconcileUntil({ids[0]}, ServerState::kStopped));
  absl::StatusOr<ReconcileReport> report = reconciler_->Round();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->started.empty());

  // Stopped behind the controller's back: started again where it is. (Once its own jobs are
  // older than the reconciler's observation lag: within it, reports are not trusted to show
  // the job's effect, reconciler.h.)
  const Server second = Get(ids[1]);
  absl::SleepFor(kFreshness);
  {
    grpc::ClientContext context;
    agent::v1::StopInstanceRequest request;
    request.set_operation_id("behind-the-back");
    request.set_name(second.name);
    agent::v1::Instance stopped;
    ASSERT_TRUE(agents_->Stub(On(second).host)->StopInstance(&context, request, &stopped).ok());
  }
  // Seen in the host's next report (the agent sends one soon after a change it made): then
  // started once, and nothing else.
  std::vector<std::string> started;
  const absl::Time stopped_at = absl::Now();
  ASSERT_TRUE(Eventually(
      [&] {
        absl::StatusOr<ReconcileReport> round = reconciler_->Round();
        if (round.ok()) started.insert(started.end(), round->started.begin(), round->started.end());
        return !started.empty();
      },
      absl::Seconds(10)));
  EXPECT_LT(absl::Now() - stopped_at, absl::Seconds(2)) << "the change waited for the interval";
  std::printf(
      "[ figure ] a server stopped behind the controller's back: start queued %.2f s later\n",
      absl::ToDoubleSeconds(absl::Now() - stopped_at));
  ASSERT_THAT(started, ::testing::ElementsAre(second.id));
  ASSERT_TRUE(ReconcileUntil({second.id}, ServerState::kRunning));
  EXPECT_EQ(Get(second.id).host_id, second.host_id);
  EXPECT_EQ(Get(second.id).port, second.port);

  // A new revision of the overlay, then a bulk restart of the blueprint's servers, one second
  // apart: each host gets the revision once, every server runs it with a new process.
  motd->set_content("revision 2\n");
  ASSERT_TRUE(stores_->overlays.Update(admin_, overlay->id, source).ok());
  std::map<std::string, int> pids;
  for (const std::string& id : ids) pids[id] = Instance(Get(id)).status().unit().main_pid();
  absl::StatusOr<std::vector<std::string>> selection =
      SelectServers(*stores_, alice_, {.blueprint_id = blueprint->id});
  ASSERT_TRUE(selection.ok());
  ASSERT_EQ(selection->size(), 3u);
  absl::StatusOr<std::vector<std::string>> jobs =
      RequestBulkAction(*stores_, alice_, *selection, "restart", absl::Seconds(1));
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  std::vector<absl::Time> due;
  for (const std::string& job : *jobs) due.push_back(stores_->jobs.Get(job)->not_before);
  EXPECT_GE(due[1] - due[0], absl::Milliseconds(999));
  EXPECT_GE(due[2] - due[1], absl::Milliseconds(999));
  for (const std::string& job : *jobs) Finish(job);
  for (const std::string& id : ids) {
    Server server = Get(id);
    EXPECT_EQ(server.desired_state, DesiredState::kRunning);
    agent::v1::Instance instance = Instance(server);
    EXPECT_NE(instance.status().unit().main_pid(), pids[id]) << server.name;
    EXPECT_NE(instance.status().unit().main_pid(), 0) << server.name;
    std::ifstream in(On(server).root + "/runtime/" + server.name + "/merged/left4dead2/motd.txt");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "revision 2\n");
  }
  for (const AgentHost& agent : agents_on_) {
    EXPECT_EQ((*stores_->overlays.OnHost(overlay->id, agent.host.id))->revision, 2);
  }

  // Another blueprint: the running server takes it at its next start.
  BlueprintInput coop{.name = "coop"};
  coop.settings.set_max_players(8);
  absl::StatusOr<Blueprint> second_blueprint = stores_->blueprints.Create(alice_, coop);
  ASSERT_TRUE(second_blueprint.ok());
  Finish(*ChangeBlueprint(*stores_, alice_, ids[2], second_blueprint->id));
  agent::v1::Instance switched = Instance(Get(ids[2]));
  EXPECT_EQ(switched.spec().max_players(), 8);
  EXPECT_TRUE(switched.status().restart_pending());
  EXPECT_EQ(stores_->blueprints.Delete(alice_, blueprint->id).code(),
            absl::StatusCode::kFailedPrecondition);

  // Deleted: gone from their hosts and from the fleet.
  for (const std::string& id : ids) Finish(*RequestServerAction(*stores_, alice_, id, "delete"));
  EXPECT_TRUE(stores_->servers.List(Actor::System())->empty());
  for (const AgentHost& agent : agents_on_) {
    grpc::ClientContext context;
    agent::v1::ListInstancesResponse listed;
    ASSERT_TRUE(agents_->Stub(agent.host)
                    ->ListInstances(&context, agent::v1::ListInstancesRequest(), &listed)
                    .ok());
    EXPECT_EQ(listed.instances_size(), 0);
    EXPECT_EQ(listed.orphans_size(), 0) << listed.DebugString();
  }
  EXPECT_TRUE(stores_->blueprints.Delete(alice_, blueprint->id).ok());
  // Every one of Alice's actions is in the audit log with her as the actor.
  int by_alice = 0;
  absl::StatusOr<std::vector<AuditEntry>> audit = stores_->audit.Newest(100);
  for (const AuditEntry& entry : audit.value_or(std::vector<AuditEntry>())) {
    by_alice += entry.actor == alice_.Name();
  }
  EXPECT_EQ(by_alice, 3 + 1 + 3 + 1 + 3);  // create x3, stop, restart x3, switch, delete x3
}

}  // namespace
}  // namespace l4d2::controller

namespace l4d2::controller {
namespace {

// A busy console: the game prints 20,000 lines a second (through journald, the agent's
// StreamLogs and the controller's hub) while 10 viewers join its stream one by one. Each gets
// the response head and the newest lines within 1 s of asking, then every later line, in
// order, none missing.
TEST_F(FleetTest, TenViewersJoinAConsolePrintingTwentyThousandLinesASecond) {
  constexpr int kRate = 20000;
  constexpr int kSeconds = 6;
  constexpr int kViewers = 10;
  const AgentHost& h1 = agents_on_.front();
  Finish(*stores_->jobs.Enqueue(HostInstallJob(h1.host.id, admin_.Name())));
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "coop"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  absl::StatusOr<QueuedServerJob> created =
      CreateServer(*stores_, alice_, "vs1", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(created.ok()) << created.status();
  Finish(created->job_id);
  ASSERT_TRUE(Query(Get(created->server.id).port).ok());
  auto api = ControllerApi::Start(*db_, *stores_, *agents_, Clock::Real(),
                                  {.http = {.address = "127.0.0.1:0", .threads = 2, .workers = 4},
                                   .sources = {.poll = absl::Milliseconds(50)}});
  ASSERT_TRUE(api.ok()) << api.status();
  const int port = (*api)->port();
  const auto [cookie, csrf] = SignIn(port, "alice");
  const std::string path = "/api/v1/servers/" + created->server.id + "/console";
  auto busy = l4d2::testing::HttpRequest(
      port, "POST", path, {"Content-Type: application/json", cookie, csrf},
      absl::StrCat(R"({"command":"fake_rate )", kRate, " ", kSeconds, R"("})"));
  ASSERT_TRUE(busy.ok());
  ASSERT_EQ(busy->status, 200) << busy->body;

  struct Viewer {
    std::unique_ptr<l4d2::testing::HttpStream> stream;
    absl::Duration to_head, to_line;
    bool head = false, line = false, last = false;
  };
  const std::string last_line = absl::StrCat("fake tick ", kRate * kSeconds, " ");
  std::vector<Viewer> viewers(kViewers);
  std::vector<std::thread> threads;
  for (Viewer& viewer : viewers) {
    threads.emplace_back([&] {
      const absl::Time asked = absl::Now();
      auto stream = l4d2::testing::HttpStream::Open(port, path + "/stream", {cookie});
      if (!stream.ok()) return;
      viewer.stream = *std::move(stream);
      viewer.head = viewer.stream->WaitFor("\r\n\r\n", absl::Seconds(1));
      viewer.to_head = absl::Now() - asked;
      viewer.line = viewer.stream->WaitFor("fake tick ", absl::Seconds(1));
      viewer.to_line = absl::Now() - asked;
      viewer.last = viewer.stream->WaitFor(last_line, absl::Seconds(kSeconds + 30));
    });
    absl::SleepFor(absl::Seconds(kSeconds) / (2 * kViewers));
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kViewers; ++i) {
    SCOPED_TRACE(absl::StrCat("viewer ", i));
    const Viewer& viewer = viewers[i];
    ASSERT_NE(viewer.stream, nullptr);
    const std::string& received = viewer.stream->received();
    EXPECT_TRUE(absl::StartsWith(received, "HTTP/1.1 200")) << received.substr(0, 200);
    EXPECT_TRUE(viewer.head) << viewer.to_head;
    EXPECT_TRUE(viewer.line) << "first line after " << viewer.to_line;
    EXPECT_TRUE(viewer.last) << "the last line never came";
    // From the first line it got on, every line: consecutive tick numbers.
    int64_t first = -1, previous = -1, gaps = 0, lines = 0;
    for (size_t at = received.find("fake tick "); at != std::string::npos;
         at = received.find("fake tick ", at + 1)) {
      int64_t number = 0;
      const size_t start = at + std::strlen("fake tick ");
      const size_t end = received.find(' ', start);
      ASSERT_TRUE(absl::SimpleAtoi(received.substr(start, end - start), &number));
      if (first < 0) first = number;
      if (previous >= 0 && number != previous + 1) ++gaps;
      previous = number;
      ++lines;
    }
    EXPECT_EQ(gaps, 0) << "out of order or missing, after line " << first;
    EXPECT_EQ(previous, kRate * kSeconds);
    std::printf("viewer %d: head after %s, first line (%lld) after %s, %lld lines\n", i,
                absl::FormatDuration(viewer.to_head).c_str(), static_cast<long long>(first),
                absl::FormatDuration(viewer.to_line).c_str(), static_cast<long long>(lines));
  }
  (*api)->Stop();
}

// Placement around what is taken on a host: an instance made on the agent directly (as
// l4d2ctl or grpcurl make them) that the controller does not know of yet sends a create to
// the next port, on the agent's word; once the agent has reported it and a socket another
// process bound, new servers go around both at once; and the instance is listed by the API as
// unmanaged.
TEST_F(FleetTest, PlacementGoesAroundPortsTakenOnTheHostAndListsUnmanagedInstances) {
  const AgentHost& h1 = agents_on_.front();
  Finish(*stores_->jobs.Enqueue(HostInstallJob(h1.host.id, admin_.Name())));
  {
    grpc::ClientContext context;
    agent::v1::InitializeInstanceRequest request;
    request.set_operation_id("by-hand-vs1");
    request.set_name("vs1");
    request.mutable_spec()->set_port(h1.first_port);
    agent::v1::Instance instance;
    grpc::Status made = agents_->Stub(h1.host)->InitializeInstance(&context, request, &instance);
    ASSERT_TRUE(made.ok()) << made.error_message();
  }
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "coop"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  auto create = [&](const std::string& name) {
    absl::StatusOr<QueuedServerJob> created =
        CreateServer(*stores_, alice_, name, blueprint->id, DesiredState::kStopped);
    EXPECT_TRUE(created.ok()) << created.status();
    Finish(created->job_id);
    std::string events;
    absl::StatusOr<std::vector<JobEvent>> written = stores_->jobs.Events(created->job_id, 0, 100);
    EXPECT_TRUE(written.ok()) << written.status();
    for (const JobEvent& event : written.value_or(std::vector<JobEvent>())) {
      absl::StrAppend(&events, event.data, "\n");
    }
    return std::pair(Get(created->server.id), events);
  };
  auto [vs2, vs2_events] = create("vs2");
  EXPECT_EQ(vs2.host_id, h1.host.id);
  EXPECT_EQ(vs2.port, h1.first_port + 1);
  EXPECT_THAT(vs2_events, HasSubstr("is taken by instance 'vs1'; placing again"));

  // A socket of another process on the next port; the agent's report of the host.
  const int bound = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(bound, 0);
  absl::Cleanup close_bound = [bound] { ::close(bound); };
  sockaddr_in address{.sin_family = AF_INET,
                      .sin_port = htons(static_cast<uint16_t>(h1.first_port + 2)),
                      .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ASSERT_EQ(::bind(bound, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  AgentPinger pinger(*agents_, absl::Seconds(5));
  HostMonitor monitor(stores_->hosts, pinger, Clock::Real(), {});
  monitor.Round();
  EXPECT_THAT(stores_->hosts.Get(h1.host.id)->ports_in_use,
              ElementsAre(h1.first_port, h1.first_port + 1, h1.first_port + 2));
  auto [vs3, vs3_events] = create("vs3");
  EXPECT_EQ(vs3.port, h1.first_port + 3);
  EXPECT_THAT(vs3_events, Not(HasSubstr("placing again")));

  // The reconciler reads the host's reports: rounds until one sent after vs1 was made arrived.
  EXPECT_TRUE(Eventually(
      [&] {
        return reconciler_->Round().ok() && !stores_->hosts.Get(h1.host.id)->unmanaged.empty();
      },
      absl::Seconds(10), absl::Milliseconds(50)));
  auto api = ControllerApi::Start(*db_, *stores_, *agents_, Clock::Real(),
                                  {.http = {.address = "127.0.0.1:0", .threads = 1, .workers = 2}});
  ASSERT_TRUE(api.ok()) << api.status();
  auto host = l4d2::testing::HttpRequest((*api)->port(), "GET", "/api/v1/hosts/" + h1.host.id,
                                         {SignIn((*api)->port(), "root").cookie}, "");
  ASSERT_TRUE(host.ok());
  ASSERT_EQ(host->status, 200) << host->body;
  absl::StatusOr<v1::Host> shown = FromJson<v1::Host>(host->body);
  ASSERT_TRUE(shown.ok()) << host->body;
  ASSERT_EQ(shown->unmanaged_instances_size(), 1) << host->body;
  EXPECT_EQ(shown->unmanaged_instances(0).name(), "vs1");
  EXPECT_EQ(shown->unmanaged_instances(0).port(), h1.first_port);
  EXPECT_EQ(shown->unmanaged_instances(0).state(), "stopped");
  (*api)->Stop();
}

// security.md's fault: an agent unreachable for 30 s is marked within 20 s, nothing is started
// a second time anywhere, and the host is reconciled within 60 s of its return. Meanwhile its
// servers keep running (they do not depend on the agent), and one of them is stopped behind
// everyone's back, so that the return has something to reconcile.
// The HTTP API over the same fleet: a server's console followed as an event stream while a
// command goes through the API; the game's own line, the echo of who sent it, the logs and the
// audit log all show it.
TEST_F(FleetTest, AServersConsoleThroughTheHttpApiIsLiveEchoedLoggedAndAudited) {
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  BlueprintInput coop{.name = "coop"};
  coop.settings.set_hostname("Console test");
  coop.settings.set_game_mode("coop");
  coop.settings.set_max_players(4);
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, coop);
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  absl::StatusOr<QueuedServerJob> created =
      CreateServer(*stores_, alice_, "con1", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(created.ok()) << created.status();
  Finish(created->job_id);
  const std::string id = created->server.id;

  auto api = ControllerApi::Start(*db_, *stores_, *agents_, Clock::Real(),
                                  {.http = {.address = "127.0.0.1:0", .threads = 1, .workers = 4},
                                   .sources = {.poll = absl::Milliseconds(50)}});
  ASSERT_TRUE(api.ok()) << api.status();
  const int port = (*api)->port();
  const auto [cookie, csrf] = SignIn(port, "alice");

  auto stream =
      l4d2::testing::HttpStream::Open(port, "/api/v1/servers/" + id + "/console/stream", {cookie});
  ASSERT_TRUE(stream.ok());
  // The newest lines first: the game's start-up is there.
  ASSERT_TRUE((*stream)->WaitFor("event: line\n", absl::Seconds(20))) << (*stream)->received();
  auto said = l4d2::testing::HttpRequest(port, "POST", "/api/v1/servers/" + id + "/console",
                                         {"Content-Type: application/json", cookie, csrf},
                                         R"({"command":"say hello from the api"})");
  ASSERT_TRUE(said.ok());
  ASSERT_EQ(said->status, 200) << said->body;
  EXPECT_THAT(said->body, HasSubstr("Console: hello from the api"));
  // The game's own line through journald and the agent, and the echo with its sender.
  EXPECT_TRUE((*stream)->WaitFor("Console: hello from the api", absl::Seconds(20)))
      << (*stream)->received();
  EXPECT_TRUE((*stream)->WaitFor("event: command\n")) << (*stream)->received();
  EXPECT_THAT((*stream)->received(), HasSubstr(R"("actor":"alice")"));
  auto logs = l4d2::testing::HttpRequest(port, "GET", "/api/v1/servers/" + id + "/logs?lines=50",
                                         {cookie}, "");
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->status, 200);
  EXPECT_THAT(logs->body, HasSubstr("Console: hello from the api"));
  absl::StatusOr<std::vector<AuditEntry>> audit = stores_->audit.List({.limit = 20});
  ASSERT_TRUE(audit.ok());
  bool audited = false;
  for (const AuditEntry& entry : *audit) {
    audited = audited || (entry.action == "server.console" && entry.actor == alice_.Name() &&
                          absl::StrContains(entry.detail, "say hello from the api"));
  }
  EXPECT_TRUE(audited);
  // The RCON password never leaves the host: not in any answer.
  auto shown = l4d2::testing::HttpRequest(port, "GET", "/api/v1/servers/" + id, {cookie}, "");
  EXPECT_THAT(shown->body, Not(HasSubstr("rcon")));
  (*api)->Stop();
}

// Issue Automation, schedules for real: a schedule of every minute (UTC) over a running server,
// with a warning, a wait and a restart, is taken by the runner at its minute and run by the
// scheduler's workers against the real agent: the game prints the warning, then runs again with a
// new process; one run per minute, never two for one occurrence.
TEST_F(FleetTest, AScheduleRunsAtItsMinuteWithAWarningAndARestart) {
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "nightly"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  absl::StatusOr<QueuedServerJob> created =
      CreateServer(*stores_, alice_, "vs1", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(created.ok()) << created.status();
  Finish(created->job_id);
  const std::string id = created->server.id;
  ASSERT_TRUE(ReconcileUntil({id}, ServerState::kRunning));
  const int pid = Instance(Get(id)).status().unit().main_pid();

  v1::ScheduleDefinition definition;
  definition.set_cron("* * * * *");
  definition.mutable_target()->set_kind("server");
  definition.mutable_target()->set_id(id);
  definition.add_steps()->set_command("say Restart in 2 seconds");
  definition.add_steps()->mutable_wait()->set_seconds(2);
  definition.add_steps()->set_action("restart");
  absl::StatusOr<Schedule> schedule =
      stores_->schedules.Create(alice_, {.name = "every-minute", .definition = definition});
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  const absl::Time due = *schedule->next_run_at;
  ASSERT_EQ(absl::ToUnixSeconds(due) % 60, 0);
  ScheduleRunner runner(*stores_, {.check = absl::Seconds(1), .owner = "test"});
  runner.Start();
  absl::StatusOr<std::vector<Job>> runs;
  ASSERT_TRUE(Eventually(
      [&] {
        runs = stores_->jobs.List({.kind = "schedule.run"});
        return runs.ok() && !runs->empty();
      },
      absl::Seconds(75)));
  const absl::Time queued = runs->front().created_at;
  EXPECT_GE(queued, due);
  EXPECT_LT(queued - due, absl::Seconds(3)) << "queued late";
  const Job run = Finish(runs->front().id);
  runner.Stop();
  auto result = FromJson<v1::ScheduleRunResult>(run.result);
  ASSERT_TRUE(result.ok()) << run.result;
  EXPECT_EQ(result->servers(), 1);
  EXPECT_EQ(result->failures(), 0);
  // The game printed the warning, then restarted: a new process, running again.
  agent::v1::Instance instance = Instance(Get(id));
  EXPECT_NE(instance.status().unit().main_pid(), pid);
  EXPECT_NE(instance.status().unit().main_pid(), 0);
  EXPECT_THAT(JournalOf(Get(id)), HasSubstr("Console: Restart in 2 seconds"));
  absl::StatusOr<std::vector<Job>> all = stores_->jobs.List({.kind = "schedule.run"});
  EXPECT_EQ(all->size(), 1u) << "one run for one occurrence";
  EXPECT_EQ(stores_->schedules.Get(alice_, schedule->id)->next_run_at, due + absl::Minutes(1));
}

// Issue Isolation, 7, with real agents: every certificate due is renewed over the mutual TLS it
// keeps alive and served by its agent without a restart, the host reports carrying on; one an
// admin revokes through the API is refused at once, over gRPC and in reports, until the agent
// enrolls again (the real `l4d2-agent enroll`, a new key) with the token the revocation gave.
TEST_F(FleetTest, CertificatesAreRenewedInPlaceAndARevokedOneIsRefusedUntilItEnrollsAgain) {
  AgentHost& h1 = agents_on_[0];
  AgentHost& h2 = agents_on_[1];
  const std::string first = *stores_->hosts.Certificate(h1.host.id);
  ASSERT_EQ(Presented(h1), first);
  // Due: both (renewed when less than 380 days are left of their year; for 400 days).
  // Two controllers on one database: the lease's holder renews, the other leaves it be.
  auto renewer_of = [&](const std::string& owner) {
    return std::make_unique<CertificateRenewer>(
        stores_->hosts, *ca_, *agents_, Clock::Real(),
        CertificateRenewalOptions{.lifetime = absl::Hours(24 * 400),
                                  .renew_before = absl::Hours(24 * 380),
                                  .owner = owner},
        &stores_->audit, &stores_->leases);
  };
  std::unique_ptr<CertificateRenewer> renewer = renewer_of("first");
  std::unique_ptr<CertificateRenewer> other = renewer_of("second");
  const RenewalRound round = renewer->Round();
  EXPECT_TRUE(round.leader);
  const RenewalRound other_round = other->Round();
  EXPECT_FALSE(other_round.leader);
  EXPECT_EQ(other_round.renewed + other_round.failed, 0);
  EXPECT_EQ(round.renewed, 2);
  EXPECT_EQ(round.failed, 0);
  const std::string renewed = *stores_->hosts.Certificate(h1.host.id);
  ASSERT_NE(renewed, first);
  EXPECT_EQ(tls::InspectCertificate(renewed)->key_sha256,
            tls::InspectCertificate(first)->key_sha256);
  // The host shows when it expires now.
  EXPECT_EQ(stores_->hosts.Get(h1.host.id)->certificate_expires,
            tls::InspectCertificate(renewed)->not_after);
  EXPECT_TRUE(Eventually([&] { return Presented(h1) == renewed; }, absl::Seconds(10)))
      << "h1 still serves its first certificate";
  EXPECT_TRUE(h1.process->Running()) << "renewed without a restart";
  // Its reports carry on (the key is the same); the channel open before still works.
  const absl::Time renewed_at = absl::Now();
  EXPECT_TRUE(Eventually([&] { return reports_->Latest(h1.host.id, renewed_at).has_value(); },
                         absl::Seconds(10)));
  EXPECT_EQ(HostInfoOf(h1), grpc::StatusCode::OK);
  absl::StatusOr<std::vector<AuditEntry>> audit = stores_->audit.List({.limit = 20});
  ASSERT_TRUE(audit.ok());
  int renewals = 0;
  for (const AuditEntry& entry : *audit) renewals += entry.action == "host.certificate.renew";
  EXPECT_EQ(renewals, 2);

  // Revoked by an admin through the API: refused at once.
  auto api = ControllerApi::Start(
      *db_, *stores_, *agents_, Clock::Real(),
      {.http = {.address = "127.0.0.1:0", .threads = 1, .workers = 4},
       .certificate_changed = [this](const std::string& id) { reports_->Forget(id); }},
      enrollment_.get());
  ASSERT_TRUE(api.ok()) << api.status();
  const int port = (*api)->port();
  ASSERT_EQ(HostInfoOf(h2), grpc::StatusCode::OK);
  const auto alice = SignIn(port, "alice");
  auto refused = l4d2::testing::HttpRequest(port, "POST", "/api/v1/hosts/" + h2.host.id + "/revoke",
                                            {alice.cookie, alice.csrf}, "");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << "operators may not";
  const auto root = SignIn(port, "root");
  auto revoked = l4d2::testing::HttpRequest(port, "POST", "/api/v1/hosts/" + h2.host.id + "/revoke",
                                            {root.cookie, root.csrf}, "");
  ASSERT_TRUE(revoked.ok());
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  const absl::Time revoked_at = absl::Now();
  absl::StatusOr<v1::CreateHostResponse> answer = FromJson<v1::CreateHostResponse>(revoked->body);
  ASSERT_TRUE(answer.ok()) << revoked->body;
  EXPECT_EQ(answer->host().state(), "enrolling");
  EXPECT_FALSE(answer->host().has_certificate_expires_at()) << "a revoked certificate's expiry";
  EXPECT_EQ(answer->enrollment_token().size(), 64u);
  EXPECT_EQ(HostInfoOf(h2), grpc::StatusCode::UNAVAILABLE) << "the stolen key's agent";
  EXPECT_EQ(HostInfoOf(h1), grpc::StatusCode::OK) << "another host";
  absl::SleepFor(absl::Seconds(6));  // more than a report interval
  EXPECT_FALSE(reports_->Latest(h2.host.id, revoked_at).has_value()) << "a report was accepted";
  EXPECT_TRUE(reports_->Latest(h1.host.id, revoked_at).has_value());

  // Enrolled again, as an operator would: `l4d2-agent enroll` with the new token, then a
  // restart onto the new files.
  const std::string token_file = dir_.Sub("h2.token");
  std::ofstream(token_file) << answer->enrollment_token();
  int status = 0;
  absl::StatusOr<std::string> enrolled = l4d2::testing::RunToCompletion(
      {.argv = {L4D2_AGENT_BINARY, "--config", ConfigOf(h2), "enroll", "--controller",
                absl::StrCat("http://127.0.0.1:", port), "--token_file", token_file}},
      &status);
  ASSERT_TRUE(enrolled.ok());
  ASSERT_EQ(status, 0) << *enrolled;
  EXPECT_THAT(*enrolled, HasSubstr("enrolled as host " + h2.host.id));
  h2.process.reset();  // SIGKILL: the servers would outlive it as units
  WriteAgentConfig(h2, h2.root + "/agent/tls");
  RunAgent(h2);
  EXPECT_TRUE(Eventually([&] { return HostInfoOf(h2) == grpc::StatusCode::OK; }, absl::Seconds(10)))
      << h2.process->Output();
  const absl::Time enrolled_at = absl::Now();
  EXPECT_TRUE(Eventually([&] { return reports_->Latest(h2.host.id, enrolled_at).has_value(); },
                         absl::Seconds(10)));
  (*api)->Stop();
}

// Issue Deploy: one command joins a host, kubeadm-style. `l4d2-agent join` with the command the
// controller printed (the CA pinned) enrolls, writes the configuration, starts the agent's unit
// (Type=notify) and returns once it serves: the controller then reaches it over mutual TLS and
// hears its reports. Again, it changes nothing; with another pin it trusts nothing.
TEST_F(FleetTest, OneCommandJoinsAHostAndAgainChangesNothing) {
  const int http_port = ::l4d2::testing::FreeGamePort();
  enrollment_->set_report_to(absl::StrCat("127.0.0.1:", receiver_->port()));
  auto api = ControllerApi::Start(
      *db_, *stores_, *agents_, Clock::Real(),
      {.http = {.address = absl::StrCat("127.0.0.1:", http_port), .threads = 1, .workers = 4},
       .rest = {.public_url = absl::StrCat("http://127.0.0.1:", http_port)}},
      enrollment_.get());
  ASSERT_TRUE(api.ok()) << api.status();
  const auto root = SignIn(http_port, "root");
  const int grpc_port = ::l4d2::testing::FreeGamePort();
  // As CI provisions a host: `l4d2ctl hosts create --wait` prints the token and the command,
  // and returns once the host has joined.
  auto api_token =
      l4d2::testing::HttpRequest(http_port, "POST", "/api/v1/tokens",
                                 {"Content-Type: application/json", root.cookie, root.csrf},
                                 R"({"name":"ci","scopes":["write"]})");
  ASSERT_TRUE(api_token.ok() && api_token->status == 201) << api_token.status();
  auto ctl = ChildProcess::Start(
      {.argv = {L4D2CTL_BINARY, "--controller", absl::StrCat("http://127.0.0.1:", http_port),
                "--json", "hosts", "create", "h3", "--address",
                absl::StrCat("127.0.0.1:", grpc_port), "--wait"},
       .env = {{"L4D2_TOKEN", FromJson<v1::CreateApiTokenResponse>(api_token->body)->secret()}}});
  ASSERT_TRUE(ctl.ok());
  ASSERT_TRUE((*ctl)->WaitForOutput("enrollCommand")) << (*ctl)->Output();
  ASSERT_TRUE((*ctl)->WaitForOutput("}\n")) << (*ctl)->Output();
  const std::string printed = (*ctl)->Output();
  const v1::CreateHostResponse created =
      *FromJson<v1::CreateHostResponse>(printed.substr(0, printed.rfind('}') + 1));
  const std::string pin = *tls::CaPin(ca_->certificate_pem());
  EXPECT_THAT(created.enroll_command(),
              HasSubstr(absl::StrCat("join --controller http://127.0.0.1:", http_port,
                                     " --ca_sha256 ", pin, " --token_file TOKEN_FILE")));
  const std::string token_file = dir_.Sub("h3.token");
  std::ofstream(token_file) << created.enrollment_token();

  // The host as the package leaves it: a configuration without TLS, the agent's unit enabled.
  const std::string config = dir_.Sub("h3.yaml");
  const std::string socket = dir_.Sub("h3.sock");
  std::filesystem::create_directories(dir_.Sub("h3"));  // as /var/lib is
  const std::string initial = absl::StrCat(
      "root: ", dir_.Sub("h3/root"), "\nsteamcmd: ", L4D2_FAKE_STEAMCMD,
      "\nlisten: {unix: ", socket,
      "}\nsystemd: {scope: user, unit_dir: ", std::getenv("XDG_RUNTIME_DIR"),
      "/systemd/user, unit_prefix: l4d2-join, overlay_helper: ", L4D2_OVERLAY_HELPER,
      ", console_helper: ", L4D2_CONSOLE_HELPER,
      ", server_users: \"\", hardening: false}\nscripts: {user: nobody}\nfetch_helper: ",
      L4D2_FETCH_HELPER, "\nfetch_user: nobody\n");
  std::ofstream(config) << initial;
  const std::string unit = absl::StrCat("l4d2-join-test-", getpid(), ".service");
  const std::string unit_file =
      absl::StrCat(std::getenv("XDG_RUNTIME_DIR"), "/systemd/user/", unit);
  std::ofstream(unit_file) << "[Service]\nType=notify\nNotifyAccess=main\nWatchdogSec=30s\n"
                           << "ExecStart=" << L4D2_AGENT_BINARY << " --config " << config << "\n";
  auto systemctl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/systemctl", "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    int status = 0;
    absl::StatusOr<std::string> out = l4d2::testing::RunToCompletion({.argv = argv}, &status);
    return out.ok() ? *out : out.status().ToString();
  };
  systemctl({"daemon-reload"});
  absl::Cleanup stop = [&] {
    systemctl({"disable", "--now", unit});
    std::filesystem::remove(unit_file);
    systemctl({"daemon-reload"});
  };
  auto join = [&](const std::string& with_pin, int* status) {
    absl::StatusOr<std::string> out = l4d2::testing::RunToCompletion(
        {.argv = {L4D2_AGENT_BINARY, "--config", config, "join", "--controller",
                  absl::StrCat("http://127.0.0.1:", http_port), "--ca_sha256", with_pin,
                  "--token_file", token_file, "--unit", unit}},
        status);
    return out.ok() ? *out : out.status().ToString();
  };

  // Another pin: nothing trusted, nothing written, nothing started.
  int status = -1;
  std::string out = join("sha256:" + std::string(64, 'a'), &status);
  EXPECT_EQ(status, 1 << 8) << out;
  EXPECT_THAT(out, HasSubstr("is not the one pinned"));
  EXPECT_EQ(*ReadFileToString(config), initial);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("h3/root/agent/tls/agent.key")));
  // (The token was spent by that enrollment: the controller issued before the agent refused.)
  auto again = l4d2::testing::HttpRequest(http_port, "POST",
                                          "/api/v1/hosts/" + created.host().id() + "/revoke",
                                          {root.cookie, root.csrf}, "");
  ASSERT_TRUE(again.ok());
  std::ofstream(token_file) << FromJson<v1::CreateHostResponse>(again->body)->enrollment_token();

  const absl::Time started = absl::Now();
  out = join(pin, &status);
  const absl::Duration took = absl::Now() - started;
  ASSERT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("joined as host " + created.host().id()));
  std::cout << "[ figure ] l4d2-agent join, installed host to serving: "
            << absl::FormatDuration(took) << " (target 10s)\n";
  EXPECT_LT(took, absl::Seconds(10));
  const Host host = *stores_->hosts.Get(created.host().id());
  EXPECT_EQ(host.state, "ready");
  // `hosts create --wait` saw it too, and returned.
  absl::StatusOr<int> waited = (*ctl)->Wait(absl::Seconds(5));
  ASSERT_TRUE(waited.ok()) << (*ctl)->Output();
  EXPECT_EQ(*waited, 0) << (*ctl)->Output();
  EXPECT_TRUE(Eventually(
      [&] {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
        agent::v1::HostInfo info;
        return agents_->Stub(host)->GetHostInfo(&context, {}, &info).ok();
      },
      absl::Seconds(10)))
      << "the controller cannot reach the joined agent over mutual TLS";
  EXPECT_TRUE(
      Eventually([&] { return reports_->Latest(host.id, started).has_value(); }, absl::Seconds(10)))
      << "no report from the joined agent";
  const std::string joined_config = *ReadFileToString(config);
  const std::string pid = systemctl({"show", "-p", "MainPID", "--value", unit});

  // Again: nothing enrolled, nothing rewritten, the same agent process.
  std::filesystem::remove(token_file);
  out = join(pin, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("already joined as host " + created.host().id()));
  EXPECT_EQ(*ReadFileToString(config), joined_config);
  EXPECT_EQ(systemctl({"show", "-p", "MainPID", "--value", unit}), pid);
  (*api)->Stop();
}

TEST_F(FleetTest, AnAgentSilentForThirtySecondsIsMarkedAndReconciledWithoutDuplicates) {
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "coop"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  std::vector<Server> servers;
  for (const char* name : {"vs1", "vs2"}) {
    absl::StatusOr<QueuedServerJob> created =
        CreateServer(*stores_, alice_, name, blueprint->id, DesiredState::kRunning);
    ASSERT_TRUE(created.ok()) << created.status();
    Finish(created->job_id);
    servers.push_back(Get(created->server.id));
  }
  ASSERT_NE(servers[0].host_id, servers[1].host_id);
  const Server silent_server = servers[0];
  const AgentHost& silent = On(silent_server);
  const int jobs_before = static_cast<int>(*Count("jobs"));
  const int pid_before = Instance(silent_server).status().unit().main_pid();
  ASSERT_NE(pid_before, 0);

  // As l4d2-controller's main wires host health: reports first, gRPC for a host without one
  // (counted: while the agents report, no host is dialled).
  AgentPinger agent_pinger(*agents_, absl::Seconds(2));
  ReportedHostPinger pinger(*reports_, agent_pinger, Clock::Real(), kFreshness);
  HostMonitor monitor(stores_->hosts, pinger, Clock::Real(),
                      {.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, &stores_->audit);
  Reconciler reconciler(*stores_, *lister_,
                        {.interval = absl::Seconds(5), .observation_lag = kFreshness});
  const absl::Time watching = absl::Now();
  monitor.Start();
  reconciler.Start();
  // The controller is watching when the agent goes silent, as in production: a monitor judges
  // only silence it watched (host_monitor.h), so its first round comes first.
  ASSERT_TRUE(Eventually(
      [&] {
        std::optional<absl::Time> seen = stores_->hosts.Get(silent.host.id)->last_seen;
        return seen.has_value() && *seen >= watching;
      },
      absl::Seconds(10)));

  EXPECT_EQ(pinger.asked(), 0) << "a reporting host was dialled for its health";
  silent.process->Signal(SIGSTOP);
  const absl::Time silenced = absl::Now();
  // Stopped while its agent is away (as a crash with no restart would leave it).
  ASSERT_EQ(std::system(("systemctl --user stop " + UnitPrefix(silent.name) + "@" +
                         silent_server.name + ".service")
                            .c_str()),
            0);
  ASSERT_TRUE(Eventually([&] { return stores_->hosts.Get(silent.host.id)->state == "unreachable"; },
                         absl::Seconds(25)));
  const absl::Duration marked = absl::Now() - silenced;
  EXPECT_LE(marked, absl::Seconds(20));
  // The other host is left alone, and nothing of the silent host moves there.
  EXPECT_EQ(stores_->hosts.Get(servers[1].host_id)->state, "ready");
  absl::SleepFor(absl::Seconds(30) - (absl::Now() - silenced));
  EXPECT_EQ(static_cast<int>(*Count("jobs")), jobs_before) << "work queued during the outage";
  silent.process->Signal(SIGCONT);
  const absl::Time returned = absl::Now();

  // Back: ready again, the stopped server started again where it was (a new process, seen by
  // the agent and then by the controller: the state recorded before the outage does not
  // count), within 60 s.
  ASSERT_TRUE(Eventually(
      [&] {
        Server server = Get(silent_server.id);
        if (stores_->hosts.Get(silent.host.id)->state != "ready" ||
            server.actual_state != ServerState::kRunning || !server.status_at.has_value() ||
            *server.status_at < returned) {
          return false;
        }
        const agent::v1::Instance instance = Instance(silent_server);
        return instance.status().state() == agent::v1::INSTANCE_STATE_RUNNING &&
               instance.status().unit().main_pid() != pid_before;
      },
      absl::Seconds(60)))
      << Get(silent_server.id).actual_state;
  const absl::Duration reconciled = absl::Now() - returned;
  monitor.Stop();
  reconciler.Stop();
  Server after = Get(silent_server.id);
  EXPECT_EQ(after.host_id, silent_server.host_id);
  EXPECT_EQ(after.port, silent_server.port);
  // One instance of each server in the whole fleet.
  std::map<std::string, int> instances;
  for (const AgentHost& agent : agents_on_) {
    grpc::ClientContext context;
    agent::v1::ListInstancesResponse listed;
    ASSERT_TRUE(agents_->Stub(agent.host)
                    ->ListInstances(&context, agent::v1::ListInstancesRequest(), &listed)
                    .ok());
    for (const agent::v1::Instance& instance : listed.instances()) ++instances[instance.name()];
  }
  EXPECT_EQ(instances, (std::map<std::string, int>{{"vs1", 1}, {"vs2", 1}}));
  EXPECT_GT(reports_->counters().accepted, 0);
  EXPECT_EQ(reports_->counters().refused, 0);
  std::printf(
      "[ figure ] agent silent 30 s: marked unreachable after %.1f s (target 20 s), "
      "reconciled %.1f s after its return (target 60 s), jobs during the outage: 0\n",
      absl::ToDoubleSeconds(marked), absl::ToDoubleSeconds(reconciled));
}

// Issue Players, with real agents, systemd and the fake game's UDP log stream: players join,
// chat, change maps and leave; their sessions, names and the map history reach the controller
// with the events on its stream; the agent restarting mid-session loses no join or leave (it
// asks the game's `status`); a new feed (a controller restarted) repeats nothing.
TEST_F(FleetTest, PlayersJoiningChangingMapsAndLeavingBecomeTheirHistoryThroughRestarts) {
  AgentHost& h1 = agents_on_[0];
  Finish(*stores_->jobs.Enqueue(HostInstallJob(h1.host.id, admin_.Name())));
  BlueprintInput coop{.name = "coop"};
  coop.settings.set_hostname("Players test");
  coop.settings.set_game_mode("coop");
  coop.settings.set_max_players(4);
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, coop);
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  absl::StatusOr<QueuedServerJob> created =
      CreateServer(*stores_, alice_, "pl1", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(created.ok()) << created.status();
  Finish(created->job_id);
  const Server server = Get(created->server.id);
  ASSERT_EQ(server.host_id, h1.host.id);
  ASSERT_TRUE(Query(server.port).ok());
  // The server sends its log to the agent's listener on the host's address, with its secret.
  const std::string cfg =
      *ReadFileToString(h1.root + "/runtime/pl1/merged/left4dead2/cfg/server.cfg", 1 << 20);
  EXPECT_THAT(cfg, HasSubstr("log on\nsv_logsecret \""));
  EXPECT_THAT(cfg, HasSubstr(absl::StrCat(":", h1.game_log_port, "\n")));

  // As l4d2-controller wires them: the event streams at their production poll, woken by the
  // feed when it recorded something.
  auto api = ControllerApi::Start(*db_, *stores_, *agents_, Clock::Real(),
                                  {.http = {.address = "127.0.0.1:0", .threads = 1, .workers = 4}});
  ASSERT_TRUE(api.ok()) << api.status();
  GrpcAgentClient client(*agents_, absl::Seconds(5));
  // Steam's Web API (its stand-in) knows Ellis: the feed hands the joins' SteamIDs to the
  // profiles, as l4d2-controller wires them with a key configured.
  l4d2::testing::TempDir steam_dir;
  const std::string steam_key = "00112233445566778899aabbccddeeff";
  std::ofstream(steam_dir.Sub("web_api_key")) << steam_key;
  std::ofstream(steam_dir.Sub("profiles.json"))
      << R"({"76561197960267732": {"personaname": "ellis_on_steam",)"
      << R"( "avatarhash": "fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb"}})";
  absl::StatusOr<l4d2::testing::SteamWebApiStandIn> steam =
      l4d2::testing::StartSteamWebApi(steam_dir.path());
  ASSERT_TRUE(steam.ok()) << steam.status();
  CurlHttpFetcher http;
  SteamProfiles profiles(stores_->players, http, Clock::Real(),
                         {.web_api = steam->url, .key = steam_key});
  profiles.Start();
  auto feed = std::make_unique<PlayerFeed>(
      *stores_, *reports_, client,
      PlayerFeedOptions{
          .interval = absl::Seconds(1),
          .recorded = [&events = (*api)->events()] { events.Wake(); },
          .joined = [&profiles](const std::vector<std::string>& ids) { profiles.Want(ids); }});
  feed->Start();
  feed_ = feed.get();
  const int port = (*api)->port();
  const auto [cookie, csrf] = SignIn(port, "alice");
  auto events = l4d2::testing::HttpStream::Open(port, "/api/v1/events", {cookie});
  ASSERT_TRUE(events.ok());

  auto console = [&](const std::string& command) {
    grpc::ClientContext context;
    agent::v1::ExecuteConsoleCommandRequest request;
    static int n = 0;
    request.set_operation_id(absl::StrCat("players-", ++n));
    request.set_name("pl1");
    request.set_command(command);
    agent::v1::ExecuteConsoleCommandResponse response;
    grpc::Status status =
        agents_->Stub(h1.host)->ExecuteConsoleCommand(&context, request, &response);
    ASSERT_TRUE(status.ok()) << command << ": " << status.error_message();
  };
  auto sessions = [&] {
    auto answer = l4d2::testing::HttpRequest(
        port, "GET", "/api/v1/servers/" + server.id + "/sessions", {cookie}, "");
    EXPECT_TRUE(answer.ok() && answer->status == 200);
    return answer.ok() ? *FromJson<v1::ListPlayerSessionsResponse>(answer->body)
                       : v1::ListPlayerSessionsResponse();
  };
  auto session_of = [&](const std::string& name) -> std::optional<v1::PlayerSession> {
    const v1::ListPlayerSessionsResponse all = sessions();
    for (const v1::PlayerSession& session : all.sessions()) {
      if (session.name() == name) return session;
    }
    return std::nullopt;
  };

  // Ellis joins: the event reaches the stream within half a second.
  const absl::Time joined = absl::Now();
  console("fake_join Ellis");
  ASSERT_TRUE((*events)->WaitFor("event: player_joined\n", absl::Seconds(10)))
      << (*events)->received();
  const absl::Duration latency = absl::Now() - joined;
  std::cout << "join to player_joined on the stream: " << latency << "\n";
  EXPECT_LT(latency, absl::Milliseconds(1500));  // p99 under 500 ms measured in tests/bench
  EXPECT_THAT((*events)->received(), HasSubstr(R"("name":"Ellis")"));
  console("fake_join Nick");
  console("fake_say Ellis hello there");
  console("changelevel c2m1_highway");
  console("fake_leave Nick");
  ASSERT_TRUE(Eventually([&] {
    std::optional<v1::PlayerSession> nick = session_of("Nick");
    return nick.has_value() && nick->has_left_at();
  })) << sessions().DebugString();
  std::optional<v1::PlayerSession> ellis = session_of("Ellis");
  ASSERT_TRUE(ellis.has_value());
  EXPECT_FALSE(ellis->has_left_at());                 // the map change did not end the stay
  EXPECT_EQ(ellis->steam_id(), "76561197960267732");  // STEAM_1:0:1002, the fake's user 2
  EXPECT_LE(absl::FromUnixSeconds(ellis->joined_at().seconds()), absl::Now());
  EXPECT_GE(absl::FromUnixSeconds(ellis->joined_at().seconds()), joined - absl::Seconds(2));
  EXPECT_EQ(session_of("Nick")->reason(), "Disconnect by user.");
  EXPECT_TRUE((*events)->WaitFor("event: map_changed\n", absl::Seconds(10)));
  EXPECT_TRUE((*events)->WaitFor("event: player_left\n", absl::Seconds(10)));

  // PL2: from a player entering the game (the console command that makes the fake game log it
  // returns) to the controller's player_joined on an event stream, 20 times 0.6 s apart.
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < 20; ++i) {
    const std::string name = absl::StrCat("Bench", i);
    absl::SleepFor(absl::Milliseconds(600));
    console("fake_join " + name);
    const absl::Time entered = absl::Now();
    ASSERT_TRUE((*events)->WaitFor(absl::StrCat(R"("name":")", name, R"(")"), absl::Seconds(5)));
    latencies.push_back(absl::Now() - entered);
    console("fake_leave " + name);
  }
  std::sort(latencies.begin(), latencies.end());
  std::cout << "PL2 join to player_joined (20 joins): p50 " << latencies[9] << ", p99 (max) "
            << latencies.back() << "\n";
  // The target is 500 ms at p99 (docs/benchmarks.md, PL2, measured quiet); the suite runs two
  // tests at a time on two cores, so the check leaves room for that.
  EXPECT_LT(latencies.back(), absl::Seconds(1));
  auto timeline = l4d2::testing::HttpRequest(
      port, "GET", "/api/v1/servers/" + server.id + "/timeline", {cookie}, "");
  ASSERT_TRUE(timeline.ok());
  EXPECT_THAT(timeline->body, HasSubstr(R"("text":"c2m1_highway")"));
  auto players = l4d2::testing::HttpRequest(
      port, "GET", "/api/v1/servers/" + server.id + "/players", {cookie}, "");
  ASSERT_TRUE(players.ok());
  EXPECT_THAT(players->body, HasSubstr(R"("map":"c2m1_highway")"));
  EXPECT_THAT(players->body, HasSubstr(R"("name":"Ellis")"));
  // Ellis's Steam name and avatar, beside the game's name; Nick, unknown to Steam, has none.
  const std::string avatar =
      "https://avatars.steamstatic.com/fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb_medium.jpg";
  ASSERT_TRUE(Eventually([&] {
    players = l4d2::testing::HttpRequest(port, "GET", "/api/v1/servers/" + server.id + "/players",
                                         {cookie}, "");
    return players.ok() && absl::StrContains(players->body, R"("personaName":"ellis_on_steam")");
  })) << (players.ok() ? players->body : players.status().ToString());
  EXPECT_THAT(players->body, HasSubstr(absl::StrCat(R"("avatarUrl":")", avatar, R"(")")));
  EXPECT_THAT(players->body, HasSubstr(R"("pingMs":45)"));  // the game's `status`, over RCON
  auto ellis_page =
      l4d2::testing::HttpRequest(port, "GET", "/api/v1/players/76561197960267732", {cookie}, "");
  ASSERT_TRUE(ellis_page.ok());
  EXPECT_THAT(ellis_page->body, HasSubstr(R"("personaName":"ellis_on_steam")"));
  EXPECT_THAT(ellis_page->body, HasSubstr(R"("name":"Ellis")"));
  EXPECT_THAT(ellis_page->body, Not(HasSubstr(steam_key)));
  auto found = l4d2::testing::HttpRequest(port, "GET", "/api/v1/players?q=ell", {cookie}, "");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(found->body, HasSubstr(avatar));
  EXPECT_EQ(profiles.counters().failures, 0);

  // The agent goes down mid-session; meanwhile Ellis leaves and Zoey joins, over RCON.
  h1.process.reset();
  const std::string password = *ReadFileToString(h1.root + "/instances/pl1/rcon_password", 64);
  agent::LinuxGameClient game;
  for (const char* command : {"fake_leave Ellis", "fake_join Zoey"}) {
    ASSERT_TRUE(game.RconExecute({"127.0.0.1", server.port},
                                 std::string(absl::StripAsciiWhitespace(password)), command,
                                 absl::Seconds(3))
                    .ok());
  }
  RunAgent(h1);
  ASSERT_TRUE(Eventually(
      [&] {
        std::optional<v1::PlayerSession> zoey = session_of("Zoey");
        std::optional<v1::PlayerSession> gone = session_of("Ellis");
        return zoey.has_value() && !zoey->has_left_at() && gone.has_value() && gone->has_left_at();
      },
      absl::Seconds(30)))
      << sessions().DebugString() << h1.process->Output();
  EXPECT_EQ(session_of("Ellis")->reason(), "left while its agent was away");

  // A controller restarted: a new feed, cursors from the database; nothing is told twice.
  feed_ = nullptr;
  feed.reset();
  const int before = sessions().sessions_size();
  PlayerFeed again(*stores_, *reports_, client);
  again.Round();
  again.Round();
  EXPECT_EQ(sessions().sessions_size(), before);
  EXPECT_EQ(again.counters().events, 0);
  // Steam's update request flags the server.
  console("fake_update");
  ASSERT_TRUE(Eventually([&] {
    again.Round();
    auto shown = l4d2::testing::HttpRequest(
        port, "GET", "/api/v1/servers/" + server.id + "/players", {cookie}, "");
    return shown.ok() && absl::StrContains(shown->body, R"("updateRequired":true)");
  }));
  // Restarted, the server no longer carries the old process's request.
  {
    grpc::ClientContext context;
    agent::v1::RestartInstanceRequest request;
    request.set_operation_id("players-restart");
    request.set_name("pl1");
    agent::v1::Instance restarted;
    grpc::Status status = agents_->Stub(h1.host)->RestartInstance(&context, request, &restarted);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(Eventually(
      [&] {
        again.Round();
        auto shown = l4d2::testing::HttpRequest(
            port, "GET", "/api/v1/servers/" + server.id + "/players", {cookie}, "");
        return shown.ok() && !absl::StrContains(shown->body, R"("updateRequired":true)") &&
               absl::StrContains(shown->body, R"("sessions")") == false;
      },
      absl::Seconds(20)));
  EXPECT_EQ(session_of("Zoey")->reason(), "server restarted");
  (*api)->Stop();
}

// Issue Automation, rolling game updates, with real agents, real systemd units and the fake
// steamcmd's newer build: a fleet of 3 hosts and 30 servers, 10 of them with players in their
// games, moves to the new build with no server restarted while its players were on (the
// figure in docs/benchmarks.md), never more than max_parallel restarts at once; when the
// players leave, their servers follow.
class RollingUpdateTest : public FleetTest {
 protected:
  RollingUpdateTest() {
    host_names_ = {"h1", "h2", "h3"};
    ports_per_host_ = 10;
    max_instances_ = 10;
  }
};

TEST_F(RollingUpdateTest, ThirtyServersMoveToANewBuildWithNoGameInterrupted) {
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  std::vector<std::string> ids, creates;
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<QueuedServerJob> created = CreateServer(
        *stores_, alice_, absl::StrFormat("up%02d", i), blueprint->id, DesiredState::kRunning);
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->server.id);
    creates.push_back(created->job_id);
  }
  for (const std::string& job : creates) Finish(job);
  ASSERT_TRUE(ReconcileUntil(ids, ServerState::kRunning));

  auto console = [&](const std::string& id, const std::string& command) {
    const Server server = Get(id);
    grpc::ClientContext context;
    agent::v1::ExecuteConsoleCommandRequest request;
    static int n = 0;
    request.set_operation_id(absl::StrCat("rolling-", server.name, "-", ++n));
    request.set_name(server.name);
    request.set_command(command);
    agent::v1::ExecuteConsoleCommandResponse response;
    grpc::Status status =
        agents_->Stub(On(server).host)->ExecuteConsoleCommand(&context, request, &response);
    ASSERT_TRUE(status.ok()) << command << ": " << status.error_message();
  };
  // Players in every third game.
  std::set<std::string> busy;
  for (int i = 0; i < 30; i += 3) {
    console(ids[i], absl::StrCat("fake_join Player", i));
    busy.insert(ids[i]);
  }
  ASSERT_TRUE(Eventually(
      [&] {
        if (!reconciler_->Round().ok()) return false;
        for (const std::string& id : busy) {
          if (Get(id).players == 0) return false;
        }
        return true;
      },
      absl::Seconds(30)));
  std::map<std::string, int> pid_before;
  for (const std::string& id : ids) {
    EXPECT_EQ(Get(id).build, "9000001");
    pid_before[id] = Instance(Get(id)).status().unit().main_pid();
  }

  // Steam publishes a newer build; the policy is rolling, 4 at a time, an hour's deadline.
  for (const AgentHost& agent : agents_on_) {
    std::filesystem::create_directories(dir_.Sub(agent.name + "/home/.fake-steamcmd"));
    std::ofstream(dir_.Sub(agent.name + "/home/.fake-steamcmd/public_buildid")) << "9000002";
  }
  v1::UpdatePolicy policy;
  policy.set_mode("rolling");
  policy.mutable_deadline()->set_seconds(3600);
  policy.mutable_warning_lead()->set_seconds(300);
  policy.set_max_parallel(4);
  ASSERT_TRUE(stores_->updates.SetPolicy(admin_.Name(), policy).ok());

  // The reconciler observes (l4d2-controller's every 10 s, here every 0.5 s) while the update
  // runs; each look also counts the restarts not yet ended.
  std::atomic<bool> stop{false};
  std::atomic<int> most_restarting{0};
  std::thread observer([&] {
    while (!stop.load()) {
      (void)reconciler_->Round();
      absl::StatusOr<std::vector<Job>> restarts = stores_->jobs.List({.kind = "server.restart"});
      if (restarts.ok()) {
        const int unfinished =
            static_cast<int>(std::count_if(restarts->begin(), restarts->end(), [](const Job& job) {
              return job.state == JobState::kQueued || job.state == JobState::kRunning;
            }));
        most_restarting.store(std::max(most_restarting.load(), unfinished));
      }
      absl::SleepFor(absl::Milliseconds(500));
    }
  });
  absl::Cleanup join = [&] {
    stop.store(true);
    observer.join();
  };
  const absl::Time released = absl::Now();
  absl::StatusOr<std::string> check = QueueGameCheck(*stores_, "test", admin_.Name());
  ASSERT_TRUE(check.ok() && !check->empty()) << check.status();
  const Job checked = Finish(*check);
  const v1::GameCheckResult found = *FromJson<v1::GameCheckResult>(checked.result);
  EXPECT_EQ(found.latest_build(), "9000002");
  EXPECT_TRUE(found.announced());
  ASSERT_FALSE(found.update_job_id().empty());

  // The 20 empty servers move; the 10 with players stay on their build, their games going on.
  auto on_new_build = [&] {
    int count = 0;
    for (const std::string& id : ids) count += Get(id).build == "9000002" ? 1 : 0;
    return count;
  };
  ASSERT_TRUE(Eventually([&] { return on_new_build() == 20; }, absl::Seconds(240)))
      << on_new_build() << " on the new build";
  const absl::Duration moved = absl::Now() - released;
  absl::SleepFor(absl::Seconds(3));  // nothing more happens while the players stay
  int restarted_with_players = 0;
  for (const std::string& id : ids) {
    const Server server = Get(id);
    const int pid = Instance(server).status().unit().main_pid();
    if (busy.contains(id)) {
      restarted_with_players += pid != pid_before[id] ? 1 : 0;
      EXPECT_EQ(server.build, "9000001") << server.name;
      EXPECT_GT(server.players, 0) << server.name;
    } else {
      EXPECT_NE(pid, pid_before[id]) << server.name;
      EXPECT_EQ(server.build, "9000002") << server.name;
    }
  }
  EXPECT_EQ(restarted_with_players, 0);
  for (const AgentHost& agent : agents_on_) {
    EXPECT_EQ(stores_->hosts.Get(agent.host.id)->installed_build, "9000002") << agent.name;
  }

  // The players leave: their servers follow, and the update ends.
  const absl::Time left = absl::Now();
  for (const std::string& id : busy) {
    console(id, absl::StrCat("fake_leave Player",
                             std::distance(ids.begin(), std::find(ids.begin(), ids.end(), id))));
  }
  ASSERT_TRUE(Eventually([&] { return on_new_build() == 30; }, absl::Seconds(240)))
      << on_new_build() << " on the new build";
  const Job update = Finish(found.update_job_id());
  const absl::Duration followed = absl::Now() - left;
  const v1::GameUpdateResult result = *FromJson<v1::GameUpdateResult>(update.result);
  EXPECT_EQ(result.build(), "9000002");
  EXPECT_EQ(result.hosts_updated(), 3);
  EXPECT_EQ(result.servers_restarted_empty(), 30);
  EXPECT_EQ(result.servers_restarted_forced(), 0);
  EXPECT_LE(most_restarting.load(), 4);
  std::cout << "rolling update, 3 hosts, 30 servers, 10 with players: 20 empty ones on the new "
            << "build " << moved << " after the build appeared, 0 restarted with players on, at "
            << "most " << most_restarting.load() << " restarting at once; the 10 followed "
            << followed << " after their players left\n";
}

// Issue Automation, backups for real: a game writing to its tree (fake_write: a log appended,
// save files replaced whole every 5 ms) is backed up while it writes, by its real agent; the
// backup restored into a server on the other host (running: stopped, restored, started) holds
// whole save files and a prefix of the log; a backup of the quiet game restored into the other,
// stopped, server gives its writable layer file for file, owned by that server's account.
TEST_F(FleetTest, ABackupUnderLoadRestoresOnAnotherHostWithTheSameFiles) {
  for (const AgentHost& agent : agents_on_) {
    Finish(*stores_->jobs.Enqueue(HostInstallJob(agent.host.id, admin_.Name())));
  }
  absl::StatusOr<Blueprint> blueprint = stores_->blueprints.Create(alice_, {.name = "coop"});
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  std::vector<std::string> ids;
  for (const char* name : {"bk1", "bk2"}) {
    absl::StatusOr<QueuedServerJob> created =
        CreateServer(*stores_, alice_, name, blueprint->id, DesiredState::kRunning);
    ASSERT_TRUE(created.ok()) << created.status();
    Finish(created->job_id);
    ids.push_back(created->server.id);
  }
  const Server source = Get(ids[0]);
  Server target = Get(ids[1]);
  ASSERT_NE(source.host_id, target.host_id);
  const std::string source_upper = On(source).root + "/runtime/bk1/upper";
  const std::string target_upper = On(target).root + "/runtime/bk2/upper";
  auto console = [&](const std::string& command) {
    grpc::ClientContext context;
    agent::v1::ExecuteConsoleCommandRequest request;
    static int n = 0;
    request.set_operation_id(absl::StrCat("backup-test-", ++n));
    request.set_name(source.name);
    request.set_command(command);
    agent::v1::ExecuteConsoleCommandResponse response;
    grpc::Status status =
        agents_->Stub(On(source).host)->ExecuteConsoleCommand(&context, request, &response);
    ASSERT_TRUE(status.ok()) << command << ": " << status.error_message();
  };
  auto backup = [&]() -> v1::Backup {
    absl::StatusOr<std::string> job =
        RequestBackup(*stores_, alice_, source.id, 0, absl::ZeroDuration());
    EXPECT_TRUE(job.ok()) << job.status();
    return FromJson<v1::ServerBackupResult>(Finish(*job).result)->backup();
  };
  auto restore = [&](const v1::Backup& taken) -> v1::ServerRestoreResult {
    absl::StatusOr<std::string> job = RequestRestore(*stores_, alice_, target.id, taken.id());
    EXPECT_TRUE(job.ok()) << job.status();
    return *FromJson<v1::ServerRestoreResult>(Finish(*job).result);
  };

  // Under load: 600 writes over 3 s, the backup taken in the middle of them.
  console("fake_write 600 5");
  absl::SleepFor(absl::Milliseconds(500));
  const v1::Backup loaded = backup();
  EXPECT_LT(DurationOf(loaded.paused()), absl::Milliseconds(500));
  EXPECT_GT(DurationOf(loaded.paused()), absl::ZeroDuration());  // it ran: it was paused
  ASSERT_TRUE(Eventually([&] { return absl::StrContains(JournalOf(source), "fake_write done"); },
                         absl::Seconds(20)));
  // Copied off the host into the controller's vault, checked.
  EXPECT_TRUE(loaded.vaulted());
  EXPECT_EQ(*Sha256OfFile(absl::StrCat(vault_->dir(), "/", loaded.sha256(), ".tar.zst")),
            loaded.sha256());
  EXPECT_EQ(restore(loaded).copied_from(), "host " + On(source).host.name);
  ASSERT_TRUE(ReconcileUntil({target.id}, ServerState::kRunning));
  // Every save file whole (one number throughout), the log a prefix of the source's.
  int saves = 0;
  for (const auto& entry : fs::directory_iterator(target_upper + "/left4dead2/fake_saves")) {
    const std::string content = *ReadFileToString(entry.path().string());
    ASSERT_GE(content.size(), 16384u) << entry.path();
    const std::string first = content.substr(0, content.find('\n') + 1);
    for (size_t at = 0; at + first.size() <= content.size(); at += first.size()) {
      ASSERT_EQ(content.compare(at, first.size(), first), 0) << entry.path() << " torn at " << at;
    }
    ++saves;
  }
  EXPECT_EQ(saves, 8);
  const std::string log = *ReadFileToString(target_upper + "/left4dead2/logs/fake_load.log");
  const std::string full = *ReadFileToString(source_upper + "/left4dead2/logs/fake_load.log");
  EXPECT_EQ(log.size() % 4096, 0u);
  EXPECT_GT(log.size(), 0u);
  EXPECT_LT(log.size(), full.size());  // taken while it grew
  EXPECT_EQ(full.compare(0, log.size(), log), 0);

  // Quiet: the other server stopped, the backup restored into it without a start, file for
  // file what the source holds.
  Finish(*RequestServerAction(*stores_, alice_, target.id, "stop"));
  const v1::Backup quiet = backup();
  // Its archive gone from the source host's disk: the restore reads the vault's copy.
  const std::string archive = absl::StrCat(On(source).root, "/backups/bk1/", quiet.archive_id());
  ASSERT_TRUE(fs::remove(archive + ".tar.zst"));
  ASSERT_TRUE(fs::remove(archive + ".binpb"));
  EXPECT_EQ(restore(quiet).copied_from(), "vault");
  auto files = [](const std::string& root) {
    std::map<std::string, std::string> tree;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string relative = it->path().lexically_relative(root).string();
      if (it->is_symlink()) {
        tree[relative] = "-> " + fs::read_symlink(it->path()).string();
      } else if (it->is_regular_file()) {
        tree[relative] = *Sha256OfFile(it->path().string());
      } else {
        tree[relative] = it->is_directory() ? "dir" : "other";
      }
    }
    return tree;
  };
  const auto restored = files(target_upper);
  EXPECT_EQ(restored, files(source_upper));
  EXPECT_GE(restored.size(), 10u);
  struct stat layer, file;
  ASSERT_EQ(::stat(target_upper.c_str(), &layer), 0);
  ASSERT_EQ(::stat((target_upper + "/left4dead2/fake_saves/save1.dat").c_str(), &file), 0);
  EXPECT_EQ(file.st_uid, layer.st_uid);
  // Both backups of bk1 and the two copies, now bk2's, are in the catalog.
  absl::StatusOr<std::vector<v1::Backup>> listed = stores_->backups.List(alice_, "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 4u);
  std::printf("backup under load: %llu entries, %llu bytes in %llu, paused %s, took %s\n",
              static_cast<unsigned long long>(loaded.files()),
              static_cast<unsigned long long>(loaded.content_bytes()),
              static_cast<unsigned long long>(loaded.size_bytes()),
              absl::FormatDuration(DurationOf(loaded.paused())).c_str(),
              absl::FormatDuration(DurationOf(loaded.took())).c_str());
}

}  // namespace
}  // namespace l4d2::controller
