// P7 and P8, controller side (docs/benchmarks.md): the controller's CPU and memory with a large
// fleet of simulated agents, beside the same controller idle.
//
//   l4d2_bench_p7 SECONDS HOSTS SERVERS_PER_HOST [reports|tls|plaintext] [stopped|running]
//
//   reports (the default, as in production): every simulated agent sends its signed host report
//     (fleet/host_reports.h) every 5 s, its SERVERS_PER_HOST instances in it, spread evenly over
//     the interval; the controller receives them on UDP and dials over mutual TLS only a host
//     whose report did not come (the fallback, counted).
//   tls: the controller polls every agent over mutual TLS (no reports): what it did before
//     reports, kept to show the difference.
//   plaintext: polling without TLS, the loopback development mode.
// A child process (forked before gRPC starts) plays HOSTS agents: one gRPC server on 0.0.0.0
// answering GetHostInfo and ListInstances (no instances) at once, and with reports a thread
// that signs and sends them. Each host's address is its own loopback address (127.x.y.z) on
// that port, so a polling controller holds a channel and a connection per host, as with real
// machines. With TLS the controller presents its certificate from the fleet CA and checks that
// each agent's names the host it dialled (the simulated agents present one for
// "*.agent.left4me", and sign their reports with its key; each host's row holds that
// certificate, so the controller still keeps one parsed key per host). The controller side, in
// this process, on a fresh SQLite file: HOSTS ready hosts with SERVERS_PER_HOST servers each
// (desired stopped, so that no job runs), host health (every 5 s, grace 15 s) and the
// reconciler (every 10 s) for SECONDS. Prints the CPU this process used per second of wall
// time, idle first (peer: the same process with the stores open and nothing running), then
// with the fleet; hosts wrongly marked unreachable at any time (the audit log's marks); RSS.
// `running` (with reports): every server runs, as its report says (unit active, CPU time and
// players changing every report), and should: no job, but every reconciliation writes each
// server's changed status and a metric sample (the busiest steady state of such a fleet).
// Needs RLIMIT_NOFILE above 2 * HOSTS (raised here up to the hard limit).
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/datagram.h"
#include "common/lock_checks.h"
#include "common/logging.h"
#include "controller/fleet/host_monitor.h"
#include "controller/fleet/reconciler.h"
#include "controller/fleet/report_receiver.h"
#include "controller/fleet/report_sources.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "grpcpp/grpcpp.h"
#include "l4d2/agent/v1/agent_service.grpc.pb.h"
#include "rpc/host_report.h"
#include "soci/soci.h"
#include "tls/pki.h"
#include "tls/signatures.h"

