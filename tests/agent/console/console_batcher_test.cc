#include "agent/console/console_batcher.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace l4d2::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ConsoleBatcherTest, EveryCompleteLineOfAReadGoesIntoOneEntry) {
  ConsoleBatcher batcher;
  EXPECT_THAT(batcher.Feed("Server is hibernating\n"), ElementsAre("Server is hibernating\n"));
  EXPECT_THAT(batcher.Feed("a\nb\n\nc\n"), ElementsAre("a\nb\n\nc\n"));
  // A partial line waits for its end.
  EXPECT_THAT(batcher.Feed("par"), IsEmpty());
  EXPECT_THAT(batcher.Feed("tial\nnext"), ElementsAre("partial\n"));
  EXPECT_THAT(batcher.Finish(), ElementsAre("next"));
  EXPECT_THAT(batcher.Finish(), IsEmpty());
}

TEST(ConsoleBatcherTest, EntriesStayUnderTheLimitAndCutOnlyOverlongLines) {
  ConsoleBatcher batcher(8);
  // Lines are kept whole while they fit: "aaa\nbbb\n" is 8 bytes, "cc\n" goes on.
  EXPECT_THAT(batcher.Feed("aaa\nbbb\ncc\n"), ElementsAre("aaa\nbbb\n", "cc\n"));
  // A line longer than an entry is cut, as journald cuts a stream's line past LineMax.
  EXPECT_THAT(batcher.Feed("0123456789abcdefXY\nz"), ElementsAre("01234567", "89abcdef", "XY\n"));
  EXPECT_THAT(batcher.Finish(), ElementsAre("z"));
}

}  // namespace
}  // namespace l4d2::agent
