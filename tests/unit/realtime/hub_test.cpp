// The realtime hub: MW subscriptions shared by connections, fan-out, controls.
#include "nbms/realtime/hub.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

namespace nbms::realtime {
namespace {

using nlohmann::json;

const ThingName kThing{"C000003", "B001", "01"};
const ThingName kOther{"C000003", "B001", "02"};

class FakeClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now.load(); }
  std::atomic<std::int64_t> now{1'700'000'000'000};
};

// Records what the hub publishes; can be told to refuse.
class FakeCommands final : public CommandPublisher {
 public:
  Result<void> publish(const std::string& topic, std::string payload) override {
    if (on_publish) on_publish();
    std::lock_guard lock(mu);
    if (fail_next > 0) {
      --fail_next;
      return fail(Errc::unavailable, "broker queue full");
    }
    sent.emplace_back(topic, json::parse(payload));
    return {};
  }
  std::vector<std::pair<std::string, json>> take() {
    std::lock_guard lock(mu);
    return std::exchange(sent, {});
  }
  std::mutex mu;
  std::vector<std::pair<std::string, json>> sent;
  int fail_next = 0;
  std::function<void()> on_publish;
};

// LiveValue's point id only views the update being delivered: keep copies.
struct OwnedValue {
  std::string point_id;
  double value = 0;
};

struct ValuesCall {
  std::string thing;
  std::int64_t received_ms = 0;
  std::vector<OwnedValue> values;
};

class FakeSink final : public Sink {
 public:
  void values(const std::string& thing, std::int64_t received_ms,
              const std::vector<LiveValue>& v) override {
    std::lock_guard lock(mu);
    ValuesCall call{thing, received_ms, {}};
    for (const auto& lv : v) call.values.push_back({std::string(lv.point_id), lv.value});
    calls.push_back(std::move(call));
  }
  void control_outcome(const ControlOutcome& o) override {
    std::lock_guard lock(mu);
    outcomes.push_back(o);
  }
  void thing_removed(const std::string& thing, const std::vector<std::string>& points) override {
    std::lock_guard lock(mu);
    removed.emplace_back(thing, points);
  }
  std::mutex mu;
  std::vector<ValuesCall> calls;
  std::vector<ControlOutcome> outcomes;
  std::vector<std::pair<std::string, std::vector<std::string>>> removed;
};

std::vector<std::string> ids_of(const ValuesCall& c) {
  std::vector<std::string> out;
  for (const auto& v : c.values) out.push_back(v.point_id);
  return out;
}

std::set<std::string> point_set(const json& msg) {
  std::set<std::string> out;
  for (const auto& p : msg.at("point_ids")) out.insert(p.get<std::string>());
  return out;
}

RealtimeUpdate update(const ThingName& thing, std::vector<PointValue> values,
                      std::int64_t received_ms = 42) {
  return RealtimeUpdate{thing, received_ms, std::move(values)};
}

ControlResult result(const std::string& request_id, bool accepted, const ThingName& thing = kThing,
                     const std::string& point = "p:sp") {
  ControlResult r;
  r.thing = thing;
  r.request_id = request_id;
  r.point_id = point;
  r.accepted = accepted;
  if (accepted) r.value = 22.5;
  if (!accepted) r.message = "write access denied";
  return r;
}

class HubTest : public ::testing::Test {
 protected:
  explicit HubTest(HubOptions options = {}) : hub(commands, clock, options) {}
  std::pair<ConnectionId, std::shared_ptr<FakeSink>> connect() {
    auto sink = std::make_shared<FakeSink>();
    return {hub.connect(sink), sink};
  }
  FakeCommands commands;
  FakeClock clock;
  Hub hub;
};

