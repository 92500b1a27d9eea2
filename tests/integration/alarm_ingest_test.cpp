// Alarms and disconnects through the real broker into the real nbmsd: what a
// MW publishes is in the alarm store (read after nbmsd stopped, since RocksDB
// allows one process), duplicates change nothing, the last will suppresses.
#include <map>

#include <regex>

#include "integration/fixture.hpp"
#include "nbms/alarms/service.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::it {
namespace {

Json alarm(const std::string& id, const std::string& status, const std::string& time,
           const std::string& device = "") {
  Json j{{"msg_type", "Alarm"}, {"alarm_id", id}, {"status", status}, {"time", time}};
  if (status != "clear") {
    j["name"] = "Supply air temperature high";
    j["priority"] = 100;
    j["point_id"] = "01.1.AI-101:0101_AHUSupplyAirTemp";
    j["text"] = "31.2 above 30";
  }
  if (!device.empty()) j["device"] = device;
  return j;
}

class Clock0 final : public Clock {
 public:
  std::int64_t now_ms() const override { return 0; }
};

class AlarmIngestTest : public NbmsTest {};

TEST_F(AlarmIngestTest, PublishedAlarmsAndDisconnectsAreStored) {
  register_thing();
  const auto t = topic_of(kThing, "alarm");
  publish(t, alarm("AL-1", "raise", "20221004094512", "1001"));
  publish(t, alarm("AL-1", "raise", "20221004094512", "1001"));  // QoS 1 redelivery
  publish(t, alarm("AL-2", "raise", "20221004094600"));
  publish(t, alarm("AL-2", "clear", "20221004094700"));
  publish(t, alarm("AL-3", "clear", "20221004094800"));  // clear before its raise ...
  publish(t, alarm("AL-3", "raise", "20221004094759"));  // ... which is stale
  // The MW's last will, as the broker would publish it.
  publish(topic_of(kThing, "disconnect"),
          Json{{"msg_type", "Disconnect"}, {"status", "disconnected"}});
  ASSERT_TRUE(messages_reach(7));

  EXPECT_EQ(ingest_counter("alarms"), 3u);  // AL-1 raise, AL-2 raise and clear
  EXPECT_EQ(ingest_counter("alarms_ignored"), 3u);
  EXPECT_EQ(ingest_counter("disconnects"), 1u);
  EXPECT_EQ(ingest_counter("rejected"), 0u);
  ASSERT_EQ(nbmsd().stop(), 0);

  Clock0 clock;
  auto opened = storage::RocksStore::open(
      storage::StoreOptions{.path = (nbmsd().data_dir() / "db").string()}, clock);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  auto current = store.current_alarms(kCustomer, kBuilding);
  ASSERT_TRUE(current);
  std::map<std::string, Alarm> by_id;
  for (const auto& a : *current) by_id[a.key.alarm_id] = a;
  ASSERT_EQ(by_id.size(), 3u) << "AL-1, AL-2 (cleared, unacknowledged), $disconnect";
  const auto& a1 = by_id.at("AL-1");
  EXPECT_TRUE(a1.active);
  EXPECT_FALSE(a1.acknowledged);
  EXPECT_TRUE(a1.suppressed) << "behind the lost MW";
  EXPECT_EQ(a1.device, "1001");
  EXPECT_EQ(a1.name, "Supply air temperature high");
  EXPECT_EQ(a1.raised_at.time_string(), "20221004094512");
  EXPECT_FALSE(by_id.at("AL-2").active);
  EXPECT_EQ(by_id.at("$disconnect").kind, AlarmKind::disconnect);
  EXPECT_TRUE(by_id.at("$disconnect").active);
  EXPECT_FALSE(by_id.at("$disconnect").suppressed);

  auto history = store.alarm_history(AlarmHistoryQuery{kCustomer, kBuilding, 0, INT64_MAX / 2});
  ASSERT_TRUE(history);
  std::vector<std::string> seen;
  for (const auto& h : *history) {
    seen.push_back(h.alarm.key.alarm_id + ":" + std::string(to_string(h.kind)));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"AL-1:raised", "AL-2:raised", "AL-2:cleared",
                                      "AL-1:suppressed", "AL-2:suppressed", "$disconnect:raised"}));
  auto links = store.links(kCustomer, kBuilding);
  ASSERT_TRUE(links);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_FALSE((*links)[0].connected);
  EXPECT_GT((*links)[0].since_ms, 0);
}

// The simulator's alarms are well-formed for nbmsd (none rejected), every one
// is applied, and its burst and chattering point show in the health figures.
TEST_F(AlarmIngestTest, SimulatorBurstAndChatterShowInHealth) {
  register_thing();
  const auto sim = run_command({NBMS_MWSIM_PATH,
                                "--broker",
                                broker().uri(),
                                "--customer",
                                kCustomer,
                                "--building",
                                kBuilding,
                                "--things",
                                "1",
                                "--points",
                                "40",
                                "--start",
                                "202210040900",
                                "--count",
                                "2",
                                "--speed",
                                "90000",
                                "--alarms",
                                "3",
                                "--alarm-burst",
                                "30",
                                "--alarm-chatter",
                                "3",
                                "--quiet"},
                               dir() / "mwsim.log", std::chrono::seconds(60));
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sim.output, m, std::regex(R"(\((\d+) messages\))"))) << sim.output;
  const auto alarm_messages = std::stoull(m[1]);
  ASSERT_GE(alarm_messages, 30u + 12u) << sim.output;
  // init, connected, timestamp_last, 2 periodic logs, the alarms.
  ASSERT_TRUE(messages_reach(5 + alarm_messages));
  EXPECT_EQ(ingest_counter("rejected"), 0u);
  EXPECT_EQ(ingest_counter("alarms"), alarm_messages);
  EXPECT_EQ(ingest_counter("alarms_ignored"), 0u);
  EXPECT_EQ(ingest_counter("disconnects"), 1u);
  ASSERT_EQ(nbmsd().stop(), 0);

  SystemClock clock;
  auto opened = storage::RocksStore::open(
      storage::StoreOptions{.path = (nbmsd().data_dir() / "db").string()}, clock);
  ASSERT_TRUE(opened) << opened.error().message;
  alarms::Service service(**opened, clock);
  const auto now = clock.now_ms();
  auto health = service.health(kCustomer, kBuilding, now - 3'600'000, now + 60'000);
  ASSERT_TRUE(health) << health.error().message;
  EXPECT_GE(health->raises, 30u + 6u);
  EXPECT_GE(health->floods.size(), 1u) << "30 raises within seconds";
  ASSERT_FALSE(health->chattering.empty());
  EXPECT_EQ(health->chattering[0].key.alarm_id, "CHATTER-0");
  EXPECT_GE(health->chattering[0].peak_per_window, 6u) << "3 per log, 2 logs within seconds";
  ASSERT_FALSE(health->top.empty());
  EXPECT_EQ(health->top[0].key.alarm_id, "CHATTER-0");
  auto links = service.links(kCustomer, kBuilding);
  ASSERT_TRUE(links);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_TRUE((*links)[0].connected);
}

}  // namespace
}  // namespace nbms::it
