#include "nbms/ingest/router.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "nbms/ingest/pipeline.hpp"
#include "unit/ingest/fakes.hpp"

namespace nbms::ingest {
namespace {

using nlohmann::json;

constexpr const char* kThing = "C000003_B001_01";

std::string log_payload(const char* time = "202210040945", int points = 2) {
  json j{{"msg_type", "Periodic_Log"}, {"time", time}, {"point_count", points}};
  for (int i = 0; i < points; ++i) {
    j["point_" + std::to_string(i)] = {
        {"msg", json::array({{{"attr_name", "M_Value"}, {"data", i * 1.5}}})},
        {"period", 15},
        {"point_id", "01.0.AV-" + std::to_string(i) + ":p"}};
  }
  return j.dump();
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() { (void)store.create_thing(Thing{*ThingName::parse(kThing), 0}); }
  Router make(std::size_t max_bytes = 1 << 20, LiveSink* live_sink = nullptr) {
    return Router(Router::Ports{store, store, store, store, commands, clock, live_sink},
                  RouterOptions{max_bytes});
  }
  testing::FakeStore store;
  testing::FakeCommands commands;
  testing::FakeClock clock;
  testing::FakeLive live;
};

TEST_F(RouterTest, PeriodicLogIsStoredAndCounted) {
  auto router = make();
  auto out = router.handle(std::string(kThing) + "/periodic_log", log_payload());
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  EXPECT_EQ(out->samples, 2u);
  ASSERT_EQ(store.logs().size(), 1u);
  EXPECT_EQ(store.logs()[0].thing.full(), kThing);
  EXPECT_EQ(router.counters().messages, 1u);
  EXPECT_EQ(router.counters().samples, 2u);
  EXPECT_EQ(router.counters().rejected, 0u);
}

TEST_F(RouterTest, BasicIngestTopicGoesToTheSameHandler) {
  auto router = make();
  auto out = router.handle(
      std::string("$aws/rules/Rule_") + kThing + "/" + kThing + "/periodic_log", log_payload());
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  EXPECT_EQ(store.logs().size(), 1u);
}

TEST_F(RouterTest, InitAndDeleteChangeThePointList) {
  auto router = make();
  json init{{"msg_type", "Init"},
            {"time", "202210040900"},
            {"point_count", 2},
            {"point_0", {{"point_id", "a:1"}, {"object_type", "AI"}}},
            {"point_1", {{"point_id", "b:2"}, {"object_type", "BO"}, {"writable", true}}}};
  ASSERT_TRUE(router.handle(std::string(kThing) + "/init", init.dump())->accepted);
  EXPECT_EQ(store.points_.size(), 2u);
  EXPECT_TRUE(store.points_["b:2"].writable);
  json del{{"msg_type", "Delete"},
           {"time", "202210041000"},
           {"point_count", 1},
           {"point_0", {{"point_id", "a:1"}}}};
  ASSERT_TRUE(router.handle(std::string(kThing) + "/delete", del.dump())->accepted);
  EXPECT_EQ(store.points_.size(), 1u);
  EXPECT_TRUE(store.points_.contains("b:2"));
}

// Points another thing of the building holds: the rest of the message is
// stored, the refused part is one dead letter, counted apart from rejections.
TEST_F(RouterTest, PointsAnotherThingHoldsAreRefusedAndRecorded) {
  auto router = make();
  store.held_by_["01.0.AV-1:p"] = "C000003_B001_02";
  auto out = router.handle(std::string(kThing) + "/periodic_log", log_payload());
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted);
  EXPECT_EQ(out->samples, 1u);
  EXPECT_EQ(router.counters().samples, 1u);
  EXPECT_EQ(router.counters().point_conflicts, 1u);
  EXPECT_EQ(router.counters().rejected, 0u);
  ASSERT_EQ(store.dead().size(), 1u);
  EXPECT_EQ(store.dead()[0].topic, std::string(kThing) + "/periodic_log");
  EXPECT_EQ(store.dead()[0].reason,
            "point_conflict: 1 values not stored: their point ids belong to another thing of "
            "the building ('01.0.AV-1:p' of C000003_B001_02)");
  EXPECT_EQ(store.dead()[0].payload, log_payload());

