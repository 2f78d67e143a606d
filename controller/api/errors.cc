#include "controller/api/errors.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/utf8.h"
#include "l4d2/controller/v1/api.pb.h"
#include "rpc/proto_json.h"

namespace l4d2::controller {
namespace {

constexpr char kDetailsPayload[] = "type.left4me/details";
constexpr size_t kMaxMessageBytes = 512;

bool ServerSide(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

absl::Status WithDetails(absl::Status status, const std::vector<std::string>& details) {
  status.SetPayload(kDetailsPayload, absl::Cord(absl::StrJoin(details, "\n")));
  return status;
}

ApiResponse ErrorResponse(const absl::Status& status) {
  v1::Error error;
  if (ServerSide(status.code())) {
    L4D2_LOG(ERROR) << "request failed: " << status;
    error.set_code(absl::StatusCodeToString(absl::StatusCode::kInternal));
    error.set_message("internal error");
  } else {
    error.set_code(absl::StatusCodeToString(status.code()));
    // Messages may quote what the client sent (a parser's excerpt): always well-formed UTF-8,
    // and short.
    error.set_message(Utf8Excerpt(status.message(), kMaxMessageBytes));
    if (auto details = status.GetPayload(kDetailsPayload)) {
      for (absl::string_view detail : absl::StrSplit(std::string(*details), '\n')) {
        error.add_details(Utf8Excerpt(detail, kMaxMessageBytes));
      }
    }
  }
  return ApiResponse{.status = HttpStatusFor(ServerSide(status.code()) ? absl::StatusCode::kInternal
                                                                       : status.code()),
                     .body = ToJson(error)};
}

}  // namespace l4d2::controller
