// What survives nbmsd stopping, being down, or being killed.
#include <cstdio>

#include "integration/fixture.hpp"
#include "nbms/core/time.hpp"

namespace nbms::it {
namespace {

constexpr const char* kA = "01.0.AV-101:01_Elec";
constexpr const char* kB = "02.AI-1:Supply_Temp";

// "202210040000" + 15 * i minutes (i < 96 * 28: stays within October 2022).
std::string quarter(int i) {
  return LocalMinute::from_civil(2022, 10, 4, 0, 0).plus_minutes(15 * i).to_string();
}

class DurabilityTest : public NbmsTest {
 protected:
  void declare_points() {
    publish(topic_of(kThing, "init"),
            init_message("202210040000", {{kA, "AV", "Elec", "METER/ELEC", "Inside", "kWh"},
                                          {kB, "AI", "Supply_Temp", "AHU/1", "Roof", "degC"}}));
  }
  void publish_logs(int first, int count) {
    for (int i = first; i < first + count; ++i) {
      publish(topic_of(kThing, "periodic_log"),
              log_message(quarter(i), {{kA, 1000 + 0.25 * i}, {kB, 15 + i % 7}}));
    }
  }
  static std::vector<TimedValue> expected(const char* point, int first, int count) {
    std::vector<TimedValue> out;
    for (int i = first; i < first + count; ++i) {
      out.push_back({quarter(i), point == std::string(kA) ? 1000 + 0.25 * i : 15.0 + i % 7});
    }
    return out;
  }
};

TEST_F(DurabilityTest, RestartKeepsData) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  declare_points();
  publish_logs(0, 100);  // into the next day: the first day gets sealed
  ASSERT_TRUE(messages_reach(101));

  auto snapshot = [&] {
    return Json{{"points", points()},
                {"latest", latest()},
                {"a", get_ok(building_path() + "/points/" + percent_encode(kA) +
                             "/history?from=202210040000&to=202210052359")},
                {"b", get_ok(building_path() + "/points/" + percent_encode(kB) +
                             "/history?from=202210040000&to=202210052359")},
                {"things", get_ok(building_path() + "/things")}};
  };
  const Json before = snapshot();
  ASSERT_EQ(before["a"]["samples"].size(), 100u) << before["a"].dump();
  ASSERT_EQ(before["points"].size(), 2u);

  ASSERT_EQ(nbmsd().stop(), 0);
  nbmsd().start();
  EXPECT_EQ(snapshot(), before);
}

TEST_F(DurabilityTest, OfflineMessagesIngestedOnStart) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  // nbmsd has connected once (SetUp), so the broker keeps its session and
  // queues what arrives while it is down.
  ASSERT_EQ(nbmsd().stop(), 0);
  publish_logs(0, 20);
  nbmsd().start();
  ASSERT_TRUE(messages_reach(20));
  EXPECT_EQ(ingest_counter("samples"), 40u);
  EXPECT_EQ(ingest_counter("rejected"), 0u);
  EXPECT_EQ(history(kA, "202210040000", "202210042359"), expected(kA, 0, 20));
  EXPECT_EQ(history(kB, "202210040000", "202210042359"), expected(kB, 0, 20));
}

TEST_F(DurabilityTest, KillNineLosesNothingAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  constexpr int kLogs = 60;
  declare_points();
  publish_logs(0, kLogs);
  // Counted means durable: nothing counted may be lost to SIGKILL.
  ASSERT_TRUE(messages_reach(kLogs + 1));
  nbmsd().kill();
  nbmsd().start();
  EXPECT_EQ(history(kA, "202210040000", "202210052359"), expected(kA, 0, kLogs));
  EXPECT_EQ(history(kB, "202210040000", "202210052359"), expected(kB, 0, kLogs));
  const Json pts = points();
  EXPECT_NE(find_point(pts, kA), nullptr) << pts.dump();
  EXPECT_NE(find_point(pts, kB), nullptr) << pts.dump();
  const Json last = latest();
  const Json* a = find_point(last, kA);
  ASSERT_NE(a, nullptr) << last.dump();
  EXPECT_EQ(a->value("time", ""), quarter(kLogs - 1));
  // And it goes on ingesting after the crash. (The broker may redeliver a
  // message whose PUBACK the kill cut off, so wait for the data, not a count.)
  publish_logs(kLogs, 1);
  EXPECT_TRUE(wait_until([&] {
    return history(kA, "202210040000", "202210052359") == expected(kA, 0, kLogs + 1);
  })) << "the log sent after the restart was not stored";
}

TEST_F(DurabilityTest, BrokerRestartKeepsQueueAndIsSurvived) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  // Queued for nbmsd's session while it is down, then the broker restarts: the
  // queue must come back from the broker's persistence file.
  ASSERT_EQ(nbmsd().stop(), 0);
  publish_logs(0, 5);
  broker().restart();
  nbmsd().start();
  ASSERT_TRUE(messages_reach(5));
  EXPECT_EQ(history(kA, "202210040000", "202210042359"), expected(kA, 0, 5));

  // The broker restarts under a running nbmsd: it reconnects by itself.
  const auto connects = nbmsd().health()["mqtt"]["connects"].get<std::uint64_t>();
  broker().restart();
  EXPECT_TRUE(wait_until([&] {
    const Json h = nbmsd().health();
    return h["mqtt"]["connected"] == true && h["mqtt"]["connects"].get<std::uint64_t>() > connects;
  })) << nbmsd().health().dump();
  reconnect_mqtt();
  publish_logs(5, 1);
  EXPECT_TRUE(wait_until([&] {
    return history(kA, "202210040000", "202210042359") == expected(kA, 0, 6);
  })) << "the log sent after the broker restart was not stored";
}

}  // namespace
}  // namespace nbms::it