  json init{{"msg_type", "Init"},
            {"time", "202210040900"},
            {"point_count", 2},
            {"point_0", {{"point_id", "01.0.AV-1:p"}, {"object_type", "AV"}}},
            {"point_1", {{"point_id", "b:2"}, {"object_type", "BO"}}}};
  ASSERT_TRUE(router.handle(std::string(kThing) + "/init", init.dump())->accepted);
  EXPECT_EQ(store.points_.size(), 1u);
  EXPECT_TRUE(store.points_.contains("b:2"));
  EXPECT_EQ(router.counters().point_conflicts, 2u);
  ASSERT_EQ(store.dead().size(), 2u);
  EXPECT_TRUE(store.dead()[1].reason.starts_with("point_conflict: 1 points not stored"));
  EXPECT_EQ(router.counters().messages, 2u);
}

TEST_F(RouterTest, TimestampLastIsAnsweredOnTheCommandTopic) {
  auto router = make();
  const std::string req = R"({"msg_type":"Timestamp_Last","request_id":"r1"})";
  ASSERT_TRUE(router.handle(std::string(kThing) + "/timestamp_last", req));
  ASSERT_EQ(commands.sent.size(), 1u);
  EXPECT_EQ(commands.sent[0].first, kThing);
  EXPECT_EQ(json::parse(commands.sent[0].second)["time"], nullptr);
  ASSERT_TRUE(router.handle(std::string(kThing) + "/periodic_log", log_payload("202210041015")));
  ASSERT_TRUE(router.handle(std::string(kThing) + "/timestamp_last", req));
  auto answer = json::parse(commands.sent[1].second);
  EXPECT_EQ(answer["time"], "202210041015");
  EXPECT_EQ(answer["request_id"], "r1");
  EXPECT_EQ(answer["period"], 15);
}

struct RejectCase {
  std::string topic;
  std::string payload;
  Reject reason;
  std::string detail;  // substring of the dead letter's reason
};

TEST_F(RouterTest, EveryRejectionIsDeadLetteredAndCounted) {
  const std::string t = kThing;
  const std::vector<RejectCase> cases = {
      {"no-slash", "{}", Reject::bad_topic, "topic must be <thing>/<point>"},
      {t + "/a/b", "{}", Reject::bad_topic, "topic must be"},
      {"C000009_B001_01/periodic_log", log_payload(), Reject::unregistered, "not registered"},
      {"not_a_thing_name/periodic_log", "{}", Reject::unregistered, "thing name"},
      {t + "/foo", "{}", Reject::unknown_type, "unknown message type 'foo'"},
      {t + "/alarm", "{}", Reject::reserved, "reserved: alarm is not handled yet"},
      {t + "/periodic_log", std::string(2000, ' '), Reject::too_large, "over the limit of 1024"},
      {t + "/periodic_log", "{oops", Reject::malformed, "not valid JSON"},
      {t + "/periodic_log", log_payload("202302301200"), Reject::malformed, "day does not exist"},
      {t + "/init", R"({"msg_type":"Init","time":"202210040900","point_count":1})",
       Reject::malformed, "point_0 is missing"},
      {t + "/delete", R"({"msg_type":"Delete"})", Reject::malformed, "time: missing"},
      {t + "/timestamp_last", R"({"msg_type":"Init"})", Reject::malformed, "expected"},
  };
  auto router = make(1024);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    auto out = router.handle(c.topic, c.payload);
    ASSERT_TRUE(out) << c.topic;
    EXPECT_FALSE(out->accepted) << c.topic;
    EXPECT_EQ(out->reason, to_string(c.reason)) << c.topic << ": " << out->detail;
    auto dead = store.dead();
    ASSERT_EQ(dead.size(), i + 1);
    EXPECT_EQ(dead.back().topic, c.topic);
    EXPECT_TRUE(dead.back().reason.starts_with(std::string(to_string(c.reason)) + ": "))
        << dead.back().reason;
    EXPECT_NE(dead.back().reason.find(c.detail), std::string::npos) << dead.back().reason;
    EXPECT_EQ(dead.back().payload, c.payload.substr(0, 64 * 1024));
    EXPECT_EQ(dead.back().received_ms, clock.now);
  }
  EXPECT_EQ(router.counters().rejected, cases.size());
  EXPECT_EQ(router.counters().messages, cases.size());
  EXPECT_EQ(router.counters().samples, 0u);
  EXPECT_EQ(router.counters().by_reason[static_cast<std::size_t>(Reject::malformed)], 5u);
  EXPECT_TRUE(store.logs().empty());
  // A good message after all that is still stored.
  EXPECT_TRUE(router.handle(t + "/periodic_log", log_payload())->accepted);
}

