#pragma once

// The controller's configuration: a typed struct from YAML, overridden by flags in main.cc.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace l4d2::controller {

struct ControllerConfig {
  // Database URL (controller/store/database.h): a SQLite file by default.
  std::string database = "sqlite3:/var/lib/left4me-controller/controller.db";
  size_t database_pool_size = 4;
  // HTTP listen address for the REST API, SSE and the web UI.
  std::string listen_http = "127.0.0.1:8080";
  // Pistache reactor threads.
  int http_threads = 2;
  absl::Duration shutdown_grace = absl::Seconds(10);
  std::string log_level = "info";
  // Mutual TLS to the agents (tls/pki.h): PEM files of the controller's certificate and key and
  // the fleet CA; all three or none (none: plaintext, for agents on loopback in development).
  std::string agents_tls_certificate;
  std::string agents_tls_key;
  std::string agents_tls_ca;
};

absl::StatusOr<ControllerConfig> ParseControllerConfig(const YAML::Node& document);
absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path);
absl::Status ValidateControllerConfig(const ControllerConfig& config);

}  // namespace l4d2::controller