TEST_F(HubTest, FirstWatcherSubscribesOnceAndLastLeaverUnsubscribes) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, kThing.full());
  EXPECT_EQ(sent[0].second["msg_type"], "Subscribe");
  EXPECT_EQ(sent[0].second["lease"], 60);
  EXPECT_FALSE(sent[0].second["request_id"].get<std::string>().empty());
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"a", "b"}));

  // The second connection adds only what nobody watched yet.
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"b", "c"}));
  sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"c"}));
  EXPECT_EQ(hub.stats().subscriptions, 3u);

  // c1 leaves a and b; b is still watched by c2.
  hub.unsubscribe(c1, kThing, {"a", "b"});
  sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, kThing.full());
  EXPECT_EQ(sent[0].second, (json{{"msg_type", "Unsubscribe"}, {"point_ids", {"a"}}}));
  EXPECT_EQ(hub.stats().subscriptions, 2u);

  // Leaving what one does not watch changes nothing.
  hub.unsubscribe(c1, kThing, {"a", "b", "zzz"});
  EXPECT_TRUE(commands.take().empty());

  hub.unsubscribe(c2, kThing, {"b", "c"});
  sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(point_set(sent[0].second), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(hub.stats().subscriptions, 0u);
}

TEST_F(HubTest, AForgottenThingLeavesNoWatchNorPendingControl) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"b"}));
  ASSERT_TRUE(hub.subscribe(c2, kOther, {"x"}));
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id);
  auto other_id = hub.control(c2, kOther, "p:sp", 1, 8);
  ASSERT_TRUE(other_id);
  commands.take();

  hub.forget_thing(kThing.full());
  // Nothing is sent to the purged MW (its certificate is revoked).
  EXPECT_TRUE(commands.take().empty());
  EXPECT_EQ(hub.stats().subscriptions, 1u);  // kOther's x
  EXPECT_EQ(hub.stats().pending_controls, 1u);
  ASSERT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(s1->outcomes[0].request_id, *id);
  EXPECT_EQ(s1->outcomes[0].status, ControlStatus::failed);
  EXPECT_EQ(s1->outcomes[0].message, "the thing was deleted");
  EXPECT_TRUE(s2->outcomes.empty());

  // Values of the name reach nobody; the other thing still streams.
  hub.on_realtime(update(kThing, {{"a", 1}, {"b", 2}}));
  hub.on_realtime(update(kOther, {{"x", 3}}));
  EXPECT_TRUE(s1->calls.empty());
  ASSERT_EQ(s2->calls.size(), 1u);
  EXPECT_EQ(s2->calls[0].thing, kOther.full());
  // A late answer to the ended control is unknown, and its timeout never comes.
  hub.on_control_result(result(*id, true));
  clock.now += 60'000;
  hub.tick();
  EXPECT_EQ(s1->outcomes.size(), 1u);

  // Watching the name again asks the MW anew; a disconnect afterwards
  // unsubscribes only what is watched now.
  commands.take();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a"}));
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"a"}));
  hub.disconnect(c1);
  sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second, (json{{"msg_type", "Unsubscribe"}, {"point_ids", {"a"}}}));
}

TEST_F(HubTest, EveryWatcherOfAForgottenThingIsToldOnceWithItsPoints) {
  using Removed = std::vector<std::pair<std::string, std::vector<std::string>>>;
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  auto [c3, s3] = connect();
  auto [c4, s4] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"b", "a"}));
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"b"}));
  ASSERT_TRUE(hub.subscribe(c2, kOther, {"x"}));
  ASSERT_TRUE(hub.subscribe(c3, kOther, {"x"}));
  ASSERT_TRUE(hub.control(c4, kThing, "p:sp", 1, 8));  // a control, no watch

  hub.forget_thing(kThing.full());
  EXPECT_EQ(s1->removed, (Removed{{kThing.full(), {"a", "b"}}}));
  EXPECT_EQ(s2->removed, (Removed{{kThing.full(), {"b"}}}));
  EXPECT_TRUE(s3->removed.empty());
  // c4 watched nothing of it: its control's `failed` outcome is what it gets.
  EXPECT_TRUE(s4->removed.empty());
  ASSERT_EQ(s4->outcomes.size(), 1u);
  EXPECT_EQ(s4->outcomes[0].status, ControlStatus::failed);

  // Nobody watches the name now: forgetting it again tells nobody.
  hub.forget_thing(kThing.full());
  EXPECT_EQ(s1->removed.size(), 1u);
  EXPECT_EQ(s2->removed.size(), 1u);
  // A watch of the name registered again is told again when that one goes.
  ASSERT_TRUE(hub.subscribe(c3, kThing, {"c"}));
  hub.forget_thing(kThing.full());
  EXPECT_EQ(s3->removed, (Removed{{kThing.full(), {"c"}}}));
  EXPECT_EQ(s1->removed.size(), 1u);
  // A disconnected connection is not told.
  ASSERT_TRUE(hub.subscribe(c1, kOther, {"y"}));
  hub.disconnect(c1);
  hub.forget_thing(kOther.full());
  EXPECT_EQ(s1->removed.size(), 1u);
  EXPECT_EQ(s2->removed.back(), (Removed::value_type{kOther.full(), {"x"}}));
  EXPECT_EQ(hub.stats().subscriptions, 0u);
}