const std::string kRealtime =
    R"({"msg_type":"Realtime","time":"202210040945","point_count":2,)"
    R"("point_0":{"point_id":"a:1","msg":[{"attr_name":"M_Value","data":21.5}]},)"
    R"("point_1":{"point_id":"b:2","msg":[{"attr_name":"M_Value","data":null}]}})";
const std::string kControlResult =
    R"({"msg_type":"Control_Result","request_id":"r-1","point_id":"a:1",)"
    R"("result":"accepted","value":22})";

TEST_F(RouterTest, RealtimeGoesToTheLiveSinkNotToStorage) {
  auto router = make(1 << 20, &live);
  clock.now = 1'700'000'123'456;
  auto out = router.handle(std::string(kThing) + "/realtime", kRealtime);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted) << out->detail;
  ASSERT_EQ(live.realtime.size(), 1u);
  const auto& u = live.realtime[0];
  EXPECT_EQ(u.thing.full(), kThing);
  EXPECT_EQ(u.received_ms, 1'700'000'123'456);
  ASSERT_EQ(u.values.size(), 1u);  // the null entry is skipped
  EXPECT_EQ(u.values[0].point_id, "a:1");
  EXPECT_EQ(u.values[0].value, 21.5);
  EXPECT_TRUE(store.logs().empty());
  EXPECT_TRUE(store.dead().empty());
  EXPECT_EQ(router.counters().realtime, 1u);
  EXPECT_EQ(router.counters().messages, 1u);
  EXPECT_EQ(router.counters().samples, 0u);
  // The basic-ingest form too.
  ASSERT_TRUE(
      router
          .handle(std::string("$aws/rules/Rule_") + kThing + "/" + kThing + "/realtime", kRealtime)
          ->accepted);
  EXPECT_EQ(live.realtime.size(), 2u);
}

TEST_F(RouterTest, ControlResultGoesToTheLiveSink) {
  auto router = make(1 << 20, &live);
  auto out = router.handle(std::string(kThing) + "/control_result", kControlResult);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->accepted) << out->detail;
  ASSERT_EQ(live.results.size(), 1u);
  const auto& r = live.results[0];
  EXPECT_EQ(r.thing.full(), kThing);
  EXPECT_EQ(r.request_id, "r-1");
  EXPECT_EQ(r.point_id, "a:1");
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.value, 22.0);
  EXPECT_EQ(router.counters().control_results, 1u);
  EXPECT_EQ(router.counters().messages, 1u);
  EXPECT_TRUE(store.dead().empty());
  EXPECT_TRUE(commands.sent.empty());
}

TEST_F(RouterTest, MalformedLiveMessagesAreDeadLettered) {
  auto router = make(1 << 20, &live);
  const std::string t = kThing;
  const std::vector<RejectCase> cases = {
      {t + "/realtime", "{oops", Reject::malformed, "not valid JSON"},
      {t + "/realtime", R"({"msg_type":"Periodic_Log"})", Reject::malformed, "expected 'Realtime'"},
      {t + "/realtime", R"({"msg_type":"Realtime","time":"202210040945","point_count":1})",
       Reject::malformed, "point_0 is missing"},
      {t + "/control_result", R"({"msg_type":"Control_Result","point_id":"a"})", Reject::malformed,
       "request_id: missing"},
      {t + "/control_result",
       R"({"msg_type":"Control_Result","request_id":"r","point_id":"a","result":"ok"})",
       Reject::malformed, "result: must be 'accepted' or 'failed'"},
      {"C000009_B001_01/realtime", kRealtime, Reject::unregistered, "not registered"},
      {"C000009_B001_01/control_result", kControlResult, Reject::unregistered, "not registered"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    auto out = router.handle(c.topic, c.payload);
    ASSERT_TRUE(out) << c.topic;
    EXPECT_FALSE(out->accepted) << c.topic;
    EXPECT_EQ(out->reason, to_string(c.reason)) << c.topic << ": " << out->detail;
    auto dead = store.dead();
    ASSERT_EQ(dead.size(), i + 1);
    EXPECT_NE(dead.back().reason.find(c.detail), std::string::npos) << dead.back().reason;
    EXPECT_EQ(dead.back().payload, c.payload);
  }
  EXPECT_TRUE(live.realtime.empty());
  EXPECT_TRUE(live.results.empty());
  EXPECT_EQ(router.counters().realtime, 0u);
  EXPECT_EQ(router.counters().control_results, 0u);
  EXPECT_EQ(router.counters().rejected, cases.size());
  EXPECT_EQ(router.counters().by_reason[static_cast<std::size_t>(Reject::malformed)], 5u);
}

TEST_F(RouterTest, WithoutALiveSinkLiveMessagesAreReserved) {
  auto router = make();
  auto rt = router.handle(std::string(kThing) + "/realtime", kRealtime);
  ASSERT_TRUE(rt);
  EXPECT_FALSE(rt->accepted);
  EXPECT_EQ(rt->reason, "reserved");
  auto cr = router.handle(std::string(kThing) + "/control_result", kControlResult);
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->reason, "reserved");
  auto dead = store.dead();
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].reason, "reserved: realtime is not handled yet");
  EXPECT_EQ(dead[1].reason, "reserved: control_result is not handled yet");
  EXPECT_EQ(router.counters().by_reason[static_cast<std::size_t>(Reject::reserved)], 2u);
}

