// The simulated MW's live side: realtime streams under leases, and controls.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "mwsim/model.hpp"

namespace nbms::mwsim {
namespace {

using nlohmann::json;

SimConfig config(int points = 120) {
  SimConfig c;
  c.points = points;
  return c;
}

// Simulated time: a weekday at 10:00, when equipment runs.
const double kSim = LocalMinute::from_civil(2025, 10, 6, 10, 0).minutes();

std::size_t index_of(const SimThing& t, const std::string& object_type, bool writable,
                     std::optional<Behavior> behavior = std::nullopt) {
  for (std::size_t i = 0; i < t.points().size(); ++i) {
    const auto& p = t.points()[i];
    if (p.object_type == object_type && p.writable == writable &&
        (!behavior || p.behavior == *behavior)) {
      return i;
    }
  }
  ADD_FAILURE() << "no " << object_type << " point with writable=" << writable;
  return 0;
}

Command subscribe(std::vector<std::string> ids, std::int64_t lease_s = 60) {
  Command c;
  c.msg_type = "Subscribe";
  c.request_id = "s-1";
  c.point_ids = std::move(ids);
  c.lease_s = lease_s;
  return c;
}

Command control(const std::string& point_id, std::optional<double> value, int priority = 8) {
  Command c;
  c.msg_type = "Control";
  c.request_id = "c-1";
  c.point_id = point_id;
  c.value = value;
  c.priority = priority;
  return c;
}

// point_id -> value of a Realtime message, checking its shape on the way.
std::map<std::string, json> decode_realtime(const std::string& payload) {
  const auto j = json::parse(payload);
  EXPECT_EQ(j.at("msg_type"), "Realtime");
  EXPECT_TRUE(LocalMinute::parse(j.at("time").get<std::string>()).has_value());
  const auto n = j.at("point_count").get<std::size_t>();
  EXPECT_EQ(j.size(), 3 + n);
  std::map<std::string, json> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = j.at("point_" + std::to_string(i));
    const auto& msg = p.at("msg");
    EXPECT_EQ(msg.size(), 1u);
    EXPECT_EQ(msg[0].at("attr_name"), "M_Value");
    out[p.at("point_id").get<std::string>()] = msg[0].at("data");
  }
  return out;
}

TEST(MwsimLive, ParseCommands) {
  auto s = parse_command(
      R"({"msg_type":"Subscribe","request_id":"r","lease":60,"point_ids":["a","b"]})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->point_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->lease_s, 60);
  auto u = parse_command(R"({"msg_type":"Unsubscribe","point_ids":["a"]})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->point_ids, (std::vector<std::string>{"a"}));
  auto c = parse_command(
      R"({"msg_type":"Control","request_id":"r","point_id":"p","value":21.5,"priority":8})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->point_id, "p");
  EXPECT_EQ(c->value, 21.5);
  EXPECT_EQ(c->priority, 8);
  // A Control the MW can answer (with a failure) parses; one without an id cannot.
  auto bad_value = parse_command(R"({"msg_type":"Control","request_id":"r","value":"x"})");
  ASSERT_TRUE(bad_value);
  EXPECT_FALSE(bad_value->value.has_value());
  EXPECT_FALSE(parse_command(R"({"msg_type":"Control","point_id":"p","value":1})"));
  EXPECT_FALSE(parse_command(R"({"msg_type":"Subscribe","lease":60})"));
  EXPECT_FALSE(parse_command(R"({"msg_type":"Subscribe","lease":60,"point_ids":[1]})"));
  EXPECT_FALSE(parse_command(R"({"msg_type":"Subscribe","lease":0,"point_ids":[]})"));
  EXPECT_FALSE(parse_command(R"({"msg_type":"Subscribe","lease":"60","point_ids":[]})"));
  EXPECT_FALSE(parse_command(R"({"msg_type":"Unsubscribe","point_ids":"a"})"));
}

TEST(MwsimLive, CommandablePointsAreWritable) {
  const SimThing t(config(883), 1);
  std::set<std::string> writable_types;
  for (const auto& p : t.points()) {
    const bool meter = p.behavior == Behavior::elec_energy || p.behavior == Behavior::gas_volume;
    if (p.object_type == "AI" || p.object_type == "BI" || meter) {
      EXPECT_FALSE(p.writable) << p.point_id;
    } else {
      EXPECT_TRUE(p.writable) << p.point_id;  // AO AV BO BV MSV
      writable_types.insert(p.object_type);
    }
  }
  EXPECT_EQ(writable_types, (std::set<std::string>{"AO", "AV", "BO", "MSV"}));
}

TEST(MwsimLive, SubscribeStreamsExistingPointsUntilTheLeaseEnds) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  EXPECT_FALSE(live.next_due_ms());
  const auto a = t.points()[0].point_id;
  const auto b = t.points()[3].point_id;
  EXPECT_TRUE(live.handle(subscribe({a, b, "no-such-point"}, 10), 0, kSim).empty());
  EXPECT_EQ(live.streaming(0), 2u);
  EXPECT_EQ(live.next_due_ms(), 0);

  // Sent at once, then once per interval.
  auto first = live.due(0, kSim);
  ASSERT_TRUE(first);
  auto values = decode_realtime(*first);
  EXPECT_EQ(values.size(), 2u);
  EXPECT_TRUE(values.contains(a));
  EXPECT_TRUE(values.contains(b));
  EXPECT_EQ(json::parse(*first)["point_0"]["point_id"], a);  // in point order
  EXPECT_FALSE(live.due(999, kSim));
  EXPECT_EQ(live.next_due_ms(), 1000);
  EXPECT_TRUE(live.due(1000, kSim + 0.1));

  // The lease: 10 s without renewal.
  for (std::int64_t ms = 2000; ms < 10'000; ms += 1000) {
    EXPECT_TRUE(live.due(ms, kSim)) << ms;
  }
  EXPECT_FALSE(live.due(10'000, kSim));
  EXPECT_EQ(live.streaming(10'000), 0u);
  EXPECT_FALSE(live.next_due_ms());
}

TEST(MwsimLive, RenewalExtendsTheLeaseAndUnsubscribeStops) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  const auto a = t.points()[0].point_id;
  const auto b = t.points()[1].point_id;
  live.handle(subscribe({a, b}, 10), 0, kSim);
  ASSERT_TRUE(live.due(0, kSim));
  live.handle(subscribe({a}, 10), 8000, kSim);  // renews a only
  ASSERT_TRUE(live.due(8000, kSim));
  auto at_10s = live.due(10'000, kSim);
  ASSERT_TRUE(at_10s);
  auto values = decode_realtime(*at_10s);
  EXPECT_TRUE(values.contains(a));
  EXPECT_FALSE(values.contains(b));  // its lease ended
  Command unsub;
  unsub.msg_type = "Unsubscribe";
  unsub.point_ids = {a};
  live.handle(unsub, 11'000, kSim);
  EXPECT_FALSE(live.due(11'000, kSim));
  EXPECT_EQ(live.streaming(11'000), 0u);
}

TEST(MwsimLive, AnalogValuesChangeOnEverySend) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  std::vector<std::string> analog;
  for (const auto& p : t.points()) {
    const bool discrete = p.object_type[0] == 'B' || p.object_type == "MSV";
    const bool meter = p.behavior == Behavior::elec_energy || p.behavior == Behavior::gas_volume;
    if (!discrete && !meter) analog.push_back(p.point_id);
  }
  ASSERT_GT(analog.size(), 10u);
  live.handle(subscribe(analog), 0, kSim);
  std::map<std::string, json> last;
  // Real time (speed 1): the simulated clock moves one second per send.
  for (int k = 0; k < 30; ++k) {
    auto msg = live.due(k * 1000, kSim + k / 60.0);
    ASSERT_TRUE(msg) << k;
    auto values = decode_realtime(*msg);
    ASSERT_EQ(values.size(), analog.size());
    for (const auto& [id, v] : values) {
      ASSERT_TRUE(v.is_number()) << id;
      if (k > 0) {
        EXPECT_NE(v, last[id]) << id << " at " << k;
      }
      const auto& def = t.points()[*t.find(id)];
      if (def.hi > def.lo) {
        EXPECT_GE(v.get<double>(), def.lo) << id;
        EXPECT_LE(v.get<double>(), def.hi) << id;
      }
    }
    last = values;
  }
}

TEST(MwsimLive, LiveValuesMoveBetweenMinutes) {
  const SimThing t(config(), 1);
  const auto m = LocalMinute::from_civil(2025, 10, 6, 10, 0);
  for (std::size_t i = 0; i < t.points().size(); ++i) {
    const auto v0 = t.value(i, m);
    const auto v1 = t.value(i, m.plus_minutes(1));
    EXPECT_EQ(t.live_value(i, m.minutes()), v0) << i;
    const auto mid = t.live_value(i, m.minutes() + 0.5);
    ASSERT_TRUE(mid.has_value());
    if (t.points()[i].object_type[0] == 'B' || t.points()[i].object_type == "MSV") {
      EXPECT_EQ(mid, v0) << i;  // states do not take values in between
    } else {
      EXPECT_GE(*mid, std::min(*v0, *v1) - 1e-9) << i;
      EXPECT_LE(*mid, std::max(*v0, *v1) + 1e-9) << i;
    }
  }
}

TEST(MwsimLive, ControlWritesAWritablePoint) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  const auto sp = index_of(t, "AV", true, Behavior::setpoint);
  const auto& id = t.points()[sp].point_id;
  live.handle(subscribe({id}), 0, kSim);
  ASSERT_TRUE(live.due(0, kSim));

  auto out = live.handle(control(id, 27.5), 500, kSim);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].point, "control_result");
  EXPECT_TRUE(out[0].accepted);
  EXPECT_EQ(json::parse(out[0].payload), (json{{"msg_type", "Control_Result"},
                                               {"request_id", "c-1"},
                                               {"point_id", id},
                                               {"result", "accepted"},
                                               {"value", 27.5}}));
  // The change is streamed at once and stays, live and in the periodic log.
  auto msg = live.due(500, kSim);
  ASSERT_TRUE(msg);
  EXPECT_EQ(decode_realtime(*msg)[id], 27.5);
  EXPECT_EQ(decode_realtime(*live.due(1500, kSim + 1))[id], 27.5);  // not moved: written
  EXPECT_EQ(t.value(sp, LocalMinute::from_civil(2025, 10, 6, 11, 0)), 27.5);
  const auto log = json::parse(t.periodic_log(LocalMinute::from_civil(2025, 10, 6, 10, 15)));
  EXPECT_EQ(log["point_" + std::to_string(sp)]["msg"][0]["data"], 27.5);

  // Binary and multi-state points take their states.
  const auto bo = index_of(t, "BO", true);
  auto on = live.handle(control(t.points()[bo].point_id, 1), 600, kSim);
  EXPECT_TRUE(on.at(0).accepted);
  EXPECT_EQ(t.written(bo), 1.0);
  const auto msv = index_of(t, "MSV", true);
  auto speed = live.handle(control(t.points()[msv].point_id, 2), 700, kSim);
  EXPECT_TRUE(speed.at(0).accepted);
  EXPECT_EQ(t.written(msv), 2.0);
}

TEST(MwsimLive, ControlFailuresAreAnswered) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  const auto ai = index_of(t, "AI", false);
  const auto bo = index_of(t, "BO", true);
  const auto msv = index_of(t, "MSV", true);
  const auto av = index_of(t, "AV", true, Behavior::setpoint);
  struct Case {
    Command command;
    std::string message;
  };
  const std::vector<Case> cases = {
      {control("no-such-point", 1), "unknown point 'no-such-point'"},
      {control(t.points()[ai].point_id, 1), "is not writable"},
      {control(t.points()[bo].point_id, 2), "a binary point takes 0 or 1"},
      {control(t.points()[msv].point_id, 0), "states are 1.."},
      {control(t.points()[msv].point_id, 1.5), "states are 1.."},
      {control(t.points()[av].point_id, std::nullopt), "value must be a number"},
      {control(t.points()[av].point_id, 20, 17), "priority must be 1..16"},
  };
  for (const auto& c : cases) {
    auto out = live.handle(c.command, 0, kSim);
    ASSERT_EQ(out.size(), 1u) << c.message;
    EXPECT_FALSE(out[0].accepted);
    const auto j = json::parse(out[0].payload);
    EXPECT_EQ(j["msg_type"], "Control_Result");
    EXPECT_EQ(j["request_id"], "c-1");
    EXPECT_EQ(j["result"], "failed");
    EXPECT_NE(j["message"].get<std::string>().find(c.message), std::string::npos)
        << j["message"] << " / " << c.message;
  }
  for (std::size_t i = 0; i < t.points().size(); ++i) EXPECT_FALSE(t.written(i)) << i;
  // A known point's present value comes with the failure.
  auto out = live.handle(control(t.points()[ai].point_id, 1), 0, kSim);
  EXPECT_TRUE(json::parse(out[0].payload)["value"].is_number());
}

TEST(MwsimLive, StreamsThatDriftApartAreBatchedAgain) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  const auto a = t.points()[0].point_id;
  const auto sp = index_of(t, "AV", true, Behavior::setpoint);
  live.handle(subscribe({a}), 0, kSim);
  ASSERT_TRUE(live.due(0, kSim));
  live.handle(subscribe({t.points()[sp].point_id}), 300, kSim);  // a later watcher
  EXPECT_EQ(decode_realtime(*live.due(300, kSim)).size(), 1u);   // sent at once, alone
  // At 1000 the first is due and the second (due at 1300) goes along.
  EXPECT_EQ(decode_realtime(*live.due(1000, kSim)).size(), 2u);
  EXPECT_FALSE(live.due(1300, kSim));
  EXPECT_EQ(decode_realtime(*live.due(2000, kSim)).size(), 2u);
}

TEST(MwsimLive, OtherCommandsAreIgnored) {
  SimThing t(config(), 1);
  LiveSession live(t, 1000);
  Command c;
  c.msg_type = "Timestamp_Last";
  EXPECT_TRUE(live.handle(c, 0, kSim).empty());
  EXPECT_FALSE(live.next_due_ms());
}

TEST(MwsimLive, RealtimeMessageEscapesAndNulls) {
  std::vector<PointDef> points(2);
  points[0].point_id = "a\"b";
  points[1].point_id = "c";
  const auto text = realtime_message(points, {{0, 1.5}, {1, std::nullopt}},
                                     LocalMinute::from_civil(2025, 1, 2, 3, 4));
  const auto j = json::parse(text);
  EXPECT_EQ(j["time"], "202501020304");
  EXPECT_EQ(j["point_count"], 2);
  EXPECT_EQ(j["point_0"]["point_id"], "a\"b");
  EXPECT_EQ(j["point_0"]["msg"][0]["data"], 1.5);
  EXPECT_TRUE(j["point_1"]["msg"][0]["data"].is_null());
  EXPECT_EQ(json::parse(realtime_message(points, {{0, 3.4e38}}, {}))["point_0"]["msg"][0]["data"],
            3.4e38);
}

}  // namespace
}  // namespace nbms::mwsim
