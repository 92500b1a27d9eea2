// Per-thing limits of the router: token bucket, held-back messages, backlog limit.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "nbms/ingest/router.hpp"
#include "unit/ingest/fakes.hpp"

namespace nbms::ingest {
namespace {

using nlohmann::json;

constexpr const char* kA = "C000003_B001_01";
constexpr const char* kB = "C000003_B001_02";

std::string log_at(int minute) {
  char hhmm[8];
  std::snprintf(hhmm, sizeof hhmm, "%02d%02d", minute / 60 % 24, minute % 60);
  const std::string time = std::string("20221004") + hhmm;
  json j{{"msg_type", "Periodic_Log"}, {"time", time}, {"point_count", 1}};
  j["point_0"] = {{"msg", json::array({{{"attr_name", "M_Value"}, {"data", minute}}})},
                  {"period", 1},
                  {"point_id", "AI-1:p"}};
  return j.dump();
}

class FakeSpool final : public SpoolStore {
 public:
  Result<void> hold(const std::string& thing, std::uint64_t seq, std::string_view topic,
                    std::string_view payload) override {
    held[thing][seq] = {seq, std::string(topic), std::string(payload)};
    return {};
  }
  Result<std::optional<HeldMessage>> first_held(const std::string& thing) override {
    auto it = held.find(thing);
    if (it == held.end() || it->second.empty()) return std::optional<HeldMessage>{};
    return std::optional<HeldMessage>(it->second.begin()->second);
  }
  Result<void> release(const std::string& thing, std::uint64_t seq) override {
    held[thing].erase(seq);
    return {};
  }
  Result<std::vector<HeldBacklog>> held_backlogs() override {
    std::vector<HeldBacklog> out;
    for (const auto& [thing, msgs] : held) {
      if (msgs.empty()) continue;
      HeldBacklog b{thing, msgs.size(), 0, msgs.rbegin()->first + 1};
      for (const auto& [seq, m] : msgs) b.bytes += m.payload.size();
      out.push_back(b);
    }
    return out;
  }
  std::map<std::string, std::map<std::uint64_t, HeldMessage>> held;
};

// What the router reported as activity, in order.
class RecordingActivity final : public ActivitySink {
 public:
  void on_activity(const std::string& thing, std::int64_t at_ms) override {
    seen.emplace_back(thing, at_ms);
  }
  std::vector<std::pair<std::string, std::int64_t>> seen;
};

class LimitsTest : public ::testing::Test {
 protected:
  LimitsTest() {
    (void)store.create_thing(Thing{*ThingName::parse(kA), 0});
    (void)store.create_thing(Thing{*ThingName::parse(kB), 0});
  }
  Router make(double rate, double burst, std::uint64_t backlog_bytes = 1 << 20) {
    Router::Ports ports{store, store, store, store, commands, clock};
    ports.spool = &spool;
    ports.activity = &activity;
    RouterOptions o;
    o.thing_rate = rate;
    o.thing_burst = burst;
    o.thing_backlog_bytes = backlog_bytes;
    return Router(ports, o);
  }
  // The minutes of the stored logs of `thing`, in storing order.
  std::vector<int> stored(const std::string& thing) {
    std::vector<int> out;
    for (const auto& l : store.logs()) {
      if (l.thing.full() == thing) out.push_back(static_cast<int>(l.values.at(0).value));
    }
    return out;
  }
  testing::FakeStore store;
  testing::FakeCommands commands;
  testing::FakeClock clock;
  FakeSpool spool;
  RecordingActivity activity;
};

TEST_F(LimitsTest, OverTheBurstIsHeldBackAndTheOthersGoOn) {
  auto router = make(1, 3);
  for (int i = 0; i < 10; ++i) {
    auto out = router.handle(std::string(kA) + "/periodic_log", log_at(i));
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->accepted);
    EXPECT_EQ(out->reason, i < 3 ? "" : "held") << i;
  }
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(router.counters().deferred, 7u);
  EXPECT_EQ(router.counters().held, 7u);
  EXPECT_EQ(spool.held[kA].size(), 7u);
  EXPECT_EQ(router.counters().messages, 3u);  // counted when handled
  // B has its own bucket: stored at once while A's messages wait.
  ASSERT_TRUE(router.handle(std::string(kB) + "/periodic_log", log_at(100)));
  EXPECT_EQ(stored(kB), (std::vector<int>{100}));
  // A's tokens come back, but A's next message queues behind the held ones.
  clock.now += 5000;
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(10))->reason, "held");
  EXPECT_EQ(router.counters().held, 8u);
}

TEST_F(LimitsTest, HeldMessagesGoOnAtTheRateOrAllAtOnceWhenIdle) {
  auto router = make(1, 1);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(router.handle(std::string(kA) + "/periodic_log", log_at(i)));
  EXPECT_EQ(router.counters().held, 4u);
  // No token yet: nothing goes unless idle.
  EXPECT_EQ(router.release_one(false), false);
  clock.now += 1000;  // one token
  EXPECT_EQ(router.release_one(false), true);
  EXPECT_EQ(router.release_one(false), false);
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1}));
  // Idle: everything, in arrival order.
  while (*router.release_one(true)) {
  }
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(router.counters().held, 0u);
  EXPECT_FALSE(router.has_backlog());
  EXPECT_TRUE(spool.held[kA].empty());
  EXPECT_EQ(router.counters().messages, 5u);
}