TEST_F(RouterTest, StorageFailureIsAnErrorAndCountsNothing) {
  auto router = make();
  store.fail_next_appends(1);
  auto out = router.handle(std::string(kThing) + "/periodic_log", log_payload());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Errc::unavailable);
  EXPECT_EQ(router.counters().messages, 0u);
  EXPECT_EQ(router.counters().rejected, 0u);
  EXPECT_TRUE(store.dead().empty());
}

TEST_F(RouterTest, PipelineRetriesUntilStorageAcceptsAndKeepsOrder) {
  auto router = make();
  Pipeline pipeline(router, PipelineOptions{.capacity = 8,
                                            .retry_min = std::chrono::milliseconds(1),
                                            .retry_max = std::chrono::milliseconds(4)});
  store.fail_next_appends(3);
  EXPECT_TRUE(
      pipeline.submit_and_wait(std::string(kThing) + "/periodic_log", log_payload("202210040945")));
  EXPECT_TRUE(
      pipeline.submit_and_wait(std::string(kThing) + "/periodic_log", log_payload("202210041000")));
  EXPECT_EQ(pipeline.retries(), 3u);
  EXPECT_FALSE(pipeline.stalled());
  auto logs = store.logs();
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0].time.to_string(), "202210040945");
  EXPECT_EQ(logs[1].time.to_string(), "202210041000");
  EXPECT_EQ(router.counters().messages, 2u);
}

TEST_F(RouterTest, PipelineRunsAnExclusiveTaskAfterWhatWasQueuedBeforeIt) {
  auto router = make();
  Pipeline pipeline(router, PipelineOptions{.capacity = 8,
                                            .retry_min = std::chrono::milliseconds(1),
                                            .retry_max = std::chrono::milliseconds(2)});
  store.fail_next_appends(3);  // the first log is retried while the task waits
  ASSERT_TRUE(
      pipeline.try_submit(std::string(kThing) + "/periodic_log", log_payload("202210040945")));
  ASSERT_TRUE(
      pipeline.try_submit(std::string(kThing) + "/periodic_log", log_payload("202210041000")));
  std::size_t seen = 0;
  std::thread::id ran_on;
  ASSERT_TRUE(pipeline.run_exclusive([&] {
    seen = store.logs().size();
    ran_on = std::this_thread::get_id();
  }));
  EXPECT_EQ(seen, 2u);
  EXPECT_NE(ran_on, std::this_thread::get_id());  // on the worker
  pipeline.stop();
  bool ran = false;
  EXPECT_FALSE(pipeline.run_exclusive([&] { ran = true; }));
  EXPECT_FALSE(ran);
}

TEST_F(RouterTest, PipelineStopGivesUpOnlyAfterTheDrainDeadline) {
  auto router = make();
  Pipeline pipeline(router, PipelineOptions{.capacity = 8,
                                            .retry_min = std::chrono::milliseconds(1),
                                            .retry_max = std::chrono::milliseconds(2)});
  store.fail_next_appends(1'000'000);
  EXPECT_TRUE(pipeline.try_submit(std::string(kThing) + "/periodic_log", log_payload()));
  pipeline.stop(std::chrono::milliseconds(50));
  EXPECT_TRUE(store.logs().empty());
  EXPECT_GT(pipeline.retries(), 0u);
  EXPECT_FALSE(pipeline.try_submit(std::string(kThing) + "/periodic_log", log_payload()));
  EXPECT_FALSE(pipeline.submit_and_wait(std::string(kThing) + "/periodic_log", log_payload()));
}

}  // namespace
}  // namespace nbms::ingest