namespace {

namespace v1 = l4d2::agent::v1;
using namespace l4d2::controller;  // NOLINT: a benchmark's main

class SimulatedAgents final : public v1::AgentService::CallbackService {
  grpc::ServerUnaryReactor* GetHostInfo(grpc::CallbackServerContext* context,
                                        const v1::GetHostInfoRequest*,
                                        v1::HostInfo* info) override {
    info->set_installed_build_id("9000001");
    info->set_memory_total_bytes(uint64_t{64} << 30);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* ListInstances(grpc::CallbackServerContext* context,
                                          const v1::ListInstancesRequest*,
                                          v1::ListInstancesResponse*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// The simulated agents' reports: HOSTS of them every 5 s, evenly spread, each signed.
void SendReports(int host_count, int servers_per_host, bool running, int port,
                 const std::string& key_pem) {
  l4d2::tls::Signer signer = *l4d2::tls::Signer::FromKeyPem(key_pem);
  l4d2::DatagramSocket socket = *l4d2::DatagramSocket::Open(AF_INET);
  const l4d2::DatagramAddress to = *l4d2::ResolveDatagramAddress(absl::StrCat("127.0.0.1:", port));
  const absl::Duration gap = absl::Seconds(5) / host_count;
  absl::Time next = absl::Now();
  for (int64_t round = 0;; ++round) {
    for (int h = 0; h < host_count; ++h) {
      v1::HostReport report;
      report.set_host_id(absl::StrCat("h", h));
      report.set_sent_unix_nanos(absl::ToUnixNanos(absl::Now()));
      report.mutable_info()->set_installed_build_id("9000001");
      report.mutable_info()->set_memory_total_bytes(uint64_t{64} << 30);
      for (int s = 0; s < servers_per_host; ++s) {
        v1::Instance* instance = report.add_instances();
        instance->set_name(absl::StrCat("s", h, "-", s));
        v1::InstanceStatus* status = instance->mutable_status();
        if (!running) {
          status->set_state(v1::INSTANCE_STATE_STOPPED);
          status->mutable_unit()->set_active_state("inactive");
          continue;
        }
        status->set_state(v1::INSTANCE_STATE_RUNNING);
        status->mutable_unit()->set_active_state("active");
        status->mutable_unit()->set_sub_state("running");
        status->mutable_unit()->set_main_pid(10000 + s);
        status->mutable_unit()->set_memory_current_bytes(uint64_t{600} << 20);
        status->mutable_unit()->mutable_cpu_usage()->set_seconds(round * 5 + s);
        status->set_overlay_mounted(true);
        status->mutable_game()->set_name("coop server");
        status->mutable_game()->set_map("c1m1_hotel");
        status->mutable_game()->set_players(static_cast<int>(round % 5));
        status->mutable_game()->set_max_players(8);
      }
      v1::SignedHostReport signed_report;
      signed_report.set_report(report.SerializeAsString());
      signed_report.set_signature(*signer.Sign(l4d2::kHostReportContext, signed_report.report()));
      (void)socket.SendTo(to, signed_report.SerializeAsString());
      next += gap;
      absl::SleepFor(next - absl::Now());
    }
  }
}

void RaiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec / 1e6;
}

long RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// CPU used per wall second over `seconds`, as a share of one core.
double CpuShare(int seconds) {
  const double cpu = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return (CpuSeconds() - cpu) / wall;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc >= 5 ? argv[4] : "reports";
  const std::string servers_state = argc >= 6 ? argv[5] : "stopped";
  if (argc < 4 || argc > 6 || (mode != "reports" && mode != "tls" && mode != "plaintext") ||
      (servers_state != "stopped" && servers_state != "running") ||
      (servers_state == "running" && mode != "reports")) {
    std::cerr << "usage: l4d2_bench_p7 SECONDS HOSTS SERVERS_PER_HOST [reports|tls|plaintext]"
                 " [stopped|running (reports only)]\n";
    return 2;
  }
  const bool reports = mode == "reports";
  const bool running = servers_state == "running";
  const int seconds = std::atoi(argv[1]);
  const int host_count = std::atoi(argv[2]);
  const int servers_per_host = std::atoi(argv[3]);
  const bool tls = mode != "plaintext";
  // The fleet CA, the controller's certificate and one the simulated agents all answer with.
  const l4d2::tls::Validity validity{.not_before = absl::Now() - absl::Hours(1),
                                     .not_after = absl::Now() + absl::Hours(24)};
  absl::StatusOr<l4d2::tls::CertificateAuthority> ca =
      l4d2::tls::CertificateAuthority::Create("p7 fleet CA", validity);
  absl::StatusOr<l4d2::tls::KeyAndRequest> controller_key = l4d2::tls::NewKeyAndRequest();
  absl::StatusOr<l4d2::tls::KeyAndRequest> agents_key = l4d2::tls::NewKeyAndRequest();
  if (!ca.ok() || !controller_key.ok() || !agents_key.ok()) return 1;
  absl::StatusOr<std::string> controller_certificate =
      ca->Issue(controller_key->request_pem, l4d2::tls::kControllerName, validity);
  absl::StatusOr<std::string> agents_certificate =
      ca->Issue(agents_key->request_pem, "*.agent.left4me", validity);
  if (!controller_certificate.ok() || !agents_certificate.ok()) return 1;
  RaiseFileLimit();
  mallopt(M_ARENA_MAX, 2);         // As l4d2-controller's main does.
  l4d2::DisableLockOrderChecks();  // As the binaries do.
  int pipe_fds[2];
  int report_pipe[2];  // the controller's report port, to the child
  if (pipe(pipe_fds) != 0 || pipe(report_pipe) != 0) return 1;
  const pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    SimulatedAgents agents;
    grpc::ServerBuilder builder;
    int port = 0;
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (tls) {
      grpc::SslServerCredentialsOptions options(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      options.pem_root_certs = ca->certificate_pem();
      options.pem_key_cert_pairs.push_back({agents_key->key_pem, *agents_certificate});
      credentials = grpc::SslServerCredentials(options);
    }
    builder.AddListeningPort("0.0.0.0:0", credentials, &port);
    builder.RegisterService(&agents);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    (void)!write(pipe_fds[1], &port, sizeof(port));
    int report_port = 0;
    if (read(report_pipe[0], &report_port, sizeof(report_port)) == sizeof(report_port) &&
        report_port != 0) {
      SendReports(host_count, servers_per_host, running, report_port, agents_key->key_pem);
    }
    server->Wait();
    return 0;
  }
  int port = 0;
  if (read(pipe_fds[0], &port, sizeof(port)) != sizeof(port) || port == 0) return 1;

  l4d2::SetMinLogSeverity(l4d2::LogSeverity::kWarning);
  char path[] = "/tmp/l4d2-p7-XXXXXX";
  if (mkdtemp(path) == nullptr) return 1;
  const std::string db_file = std::string(path) + "/controller.db";
  auto db = Database::Open({.url = "sqlite3:" + db_file});
  if (!db.ok() || !ApplyMigrations(**db, ControllerMigrations(), l4d2::Clock::Real()).ok()) {
    std::cerr << "database: " << db.status() << "\n";
    return 1;
  }
  FleetStores stores(**db, l4d2::Clock::Real());
  UserStore users(**db, l4d2::Clock::Real(), l4d2::controller::PasswordCost::Minimal());
  absl::StatusOr<User> user = users.Create("owner", "correct horse battery", Role::kOperator);
  if (!user.ok()) return 1;
  const Actor owner = Actor::Operator(user->id);
  const std::string blueprint = stores.blueprints.Create(owner, {.name = "coop"})->id;
  // The fleet, straight into the tables (the stores' one-by-one creation is not measured).
  (void)(*db)->Transact([&](soci::session& sql) {
    const long long now = absl::ToUnixMillis(absl::Now());
    for (int h = 0; h < host_count; ++h) {
      const std::string id = absl::StrCat("h", h);
      const std::string address =
          absl::StrCat("127.", 1 + h / 65536, ".", (h / 256) % 256, ".", h % 256, ":", port);
      sql << "INSERT INTO hosts (id, name, address, state, max_instances, memory_bytes,"
             " port_first, port_last, installed_build, last_seen_ms, created_at_ms,"
             " certificate_pem) VALUES (:id, :name, :address, 'ready', 50, :memory, 27015,"
             " 27999, '9000001', :seen, :c, :certificate)",
          soci::use(id), soci::use(id), soci::use(address),
          soci::use(static_cast<long long>(int64_t{64} << 30)), soci::use(now), soci::use(now),
          soci::use(*agents_certificate);
      for (int s = 0; s < servers_per_host; ++s) {
        const std::string server = absl::StrCat("s", h, "-", s);
        const int server_port = 27015 + s;
        sql << "INSERT INTO servers (id, owner_id, name, blueprint_id, host_id, port,"
               " desired_state, created_at_ms, updated_at_ms) VALUES (:id, :o, :n, :b, :h, :p,"
               " :desired, :c, :u)",
            soci::use(server), soci::use(owner.user_id), soci::use(server), soci::use(blueprint),
            soci::use(id), soci::use(server_port), soci::use(servers_state), soci::use(now),
            soci::use(now);
      }
    }
    return absl::OkStatus();
  });

  std::printf(
      "P7/P8 controller with %d simulated agents and %d %s servers (%u cores, SQLite, %s)\n",
      host_count, host_count * servers_per_host, servers_state.c_str(),
      std::thread::hardware_concurrency(),
      reports ? "host reports, mutual TLS for the rest"
      : tls   ? "polling over mutual TLS"
              : "polling in plaintext");
  const long idle_rss = RssKb();
  const double idle = CpuShare(std::min(seconds, 10));
  std::printf("  peer, the same controller idle: %.1f%% of one core, RSS %.1f MB\n", idle * 100,
              idle_rss / 1024.0);

  std::unique_ptr<AgentConnector> connector;
  if (tls) {
    connector = std::make_unique<MutualTlsAgentConnector>(
        ControllerTls{.certificate_pem = *controller_certificate,
                      .key_pem = controller_key->key_pem,
                      .ca_pem = ca->certificate_pem()});
  } else {
    connector = std::make_unique<PlaintextAgentConnector>();
  }
  AgentConnector& agents = *connector;
  // As l4d2-controller's main wires them.
  HostReportBook book([&stores](const std::string& id) { return stores.hosts.Certificate(id); },
                      l4d2::Clock::Real());
  std::unique_ptr<ReportReceiver> receiver;
  const long long started_ms = absl::ToUnixMillis(absl::Now());
  const double cpu_before = CpuSeconds();
  int report_port = 0;
  if (reports) {
    receiver = *ReportReceiver::Start("127.0.0.1:0", book);
    report_port = receiver->port();
  }
  (void)!write(report_pipe[1], &report_port, sizeof(report_port));
  const absl::Duration freshness = absl::Seconds(6);
  AgentPinger agent_pinger(agents, absl::Seconds(5));
  ReportedHostPinger reported_pinger(book, agent_pinger, l4d2::Clock::Real(), freshness);
  HostPinger& pinger = reports ? static_cast<HostPinger&>(reported_pinger) : agent_pinger;
  HostMonitor monitor(stores.hosts, pinger, l4d2::Clock::Real(),
                      {.interval = absl::Seconds(5), .grace = absl::Seconds(15)}, &stores.audit);
  AgentInstanceLister agent_lister(agents, absl::Seconds(5));
  ReportedInstanceLister reported_lister(book, agent_lister, l4d2::Clock::Real(), freshness);
  InstanceLister& lister = reports ? static_cast<InstanceLister&>(reported_lister) : agent_lister;
  Reconciler reconciler(stores, lister, {.interval = absl::Seconds(10)});
  monitor.Start();
  reconciler.Start();
  // The first rounds open every connection (with TLS, thousands of handshakes on both sides
  // at once): timed on its own; the steady state after it is what P7 counts.
  int seen = 0;
  while (seen < host_count && absl::ToUnixMillis(absl::Now()) - started_ms < 120'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    (void)(*db)->WithSession([&](soci::session& sql) {
      sql << "SELECT COUNT(*) FROM hosts WHERE last_seen_ms >= :t", soci::use(started_ms),
          soci::into(seen);
      return absl::OkStatus();
    });
  }
  std::printf("  first contact: %d of %d hosts answered %.1f s after the start (%.1f CPU s)\n",
              seen, host_count, (absl::ToUnixMillis(absl::Now()) - started_ms) / 1000.0,
              CpuSeconds() - cpu_before);
  std::this_thread::sleep_for(std::chrono::seconds(10));  // A round of each after it.
  const int64_t dialled_before = reported_pinger.asked();
  const double busy = CpuShare(seconds);
  const int64_t dialled_steady = reported_pinger.asked() - dialled_before;
  const long rss = RssKb();
  const struct mallinfo2 heap = mallinfo2();
  malloc_trim(0);
  std::printf("  heap in use %.1f MB of %.1f MB in arenas; RSS after malloc_trim %.1f MB\n",
              heap.uordblks / 1048576.0, heap.arena / 1048576.0, RssKb() / 1024.0);
  monitor.Stop();
  reconciler.Stop();
  receiver.reset();
  // Every host answers throughout, so each mark as unreachable, from the first round on
  // (connections being opened included), is a false alarm.
  int unreachable = 0;
  (void)(*db)->WithSession([&](soci::session& sql) {
    sql << "SELECT COUNT(*) FROM audit_log WHERE action = 'host.state'"
           " AND detail LIKE '%\"to\":\"unreachable\"%'",
        soci::into(unreachable);
    return absl::OkStatus();
  });
  int observed = 0;
  const std::vector<Server> servers =
      stores.servers.List(Actor::System()).value_or(std::vector<Server>());
  // Polled agents list no instances (missing); reports carry them, as they are.
  for (const Server& server : servers) {
    observed += ServerStateName(server.actual_state) == (reports ? servers_state : "missing");
  }
  std::printf(
      "  ours, host health every 5 s and reconciliation every 10 s, over %d s: %.1f%% of "
      "one core (target < 25%%)\n",
      seconds, busy * 100);
  std::printf(
      "  hosts wrongly marked unreachable during the run: %d (target 0); servers observed: %d of "
      "%d\n",
      unreachable, observed, host_count * servers_per_host);
  std::printf("  RSS: %.1f MB (target < 150 MB with 5,000 hosts and 50,000 servers)\n",
              rss / 1024.0);
  if (reports) {
    const HostReportBook::Counters counters = book.counters();
    std::printf(
        "  reports: %lld accepted, %lld refused; hosts asked over gRPC instead: %lld in all, "
        "%lld during the measured %d s\n",
        static_cast<long long>(counters.accepted), static_cast<long long>(counters.refused),
        static_cast<long long>(reported_pinger.asked()), static_cast<long long>(dialled_steady),
        seconds);
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::remove((db_file + "-wal").c_str());
  std::remove((db_file + "-shm").c_str());
  std::remove(db_file.c_str());
  rmdir(path);
  return unreachable == 0 ? 0 : 1;
}
