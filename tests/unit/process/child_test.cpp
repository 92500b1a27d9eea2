// The pure parts of process supervision: the restart delay and the output
// line splitting (spawning real processes is tested in tests/integration).
#include <gtest/gtest.h>
#include <signal.h>

#include "nbms/process/child.hpp"

namespace nbms::process {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, DoublesFromMinUpToMaxOnQuickFailures) {
  Backoff b(500ms, 4000ms, 60s);
  EXPECT_EQ(b.next(10ms), 500ms);
  EXPECT_EQ(b.next(10ms), 1000ms);
  EXPECT_EQ(b.next(10ms), 2000ms);
  EXPECT_EQ(b.next(10ms), 4000ms);
  EXPECT_EQ(b.next(10ms), 4000ms);
  EXPECT_EQ(b.failures(), 5);
}

TEST(Backoff, AStableRunStartsANewSeries) {
  Backoff b(100ms, 10s, 60s);
  (void)b.next(1ms);
  (void)b.next(1ms);
  EXPECT_EQ(b.next(1ms), 400ms);
  EXPECT_EQ(b.next(61s), 100ms);
  EXPECT_EQ(b.failures(), 1);
}

TEST(Backoff, ManyFailuresDoNotOverflow) {
  Backoff b(1ms, 30s, 60s);
  std::chrono::milliseconds last{};
  for (int i = 0; i < 200; ++i) last = b.next(0ms);
  EXPECT_EQ(last, 30s);
}

TEST(Backoff, MaxBelowMinIsRaisedToMin) {
  Backoff b(2s, 1s, 60s);
  EXPECT_EQ(b.next(0ms), 2s);
  EXPECT_EQ(b.next(0ms), 2s);
}

TEST(DescribeStatus, ExitAndSignal) {
  EXPECT_EQ(describe_status(0), "exit 0");
  EXPECT_EQ(describe_status(3 << 8), "exit 3");
  EXPECT_EQ(describe_status(SIGKILL).rfind("signal 9", 0), 0u);
}

TEST(LineSplitter, SplitsAcrossChunksAndFlushesTheRest) {
  LineSplitter s;
  EXPECT_TRUE(s.feed("abc").empty());
  EXPECT_EQ(s.feed("def\ngh\n\nij"), (std::vector<std::string>{"abcdef", "gh", ""}));
  EXPECT_EQ(s.flush(), "ij");
  EXPECT_EQ(s.flush(), std::nullopt);
}

TEST(LineSplitter, CutsOverlongLines) {
  LineSplitter s(4);
  EXPECT_EQ(s.feed("abcdefghij\n"), (std::vector<std::string>{"abcd", "efgh", "ij"}));
}

TEST(ChildProcess, RelativeProgramIsRefused) {
  auto c = ChildProcess::spawn({"mosquitto"}, nullptr);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::invalid_argument);
  EXPECT_FALSE(ChildProcess::spawn({}, nullptr));
}

}  // namespace
}  // namespace nbms::process
