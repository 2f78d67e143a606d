// libFuzzer: datagrams at the controller's host report port (controller/fleet/host_reports.h).
// The book knows one enrolled host, "h1". An input starting with 0 is taken as a HostReport's
// bytes and signed with h1's key first, so that the fuzzer also reaches everything after the
// signature (replay order, keeping the report, reading it back); any other input is sent as it
// is. Nothing may crash, and a refused datagram must leave the book as it was.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "controller/fleet/host_reports.h"
#include "tls/pki.h"
#include "tls/signatures.h"

namespace {

class FixedClock final : public l4d2::Clock {
 public:
  absl::Time Now() const override { return absl::FromUnixSeconds(1800000000); }
  void SleepFor(absl::Duration) override {}
};

struct Fleet {
  Fleet() {
    const absl::Time now = clock.Now();
    const l4d2::tls::Validity validity{.not_before = now - absl::Hours(1),
                                       .not_after = now + absl::Hours(1)};
    auto ca = l4d2::tls::CertificateAuthority::Create("fuzz", validity);
    auto key = l4d2::tls::NewKeyAndRequest();
    if (!ca.ok() || !key.ok()) std::abort();
    certificate = *ca->Issue(key->request_pem, l4d2::tls::AgentName("h1"), validity);
    signer.emplace(*l4d2::tls::Signer::FromKeyPem(key->key_pem));
  }
  FixedClock clock;
  std::string certificate;
  std::optional<l4d2::tls::Signer> signer;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fleet* fleet = new Fleet();
  l4d2::controller::HostReportBook book(
      [](const std::string& id) -> absl::StatusOr<std::string> {
        if (id == "h1") return fleet->certificate;
        return absl::NotFoundError("unknown");
      },
      fleet->clock);
  std::string datagram(reinterpret_cast<const char*>(data), size);
  if (size > 0 && data[0] == 0) {
    l4d2::agent::v1::SignedHostReport signed_report;
    signed_report.set_report(datagram.substr(1));
    signed_report.set_signature(
        fleet->signer->Sign(l4d2::kHostReportContext, signed_report.report()).value_or(""));
    datagram = signed_report.SerializeAsString();
  }
  const absl::Status accepted = book.Accept(datagram);
  // Twice: the second is a replay, whatever the first was.
  if (book.Accept(datagram).ok()) std::abort();
  const std::optional<l4d2::controller::ReceivedReport> kept =
      book.Latest("h1", absl::InfinitePast());
  if (accepted.ok() != kept.has_value()) std::abort();
  return 0;
}