TEST_F(HubTest, WatchingTwiceIsANoOp) {
  auto [c1, s1] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "a", "b"}));
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"b", "a"}));
  EXPECT_TRUE(commands.take().empty());
  EXPECT_EQ(hub.stats().subscriptions, 2u);
  // One unsubscribe is enough to leave.
  hub.unsubscribe(c1, kThing, {"a"});
  EXPECT_EQ(commands.take().size(), 1u);
  EXPECT_EQ(hub.stats().subscriptions, 1u);
}

TEST_F(HubTest, DisconnectUnsubscribesExactlyOncePerThing) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c1, kOther, {"x"}));
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"b"}));
  commands.take();

  hub.disconnect(c1);
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 2u);
  std::sort(sent.begin(), sent.end(),
            [](const auto& l, const auto& r) { return l.first < r.first; });
  EXPECT_EQ(sent[0].first, kThing.full());
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"a"}));  // b: c2 still watches
  EXPECT_EQ(sent[1].first, kOther.full());
  EXPECT_EQ(sent[1].second["point_ids"], json::array({"x"}));
  EXPECT_EQ(hub.stats().connections, 1u);

  hub.disconnect(c1);  // again: nothing
  EXPECT_TRUE(commands.take().empty());
  hub.disconnect(c2);
  sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second, (json{{"msg_type", "Unsubscribe"}, {"point_ids", {"b"}}}));
  hub.disconnect(c2);
  EXPECT_TRUE(commands.take().empty());
  const auto st = hub.stats();
  EXPECT_EQ(st.connections, 0u);
  EXPECT_EQ(st.subscriptions, 0u);
}

