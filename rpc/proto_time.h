#pragma once

// Between protobuf's well-known time types and Abseil's.

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace l4d2 {

inline absl::Time TimeOf(const google::protobuf::Timestamp& at) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(at));
}

inline google::protobuf::Timestamp TimestampOf(absl::Time at) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(at));
}

inline absl::Duration DurationOf(const google::protobuf::Duration& duration) {
  return absl::Nanoseconds(google::protobuf::util::TimeUtil::DurationToNanoseconds(duration));
}

inline google::protobuf::Duration ProtoDurationOf(absl::Duration duration) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(duration));
}

}  // namespace l4d2
