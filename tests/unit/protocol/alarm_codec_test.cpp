// Decoding of the `alarm` and `disconnect` messages (docs/mw-protocol.md).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nbms/protocol/codec.hpp"

namespace nbms::protocol {
namespace {

using nlohmann::json;

const ThingName kThing{"C000003", "B001", "01"};

json alarm_msg() {
  return {{"msg_type", "Alarm"},
          {"alarm_id", "AL-0101-HI"},
          {"status", "raise"},
          {"time", "20221004094512"},
          {"point_id", "01.1.AI-101:0101_AHUSupplyAirTemp"},
          {"device", "1001"},
          {"name", "AHU-01 supply air temperature high"},
          {"priority", 100},
          {"event_state", "high_limit"},
          {"text", "31.2 above limit 30"}};
}

void expect_alarm_rejected(const json& j, const std::string& needle) {
  Decoder d;
  auto r = d.alarm(kThing, j.dump());
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

void expect_disconnect_rejected(const json& j, const std::string& needle) {
  Decoder d;
  auto r = d.disconnect(kThing, j.dump());
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

TEST(Alarm, DecodesEveryMember) {
  Decoder d;
  auto r = d.alarm(kThing, alarm_msg().dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->thing, kThing);
  EXPECT_EQ(r->alarm_id, "AL-0101-HI");
  EXPECT_EQ(r->status, AlarmStatus::raise);
  EXPECT_EQ(r->stamp.time_string(), "20221004094512");
  EXPECT_EQ(r->stamp.seq, 0u);
  EXPECT_EQ(r->point_id, "01.1.AI-101:0101_AHUSupplyAirTemp");
  EXPECT_EQ(r->device, "1001");
  EXPECT_EQ(r->name, "AHU-01 supply air temperature high");
  EXPECT_EQ(r->priority, 100);
  EXPECT_EQ(r->event_state, "high_limit");
  EXPECT_EQ(r->text, "31.2 above limit 30");
}

TEST(Alarm, MinimalClearAndMinuteTimeAndSeq) {
  Decoder d;
  json j{{"msg_type", "Alarm"},
         {"alarm_id", "AL-1"},
         {"status", "clear"},
         {"time", "202210040945"},
         {"seq", 4294967295LL}};
  auto r = d.alarm(kThing, j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, AlarmStatus::clear);
  EXPECT_EQ(r->stamp.time_string(), "20221004094500");
  EXPECT_EQ(r->stamp.seq, 4294967295u);
  EXPECT_TRUE(r->name.empty());
  EXPECT_FALSE(r->priority);
  EXPECT_TRUE(r->point_id.empty());
  EXPECT_TRUE(r->device.empty());
}

TEST(Alarm, UpdateNeedsNameAndPriorityLikeRaise) {
  auto j = alarm_msg();
  j["status"] = "update";
  j.erase("priority");
  expect_alarm_rejected(j, "priority: missing");
  j = alarm_msg();
  j["status"] = "update";
  j.erase("name");
  expect_alarm_rejected(j, "name: missing");
}

TEST(Alarm, EveryRejectionReason) {
  struct Bad {
    const char* member;
    json value;  // null: erase the member
    const char* needle;
  };
  const std::vector<Bad> cases = {
      {"msg_type", "Alarms", "msg_type is 'Alarms', expected 'Alarm'"},
      {"alarm_id", nullptr, "alarm_id: missing"},
      {"alarm_id", 5, "alarm_id: must be a string"},
      {"alarm_id", "", "alarm_id: alarm id must be 1..128 bytes"},
      {"alarm_id", std::string(129, 'a'), "alarm_id: alarm id must be 1..128 bytes"},
      {"alarm_id", "a b", "alarm_id: alarm id may hold printable ASCII only"},
      {"alarm_id", "$disconnect", "alarm_id: alarm id may not start with '$'"},
      {"status", nullptr, "status: missing"},
      {"status", "active", "status: must be 'raise', 'update' or 'clear'"},
      {"status", true, "status: must be a string"},
      {"time", nullptr, "time: missing"},
      {"time", "20221004094560", "time: time: seconds must be 00..59"},
      {"time", "2022100409451", "time: time must be YYYYMMDDhhmmss"},
      {"time", "20221304094500", "time: "},
      {"time", 20221004094500LL, "time: must be a string"},
      {"seq", -1, "seq: must be an integer 0..4294967295"},
      {"seq", 4294967296LL, "seq: must be an integer 0..4294967295"},
      {"seq", "1", "seq: must be an integer"},
      {"point_id", "a/b", "point_id: point_id 'a/b' contains a character"},
      {"point_id", 3, "point_id: must be a string"},
      {"device", "d d", "device: device may hold printable ASCII only"},
      {"device", std::string(65, 'd'), "device: device must be 1..64 bytes"},
      {"name", nullptr, "name: missing"},
      {"name", "", "name: must not be empty"},
      {"name", std::string(201, 'n'), "name: longer than 200 bytes"},
      {"priority", nullptr, "priority: missing"},
      {"priority", 256, "priority: must be an integer 0..255"},
      {"priority", -1, "priority: must be an integer 0..255"},
      {"priority", 1.5, "priority: must be an integer 0..255"},
      {"event_state", "alarm", "event_state: must be one of normal, fault"},
      {"text", std::string(1001, 't'), "text: longer than 1000 bytes"},
      {"text", 1, "text: must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.member);
    auto j = alarm_msg();
    if (c.value.is_null()) {
      j.erase(c.member);
    } else {
      j[c.member] = c.value;
    }
    expect_alarm_rejected(j, c.needle);
  }
  // A clear still checks what it carries.
  json clear{{"msg_type", "Alarm"},
             {"alarm_id", "A"},
             {"status", "clear"},
             {"time", "20221004094512"},
             {"priority", 300}};
  expect_alarm_rejected(clear, "priority: must be an integer 0..255");
  expect_alarm_rejected(json::array(), "payload must be a JSON object");
  Decoder d;
  auto dup = d.alarm(kThing, R"({"msg_type":"Alarm","alarm_id":"A","alarm_id":"B"})");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("member 'alarm_id' appears twice"), std::string::npos);
}

TEST(Disconnect, LastWillHasNoTime) {
  Decoder d;
  auto r = d.disconnect(kThing, R"({"msg_type":"Disconnect","status":"disconnected"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->thing, kThing);
  EXPECT_TRUE(r->device.empty());
  EXPECT_FALSE(r->connected);
  EXPECT_FALSE(r->stamp);
}

TEST(Disconnect, DeviceWithTime) {
  Decoder d;
  auto r = d.disconnect(kThing, json{{"msg_type", "Disconnect"},
                                     {"device", "1001"},
                                     {"status", "connected"},
                                     {"time", "20221004094512"},
                                     {"seq", 2},
                                     {"text", "answers again"}}
                                    .dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->device, "1001");
  EXPECT_TRUE(r->connected);
  ASSERT_TRUE(r->stamp);
  EXPECT_EQ(r->stamp->time_string(), "20221004094512");
  EXPECT_EQ(r->stamp->seq, 2u);
  EXPECT_EQ(r->text, "answers again");
}

TEST(Disconnect, EveryRejectionReason) {
  const json base{{"msg_type", "Disconnect"}, {"status", "disconnected"}};
  auto with = [&](const char* k, json v) {
    auto j = base;
    j[k] = std::move(v);
    return j;
  };
  expect_disconnect_rejected(with("msg_type", "Alarm"),
                             "msg_type is 'Alarm', expected 'Disconnect'");
  expect_disconnect_rejected(json{{"msg_type", "Disconnect"}}, "status: missing");
  expect_disconnect_rejected(with("status", "lost"),
                             "status: must be 'disconnected' or 'connected'");
  expect_disconnect_rejected(with("device", "a/b"), "device: device may hold printable ASCII");
  expect_disconnect_rejected(with("device", 7), "device: must be a string");
  expect_disconnect_rejected(with("time", "2022"), "time: time must be YYYYMMDDhhmmss");
  expect_disconnect_rejected(with("seq", 1), "seq: given without time");
  expect_disconnect_rejected(with("text", std::string(501, 'x')), "text: longer than 500 bytes");
}

}  // namespace
}  // namespace nbms::protocol