TEST_F(HubTest, FanOutOnlyToWatchersOneCallPerSinkPerUpdate) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  auto [c3, s3] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"b"}));
  ASSERT_TRUE(hub.subscribe(c3, kOther, {"a"}));

  hub.on_realtime(update(kThing, {{"a", 1}, {"b", 2}, {"c", 3}}, 1234));
  ASSERT_EQ(s1->calls.size(), 1u);
  EXPECT_EQ(s1->calls[0].thing, kThing.full());
  EXPECT_EQ(s1->calls[0].received_ms, 1234);
  EXPECT_EQ(ids_of(s1->calls[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s1->calls[0].values[0].value, 1);
  EXPECT_EQ(s1->calls[0].values[1].value, 2);
  ASSERT_EQ(s2->calls.size(), 1u);
  EXPECT_EQ(ids_of(s2->calls[0]), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(s3->calls.empty());  // watches `a` of another thing

  // Nothing watched in this update: no call at all.
  hub.on_realtime(update(kThing, {{"c", 3}}));
  EXPECT_EQ(s1->calls.size(), 1u);
  EXPECT_EQ(s2->calls.size(), 1u);
  // A thing nobody watches.
  hub.on_realtime(update(ThingName{"C000009", "B001", "01"}, {{"a", 1}}));

  const auto st = hub.stats();
  EXPECT_EQ(st.values_in, 5u);
  EXPECT_EQ(st.values_out, 3u);  // a->c1, b->c1, b->c2
  EXPECT_EQ(st.unwatched_in, 3u);

  hub.on_realtime(update(kOther, {{"a", 7}}));
  ASSERT_EQ(s3->calls.size(), 1u);
  EXPECT_EQ(s3->calls[0].thing, kOther.full());
}

TEST_F(HubTest, ManyConnectionsEachGetOneCall) {
  std::vector<std::shared_ptr<FakeSink>> sinks;
  std::vector<std::string> points;
  for (int p = 0; p < 50; ++p) points.push_back("p" + std::to_string(p));
  for (int i = 0; i < 200; ++i) {
    auto [id, sink] = connect();
    // Connection i watches every point whose number is a multiple of (i % 5 + 1).
    std::vector<std::string> mine;
    for (int p = 0; p < 50; p += i % 5 + 1) mine.push_back(points[static_cast<std::size_t>(p)]);
    ASSERT_TRUE(hub.subscribe(id, kThing, mine));
    sinks.push_back(sink);
  }
  EXPECT_EQ(commands.take().size(), 1u);  // only the first connection had new points
  std::vector<PointValue> values;
  for (int p = 0; p < 50; ++p) values.push_back({points[static_cast<std::size_t>(p)], p * 1.0});
  hub.on_realtime(update(kThing, values));
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    ASSERT_EQ(sinks[i]->calls.size(), 1u) << i;
    const auto step = static_cast<std::size_t>(i % 5 + 1);
    EXPECT_EQ(sinks[i]->calls[0].values.size(), (50 + step - 1) / step) << i;
  }
}

TEST_F(HubTest, ControlAcceptedReachesTheRequesterExactlyOnce) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id) << id.error().message;
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, kThing.full());
  EXPECT_EQ(sent[0].second, (json{{"msg_type", "Control"},
                                  {"request_id", *id},
                                  {"point_id", "p:sp"},
                                  {"value", 22.5},
                                  {"priority", 8}}));
  EXPECT_EQ(hub.stats().pending_controls, 1u);

  hub.on_control_result(result(*id, true));
  ASSERT_EQ(s1->outcomes.size(), 1u);
  const auto& o = s1->outcomes[0];
  EXPECT_EQ(o.request_id, *id);
  EXPECT_EQ(o.thing, kThing.full());
  EXPECT_EQ(o.point_id, "p:sp");
  EXPECT_EQ(o.status, ControlStatus::accepted);
  EXPECT_EQ(o.value, 22.5);
  EXPECT_TRUE(s2->outcomes.empty());
  EXPECT_EQ(hub.stats().pending_controls, 0u);

  // A repeated answer and a late timeout deliver nothing more.
  hub.on_control_result(result(*id, true));
  clock.now += 60'000;
  hub.tick();
  EXPECT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(hub.stats().results_unknown, 1u);
}

TEST_F(HubTest, ControlFailedCarriesTheMessage) {
  auto [c1, s1] = connect();
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id);
  hub.on_control_result(result(*id, false));
  ASSERT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(s1->outcomes[0].status, ControlStatus::failed);
  EXPECT_EQ(s1->outcomes[0].message, "write access denied");
  EXPECT_FALSE(s1->outcomes[0].value.has_value());
  EXPECT_EQ(to_string(ControlStatus::failed), "failed");
}

TEST_F(HubTest, ControlTimesOutExactlyOnce) {
  auto [c1, s1] = connect();
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id);
  clock.now += 9'999;
  hub.tick();
  EXPECT_TRUE(s1->outcomes.empty());
  clock.now += 1;
  hub.tick();
  ASSERT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(s1->outcomes[0].status, ControlStatus::timeout);
  EXPECT_EQ(s1->outcomes[0].request_id, *id);
  EXPECT_EQ(s1->outcomes[0].point_id, "p:sp");
  EXPECT_EQ(s1->outcomes[0].thing, kThing.full());
  hub.tick();
  // The answer after the timeout is not delivered (the user was told already).
  hub.on_control_result(result(*id, true));
  EXPECT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(hub.stats().results_unknown, 1u);
  EXPECT_EQ(hub.stats().pending_controls, 0u);
}

TEST_F(HubTest, ResultFromAnotherThingOrPointIsIgnored) {
  auto [c1, s1] = connect();
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id);
  hub.on_control_result(result(*id, true, kOther));
  hub.on_control_result(result(*id, true, kThing, "p:other"));
  hub.on_control_result(result("no-such-request", true));
  EXPECT_TRUE(s1->outcomes.empty());
  EXPECT_EQ(hub.stats().results_unknown, 3u);
  EXPECT_EQ(hub.stats().pending_controls, 1u);
  hub.on_control_result(result(*id, true));
  ASSERT_EQ(s1->outcomes.size(), 1u);
  EXPECT_EQ(s1->outcomes[0].status, ControlStatus::accepted);
}