TEST_F(LimitsTest, AForgottenThingLeavesNoBacklogAndStartsWithAFullBucket) {
  auto router = make(1, 2);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(router.handle(std::string(kA) + "/periodic_log", log_at(i)));
  }
  ASSERT_TRUE(router.handle(std::string(kB) + "/periodic_log", log_at(100)));
  ASSERT_TRUE(router.handle(std::string(kB) + "/periodic_log", log_at(101)));
  ASSERT_TRUE(router.handle(std::string(kB) + "/periodic_log", log_at(102)));
  EXPECT_EQ(router.counters().held, 4u);  // A: 3, B: 1
  // The purge deleted A's spool entries; the router forgets A.
  spool.held.erase(kA);
  router.forget_thing(kA);
  EXPECT_EQ(router.counters().held, 1u);
  EXPECT_TRUE(router.has_backlog());
  // Released while idle: only B's message; nothing of A comes back.
  while (*router.release_one(true)) {
  }
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1}));
  EXPECT_EQ(stored(kB), (std::vector<int>{100, 101, 102}));
  EXPECT_EQ(router.counters().held, 0u);
  // A (registered again) has a full bucket: two go at once, at the same instant.
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(10))->reason, "");
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(11))->reason, "");
  EXPECT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(12))->reason, "held");
  router.forget_thing("C000003_B001_99");  // unknown: nothing happens
  EXPECT_EQ(router.counters().held, 1u);
}

// The overview's "last seen" is noted by the router, on the ingest worker,
// once the thing is found registered: never for a thing that is not (a purged
// one), and once per message as it arrives, not again when a held-back one is
// handled later.
TEST_F(LimitsTest, ActivityIsNotedForArrivingMessagesOfRegisteredThingsOnly) {
  auto router = make(1, 1);
  clock.now = 1'000;
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(0))->reason, "");
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(1))->reason, "held");
  clock.now = 2'000;
  auto unregistered = router.handle("C000003_B001_99/periodic_log", log_at(2));
  ASSERT_TRUE(unregistered);
  EXPECT_EQ(unregistered->reason, "unregistered");
  // A message the router cannot read still shows that the thing is alive.
  auto malformed = router.handle(std::string(kB) + "/periodic_log", "{");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->reason, "malformed");
  clock.now = 9'000;
  ASSERT_EQ(router.release_one(true), true);
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1}));
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {kA, 1'000}, {kA, 1'000}, {kB, 2'000}};
  EXPECT_EQ(activity.seen, expected);
}

TEST_F(LimitsTest, AFullBacklogRejectsAsThrottledAndRecordsIt) {
  const auto size = log_at(0).size();
  auto router = make(1, 1, 2 * size);
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(router.handle(std::string(kA) + "/periodic_log", log_at(i)));
  // 1 stored, 2 held (the backlog's limit), 1 rejected.
  EXPECT_EQ(stored(kA), (std::vector<int>{0}));
  EXPECT_EQ(router.counters().held, 2u);
  EXPECT_EQ(router.counters().rejected, 1u);
  EXPECT_EQ(router.counters().by_reason[static_cast<std::size_t>(Reject::throttled)], 1u);
  ASSERT_EQ(store.dead().size(), 1u);
  EXPECT_NE(store.dead()[0].reason.find("throttled"), std::string::npos) << store.dead()[0].reason;
}

TEST_F(LimitsTest, TooLargeIsRejectedBeforeItCanBeHeld) {
  Router::Ports ports{store, store, store, store, commands, clock};
  ports.spool = &spool;
  RouterOptions o;
  o.max_message_bytes = 64;
  o.thing_rate = 1;
  o.thing_burst = 1;
  Router router(ports, o);
  auto out = router.handle(std::string(kA) + "/periodic_log", log_at(0));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->accepted);
  EXPECT_EQ(out->reason, "too_large");
  EXPECT_TRUE(spool.held.empty());
}

TEST_F(LimitsTest, ABacklogFromAnEarlierRunIsPickedUp) {
  {
    auto router = make(1, 1);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(router.handle(std::string(kA) + "/periodic_log", log_at(i)));
  }
  auto router = make(1, 1);
  ASSERT_TRUE(router.load_backlog());
  EXPECT_EQ(router.counters().held, 2u);
  // New messages of A queue behind the old ones, with later sequence numbers.
  ASSERT_EQ(router.handle(std::string(kA) + "/periodic_log", log_at(3))->reason, "held");
  while (*router.release_one(true)) {
  }
  EXPECT_EQ(stored(kA), (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(LimitsTest, NoRateMeansNoLimit) {
  auto router = make(0, 1);
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(router.handle(std::string(kA) + "/periodic_log", log_at(i)));
  EXPECT_EQ(stored(kA).size(), 50u);
  EXPECT_EQ(router.counters().deferred, 0u);
}

}  // namespace
}  // namespace nbms::ingest
