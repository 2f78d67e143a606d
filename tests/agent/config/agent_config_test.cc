#include "agent/config/agent_config.h"

#include "absl/strings/str_cat.h"
#include "common/yaml_document.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<AgentConfig> Parse(const std::string& text) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument(text, "config");
  if (!node.ok()) return node.status();
  return ParseAgentConfig(*node);
}

TEST(AgentConfigTest, DefaultsWhenEmpty) {
  absl::StatusOr<AgentConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->root, "/var/lib/left4me");
  // No TCP until mutual TLS is configured (issue Isolation, 3): local use is the unix socket.
  EXPECT_EQ(config->listen_tcp, "");
  EXPECT_FALSE(config->plaintext_tcp);
  EXPECT_EQ(config->listen_unix, "/run/left4me/agent.sock");
  EXPECT_EQ(config->unix_socket_mode, 0660u);
  EXPECT_EQ(config->port_first, 27015);
}

TEST(AgentConfigTest, ReadsEveryOption) {
  absl::StatusOr<AgentConfig> config = Parse(R"(
root: /srv/l4d2
steamcmd: /opt/steamcmd/steamcmd.sh
shutdown_grace: 3s
log_level: debug
listen:
  tcp: "[::1]:9000"
  plaintext_tcp: true
  unix: /run/l4d2/agent.sock
  unix_mode: "0600"
  unix_group: l4d2
ports: {first: 28000, last: 28100}
scripts: {user: builder, bwrap: /opt/bwrap, systemd_run: /usr/bin/systemd-run --user}
systemd: {unit_prefix: l4d2-staging, slice: l4d2-staging}
server_limits: {reserved_cpus: "0-1", nice: -2}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->root, "/srv/l4d2");
  EXPECT_EQ(config->steamcmd, "/opt/steamcmd/steamcmd.sh");
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(3));
  EXPECT_EQ(config->listen_tcp, "[::1]:9000");
  EXPECT_TRUE(config->plaintext_tcp);
  EXPECT_EQ(config->unix_socket_mode, 0600u);
  EXPECT_EQ(config->unix_socket_group, "l4d2");
  EXPECT_EQ(config->port_last, 28100);
  EXPECT_EQ(config->script_user, "builder");
  EXPECT_EQ(config->bwrap, "/opt/bwrap");
  EXPECT_EQ(config->systemd_run_command, "/usr/bin/systemd-run --user");
  EXPECT_EQ(config->unit_prefix, "l4d2-staging");
  EXPECT_EQ(config->slice, "l4d2-staging");
  EXPECT_EQ(config->reserved_cpus, "0-1");
  EXPECT_EQ(config->server_nice, -2);
}

TEST(AgentConfigTest, RejectsBadValues) {
  EXPECT_THAT(Parse("root: relative").status().message(), HasSubstr("absolute"));
  // TCP is mutual TLS, on loopback too; plaintext is explicit and loopback only.
  EXPECT_THAT(Parse("listen: {tcp: 127.0.0.1:7543}").status().message(),
              HasSubstr("needs mutual TLS"));
  EXPECT_THAT(Parse("listen: {tcp: 10.0.0.5:7543}").status().message(),
              HasSubstr("needs mutual TLS"));
  EXPECT_THAT(Parse("listen: {tcp: 10.0.0.5:7543, plaintext_tcp: true}").status().message(),
              HasSubstr("not a loopback address"));
  EXPECT_TRUE(Parse("listen: {tcp: 127.0.0.1:7543, plaintext_tcp: true}").ok());
  EXPECT_TRUE(Parse("listen: {tcp: 10.0.0.5:7543, tls: {certificate: /c, key: /k, ca: /a}}").ok());
  EXPECT_THAT(Parse("listen: {tcp: 127.0.0.1:1, allow_remote_plaintext: true}").status().message(),
              HasSubstr("unknown"));
  EXPECT_THAT(Parse("listen: {tcp: nonsense}").status().message(), HasSubstr("host:port"));
  EXPECT_THAT(Parse("listen: {unix_mode: \"999\"}").status().message(), HasSubstr("octal"));
  EXPECT_THAT(Parse("listen: {tcp: \"\", unix: \"\"}").status().message(),
              HasSubstr("at least one"));
  EXPECT_THAT(Parse("ports: {first: 28000, last: 27000}").status().message(),
              HasSubstr("first must not be greater"));
  EXPECT_THAT(Parse("ports: {first: 80}").status().message(), HasSubstr("between 1024"));
  EXPECT_THAT(Parse("log_level: loud").status().message(), HasSubstr("log_level"));
  EXPECT_THAT(Parse("listen: {tpc: x}").status().message(), HasSubstr("listen.tpc: unknown"));
  EXPECT_THAT(Parse("scripts: {user: root}").status().message(), HasSubstr("unprivileged"));
  // Mutual TLS: all three files, and then any address.
  EXPECT_THAT(Parse("listen: {tls: {certificate: /a.pem}}").status().message(),
              HasSubstr("together"));
  absl::StatusOr<AgentConfig> tls =
      Parse("listen: {tcp: 10.0.0.5:7543, tls: {certificate: /c.pem, key: /k.pem, ca: /ca.pem}}");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->tls_ca, "/ca.pem");
  EXPECT_THAT(Parse("scripts: {bwrap: bwrap}").status().message(), HasSubstr("scripts.bwrap"));
  // Host reports: signed with the enrolled key, so only with TLS; well-formed targets.
  const std::string with_tls = "listen: {tls: {certificate: /c.pem, key: /k.pem, ca: /ca.pem}}\n";
  absl::StatusOr<AgentConfig> reporting =
      Parse(with_tls + "report: {to: [\"ctl.example:8444\", \"[::1]:8444\"], interval: 10s}");
  ASSERT_TRUE(reporting.ok()) << reporting.status();
  EXPECT_THAT(reporting->report_to, ::testing::ElementsAre("ctl.example:8444", "[::1]:8444"));
  EXPECT_EQ(reporting->report_interval, absl::Seconds(10));
  EXPECT_THAT(Parse("report: {to: [\"ctl:8444\"]}").status().message(), HasSubstr("listen.tls"));
  EXPECT_THAT(Parse(with_tls + "report: {to: [ctl]}").status().message(), HasSubstr("host:port"));
  EXPECT_THAT(Parse(with_tls + "report: {to: [\"ctl:0\"]}").status().message(),
              HasSubstr("host:port"));
  EXPECT_THAT(Parse(with_tls + "report: {to: [\"ctl:1\"], interval: 100ms}").status().message(),
              HasSubstr("report.interval"));
  EXPECT_THAT(Parse("server_limits: {reserved_cpus: first}").status().message(),
              HasSubstr("server_limits.reserved_cpus"));
  EXPECT_THAT(Parse("server_limits: {nice: 20}").status().message(), HasSubstr("nice"));
  EXPECT_THAT(Parse("systemd: {slice: \"a.slice\"}").status().message(),
              HasSubstr("systemd.slice"));
  for (const char* prefix :
       {"", "Left4me", "a/b", "x@y", "-dash", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_THAT(Parse(absl::StrCat("systemd: {unit_prefix: \"", prefix, "\"}")).status().message(),
                HasSubstr("unit_prefix"))
        << prefix;
  }
}

}  // namespace
}  // namespace l4d2::agent
