// Messages nbmsd sends to a MW on its command topic.
#include <optional>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

TEST_F(NbmsTest, TimestampLast) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  mqtt().subscribe(kThing);  // the MW's command topic; SUBACK received
  const std::string request_topic = topic_of(kThing, "timestamp_last");

  // One request, one answer on the command topic (nullopt: no answer in time;
  // nbmsd answers in milliseconds).
  auto ask = [&](const std::string& request_id) -> std::optional<Json> {
    publish(request_topic, {{"msg_type", "Timestamp_Last"}, {"request_id", request_id}});
    const auto answer = mqtt().receive(5s);
    if (!answer) return std::nullopt;
    EXPECT_EQ(answer->topic, kThing);
    Json j = Json::parse(answer->payload, nullptr, false);
    EXPECT_TRUE(j.is_object()) << answer->payload;
    return j.is_object() ? j : Json::object();
  };

  // Nothing stored yet.
  const auto first = ask("r1");
  ASSERT_TRUE(first) << "no answer to timestamp_last r1 within 5 s";
  EXPECT_EQ(first->value("msg_type", ""), "Timestamp_Last") << first->dump();
  EXPECT_EQ(first->value("request_id", ""), "r1") << first->dump();
  ASSERT_TRUE(first->contains("time")) << first->dump();
  EXPECT_TRUE((*first)["time"].is_null()) << first->dump();

  const std::string point = "01.0.AV-101:01_Elec";
  publish(topic_of(kThing, "periodic_log"), log_message("202210040945", {{point, 21.4}}, 15));
  // An older log (a backfill) does not move the newest time back.
  publish(topic_of(kThing, "periodic_log"), log_message("202210040930", {{point, 21.0}}, 15));
  ASSERT_TRUE(messages_reach(3));

  const auto second = ask("r2");
  ASSERT_TRUE(second) << "no answer to timestamp_last r2 within 5 s";
  EXPECT_EQ(second->value("msg_type", ""), "Timestamp_Last") << second->dump();
  EXPECT_EQ(second->value("request_id", ""), "r2") << second->dump();
  EXPECT_EQ((*second)["time"], "202210040945") << second->dump();
  EXPECT_EQ((*second)["period"], 15) << second->dump();
  EXPECT_FALSE(mqtt().receive(200ms)) << "only one answer per request";
}

}  // namespace
}  // namespace nbms::it
