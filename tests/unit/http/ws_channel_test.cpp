// The WebSocket channel's send queue: values coalesced per point for a slow
// reader, other messages kept in order and bounded.
#include "http/ws_channel.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

class WsChannelQueue : public ::testing::Test, protected testing::ApiWorld {
 protected:
  std::shared_ptr<WsChannel> make(WsLimits limits = {}) {
    auto c = std::make_shared<WsChannel>(
        services, auth::Principal{"mia", "C000003", Role::manager}, auth::Origin{"127.0.0.1"},
        [this] { ++wakes; }, limits);
    c->open();
    return c;
  }

  static json next(WsChannel& c) {
    std::string frame;
    EXPECT_TRUE(c.next_frame(frame));
    return frame.empty() ? json() : json::parse(frame);
  }
  static bool idle(WsChannel& c) {
    std::string frame;
    return !c.next_frame(frame);
  }

  Services services{registry, points, series, dead, clock, auth, nullptr, {}, {}};
  int wakes = 0;
};

TEST_F(WsChannelQueue, HelloFirstAndTheWriterIsWokenOnlyWhenIdle) {
  auto c = make();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(next(*c)["type"], "hello");
  EXPECT_TRUE(idle(*c));  // the writer is idle now
  c->values("C000003_B001_01", 1, {{"AV-1", 1.0}});
  c->values("C000003_B001_01", 2, {{"AV-2", 2.0}});
  EXPECT_EQ(wakes, 2);  // the second value found the writer already woken
  next(*c);             // the writer takes the frame and is busy writing it
  c->values("C000003_B001_01", 3, {{"AV-1", 3.0}});
  c->on_text("not json");
  EXPECT_EQ(wakes, 2);  // it comes back for more by itself
  EXPECT_EQ(next(*c)["type"], "error");
  EXPECT_EQ(next(*c)["type"], "values");
  EXPECT_TRUE(idle(*c));
  c->on_text("not json");
  EXPECT_EQ(wakes, 3);
}

TEST_F(WsChannelQueue, ASlowReaderGetsTheNewestValueOfEachPointInOneFrame) {
  auto c = make();
  next(*c);  // hello
  c->values("T1", 10, {{"AV-1", 1.0}, {"AV-2", 2.0}});
  c->values("T2", 11, {{"AV-1", 5.0}});
  c->values("T1", 12, {{"AV-1", 3.0}});  // replaces AV-1's 1.0, keeps its place
  auto frame = next(*c);
  EXPECT_EQ(frame["type"], "values");
  ASSERT_EQ(frame["updates"].size(), 2u) << frame.dump();
  const auto& first = frame["updates"][0];  // things in the order they first had values
  EXPECT_EQ(first["thing"], "T1");
  EXPECT_EQ(first["received_ms"], 12);
  EXPECT_EQ(first["values"], (json::array({{{"point_id", "AV-1"}, {"value", 3.0}},
                                           {{"point_id", "AV-2"}, {"value", 2.0}}})));
  const auto& second = frame["updates"][1];
  EXPECT_EQ(second["thing"], "T2");
  EXPECT_EQ(second["received_ms"], 11);
  EXPECT_EQ(second["values"], (json::array({{{"point_id", "AV-1"}, {"value", 5.0}}})));
  EXPECT_TRUE(idle(*c));

  // Afterwards a thing starts afresh.
  c->values("T2", 13, {{"AV-9", 9.5}});
  frame = next(*c);
  ASSERT_EQ(frame["updates"].size(), 1u);
  EXPECT_EQ(frame["updates"][0]["values"], (json::array({{{"point_id", "AV-9"}, {"value", 9.5}}})));
}

