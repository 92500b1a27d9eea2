// The simulator's alarms: valid messages (docs/mw-protocol.md), stamps that
// grow per alarm, a burst, and a chattering point.
#include "mwsim/alarms.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

namespace nbms::mwsim {
namespace {

using nlohmann::json;

SimThing thing() {
  SimConfig c;
  c.points = 50;
  return SimThing(c, 1);
}

// Checks what the decoder would check, and returns the stamps per alarm id.
void check(const std::vector<std::string>& messages,
           std::map<std::string, std::vector<EventStamp>>& stamps,
           std::map<std::string, int>& raises) {
  for (const auto& m : messages) {
    const auto j = json::parse(m);
    ASSERT_EQ(j.at("msg_type"), "Alarm");
    const std::string id = j.at("alarm_id");
    ASSERT_TRUE(validate_alarm_id(id)) << id;
    const std::string status = j.at("status");
    ASSERT_TRUE(status == "raise" || status == "clear") << m;
    auto s = EventStamp::parse(j.at("time").get<std::string>(), j.value("seq", 0u));
    ASSERT_TRUE(s) << m;
    ASSERT_EQ(j.at("time").get<std::string>().size(), 14u);
    if (status == "raise") {
      ++raises[id];
      ASSERT_FALSE(j.at("name").get<std::string>().empty());
      const int p = j.at("priority");
      ASSERT_TRUE(p >= 0 && p <= 255);
      ASSERT_TRUE(j.contains("point_id"));
    }
    stamps[id].push_back(*s);
  }
}

TEST(AlarmSim, StampsOfEachAlarmGrow) {
  auto t = thing();
  AlarmSimOptions o{4, 20, 3, 7};
  o.burst_clear_after = 1;  // the burst's clears are checked too
  AlarmSim sim(t, o);
  std::map<std::string, std::vector<EventStamp>> stamps;
  std::map<std::string, int> raises;
  auto start = *LocalMinute::parse("202210040945");
  check(sim.burst(start), stamps, raises);
  EXPECT_EQ(sim.active(), 20u);
  for (int k = 0; k < 20; ++k) check(sim.period(start.plus_minutes(15 * k)), stamps, raises);
  for (const auto& [id, s] : stamps) {
    for (std::size_t i = 1; i < s.size(); ++i) {
      EXPECT_LT(s[i - 1], s[i]) << id << " event " << i;
    }
  }
  EXPECT_EQ(raises["CHATTER-0"], 60) << "3 per log, 20 logs";
  EXPECT_EQ(raises["BURST-19"], 1);
  EXPECT_EQ(stamps["BURST-19"].size(), 2u) << "raised, then cleared a log later";
  EXPECT_GT(sim.raised(), 20u + 60u) << "plus random raises";
  EXPECT_EQ(sim.raised() - sim.cleared(), sim.active());
}

// The ids a batch of messages clears.
std::vector<std::string> clears_in(const std::vector<std::string>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) {
    const auto j = json::parse(m);
    if (j.at("status") == "clear") out.push_back(j.at("alarm_id"));
  }
  return out;
}

TEST(AlarmSim, BurstStaysActiveByDefault) {
  auto t = thing();
  AlarmSim sim(t, AlarmSimOptions{0, 10, 0, 1});
  auto start = *LocalMinute::parse("202210040945");
  EXPECT_EQ(sim.burst(start).size(), 10u);
  EXPECT_EQ(sim.burst(start).size(), 0u) << "already active";
  // The log of the burst and many after it: nothing clears it.
  for (int k = 0; k < 10; ++k) {
    EXPECT_TRUE(clears_in(sim.period(start.plus_minutes(15 * k))).empty()) << "log " << k;
  }
  EXPECT_EQ(sim.active(), 10u);
  EXPECT_EQ(sim.cleared(), 0u);
}

TEST(AlarmSim, BurstClearsAfterTheGivenNumberOfLogs) {
  auto t = thing();
  AlarmSimOptions o{0, 10, 0, 1};
  o.burst_clear_after = 2;
  AlarmSim sim(t, o);
  auto start = *LocalMinute::parse("202210040945");
  std::map<std::string, std::vector<EventStamp>> stamps;
  std::map<std::string, int> raises;
  check(sim.burst(start), stamps, raises);
  // Its own log (period() right after burst()) and the next one keep it active.
  EXPECT_TRUE(clears_in(sim.period(start)).empty());
  EXPECT_TRUE(clears_in(sim.period(start.plus_minutes(15))).empty());
  EXPECT_EQ(sim.active(), 10u);
  const auto cleared = sim.period(start.plus_minutes(30));
  EXPECT_EQ(clears_in(cleared).size(), 10u);
  EXPECT_EQ(sim.active(), 0u);
  check(cleared, stamps, raises);  // the clears are newer than the raises
  EXPECT_TRUE(clears_in(sim.period(start.plus_minutes(45))).empty());
}

TEST(AlarmSim, RandomAlarmsStillClearWhileTheBurstStays) {
  auto t = thing();
  AlarmSim sim(t, AlarmSimOptions{5, 10, 0, 3});
  auto start = *LocalMinute::parse("202210040945");
  sim.burst(start);
  std::size_t random_clears = 0;
  for (int k = 0; k < 10; ++k) {
    for (const auto& id : clears_in(sim.period(start.plus_minutes(15 * k)))) {
      EXPECT_FALSE(id.starts_with("BURST-")) << id;
      ++random_clears;
    }
  }
  EXPECT_GT(random_clears, 0u);
  EXPECT_GE(sim.active(), 10u);
}

TEST(AlarmSim, Deterministic) {
  auto t = thing();
  AlarmSim a(t, AlarmSimOptions{3, 0, 0, 9});
  AlarmSim b(t, AlarmSimOptions{3, 0, 0, 9});
  auto start = *LocalMinute::parse("202210040945");
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(a.period(start.plus_minutes(15 * k)), b.period(start.plus_minutes(15 * k)));
  }
}

}  // namespace
}  // namespace nbms::mwsim
