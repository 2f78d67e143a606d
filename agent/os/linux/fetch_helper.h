#pragma once

// HttpFetcher and ArchiveExtractor through left4me-fetch (agent/fetch/fetch_command.h): each
// download or extraction is one run of the helper, so libcurl, libarchive and the untrusted
// bytes they parse stay out of the agent's process. Thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "agent/os/archive_extractor.h"
#include "agent/os/process_runner.h"
#include "agent/os/server_users.h"
#include "common/http/http_fetcher.h"

namespace l4d2::agent {

struct FetchHelperOptions {
  // The left4me-fetch program.
  std::string program;
  // Its environment (proxy and CA settings are taken from the agent's by main.cc).
  std::vector<std::string> env;
  // A private directory for the form and response files of POSTs.
  std::string scratch_dir;
  // How long an extraction may take.
  absl::Duration extract_timeout = absl::Minutes(30);
  // The unprivileged account the helper works as (left4me-fetch --as); empty: the agent's own
  // (development, tests without root). What it writes is root's again when it is done.
  std::string user;
};

class FetchHelper final : public HttpFetcher, public ArchiveExtractor {
 public:
  // `runner` must outlive the helper.
  FetchHelper(ProcessRunner& runner, FetchHelperOptions options);

  absl::StatusOr<uint64_t> Fetch(const std::string& url, const std::string& path,
                                 uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<std::string> PostForm(const std::string& url, const std::string& form,
                                       uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<std::string> PostJson(const std::string& url, const std::string& json,
                                       uint64_t max_bytes, absl::Duration timeout) override;
  absl::StatusOr<uint64_t> Extract(const std::string& archive, const std::string& destination,
                                   uint32_t strip_components, const ExtractLimits& limits) override;

 private:
  absl::StatusOr<std::string> Post(const char* verb, const std::string& url,
                                   const std::string& body, uint64_t max_bytes,
                                   absl::Duration timeout);
  // The account of options_.user (looked up once per call); none when it is empty.
  absl::StatusOr<std::optional<ServerAccount>> Account() const;
  // Runs the helper with `args`, as `account` when given (--as); its "ok <N>" as N, its
  // "error <code> <message>" as a Status.
  absl::StatusOr<uint64_t> Run(std::vector<std::string> args, absl::Duration timeout,
                               const std::optional<ServerAccount>& account);

  ProcessRunner& runner_;
  FetchHelperOptions options_;
};

}  // namespace l4d2::agent
