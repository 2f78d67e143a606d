#include "controller/config/controller_config.h"

#include "common/file_util.h"
#include "common/yaml_document.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::controller {
namespace {

absl::StatusOr<ControllerConfig> Parse(const std::string& text) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument(text, "config");
  if (!node.ok()) return node.status();
  return ParseControllerConfig(*node);
}

TEST(ControllerConfigTest, DefaultsToASqliteFile) {
  absl::StatusOr<ControllerConfig> config = Parse("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->database.rfind("sqlite3:", 0), 0u);
  EXPECT_EQ(config->listen_http, "127.0.0.1:8080");
}

TEST(ControllerConfigTest, ReadsOptionsAndRejectsBadOnes) {
  absl::StatusOr<ControllerConfig> config =
      Parse("database: 'postgresql:dbname=x'\nlisten_http: 0.0.0.0:9090\nhttp_threads: 4\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->database, "postgresql:dbname=x");
  EXPECT_EQ(config->http_threads, 4);
  EXPECT_THAT(Parse("http_threads: 0").status().message(), ::testing::HasSubstr("between"));
  EXPECT_THAT(Parse("listen_http: nowhere").status().message(), ::testing::HasSubstr("host:port"));
  EXPECT_THAT(Parse("databse: x").status().message(), ::testing::HasSubstr("unknown key"));
  absl::StatusOr<ControllerConfig> fleet = Parse("pki_dir: /srv/pki\nagents: {plaintext: true}");
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  EXPECT_EQ(fleet->pki_dir, "/srv/pki");
  EXPECT_TRUE(fleet->agents_plaintext);
  EXPECT_THAT(Parse("pki_dir: pki").status().message(), ::testing::HasSubstr("absolute"));
  // Retention (issue Scale): defaults an operator would choose, each settable.
  absl::StatusOr<ControllerConfig> defaults = Parse("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->retention_jobs, absl::Hours(24 * 30));
  EXPECT_EQ(defaults->retention_failed_jobs, absl::Hours(24 * 90));
  EXPECT_EQ(defaults->retention_audit, absl::Hours(24 * 365));
  absl::StatusOr<ControllerConfig> kept = Parse(
      "retention: {jobs: 168h, failed_jobs: 720h, audit: 8760h, batch: 100, export_dir: /srv/x,"
      " interval: 1m}");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->retention_jobs, absl::Hours(168));
  EXPECT_EQ(kept->retention_batch, 100);
  EXPECT_EQ(kept->retention_export_dir, "/srv/x");
  EXPECT_EQ(kept->retention_interval, absl::Minutes(1));
  EXPECT_THAT(Parse("retention: {jobs: 1m}").status().message(),
              ::testing::HasSubstr("retention: jobs"));
  EXPECT_THAT(Parse("retention: {export_dir: out}").status().message(),
              ::testing::HasSubstr("retention.export_dir"));
  EXPECT_THAT(Parse("retention: {batch: 0}").status().message(), ::testing::HasSubstr("batch"));
}

TEST(ControllerConfigTest, AgentsAreToldWhereToReportByTheControllersPublicName) {
  absl::StatusOr<ControllerConfig> config = Parse("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->report_listen, "0.0.0.0:8444");
  EXPECT_EQ(ReportAddress(*config, 8444), "127.0.0.1:8444");  // listen_http's host
  config->listen_http = "[::1]:8080";
  EXPECT_EQ(ReportAddress(*config, 8444), "[::1]:8444");
  config->public_url = "https://ctl.example.net/left4me";
  EXPECT_EQ(ReportAddress(*config, 9000), "ctl.example.net:9000");
  config->public_url = "http://[2001:db8::1]:8080";
  EXPECT_EQ(ReportAddress(*config, 8444), "[2001:db8::1]:8444");
  config->report_address = "reports.example.net:443";
  EXPECT_EQ(ReportAddress(*config, 8444), "reports.example.net:443");
  absl::StatusOr<ControllerConfig> set =
      Parse("agents: {report_listen: \"10.0.0.1:9444\", report_address: \"ctl:9444\"}");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->report_listen, "10.0.0.1:9444");
  EXPECT_EQ(set->report_address, "ctl:9444");
  EXPECT_TRUE(Parse("agents: {report_listen: \"\"}").ok());
  EXPECT_THAT(Parse("agents: {report_listen: nowhere}").status().message(),
              ::testing::HasSubstr("report_listen"));
}

// Steam profiles (issue Players): the key from a file other users cannot read, never quoted.
TEST(ControllerConfigTest, TheSteamWebApiKeyComesFromAFileOthersCannotRead) {
  absl::StatusOr<ControllerConfig> config = Parse(
      "steam: {web_api: 'http://127.0.0.1:9', web_api_key_file: /etc/k, profile_lifetime: 6h}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->steam_web_api, "http://127.0.0.1:9");
  EXPECT_EQ(config->steam_web_api_key_file, "/etc/k");
  EXPECT_EQ(config->steam_profile_lifetime, absl::Hours(6));
  EXPECT_EQ(Parse("")->steam_web_api_key_file, "");  // no key: Steam is asked nothing
  EXPECT_THAT(Parse("steam: {web_api: ftp://x}").status().message(),
              ::testing::HasSubstr("steam.web_api"));
  EXPECT_THAT(Parse("steam: {web_api_key_file: key}").status().message(),
              ::testing::HasSubstr("absolute"));
  EXPECT_THAT(Parse("steam: {profile_lifetime: 1s}").status().message(),
              ::testing::HasSubstr("profile_lifetime"));
  // The Workshop refresh (issue Automation): daily by default, settable, 0s for never.
  EXPECT_EQ(Parse("")->disk_low_percent, 10);
  EXPECT_EQ(Parse("agents: {disk_low_percent: 5}")->disk_low_percent, 5);
  EXPECT_FALSE(Parse("agents: {disk_low_percent: 80}").ok());
  EXPECT_EQ(Parse("")->update_check, absl::Hours(1));
  EXPECT_EQ(Parse("updates: {check: 6h}")->update_check, absl::Hours(6));
  EXPECT_EQ(Parse("updates: {check: 0s}")->update_check, absl::ZeroDuration());
  EXPECT_THAT(Parse("updates: {check: 1m}").status().message(),
              ::testing::HasSubstr("updates.check"));
  EXPECT_THAT(Parse("updates: {every: 1h}").status().message(), ::testing::HasSubstr("every"));
  EXPECT_EQ(Parse("")->workshop_refresh, absl::Hours(24));
  EXPECT_EQ(Parse("overlays: {workshop_refresh: 6h}")->workshop_refresh, absl::Hours(6));
  EXPECT_EQ(Parse("overlays: {workshop_refresh: 0s}")->workshop_refresh, absl::ZeroDuration());
  EXPECT_THAT(Parse("overlays: {workshop_refresh: 5s}").status().message(),
              ::testing::HasSubstr("workshop_refresh"));
  EXPECT_EQ(Parse("")->backups_vault, "");
  EXPECT_EQ(Parse("backups: {vault: /srv/vault}")->backups_vault, "/srv/vault");
  EXPECT_FALSE(Parse("backups: {vault: [a]}").ok());

  l4d2::testing::TempDir dir;
  const std::string key = "0123456789abcdef0123456789ABCDEF";
  const std::string path = dir.Sub("key");
  ASSERT_TRUE(WriteFileAtomically(path, "  " + key + "\n", 0640).ok());
  absl::StatusOr<std::string> loaded = LoadSteamWebApiKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, key);
  ASSERT_TRUE(WriteFileAtomically(path, key, 0644).ok());
  EXPECT_THAT(LoadSteamWebApiKey(path).status().message(), ::testing::HasSubstr("other users"));
  ASSERT_TRUE(WriteFileAtomically(path, "not-a-key-" + key, 0600).ok());
  absl::Status wrong = LoadSteamWebApiKey(path).status();
  EXPECT_THAT(wrong.message(), ::testing::HasSubstr("32 hexadecimal"));
  EXPECT_THAT(wrong.message(), ::testing::Not(::testing::HasSubstr(key)));
  EXPECT_FALSE(LoadSteamWebApiKey(dir.Sub("missing")).ok());
}

}  // namespace
}  // namespace l4d2::controller
