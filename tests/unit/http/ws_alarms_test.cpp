// The WebSocket alarm feed: snapshot then transitions in commit order, only for
// watched buildings, the bounded queue (resync instead of unbounded growth), and
// message errors. Scope per caller is in authz_matrix_test.cpp.
#include "http/ws_alarms.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

const ThingName kThing{"C000003", "B001", "01"};

class WsAlarms : public ::testing::Test, protected testing::AlarmWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry.create_customer({"C000003", "Acme", 1}));
    ASSERT_TRUE(registry.create_building({"C000003", "B001", "HQ", "", 2}));
    ASSERT_TRUE(registry.create_building({"C000003", "B002", "Annex", "", 2}));
  }

  std::shared_ptr<AlarmWatch> watch(AlarmWatchLimits limits = {}) {
    return std::make_shared<AlarmWatch>(
        feed, watched, auth::Principal{"vic", "C000003", Role::viewer}, [this] { ++wakes; },
        limits);
  }

  void raise(const ThingName& thing, std::string id, unsigned second = 0,
             AlarmStatus status = AlarmStatus::raise) {
    ASSERT_TRUE(
        alarms.on_alarm(alarm_event(thing, std::move(id), status, 100, second)).has_value());
  }

  static std::vector<json> drain(AlarmWatch& w) {
    std::vector<json> out;
    while (auto f = w.next_frame()) out.push_back(json::parse(*f));
    return out;
  }

  static json sub(std::string_view type, std::string_view building = "B001") {
    return {{"type", type}, {"customer", "C000003"}, {"building", building}};
  }

  Services watched = make_services(&alarms);  // outlives the watches, which keep a reference
  std::shared_ptr<AlarmFeed> feed = AlarmFeed::create(alarms, clock);
  int wakes = 0;
};

TEST_F(WsAlarms, SnapshotThenEveryTransitionOfTheWatchedBuildingInOrder) {
  raise(kThing, "A");
  auto w = watch();
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));
  auto frames = drain(*w);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]["type"], "alarms.snapshot");
  EXPECT_EQ(frames[0]["building"], "B001");
  ASSERT_EQ(frames[0]["alarms"].size(), 1u);
  EXPECT_EQ(frames[0]["alarms"][0]["alarm_id"], "A");

  raise(kThing, "B");
  raise(kThing, "A", 1, AlarmStatus::clear);
  raise(ThingName{"C000003", "B002", "01"}, "X");  // another building: not watched
  ASSERT_TRUE(alarms.acknowledge({{kThing, "A"}}, "mia").has_value());
  frames = drain(*w);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0]["type"], "alarms");
  EXPECT_EQ(frames[0]["transitions"][0]["kind"], "raised");
  EXPECT_EQ(frames[0]["alarms"][0]["alarm_id"], "B");
  EXPECT_EQ(frames[1]["transitions"][0]["kind"], "cleared");
  EXPECT_EQ(frames[1]["alarms"][0]["active"], false);
  EXPECT_EQ(frames[2]["transitions"][0]["kind"], "acknowledged");
  EXPECT_EQ(frames[2]["transitions"][0]["user"], "mia");
  EXPECT_EQ(frames[2]["transitions"][0]["removed"], true);
  EXPECT_TRUE(frames[2]["alarms"].empty());
  ASSERT_EQ(frames[2]["removed"].size(), 1u);
  EXPECT_EQ(frames[2]["removed"][0]["alarm_id"], "A");
}

TEST_F(WsAlarms, UnsubscribeAndCloseStopThePush) {
  auto w = watch();
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));
  w->on_message("alarms.subscribe", sub("alarms.subscribe", "B002"));
  drain(*w);
  EXPECT_EQ(feed->watchers("C000003/B001"), 1u);
  w->on_message("alarms.unsubscribe", sub("alarms.unsubscribe"));
  auto frames = drain(*w);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]["type"], "alarms.unsubscribed");
  EXPECT_EQ(feed->watchers("C000003/B001"), 0u);
  raise(kThing, "A");
  EXPECT_TRUE(drain(*w).empty());
  w->close();
  EXPECT_EQ(feed->watchers("C000003/B002"), 0u);
  raise(ThingName{"C000003", "B002", "01"}, "X");
  EXPECT_TRUE(drain(*w).empty());
}

TEST_F(WsAlarms, ASlowReaderIsToldToResyncInsteadOfQueueingWithoutBound) {
  auto w = watch(AlarmWatchLimits{.max_buildings = 4, .max_queued_frames = 3});
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));  // the snapshot: 1 queued
  for (unsigned i = 0; i < 5; ++i) raise(kThing, "A" + std::to_string(i), i);
  auto frames = drain(*w);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]["type"], "alarms.resync");
  EXPECT_EQ(frames[0]["building"], "B001");
  raise(kThing, "late");  // dropped until subscribed again
  EXPECT_TRUE(drain(*w).empty());
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));
  frames = drain(*w);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]["type"], "alarms.snapshot");
  EXPECT_EQ(frames[0]["alarms"].size(), 6u);
  raise(kThing, "after");
  EXPECT_EQ(drain(*w).size(), 1u);
}

TEST_F(WsAlarms, BadMessagesAndLimits) {
  auto w = watch(AlarmWatchLimits{.max_buildings = 1, .max_queued_frames = 10});
  w->on_message("alarms.subscribe", json{{"type", "alarms.subscribe"}});
  w->on_message("alarms.subscribe", json{{"type", "alarms.subscribe"}, {"customer", 1}});
  w->on_message("alarms.subscribe", sub("alarms.subscribe", "bad building"));
  w->on_message("alarms.subscribe", sub("alarms.subscribe", "B009"));
  w->on_message("alarms.nonsense", sub("alarms.subscribe"));
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));
  w->on_message("alarms.subscribe", sub("alarms.subscribe", "B002"));
  const auto frames = drain(*w);
  ASSERT_EQ(frames.size(), 7u);
  for (const int i : {0, 1, 2, 4, 6}) EXPECT_EQ(frames[i]["code"], "bad_request") << frames[i];
  EXPECT_EQ(frames[3]["code"], "not_found");
  EXPECT_EQ(frames[5]["type"], "alarms.snapshot");
}

TEST_F(WsAlarms, AFeedThatIsGoneReachesNobody) {
  auto w = watch();
  w->on_message("alarms.subscribe", sub("alarms.subscribe"));
  drain(*w);
  w.reset();
  feed.reset();
  raise(kThing, "A");  // the listener finds no feed: no crash, nothing to do
  SUCCEED();
}

}  // namespace
}  // namespace nbms::http
