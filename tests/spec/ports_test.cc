#include "spec/ports.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace l4d2::spec {
namespace {

// The controller finds the port in the agent's error however it was prefixed on the way, and
// in nothing else.
TEST(PortsTest, ATakenPortErrorIsRecognizedWhereverItSits) {
  const absl::Status taken = PortTakenError(27015, "instance 'alpha'");
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(taken.message(), "port 27015 is taken by instance 'alpha'");
  EXPECT_EQ(TakenPort(taken), 27015);
  EXPECT_EQ(TakenPort(absl::FailedPreconditionError(
                absl::StrCat("host 'fra-1': InitializeInstance: ", taken.message()))),
            27015);
  EXPECT_EQ(TakenPort(absl::InternalError(taken.message())), std::nullopt);
  EXPECT_EQ(TakenPort(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(TakenPort(absl::FailedPreconditionError("port x is taken by y")), std::nullopt);
  EXPECT_EQ(TakenPort(absl::FailedPreconditionError("port 99999 is taken by y")), std::nullopt);
  EXPECT_EQ(TakenPort(absl::FailedPreconditionError("the game is not installed")), std::nullopt);
}

}  // namespace
}  // namespace l4d2::spec
