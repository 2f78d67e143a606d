#pragma once

// The contract of host reports (proto/l4d2/agent/v1/report.proto) both sides keep: what the
// signature covers before the report's bytes (tls/signatures.h), and the largest datagram
// (UDP's payload limit) an agent sends and a controller accepts.

#include <cstddef>

namespace l4d2 {

inline constexpr char kHostReportContext[] = "left4me host report v1";
inline constexpr size_t kMaxHostReportDatagram = 65507;

}  // namespace l4d2
