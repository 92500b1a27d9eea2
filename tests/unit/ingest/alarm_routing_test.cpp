// The router hands alarm and disconnect messages to the alarm sink, acks them
// only once the sink has stored them, and rejects bad ones precisely.
#include <gtest/gtest.h>

#include "nbms/ingest/router.hpp"
#include "unit/ingest/fakes.hpp"

namespace nbms::ingest {
namespace {

constexpr const char* kThing = "C000003_B001_01";

const char* kRaise =
    R"({"msg_type":"Alarm","alarm_id":"AL-1","status":"raise","time":"20221004094512",)"
    R"("point_id":"01.1.AI-101:SAT","name":"Supply air high","priority":100})";

class AlarmRoutingTest : public ::testing::Test {
 protected:
  AlarmRoutingTest() { (void)store.create_thing(Thing{*ThingName::parse(kThing), 0}); }
  Router make(AlarmSink* sink) {
    Router::Ports ports{store, store, store, store, commands, clock, nullptr};
    ports.alarms = sink;
    return Router(ports, RouterOptions{});
  }
  std::string topic(const char* point) { return std::string(kThing) + "/" + point; }
  testing::FakeStore store;
  testing::FakeCommands commands;
  testing::FakeClock clock;
  testing::FakeAlarms alarms;
};

TEST_F(AlarmRoutingTest, AlarmGoesToTheSink) {
  auto router = make(&alarms);
  auto out = router.handle(topic("alarm"), kRaise);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted) << out->detail;
  ASSERT_EQ(alarms.alarms.size(), 1u);
  EXPECT_EQ(alarms.alarms[0].thing.full(), kThing);
  EXPECT_EQ(alarms.alarms[0].alarm_id, "AL-1");
  EXPECT_EQ(router.counters().alarms, 1u);
  EXPECT_EQ(router.counters().messages, 1u);
  EXPECT_TRUE(store.dead().empty());
}

TEST_F(AlarmRoutingTest, BasicIngestTopicToo) {
  auto router = make(&alarms);
  auto out =
      router.handle(std::string("$aws/rules/Rule_") + kThing + "/" + kThing + "/alarm", kRaise);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  EXPECT_EQ(alarms.alarms.size(), 1u);
}

TEST_F(AlarmRoutingTest, DuplicatesAreAcceptedAndCountedAsIgnored) {
  auto router = make(&alarms);
  alarms.result = EventResult::duplicate;
  auto out = router.handle(topic("alarm"), kRaise);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  EXPECT_EQ(router.counters().alarms, 0u);
  EXPECT_EQ(router.counters().alarms_ignored, 1u);
  EXPECT_EQ(router.counters().rejected, 0u);
}

TEST_F(AlarmRoutingTest, StorageFailureIsNotAcked) {
  auto router = make(&alarms);
  alarms.fail = Error{Errc::unavailable, "disk full"};
  auto out = router.handle(topic("alarm"), kRaise);
  ASSERT_FALSE(out) << "the pipeline retries; the broker keeps the message";
  EXPECT_EQ(out.error().code, Errc::unavailable);
  EXPECT_EQ(router.counters().messages, 0u);
  EXPECT_TRUE(store.dead().empty());
  auto d = router.handle(topic("disconnect"), R"({"msg_type":"Disconnect","status":"connected"})");
  ASSERT_FALSE(d);
}

TEST_F(AlarmRoutingTest, DisconnectGoesToTheSink) {
  auto router = make(&alarms);
  auto out =
      router.handle(topic("disconnect"), R"({"msg_type":"Disconnect","status":"disconnected"})");
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  ASSERT_EQ(alarms.disconnects.size(), 1u);
  EXPECT_FALSE(alarms.disconnects[0].connected);
  EXPECT_FALSE(alarms.disconnects[0].stamp);
  EXPECT_EQ(router.counters().disconnects, 1u);
}

TEST_F(AlarmRoutingTest, MalformedIsRejectedWithItsReason) {
  auto router = make(&alarms);
  auto out = router.handle(
      topic("alarm"),
      R"({"msg_type":"Alarm","alarm_id":"AL-1","status":"on","time":"20221004094512"})");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->accepted);
  EXPECT_EQ(out->reason, "malformed");
  EXPECT_EQ(out->detail, "status: must be 'raise', 'update' or 'clear'");
  ASSERT_EQ(store.dead().size(), 1u);
  EXPECT_EQ(store.dead()[0].reason, "malformed: status: must be 'raise', 'update' or 'clear'");
  auto d = router.handle(topic("disconnect"), R"({"msg_type":"Disconnect"})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail, "status: missing");
  EXPECT_TRUE(alarms.alarms.empty());
  EXPECT_TRUE(alarms.disconnects.empty());
}

TEST_F(AlarmRoutingTest, PeriodicLogFeedsLiveness) {
  auto router = make(&alarms);
  const char* log =
      R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":1,"point_0":)"
      R"({"msg":[{"attr_name":"M_Value","data":1}],"period":5,"point_id":"01.0.AV-1:p"}})";
  alarms.fail = Error{Errc::unavailable, "disk full"};
  auto failed = router.handle(topic("periodic_log"), log);
  ASSERT_FALSE(failed) << "retried by the pipeline";
  EXPECT_EQ(router.counters().samples, 0u) << "not counted before it is done";
  alarms.fail.reset();
  auto out = router.handle(topic("periodic_log"), log);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  ASSERT_EQ(alarms.logs.size(), 1u);
  EXPECT_EQ(alarms.logs[0], (std::pair<std::string, int>{kThing, 5}));
  EXPECT_EQ(router.counters().samples, 1u);
}

TEST_F(AlarmRoutingTest, WithoutASinkTheyStayReserved) {
  auto router = make(nullptr);
  for (const char* point : {"alarm", "disconnect"}) {
    auto out = router.handle(topic(point), kRaise);
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->accepted);
    EXPECT_EQ(out->reason, "reserved");
    EXPECT_EQ(out->detail, std::string(point) + " is not handled yet");
  }
}

}  // namespace
}  // namespace nbms::ingest
