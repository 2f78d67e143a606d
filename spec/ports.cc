#include "spec/ports.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace l4d2::spec {
namespace {

constexpr absl::string_view kPrefix = "port ";
constexpr absl::string_view kTakenBy = " is taken by ";

}  // namespace

absl::Status PortTakenError(int port, absl::string_view holder) {
  return absl::FailedPreconditionError(absl::StrCat(kPrefix, port, kTakenBy, holder));
}

std::optional<int> TakenPort(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return std::nullopt;
  const absl::string_view message = status.message();
  const size_t taken = message.find(kTakenBy);
  if (taken == absl::string_view::npos) return std::nullopt;
  const size_t start = message.rfind(kPrefix, taken);
  if (start == absl::string_view::npos) return std::nullopt;
  int port = 0;
  const absl::string_view number =
      message.substr(start + kPrefix.size(), taken - start - kPrefix.size());
  if (!absl::SimpleAtoi(number, &port) || port <= 0 || port > 65535) return std::nullopt;
  return port;
}

}  // namespace l4d2::spec