TEST_F(WsChannelQueue, EachFrameHoldsOnlyWhatArrivedSinceTheLastInArrivalOrder) {
  auto c = make();
  next(*c);  // hello
  for (int round = 0; round < 3; ++round) {
    // The points come in a different order each round; a point sent in an
    // earlier frame must neither be repeated nor keep its old place.
    const double base = 10.0 * round;
    if (round % 2 == 0) {
      c->values("T1", round, {{"AV-1", base + 1}, {"AV-2", base + 2}});
    } else {
      c->values("T1", round, {{"AV-2", base + 2}});
      c->values("T1", round, {{"AV-3", base + 3}, {"AV-2", base + 4}});
    }
    auto frame = next(*c);
    ASSERT_EQ(frame["updates"].size(), 1u) << frame.dump();
    const auto expected = round % 2 == 0
                              ? json::array({{{"point_id", "AV-1"}, {"value", base + 1}},
                                             {{"point_id", "AV-2"}, {"value", base + 2}}})
                              : json::array({{{"point_id", "AV-2"}, {"value", base + 4}},
                                             {{"point_id", "AV-3"}, {"value", base + 3}}});
    EXPECT_EQ(frame["updates"][0]["values"], expected) << "round " << round;
    EXPECT_TRUE(idle(*c));
  }
}

TEST_F(WsChannelQueue, AnswersGoBeforeValues) {
  auto c = make();
  next(*c);  // hello
  c->values("T1", 10, {{"AV-1", 1.0}});
  c->on_text("not json");
  EXPECT_EQ(next(*c)["type"], "error");
  EXPECT_EQ(next(*c)["type"], "values");
  EXPECT_TRUE(idle(*c));
}

TEST_F(WsChannelQueue, ARemovedThingsWaitingValuesAreDroppedAndTheClientIsTold) {
  auto c = make();
  next(*c);  // hello
  c->values("T1", 10, {{"AV-1", 1.0}});
  c->values("T2", 11, {{"AV-1", 2.0}});
  c->thing_removed("T1", {"AV-1", "AV-2"});
  EXPECT_EQ(next(*c), (json{{"type", "thing_removed"},
                            {"thing", "T1"},
                            {"point_ids", json::array({"AV-1", "AV-2"})}}));
  // Only the other thing's values follow.
  auto frame = next(*c);
  ASSERT_EQ(frame["updates"].size(), 1u) << frame.dump();
  EXPECT_EQ(frame["updates"][0]["thing"], "T2");
  EXPECT_TRUE(idle(*c));
  // A thing registered again under the name streams afresh.
  c->values("T1", 12, {{"AV-3", 3.0}});
  frame = next(*c);
  ASSERT_EQ(frame["updates"].size(), 1u) << frame.dump();
  EXPECT_EQ(frame["updates"][0]["values"], (json::array({{{"point_id", "AV-3"}, {"value", 3.0}}})));
  // Told of a thing with nothing waiting: only the notice.
  c->thing_removed("T9", {"AV-1"});
  EXPECT_EQ(next(*c)["type"], "thing_removed");
  EXPECT_TRUE(idle(*c));
}

TEST_F(WsChannelQueue, AnswersAreNeverDroppedButBounded) {
  auto c = make(WsLimits{.max_queued_messages = 4});
  // hello + 3 errors fill the queue; the 5th message overflows it.
  for (int i = 0; i < 3; ++i) c->on_text("not json");
  EXPECT_FALSE(c->overflowed());
  c->on_text("not json");
  EXPECT_TRUE(c->overflowed());
  // Values stop being queued once the channel is condemned.
  c->values("T1", 1, {{"AV-1", 1.0}});
  int frames = 0;
  for (std::string frame; c->next_frame(frame);) ++frames;
  EXPECT_EQ(frames, 4);
}

TEST_F(WsChannelQueue, WithoutAHubSubscriptionsAreUnavailable) {
  registry.create_customer({"C000003", "Acme", 1});
  registry.create_building({"C000003", "B001", "HQ", "", 1});
  registry.create_thing({ThingName::parse("C000003_B001_01").value(), 1});
  auto c = make();
  next(*c);
  c->on_text(R"({"type":"subscribe","thing":"C000003_B001_01","point_ids":["AV-1"]})");
  const auto e = next(*c);
  EXPECT_EQ(e["type"], "error");
  EXPECT_EQ(e["code"], "unavailable");
}

}  // namespace
}  // namespace nbms::http