TEST_F(HubTest, DisconnectDropsPendingControls) {
  auto [c1, s1] = connect();
  auto id = hub.control(c1, kThing, "p:sp", 22.5, 8);
  ASSERT_TRUE(id);
  hub.disconnect(c1);
  EXPECT_EQ(hub.stats().pending_controls, 0u);
  hub.on_control_result(result(*id, true));
  clock.now += 60'000;
  hub.tick();
  EXPECT_TRUE(s1->outcomes.empty());
  EXPECT_EQ(hub.stats().results_unknown, 1u);
}

TEST_F(HubTest, RequestIdsAreUnique) {
  auto [c1, s1] = connect();
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = hub.control(c1, kThing, "p:sp", i, 8);
    ASSERT_TRUE(id);
    EXPECT_LE(id->size(), 64u);
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST_F(HubTest, LeasesAreRenewedFromTick) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c2, kOther, {"x"}));
  clock.now += 5'000;
  ASSERT_TRUE(hub.subscribe(c2, kThing, {"c"}));
  commands.take();

  clock.now += 14'999;  // 19.999 s after the first Subscribe
  hub.tick();
  EXPECT_TRUE(commands.take().empty());
  clock.now += 1;
  hub.tick();
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 2u);  // one Subscribe per thing, with every watched point
  std::sort(sent.begin(), sent.end(),
            [](const auto& l, const auto& r) { return l.first < r.first; });
  EXPECT_EQ(sent[0].first, kThing.full());
  EXPECT_EQ(sent[0].second["msg_type"], "Subscribe");
  EXPECT_EQ(sent[0].second["lease"], 60);
  EXPECT_EQ(point_set(sent[0].second), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(sent[1].first, kOther.full());
  EXPECT_EQ(point_set(sent[1].second), (std::set<std::string>{"x"}));

  hub.tick();  // renewed just now
  EXPECT_TRUE(commands.take().empty());
  clock.now += 20'000;
  hub.tick();
  EXPECT_EQ(commands.take().size(), 2u);

  // Nothing watched: nothing renewed.
  hub.disconnect(c1);
  hub.disconnect(c2);
  commands.take();
  clock.now += 20'000;
  hub.tick();
  EXPECT_TRUE(commands.take().empty());
}

TEST_F(HubTest, FailedRenewalIsRetriedOnTheNextTick) {
  auto [c1, s1] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a"}));
  commands.take();
  clock.now += 20'000;
  commands.fail_next = 1;
  hub.tick();
  EXPECT_TRUE(commands.take().empty());
  clock.now += 1'000;
  hub.tick();
  EXPECT_EQ(commands.take().size(), 1u);
  EXPECT_EQ(hub.stats().subscriptions, 1u);
}

class SmallHubTest : public HubTest {
 protected:
  SmallHubTest() : HubTest(HubOptions{.max_points_per_connection = 3}) {}
};

