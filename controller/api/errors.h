#pragma once

// The one mapping from canonical status codes to HTTP statuses, and the error body every
// route answers with: l4d2.controller.v1.Error as JSON, {code, message, details}. Messages of
// server-side failures (INTERNAL, UNKNOWN, DATA_LOSS) are logged, never sent: they may name
// files, hosts or SQL.

#include "absl/status/status.h"
#include "controller/api/route.h"

namespace l4d2::controller {

int HttpStatusFor(absl::StatusCode code);

// The response for a failed request; the payload "details" (a newline-separated list) of
// `status`, if any, becomes the body's details.
ApiResponse ErrorResponse(const absl::Status& status);

// A status whose error body carries `details` as well.
absl::Status WithDetails(absl::Status status, const std::vector<std::string>& details);

}  // namespace l4d2::controller
