// The agent's gRPC server in-process: both listeners, the health service (Check and Watch),
// host info, and l4d2ctl's commands against it.

#include "agent/service/grpc_server.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/host/host_info_collector.h"
#include "agent/os/linux/linux_game_client.h"
#include "agent/os/linux/linux_process_runner.h"
#include "agent/service/agent_service.h"
#include "ctl/agent_channel.h"
#include "ctl/command_table.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_host_probe.h"
#include "tests/fakes/fake_journal.h"
#include "tests/fakes/fake_service_manager.h"
#include "tests/testing/hostile_values.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::agent {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::l4d2::testing::FakeHostProbe;
using ::l4d2::testing::TempDir;
using ::testing::HasSubstr;

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(layout_.CreateDirectories().ok());
    ASSERT_TRUE(operations_.Load().ok());
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
        {.tcp_address = "127.0.0.1:0", .unix_path = socket_path_, .unix_mode = 0660},
        {{v1::AgentService::service_full_name(), &service_}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    tasks_.JoinAll();
  }

  std::string tcp() const { return "127.0.0.1:" + std::to_string(server_->tcp_port()); }
  std::string unix_target() const { return "unix:" + socket_path_; }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return context;
  }

  TempDir dir_;
  HostLayout layout_{dir_.Sub("root")};
  std::string socket_path_ = dir_.Sub("run/agent.sock");
  FakeHostProbe probe_;
  HostInfoCollector host_info_{probe_, layout_, 27015, 27020, absl::FromUnixSeconds(5)};
  LinuxProcessRunner processes_;
  OperationRegistry operations_{dir_.Sub("root/agent/operations"), Clock::Real()};
  Installer installer_{layout_,
                       processes_,
                       Clock::Real(),
                       {.steamcmd = L4D2_FAKE_STEAMCMD,
                        .env = {"HOME=" + dir_.Sub("home")},
                        .steam_home = dir_.Sub("home"),
                        .no_progress_timeout = absl::Seconds(20)}};
  TaskRunner tasks_;
  InstallService installs_{installer_, operations_, tasks_, [] { return std::set<std::string>(); }};
  l4d2::testing::FakeServiceManager systemd_;
  l4d2::testing::FakeJournal journal_;
  LinuxGameClient game_;
  InstanceManager instances_{
      layout_,
      systemd_,
      game_,
      Clock::Real(),
      {.limits = {.port_first = 27015, .port_last = 27020}, .unit_dir = dir_.Sub("units")},
      [](const std::string&) { return false; }};
  OverlayManager overlays_{layout_, {}, [this] { return instances_.PinnedLayers(); }};
  BackupStore backups_{layout_, systemd_, instances_, Clock::Real()};
  AgentServiceImpl service_{{.host_info = host_info_,
                             .installs = installs_,
                             .operations = operations_,
                             .instances = instances_,
                             .tasks = tasks_,
                             .journal = journal_,
                             .overlays = overlays_,
                             .backups = backups_}};
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(GrpcServerTest, HealthIsServingOverTcpAndTheUnixSocket) {
  ASSERT_GT(server_->tcp_port(), 0);
  for (const std::string& target : {tcp(), unix_target()}) {
    auto stub = Health::NewStub(ctl::MakeAgentChannel(target));
    for (const char* service : {"", "l4d2.agent.v1.AgentService"}) {
      HealthCheckRequest request;
      request.set_service(service);
      HealthCheckResponse response;
      grpc::Status status = stub->Check(Context().get(), request, &response);
      ASSERT_TRUE(status.ok()) << target << ": " << status.error_message();
      EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << target << " " << service;
    }
    HealthCheckRequest unknown;
    unknown.set_service("no.such.Service");
    HealthCheckResponse response;
    EXPECT_EQ(stub->Check(Context().get(), unknown, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(GrpcServerTest, TheUnixSocketHasTheConfiguredMode) {
  struct stat st;
  ASSERT_EQ(stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(GrpcServerTest, WatchStreamsTheStatusAndEndsAtShutdown) {
  auto stub = Health::NewStub(ctl::MakeAgentChannel(tcp()));
  auto context = Context();
  HealthCheckRequest request;
  auto reader = stub->Watch(context.get(), request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(5)); });
  HealthCheckResponse last;
  const bool got_last = reader->Read(&last);
  const bool more = reader->Read(&response);
  const grpc::Status finished = reader->Finish();
  shutdown.join();
  ASSERT_TRUE(got_last) << "the stream ended without NOT_SERVING";
  EXPECT_EQ(last.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(more);
  EXPECT_TRUE(finished.ok());
  // The socket file goes with the server.
  EXPECT_NE(access(socket_path_.c_str(), F_OK), 0);
}

TEST_F(GrpcServerTest, WatchOfAnUnknownServiceSaysSo) {
  auto stub = Health::NewStub(ctl::MakeAgentChannel(tcp()));
  auto context = Context();
  HealthCheckRequest request;
  request.set_service("later.Service");
  auto reader = stub->Watch(context.get(), request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  server_->health().SetStatus("later.Service", HealthCheckResponse::SERVING);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  context->TryCancel();
}

TEST_F(GrpcServerTest, HostInfoOverBothListeners) {
  for (const std::string& target : {tcp(), unix_target()}) {
    auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(target));
    v1::HostInfo info;
    grpc::Status status = stub->GetHostInfo(Context().get(), v1::GetHostInfoRequest(), &info);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(info.hostname(), "test-host");
    EXPECT_EQ(info.port_range().last(), 27020);
  }
}

TEST_F(GrpcServerTest, HostInfoErrorsKeepTheirCanonicalCode) {
  probe_.memory_error = absl::NotFoundError("gone");
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  v1::HostInfo info;
  grpc::Status status = stub->GetHostInfo(Context().get(), v1::GetHostInfoRequest(), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot read host facts"));
}

TEST_F(GrpcServerTest, CtlHostAndHealthCommands) {
  std::ostringstream out;
  std::ostringstream err;
  ctl::CommandContext context{
      .channel = ctl::MakeAgentChannel(socket_path_), .out = &out, .err = &err};
  EXPECT_EQ(ctl::RunCommand(context, {"host"}), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("hostname:        test-host"));
  EXPECT_THAT(out.str(), HasSubstr("ports:           27015-27020"));
  out.str("");
  context.json = true;
  EXPECT_EQ(ctl::RunCommand(context, {"host"}), 0);
  EXPECT_THAT(out.str(), HasSubstr("\"hostname\": \"test-host\""));
  out.str("");
  context.json = false;
  EXPECT_EQ(ctl::RunCommand(context, {"health"}), 0);
  EXPECT_EQ(out.str(), "SERVING\n");
  EXPECT_EQ(ctl::RunCommand(context, {"bogus"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("unknown command 'bogus'"));
}

TEST_F(GrpcServerTest, CtlReportsAnUnreachableAgentWithItsExitCode) {
  std::ostringstream out;
  std::ostringstream err;
  ctl::CommandContext context{.channel = ctl::MakeAgentChannel(dir_.Sub("nothing.sock")),
                              .timeout = absl::Seconds(1),
                              .out = &out,
                              .err = &err};
  EXPECT_EQ(ctl::RunCommand(context, {"host"}), 3);
  EXPECT_THAT(err.str(), HasSubstr("l4d2ctl: "));
}

// Reads an install stream to its end; returns its events and final status.
grpc::Status ReadInstall(v1::AgentService::Stub& stub, const std::string& operation_id,
                         std::vector<v1::InstallEvent>* events) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::InstallRequest request;
  request.set_operation_id(operation_id);
  auto reader = stub.Install(&context, request);
  v1::InstallEvent event;
  while (reader->Read(&event)) events->push_back(event);
  return reader->Finish();
}

TEST_F(GrpcServerTest, InstallStreamsProgressAndEndsWithTheResult) {
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  std::vector<v1::InstallEvent> events;
  grpc::Status status = ReadInstall(*stub, "install-1", &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().has_result());
  EXPECT_EQ(events.back().result().build_id(), "9000001");
  int progress = 0;
  for (const v1::InstallEvent& event : events) {
    if (event.has_progress()) {
      ++progress;
      EXPECT_EQ(event.operation().id(), "install-1");
      EXPECT_EQ(event.operation().state(), v1::OPERATION_STATE_RUNNING);
    }
  }
  EXPECT_GE(progress, 5);

  // The same operation id again: the recorded result, no second install.
  std::vector<v1::InstallEvent> again;
  ASSERT_TRUE(ReadInstall(*stub, "install-1", &again).ok());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].result().build_id(), "9000001");

  v1::GetOperationRequest get;
  get.set_operation_id("install-1");
  v1::Operation operation;
  ASSERT_TRUE(stub->GetOperation(Context().get(), get, &operation).ok());
  EXPECT_EQ(operation.state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(operation.kind(), v1::OPERATION_KIND_INSTALL);
  get.set_operation_id("never-ran");
  EXPECT_EQ(stub->GetOperation(Context().get(), get, &operation).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::CheckForUpdateResponse check;
  ASSERT_TRUE(stub->CheckForUpdate(Context().get(), v1::CheckForUpdateRequest(), &check).ok());
  EXPECT_EQ(check.installed_build_id(), "9000001");
  EXPECT_FALSE(check.update_available());
}

TEST_F(GrpcServerTest, ASecondInstallWhileOneRunsIsAborted) {
  std::filesystem::create_directories(dir_.Sub("home/.fake-steamcmd"));
  std::ofstream(dir_.Sub("home/.fake-steamcmd/progress_ms")) << "100";
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  grpc::ClientContext context;
  v1::InstallRequest request;
  request.set_operation_id("slow");
  auto reader = stub->Install(&context, request);
  v1::InstallEvent event;
  ASSERT_TRUE(reader->Read(&event));
  std::vector<v1::InstallEvent> events;
  grpc::Status second = ReadInstall(*stub, "other", &events);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(second.error_message(), HasSubstr("'slow'"));
  // Re-attaching to the running one with its id works and sees it to the end.
  std::vector<v1::InstallEvent> attached;
  ASSERT_TRUE(ReadInstall(*stub, "slow", &attached).ok());
  EXPECT_TRUE(attached.back().has_result());
  while (reader->Read(&event)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

// Proto3 strings are UTF-8: values that are not cannot be sent by a conforming client.
bool IsUtf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (length == 0 || i + length > text.size() || (length == 2 && c < 0xc2)) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += length;
  }
  return true;
}

TEST_F(GrpcServerTest, HostileInstanceNamesAreInvalidArguments) {
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  int checked = 0;
  for (const std::string& name : l4d2::testing::HostileValues()) {
    if (!IsUtf8(name)) continue;
    v1::InitializeInstanceRequest request;
    request.set_operation_id("hostile-" + std::to_string(checked++));
    request.set_name(name);
    request.mutable_spec()->set_port(27015);
    v1::Instance instance;
    grpc::Status status = stub->InitializeInstance(Context().get(), request, &instance);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
  }
  EXPECT_GE(checked, 150);
  EXPECT_TRUE(std::filesystem::is_empty(layout_.instances_dir()));
  EXPECT_TRUE(std::filesystem::is_empty(layout_.runtime_dir()));
}

// An instance "s1" whose unit has `lines` journal entries "line 1", "line 2", ...
void InitializeWithLines(v1::AgentService::Stub& stub, l4d2::testing::FakeJournal& journal,
                         int lines) {
  v1::InitializeInstanceRequest request;
  request.set_operation_id("init-s1");
  request.set_name("s1");
  request.mutable_spec()->set_port(27015);
  v1::Instance instance;
  grpc::ClientContext context;
  ASSERT_TRUE(stub.InitializeInstance(&context, request, &instance).ok());
  journal.Append("left4me-server@other.service", "not ours");
  for (int i = 1; i <= lines; ++i) {
    journal.Append("left4me-server@s1.service", "line " + std::to_string(i));
  }
}

std::vector<std::string> Texts(const std::vector<v1::LogLine>& lines) {
  std::vector<std::string> texts;
  for (const v1::LogLine& line : lines) texts.push_back(line.text());
  return texts;
}

TEST_F(GrpcServerTest, LogsSendTheNewestLinesInBatchesAndResumeAfterACursor) {
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  InitializeWithLines(*stub, journal_, 600);
  v1::StreamLogsRequest request;
  request.set_name("s1");
  request.set_lines(500);
  auto context = Context();
  auto reader = stub->StreamLogs(context.get(), request);
  std::vector<v1::LogLine> lines;
  int batches = 0;
  for (v1::LogBatch batch; reader->Read(&batch); ++batches) {
    lines.insert(lines.end(), batch.lines().begin(), batch.lines().end());
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(lines.size(), 500u);
  EXPECT_EQ(lines.front().text(), "line 101");  // The trailing newline is not part of it.
  EXPECT_EQ(lines.back().text(), "line 600");
  EXPECT_EQ(lines.back().source(), "srcds_run");
  EXPECT_GE(batches, 2);
  EXPECT_LE(batches, 3);  // Many lines per message.

  request.set_after_cursor(lines[497].cursor());
  auto resumed_context = Context();
  auto resumed = stub->StreamLogs(resumed_context.get(), request);
  std::vector<v1::LogLine> rest;
  for (v1::LogBatch batch; resumed->Read(&batch);) {
    rest.insert(rest.end(), batch.lines().begin(), batch.lines().end());
  }
  ASSERT_TRUE(resumed->Finish().ok());
  EXPECT_THAT(Texts(rest), ::testing::ElementsAre("line 599", "line 600"));

  request.set_after_cursor("s=1 --file=/etc/shadow");
  auto forged_context = Context();
  auto forged = stub->StreamLogs(forged_context.get(), request);
  v1::LogBatch ignored;
  while (forged->Read(&ignored)) {
  }
  EXPECT_EQ(forged->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcServerTest, FollowingSeesNewLinesWithinTensOfMillisecondsAndEndsOnCancel) {
  auto stub = v1::AgentService::NewStub(ctl::MakeAgentChannel(tcp()));
  InitializeWithLines(*stub, journal_, 3);
  v1::StreamLogsRequest request;
  request.set_name("s1");
  request.set_lines(2);
  request.set_follow(true);
  grpc::ClientContext context;
  auto reader = stub->StreamLogs(&context, request);
  v1::LogBatch batch;
  ASSERT_TRUE(reader->Read(&batch));
  EXPECT_THAT(Texts({batch.lines().begin(), batch.lines().end()}),
              ::testing::ElementsAre("line 2", "line 3"));
  for (int i = 0; i < 5; ++i) {
    const absl::Time appended = absl::Now();
    journal_.Append("left4me-server@s1.service", "live " + std::to_string(i));
    ASSERT_TRUE(reader->Read(&batch));
    EXPECT_LT(absl::Now() - appended, absl::Milliseconds(200));
    EXPECT_EQ(batch.lines(batch.lines_size() - 1).text(), "live " + std::to_string(i));
  }
  context.TryCancel();
  while (reader->Read(&batch)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(GrpcServerStartTest, ATakenPortIsUnavailable) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<GrpcServer>> first =
      GrpcServer::Start({.tcp_address = "127.0.0.1:0"}, {});
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<GrpcServer>> second =
      GrpcServer::Start({.tcp_address = "127.0.0.1:" + std::to_string((*first)->tcp_port())}, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace l4d2::agent
