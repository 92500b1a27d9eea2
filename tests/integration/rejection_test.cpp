// Messages nbmsd must refuse: dead-lettered with their reason and payload,
// counted, and without disturbing the good messages around them.
#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

constexpr const char* kPoint = "01.0.AV-101:01_Elec";

struct Garbage {
  std::string topic;
  std::string payload;
  std::string reason_prefix;  // reason code + ": "
  std::string reason_part;    // the detail must mention this ("" : not checked)
};

TEST_F(NbmsTest, GarbageIsDeadLettered) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string log_topic = topic_of(kThing, "periodic_log");
  const std::string good_log = log_message("202210041000", {{kPoint, 1}}).dump();

  Json wrong_type = log_message("202210041000", {{kPoint, 1}});
  wrong_type["msg_type"] = "Init";
  Json count_mismatch = log_message("202210041000", {{kPoint, 1}, {"02.AI-1:T", 2}});
  count_mismatch["point_count"] = 3;
  // Just over the default mqtt.max_message_bytes (4 MiB).
  std::string huge = R"({"msg_type":"Periodic_Log","pad":")";
  huge += std::string((std::size_t{4} << 20) + 1 - huge.size() - 2, 'x');
  huge += "\"}";
  ASSERT_EQ(huge.size(), (std::size_t{4} << 20) + 1);

  const std::vector<Garbage> garbage{
      {log_topic, R"({"msg_type": "Periodic_Log", "time": "2022100410)", "malformed: ", ""},
      {log_topic, wrong_type.dump(), "malformed: ", "msg_type"},
      {log_topic, count_mismatch.dump(), "malformed: ", "point_count"},
      {log_topic, log_message("202302301200", {{kPoint, 1}}).dump(), "malformed: ", "202302301200"},
      {topic_of(kThing, "foo"), good_log, "unknown_type: ", "foo"},
      {topic_of(kThing, "schedule"), R"({"msg_type":"Schedule","time":"202210041000"})",
       "reserved: ", "schedule"},
      {topic_of(kThing, "alarm"),
       R"({"msg_type":"Alarm","alarm_id":"a1","point_id":"01.0.AV-101:01_Elec","status":"raise"})",
       "malformed: ", "time: missing"},
      {"C000003_B001_99/periodic_log", good_log, "unregistered: ", "C000003_B001_99"},
      {"not-a-thing/periodic_log", good_log, "unregistered: ", ""},
      {std::string("$aws/rules/Rule_C000003_B001_02/") + kThing + "/periodic_log", good_log,
       "bad_topic: ", ""},
      {log_topic, huge, "too_large: ", ""},
  };

  // Good logs before, in between and after the garbage.
  publish(topic_of(kThing, "init"),
          init_message("202210040900", {{kPoint, "AV", "Elec", "METER/ELEC", "Inside", "kWh"}}));
  publish(log_topic, log_message("202210041000", {{kPoint, 10}}));
  for (std::size_t i = 0; i < garbage.size(); ++i) {
    publish_raw(garbage[i].topic, garbage[i].payload);
    if (i == 4) publish(log_topic, log_message("202210041015", {{kPoint, 11}}));
  }
  publish(log_topic, log_message("202210041030", {{kPoint, 12}}));
  ASSERT_TRUE(messages_reach(4 + garbage.size()));

  // Every good log is stored.
  EXPECT_EQ(
      history(kPoint, "202210040000", "202210042359"),
      (std::vector<TimedValue>{{"202210041000", 10}, {"202210041015", 11}, {"202210041030", 12}}));

  // Counted, by reason.
  const Json health = nbmsd().health();
  EXPECT_EQ(health["ingest"]["rejected"], garbage.size()) << health.dump();
  const Json& by_reason = health["ingest"]["rejected_by_reason"];
  EXPECT_EQ(by_reason["malformed"], 5) << health.dump();
  EXPECT_EQ(by_reason["unknown_type"], 1) << health.dump();
  EXPECT_EQ(by_reason["reserved"], 1) << health.dump();
  EXPECT_EQ(by_reason["unregistered"], 2) << health.dump();
  EXPECT_EQ(by_reason["bad_topic"], 1) << health.dump();
  EXPECT_EQ(by_reason["too_large"], 1) << health.dump();
  // Still healthy.
  EXPECT_EQ(health["status"], "ok") << health.dump();
  EXPECT_EQ(health["mqtt"]["connected"], true) << health.dump();

  // Each one is a dead letter with its topic, reason and (first 4 KiB of its) payload.
  const Json dl = get_ok("/api/v1/dead-letters");
  ASSERT_TRUE(dl.contains("dead_letters")) << dl.dump();
  const Json& letters = dl["dead_letters"];
  EXPECT_EQ(letters.size(), garbage.size()) << dl.dump(1);
  for (const auto& g : garbage) {
    const std::string kept = g.payload.substr(0, 4096);
    const Json* found = nullptr;
    for (const auto& l : letters) {
      if (l.value("payload", "") == kept && l.value("topic", "") == g.topic) found = &l;
    }
    ASSERT_NE(found, nullptr) << "no dead letter for topic " << g.topic << " payload "
                              << kept.substr(0, 200);
    const std::string reason = found->value("reason", "");
    EXPECT_TRUE(reason.starts_with(g.reason_prefix))
        << g.topic << ": reason '" << reason << "' should start with '" << g.reason_prefix << "'";
    if (!g.reason_part.empty()) {
      EXPECT_NE(reason.find(g.reason_part), std::string::npos)
          << g.topic << ": reason '" << reason << "' should mention '" << g.reason_part << "'";
    }
    EXPECT_GT(found->value("received_ms", std::int64_t{0}), 0) << found->dump();
  }
  // docs/mw-protocol.md: reserved types are rejected with the reason
  // `reserved: <point> is not handled yet`.
  for (const auto& l : letters) {
    if (l.value("topic", "") == topic_of(kThing, "schedule")) {
      EXPECT_EQ(l.value("reason", ""), "reserved: schedule is not handled yet");
    }
  }
}

}  // namespace
}  // namespace nbms::it