TEST_F(SmallHubTest, PointLimitPerConnection) {
  auto [c1, s1] = connect();
  auto [c2, s2] = connect();
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  ASSERT_TRUE(hub.subscribe(c1, kOther, {"a"}));  // the limit counts every thing
  commands.take();
  auto r = hub.subscribe(c1, kThing, {"c"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_NE(r.error().message.find("watching 4 points would exceed the limit of 3"),
            std::string::npos)
      << r.error().message;
  EXPECT_TRUE(commands.take().empty());
  EXPECT_EQ(hub.stats().subscriptions, 3u);
  // Points already watched do not count twice; other connections have their own limit.
  EXPECT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  EXPECT_TRUE(hub.subscribe(c2, kThing, {"c", "d", "e"}));
  EXPECT_FALSE(hub.subscribe(c2, kThing, {"c", "f"}));
  // Leaving makes room again.
  hub.unsubscribe(c1, kOther, {"a"});
  EXPECT_TRUE(hub.subscribe(c1, kThing, {"c"}));
}

TEST_F(HubTest, PublisherFailureIsUnavailableAndChangesNothing) {
  auto [c1, s1] = connect();
  commands.fail_next = 1;
  auto r = hub.subscribe(c1, kThing, {"a", "b"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("broker queue full"), std::string::npos);
  EXPECT_EQ(hub.stats().subscriptions, 0u);
  hub.on_realtime(update(kThing, {{"a", 1}}));
  EXPECT_TRUE(s1->calls.empty());
  // Nothing recorded: the next attempt asks the MW again, and renewals are not sent
  // for points nobody watches.
  clock.now += 60'000;
  hub.tick();
  EXPECT_TRUE(commands.take().empty());
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a", "b"}));
  auto sent = commands.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second["point_ids"], json::array({"a", "b"}));

  // A control that cannot be sent is an error now, never an outcome later.
  commands.fail_next = 1;
  auto c = hub.control(c1, kThing, "p:sp", 1, 8);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::unavailable);
  EXPECT_EQ(hub.stats().pending_controls, 0u);
  clock.now += 60'000;
  hub.tick();
  EXPECT_TRUE(s1->outcomes.empty());
}

TEST_F(HubTest, BadInputIsRefused) {
  auto [c1, s1] = connect();
  auto r = hub.subscribe(c1, kThing, {"ok", "bad/id"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_TRUE(commands.take().empty());
  EXPECT_EQ(hub.stats().subscriptions, 0u);
  EXPECT_EQ(hub.subscribe(9999, kThing, {"a"}).error().code, Errc::not_found);
  EXPECT_EQ(hub.control(9999, kThing, "a", 1, 8).error().code, Errc::not_found);
  EXPECT_EQ(hub.control(c1, kThing, "a\"b", 1, 8).error().code, Errc::invalid_argument);
  hub.unsubscribe(9999, kThing, {"a"});  // no-op
  hub.disconnect(9999);
  EXPECT_TRUE(commands.take().empty());
}

TEST_F(HubTest, PublisherIsCalledWithTheStateLockReleased) {
  auto [c1, s1] = connect();
  int calls = 0;
  // stats() takes the hub's state lock: this would deadlock if publish ran under it.
  commands.on_publish = [&] {
    (void)hub.stats();
    ++calls;
  };
  ASSERT_TRUE(hub.subscribe(c1, kThing, {"a"}));
  ASSERT_TRUE(hub.control(c1, kThing, "a", 1, 8));
  hub.unsubscribe(c1, kThing, {"a"});
  EXPECT_EQ(calls, 3);
}

TEST_F(HubTest, ConcurrentUseIsSafe) {
  // Subscribers come and go while values and results flow (run under TSan in CI).
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    int n = 0;
    while (!stop.load()) {
      hub.on_realtime(update(kThing, {{"a", n * 1.0}, {"b", 1}, {"c", 2}}));
      hub.on_control_result(result("unknown-" + std::to_string(n), true));
      hub.tick();
      ++n;
    }
  });
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto sink = std::make_shared<FakeSink>();
        const auto id = hub.connect(sink);
        (void)hub.subscribe(id, kThing, {"a", t % 2 ? "b" : "c"});
        (void)hub.control(id, kThing, "a", 1, 8);
        if (i % 3 == 0) hub.unsubscribe(id, kThing, {"a"});
        hub.disconnect(id);
      }
    });
  }
  for (auto& c : clients) c.join();
  stop = true;
  feeder.join();
  const auto st = hub.stats();
  EXPECT_EQ(st.connections, 0u);
  EXPECT_EQ(st.subscriptions, 0u);
  EXPECT_EQ(st.pending_controls, 0u);
  // Every Subscribe was matched by an Unsubscribe, in order, per point.
  std::map<std::string, int> watched;
  for (const auto& [topic, msg] : commands.take()) {
    if (msg["msg_type"] == "Control") continue;
    const int delta = msg["msg_type"] == "Subscribe" ? 1 : -1;
    for (const auto& p : msg["point_ids"]) {
      auto& w = watched[p.get<std::string>()];
      if (delta == 1 && w == 1) continue;  // a renewal
      w += delta;
      ASSERT_GE(w, 0) << p;
      ASSERT_LE(w, 1) << p;
    }
  }
  for (const auto& [p, w] : watched) EXPECT_EQ(w, 0) << p;
}

}  // namespace
}  // namespace nbms::realtime
