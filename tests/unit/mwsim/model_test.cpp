// The middleware simulator's model: point list, values and messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "mwsim/model.hpp"
#include "mwsim/replay.hpp"
#include "nbms/core/ids.hpp"

namespace nbms::mwsim {
namespace {

LocalMinute at(int y, int mo, int d, int h, int mi) {
  return LocalMinute::from_civil(y, mo, d, h, mi);
}

SimConfig config(int points = 120, std::uint64_t seed = 42) {
  SimConfig c;
  c.customer = "C000001";
  c.building = "B001";
  c.points = points;
  c.seed = seed;
  return c;
}

TEST(MwsimModel, ThingNamesAndTopics) {
  EXPECT_EQ(thing_name("C000001", "B001", 1), "C000001_B001_01");
  EXPECT_EQ(thing_name("C000001", "B001", 12), "C000001_B001_12");
  EXPECT_EQ(thing_name("C000001", "B001", 123), "C000001_B001_123");
  EXPECT_TRUE(ThingName::parse(thing_name("C000001", "B001", 7)).has_value());
  EXPECT_EQ(topic_for("C1_B1_01", "periodic_log", false), "C1_B1_01/periodic_log");
  EXPECT_EQ(topic_for("C1_B1_01", "init", true), "$aws/rules/Rule_C1_B1_01/C1_B1_01/init");
}

TEST(MwsimModel, CalendarHelpers) {
  EXPECT_EQ(weekday(at(2025, 10, 6, 12, 0)), 0);  // Monday
  EXPECT_EQ(weekday(at(2025, 10, 4, 12, 0)), 5);  // Saturday
  EXPECT_EQ(weekday(at(2000, 1, 1, 0, 0)), 5);
  EXPECT_EQ(floor_slot(at(2025, 1, 1, 10, 14)), at(2025, 1, 1, 10, 0));
  EXPECT_EQ(floor_slot(at(2025, 1, 1, 10, 15)), at(2025, 1, 1, 10, 15));
  EXPECT_EQ(next_slot_after(at(2025, 1, 1, 10, 15)), at(2025, 1, 1, 10, 30));
  EXPECT_EQ(next_slot_after(at(2025, 1, 1, 10, 7)), at(2025, 1, 1, 10, 15));
  EXPECT_EQ(next_slot_after(at(2025, 12, 31, 23, 45)), at(2026, 1, 1, 0, 0));
}

TEST(MwsimModel, SameSeedSamePointsAndValues) {
  const SimThing a(config(), 1);
  const SimThing b(config(), 1);
  ASSERT_EQ(a.points().size(), b.points().size());
  for (std::size_t i = 0; i < a.points().size(); ++i) {
    EXPECT_EQ(a.points()[i].point_id, b.points()[i].point_id);
  }
  EXPECT_EQ(a.init(at(2025, 3, 3, 9, 0)), b.init(at(2025, 3, 3, 9, 0)));
  // b visits the times in another order (a restart, a backfill): same values.
  for (int k = 20; k >= 0; --k) (void)b.periodic_log(at(2025, 3, 3, 0, 0).plus_minutes(15 * k));
  for (int k = 0; k < 96 * 3; ++k) {
    const auto t = at(2025, 3, 3, 0, 0).plus_minutes(15 * k);
    ASSERT_EQ(a.periodic_log(t), b.periodic_log(t)) << t.to_string();
  }
}

TEST(MwsimModel, OtherSeedOtherValues) {
  const SimThing a(config(120, 1), 1);
  const SimThing b(config(120, 2), 1);
  EXPECT_NE(a.periodic_log(at(2025, 3, 3, 9, 0)), b.periodic_log(at(2025, 3, 3, 9, 0)));
}

TEST(MwsimModel, PointIdsUniqueAndValid) {
  std::set<std::string> ids;
  std::size_t total = 0;
  for (int points : {1, 7, 120, 883}) {
    for (int thing = 1; thing <= 3; ++thing) {
      const SimThing t(config(points), thing);
      ASSERT_EQ(t.points().size(), static_cast<std::size_t>(points));
      for (const auto& p : t.points()) {
        EXPECT_TRUE(validate_point_id(p.point_id).has_value()) << p.point_id;
        EXPECT_LE(p.name.size(), 200u);
        EXPECT_EQ(p.point_id.substr(p.point_id.find(':') + 1), p.name);
        char prefix[8];
        std::snprintf(prefix, sizeof prefix, "%02d.", thing);
        EXPECT_EQ(p.point_id.substr(0, 3), prefix);
        EXPECT_FALSE(p.equipment.empty());
        EXPECT_EQ(p.location.rfind("Sim Building B001/", 0), 0u) << p.location;
      }
      if (points == 883) {
        for (const auto& p : t.points()) ids.insert(p.point_id);
        total += t.points().size();
      }
    }
  }
  EXPECT_EQ(ids.size(), total);  // unique within the building
}

TEST(MwsimModel, PointListIsRealistic) {
  const SimThing t(config(883), 1);
  std::set<std::string> kinds;
  std::set<std::string> types;
  std::set<std::string> units;
  for (const auto& p : t.points()) {
    kinds.insert(p.equipment.substr(0, p.equipment.find('/')));
    types.insert(p.object_type);
    units.insert(p.unit);
    if (p.object_type == "BO" || (p.object_type == "AV" && p.behavior == Behavior::setpoint)) {
      EXPECT_TRUE(p.writable) << p.point_id;
    }
    if (p.object_type == "BI" || p.object_type == "AI") {
      EXPECT_FALSE(p.writable) << p.point_id;
    }
  }
  for (const char* k : {"AHU", "VAV", "FCU", "PAC", "METER"}) EXPECT_TRUE(kinds.count(k)) << k;
  for (const char* ty : {"AI", "AO", "AV", "BI", "BO", "MSV"}) EXPECT_TRUE(types.count(ty)) << ty;
  for (const char* u : {"°C", "%", "Pa", "kWh", "Nm3", "On/Off", "m3/h"}) {
    EXPECT_TRUE(units.count(u)) << u;
  }
  EXPECT_EQ(t.points()[0].equipment, "AHU/AHU_0101/0101_AHUCOMP_U");
}

TEST(MwsimModel, InitMessageFollowsTheProtocol) {
  const SimThing t(config(50), 2);
  const auto j = nlohmann::json::parse(t.init(at(2025, 10, 4, 9, 0)));
  EXPECT_EQ(j.at("msg_type"), "Init");
  EXPECT_EQ(j.at("time"), "202510040900");
  ASSERT_EQ(j.at("point_count"), 50);
  EXPECT_EQ(j.size(), 3u + 50u);
  for (int i = 0; i < 50; ++i) {
    const auto& p = j.at("point_" + std::to_string(i));
    const auto& def = t.points()[static_cast<std::size_t>(i)];
    EXPECT_EQ(p.at("point_id"), def.point_id);
    EXPECT_EQ(p.at("object_type"), def.object_type);
    EXPECT_EQ(p.at("name"), def.name);
    EXPECT_EQ(p.at("Point_Info"), def.equipment);
    EXPECT_EQ(p.at("Point_Location"), def.location);
    EXPECT_EQ(p.at("Point_Unit"), def.unit);
    EXPECT_TRUE(p.at("writable").is_boolean());
  }
}

TEST(MwsimModel, PeriodicLogFollowsTheProtocol) {
  const SimThing t(config(883), 1);
  for (const auto time :
       {at(2025, 10, 6, 10, 45), at(2024, 2, 29, 0, 0), at(2025, 12, 31, 23, 45)}) {
    const std::string payload = t.periodic_log(time);
    const auto j = nlohmann::json::parse(payload);
    EXPECT_EQ(j.at("msg_type"), "Periodic_Log");
    const std::string ts = j.at("time");
    ASSERT_EQ(ts.size(), 12u);
    ASSERT_EQ(LocalMinute::parse(ts).value(), time);
    ASSERT_EQ(j.at("point_count"), 883);
    EXPECT_EQ(j.size(), 3u + 883u);
    std::set<std::string> seen;
    for (int i = 0; i < 883; ++i) {
      const auto& p = j.at("point_" + std::to_string(i));
      EXPECT_EQ(p.at("period"), 15);
      EXPECT_EQ(p.at("point_id"), t.points()[static_cast<std::size_t>(i)].point_id);
      EXPECT_TRUE(seen.insert(p.at("point_id")).second);
      const auto& msg = p.at("msg");
      ASSERT_TRUE(msg.is_array());
      ASSERT_EQ(msg.size(), 1u);
      EXPECT_EQ(msg[0].at("attr_name"), "M_Value");
      EXPECT_TRUE(msg[0].at("data").is_number()) << p.dump();
    }
  }
}

TEST(MwsimModel, PeriodicLogSize) {
  // The bench's payload shape: 883 points, about 100 KB.
  const SimThing t(config(883), 1);
  const auto size = t.periodic_log(at(2025, 10, 6, 10, 45)).size();
  EXPECT_GT(size, 80'000u);
  EXPECT_LT(size, 130'000u);
}

TEST(MwsimModel, NullValuesAndNumbers) {
  std::vector<PointDef> points(3);
  points[0].point_id = "01.1.AI-101:a";
  points[1].point_id = "01.1.AI-102:b";
  points[2].point_id = "01.1.AI-103:c";
  const std::vector<Value> values = {21.4, std::nullopt, 1e7};
  const auto j = nlohmann::json::parse(periodic_log_message(points, values, at(2025, 1, 1, 0, 0)));
  EXPECT_EQ(j.at("point_0").at("msg")[0].at("data"), 21.4);
  EXPECT_TRUE(j.at("point_1").at("msg")[0].at("data").is_null());
  EXPECT_EQ(j.at("point_2").at("msg")[0].at("data"), 1e7);
  // Shortest fixed notation: not 21.399999 nor 1e+07.
  const auto text = periodic_log_message(points, values, at(2025, 1, 1, 0, 0));
  EXPECT_NE(text.find(R"("data":21.4})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("data":10000000})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("data":null})"), std::string::npos) << text;
}

TEST(MwsimModel, MetersAreMonotonicAndPlausible) {
  const SimThing t(config(883), 1);
  std::vector<std::size_t> meters;
  std::vector<std::size_t> rates;
  for (std::size_t i = 0; i < t.points().size(); ++i) {
    const auto b = t.points()[i].behavior;
    if (b == Behavior::elec_energy || b == Behavior::gas_volume) meters.push_back(i);
    if (b == Behavior::elec_power || b == Behavior::gas_flow) rates.push_back(i);
  }
  ASSERT_GE(meters.size(), 2u);
  std::vector<double> last(t.points().size(), -1);
  std::vector<double> office(meters.size(), 0), night(meters.size(), 0);
  // Two weeks across a month and year boundary.
  for (int k = 0; k < 96 * 14; ++k) {
    const auto time = at(2025, 12, 25, 0, 0).plus_minutes(15 * k);
    const auto v = t.values(time);
    for (std::size_t m = 0; m < meters.size(); ++m) {
      const double x = v[meters[m]].value();
      if (last[meters[m]] >= 0) {
        ASSERT_GE(x, last[meters[m]]) << t.points()[meters[m]].point_id << " " << time.to_string();
        const double delta = x - last[meters[m]];
        const int h = static_cast<int>(time.minute_of_day() / 60);
        if (weekday(time) < 5 && h >= 10 && h < 17) office[m] += delta;
        if (h >= 0 && h < 5) night[m] += delta;
      }
      last[meters[m]] = x;
    }
    for (auto r : rates) ASSERT_GE(v[r].value(), 0.0);
  }
  // Electricity: more per hour in office hours than at night.
  for (std::size_t m = 0; m < meters.size(); ++m) {
    if (t.points()[meters[m]].behavior == Behavior::elec_energy) {
      EXPECT_GT(office[m], night[m]);
    }
  }
  // A reading computed cold (new process, later time) equals the incremental one.
  const SimThing cold(config(883), 1);
  const auto late = at(2026, 1, 7, 23, 45);
  EXPECT_EQ(cold.values(late), t.values(late));
}

TEST(MwsimModel, EquipmentFollowsTheOccupancySchedule) {
  const SimThing t(config(883), 1);
  const auto wednesday_10 = t.values(at(2025, 10, 8, 10, 0));
  const auto wednesday_03 = t.values(at(2025, 10, 8, 3, 0));
  const auto sunday_10 = t.values(at(2025, 10, 12, 10, 0));
  int commands = 0;
  for (std::size_t i = 0; i < t.points().size(); ++i) {
    const auto& p = t.points()[i];
    if (p.behavior == Behavior::binary_command) {
      ++commands;
      EXPECT_EQ(wednesday_10[i], 1.0) << p.point_id;
      EXPECT_EQ(wednesday_03[i], 0.0) << p.point_id;
      EXPECT_EQ(sunday_10[i], 0.0) << p.point_id;
    }
    if (p.behavior == Behavior::binary_status || p.behavior == Behavior::binary_command) {
      for (const auto* v : {&wednesday_10, &wednesday_03, &sunday_10}) {
        EXPECT_TRUE((*v)[i] == 0.0 || (*v)[i] == 1.0);
      }
    }
    if (p.behavior == Behavior::speed_state || p.behavior == Behavior::mode_state) {
      EXPECT_GE(*wednesday_10[i], 1.0);
      EXPECT_LE(*wednesday_10[i], p.states);
      EXPECT_EQ(*wednesday_10[i], std::round(*wednesday_10[i]));
    }
    if (p.hi > p.lo && p.behavior != Behavior::filter_dp) {
      EXPECT_GE(*wednesday_10[i], p.lo) << p.point_id;
      EXPECT_LE(*wednesday_10[i], p.hi) << p.point_id;
    }
  }
  EXPECT_GT(commands, 20);
}

TEST(MwsimModel, ValuesAreRounded) {
  const SimThing t(config(883), 1);
  const auto v = t.values(at(2025, 7, 15, 14, 30));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double scale = std::pow(10.0, t.points()[i].decimals);
    const double x = *v[i] * scale;
    EXPECT_NEAR(x, std::round(x), 1e-6 * std::max(1.0, std::abs(x))) << t.points()[i].point_id;
  }
}

TEST(MwsimModel, ParseCommand) {
  auto a = parse_command(
      R"({"msg_type":"Timestamp_Last","request_id":"r1","time":"202510040945","period":15})");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->msg_type, "Timestamp_Last");
  EXPECT_EQ(a->request_id, "r1");
  EXPECT_EQ(a->time, at(2025, 10, 4, 9, 45));
  auto b = parse_command(R"({"msg_type":"Timestamp_Last","time":null,"period":15})");
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->time.has_value());
  EXPECT_FALSE(parse_command(R"({"msg_type":"Timestamp_Last","time":"20251004"})").has_value());
  EXPECT_FALSE(parse_command(R"({"msg_type":"Timestamp_Last"})").has_value());
  EXPECT_FALSE(parse_command("[1]").has_value());
  EXPECT_FALSE(parse_command("not json").has_value());
  auto c = parse_command(R"({"msg_type":"Control","request_id":"x","point_id":"p","value":1})");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->msg_type, "Control");
  const auto req = nlohmann::json::parse(timestamp_last_request("abc"));
  EXPECT_EQ(req.at("msg_type"), "Timestamp_Last");
  EXPECT_EQ(req.at("request_id"), "abc");
}

}  // namespace
}  // namespace nbms::mwsim
