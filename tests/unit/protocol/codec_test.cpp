#include "nbms/protocol/codec.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace nbms::protocol {
namespace {

using nlohmann::json;

const ThingName kThing{"C000003", "B001", "01"};

json periodic(std::vector<json> points, const char* time = "202210040945") {
  json j{{"msg_type", "Periodic_Log"}, {"time", time}, {"point_count", points.size()}};
  for (std::size_t i = 0; i < points.size(); ++i) j["point_" + std::to_string(i)] = points[i];
  return j;
}

json pv(const std::string& id, json data, int period = 15) {
  return {{"msg", json::array({{{"attr_name", "M_Value"}, {"data", data}}})},
          {"period", period},
          {"point_id", id}};
}

// Decodes and expects a rejection whose message contains `needle`.
void expect_rejected(const std::string& payload, const std::string& needle) {
  Decoder d;
  auto r = d.periodic_log(kThing, payload);
  ASSERT_FALSE(r) << payload;
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

TEST(Topic, PlainForm) {
  auto e = parse_topic("C000003_B001_01/periodic_log");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->thing, "C000003_B001_01");
  EXPECT_EQ(e->point, "periodic_log");
  EXPECT_FALSE(e->basic_ingest);
}

TEST(Topic, BasicIngestFormNormalisesToTheSameEnvelope) {
  auto e = parse_topic("$aws/rules/Rule_C000003_B001_01/C000003_B001_01/periodic_log");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->thing, "C000003_B001_01");
  EXPECT_EQ(e->point, "periodic_log");
  EXPECT_TRUE(e->basic_ingest);
}

TEST(Topic, Rejections) {
  EXPECT_FALSE(parse_topic("C000003_B001_01"));
  EXPECT_FALSE(parse_topic("C000003_B001_01/a/b"));
  EXPECT_FALSE(parse_topic("/periodic_log"));
  EXPECT_FALSE(parse_topic("C000003_B001_01/"));
  EXPECT_FALSE(parse_topic("notathing/periodic_log"));
  // The rule must name the same thing.
  EXPECT_FALSE(parse_topic("$aws/rules/Rule_C000003_B001_02/C000003_B001_01/periodic_log"));
  EXPECT_FALSE(parse_topic("$aws/rules/Rule_C000003_B001_01"));
}

TEST(Kind, ByPointName) {
  EXPECT_EQ(kind_of("periodic_log"), Kind::periodic_log);
  EXPECT_EQ(kind_of("init"), Kind::init);
  EXPECT_EQ(kind_of("delete"), Kind::remove);
  EXPECT_EQ(kind_of("timestamp_last"), Kind::timestamp_last);
  for (const char* r :
       {"realtime", "alarm", "disconnect", "schedule", "calendar", "control_result"}) {
    EXPECT_EQ(kind_of(r), Kind::reserved) << r;
  }
  EXPECT_EQ(kind_of("Periodic_Log"), Kind::unknown);
  EXPECT_EQ(kind_of("foo"), Kind::unknown);
}

TEST(PeriodicLog, DecodesTheBriefExample) {
  const std::string payload = R"({
    "msg_type": "Periodic_Log",
    "point_0": {
      "msg": [ { "attr_name": "M_Value", "data": 0 } ],
      "period": 15,
      "point_id": "39.BI-300:1628_AHUReturnFan_01"
    },
    "point_count": 1,
    "time": "202210040945"
  })";
  Decoder d;
  auto log = d.periodic_log(kThing, payload);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(log->thing, kThing);
  EXPECT_EQ(log->time.to_string(), "202210040945");
  EXPECT_EQ(log->period_minutes, 15);
  ASSERT_EQ(log->values.size(), 1u);
  EXPECT_EQ(log->values[0].point_id, "39.BI-300:1628_AHUReturnFan_01");
  EXPECT_EQ(log->values[0].value, 0.0);
}

TEST(PeriodicLog, ValueTypesAndMissingValues) {
  json other = pv("p.other", 5);
  other["msg"] = json::array({{{"attr_name", "Status"}, {"data", "ok"}}});  // no M_Value
  auto payload = periodic({pv("p.int", 7), pv("p.neg", -3), pv("p.dbl", 21.4), pv("p.true", true),
                           pv("p.false", false), pv("p.null", nullptr), pv("p.big", 1e15), other})
                     .dump();
  Decoder d;
  auto log = d.periodic_log(kThing, payload);
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_EQ(log->values.size(), 6u);
  EXPECT_EQ(log->values[0].value, 7.0);
  EXPECT_EQ(log->values[1].value, -3.0);
  EXPECT_EQ(log->values[2].value, 21.4);
  EXPECT_EQ(log->values[3].value, 1.0);
  EXPECT_EQ(log->values[4].value, 0.0);
  EXPECT_EQ(log->values[5].value, 1e15);
  EXPECT_EQ(log->missing, 2u);
}

TEST(PeriodicLog, MembersMayComeInAnyOrder) {
  auto j = periodic({pv("a", 1), pv("b", 2), pv("c", 3)});
  // nlohmann orders keys alphabetically, so point_10-style ordering is exercised below.
  std::string payload = R"({"point_2":)" + j["point_2"].dump() + R"(,"time":"202210040945",)" +
                        R"("point_0":)" + j["point_0"].dump() + R"(,"msg_type":"Periodic_Log",)" +
                        R"("point_1":)" + j["point_1"].dump() + R"(,"point_count":3})";
  Decoder d;
  auto log = d.periodic_log(kThing, payload);
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_EQ(log->values.size(), 3u);
  EXPECT_EQ(log->values[0].point_id, "a");
  EXPECT_EQ(log->values[2].point_id, "c");
}

TEST(PeriodicLog, EveryRejectionReason) {
  expect_rejected("{\"msg_type\":", "not valid JSON");
  expect_rejected("[1,2]", "must be a JSON object");
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":1,"point_0":{"msg":[{"attr_name":"M_Value","data":NaN}],"period":15,"point_id":"a"}})",
      "not valid JSON");
  expect_rejected(R"({"time":"202210040945","point_count":0})", "msg_type: missing");
  expect_rejected(R"({"msg_type":"Init","time":"202210040945","point_count":0})",
                  "msg_type is 'Init', expected 'Periodic_Log'");
  expect_rejected(R"({"msg_type":7,"time":"202210040945","point_count":0})",
                  "msg_type: must be a string");
  expect_rejected(R"({"msg_type":"Periodic_Log","point_count":0})", "time: missing");
  expect_rejected(periodic({}, "202302301200").dump(), "day does not exist");
  expect_rejected(periodic({}, "2023-02-01").dump(), "12 digits");
  expect_rejected(R"({"msg_type":"Periodic_Log","time":"202210040945"})", "point_count: missing");
  expect_rejected(R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":-1})",
                  "point_count: must be an integer");
  expect_rejected(R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":"1"})",
                  "point_count: must be an integer");
  auto j = periodic({pv("a", 1), pv("b", 2)});
  j["point_count"] = 3;
  expect_rejected(j.dump(), "point_count is 3 but point_2 is missing");
  j = periodic({pv("a", 1)});
  j["point_count"] = 0;
  expect_rejected(j.dump(), "point_0: index not below point_count 0");
  j = periodic({pv("a", 1)});
  j["point_01"] = pv("b", 1);
  expect_rejected(j.dump(), "point_01: not a point_<n> member name");
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":1,"point_0":{"msg":[],"period":15,"point_id":"a"},"point_0":{"msg":[],"period":15,"point_id":"b"}})",
      "point_0: appears twice");
  j = periodic({pv("a", 1)});
  j["point_0"] = 5;
  expect_rejected(j.dump(), "point_0: must be an object");
  j = periodic({pv("a", 1)});
  j["point_0"].erase("point_id");
  expect_rejected(j.dump(), "point_0.point_id: missing");
  expect_rejected(periodic({pv("a/b", 1)}).dump(), "point_0.point_id:");
  expect_rejected(periodic({pv("a", 1), pv("a", 2)}).dump(), "point_1.point_id: 'a' appears twice");
  expect_rejected(periodic({pv("a", 1, 0)}).dump(), "point_0.period: must be an integer 1..1440");
  j = periodic({pv("a", 1)});
  j["point_0"].erase("period");
  expect_rejected(j.dump(), "point_0.period: missing");
  j = periodic({pv("a", 1)});
  j["point_0"]["msg"] = "x";
  expect_rejected(j.dump(), "point_0.msg: must be a list");
  j = periodic({pv("a", 1)});
  j["point_0"]["msg"] = json::array({5});
  expect_rejected(j.dump(), "point_0.msg[0]: must be an object");
  j = periodic({pv("a", 1)});
  j["point_0"]["msg"][0].erase("data");
  expect_rejected(j.dump(), "point_0.msg[0].data: missing");
  j = periodic({pv("a", 1)});
  j["point_0"]["msg"][0].erase("attr_name");
  expect_rejected(j.dump(), "point_0.msg[0].attr_name: missing");
  expect_rejected(periodic({pv("a", "12")}).dump(),
                  "point_0.msg[0].data: M_Value must be a number, boolean or null");
  expect_rejected(periodic({pv("a", json::array({1}))}).dump(), "M_Value must be a number");
  j = periodic({pv("a", 1)});
  j["point_0"]["msg"].push_back({{"attr_name", "M_Value"}, {"data", 2}});
  expect_rejected(j.dump(), "point_0.msg[1]: M_Value appears twice");
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":1,"point_0":{"msg":[{"attr_name":"M_Value","data":1e999}],"period":15,"point_id":"a"}})",
      "not valid JSON");
  expect_rejected(std::string("{\"msg_type\":\"Periodic_Log\",\"time\":\"20221004094\xff\"}"),
                  "not valid JSON");
}

TEST(PeriodicLog, DeepNestingIsRefused) {
  std::string deep = R"({"msg_type":"Periodic_Log","time":"202210040945","point_count":0,"x":)";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  expect_rejected(deep, "not valid JSON");
}

TEST(PeriodicLog, PointLimit) {
  Decoder d(DecodeLimits{.max_points = 2});
  auto r = d.periodic_log(kThing, periodic({pv("a", 1), pv("b", 1), pv("c", 1)}).dump());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("point_count: must be an integer 0..2"), std::string::npos);
}

TEST(PeriodicLog, DecoderIsReusable) {
  Decoder d;
  for (int i = 0; i < 3; ++i) {
    auto log = d.periodic_log(kThing, periodic({pv("p" + std::to_string(i), i)}).dump());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->values[0].point_id, "p" + std::to_string(i));
  }
}

TEST(Init, DecodesPointsWithDefaults) {
  json j{{"msg_type", "Init"},
         {"time", "202210040900"},
         {"point_count", 2},
         {"point_0",
          {{"point_id", "39.BI-300:1628_AHUReturnFan_01"},
           {"object_type", "BI"},
           {"name", "Return fan"},
           {"Point_Info", "AHU/AHU_0001/0001_AHUCOMP_U"},
           {"Point_Location", "Seobuk Hospital/Inside/Gas"},
           {"Point_Unit", "On/Off"},
           {"writable", true}}},
         {"point_1", {{"point_id", "01.0.AV-101:01_Elec"}, {"object_type", "AV"}}}};
  Decoder d;
  auto init = d.init(kThing, j.dump());
  ASSERT_TRUE(init) << init.error().message;
  ASSERT_EQ(init->points.size(), 2u);
  const auto& p = init->points[0];
  EXPECT_EQ(p.point_id, "39.BI-300:1628_AHUReturnFan_01");
  EXPECT_EQ(p.thing, "C000003_B001_01");
  EXPECT_EQ(p.object_type, "BI");
  EXPECT_EQ(p.name, "Return fan");
  EXPECT_EQ(p.equipment, "AHU/AHU_0001/0001_AHUCOMP_U");
  EXPECT_EQ(p.location, "Seobuk Hospital/Inside/Gas");
  EXPECT_EQ(p.unit, "On/Off");
  EXPECT_TRUE(p.writable);
  EXPECT_TRUE(p.declared);
  const auto& q = init->points[1];
  EXPECT_EQ(q.name, "01_Elec");  // defaults to the part after ':'
  EXPECT_FALSE(q.writable);
  EXPECT_EQ(q.unit, "");
}

TEST(Init, Rejections) {
  auto base = [] {
    return json{{"msg_type", "Init"},
                {"time", "202210040900"},
                {"point_count", 1},
                {"point_0", {{"point_id", "a"}, {"object_type", "AV"}}}};
  };
  Decoder d;
  auto check = [&](json j, const std::string& needle) {
    auto r = d.init(kThing, j.dump());
    ASSERT_FALSE(r) << j.dump();
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  auto j = base();
  j["point_0"].erase("object_type");
  check(j, "point_0.object_type: missing");
  j = base();
  j["point_0"]["object_type"] = "av";
  check(j, "object_type: must be 1..16 upper-case letters");
  j = base();
  j["point_0"]["writable"] = "yes";
  check(j, "point_0.writable: must be true or false");
  j = base();
  j["point_0"]["Point_Unit"] = 5;
  check(j, "point_0.Point_Unit: must be a string");
  j = base();
  j["point_0"]["Point_Unit"] = std::string(65, 'u');
  check(j, "point_0.Point_Unit: longer than 64 bytes");
  j = base();
  j["msg_type"] = "Periodic_Log";
  check(j, "expected 'Init'");
}

TEST(Delete, DecodesPointIds) {
  Decoder d;
  auto del = d.remove(R"({"msg_type":"Delete","time":"202210041200","point_count":2,
    "point_0":{"point_id":"a"},"point_1":{"point_id":"b"}})");
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_EQ(del->point_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(
      d.remove(R"({"msg_type":"Delete","time":"202210041200","point_count":1,"point_0":{}})"));
}

TEST(TimestampLast, RequestAndReply) {
  Decoder d;
  auto req = d.timestamp_last(R"({"msg_type":"Timestamp_Last","request_id":"7f3a"})");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->request_id, "7f3a");
  auto none = d.timestamp_last(R"({"msg_type":"Timestamp_Last"})");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->request_id, "");
  EXPECT_FALSE(d.timestamp_last(R"({"msg_type":"Timestamp_Last","request_id":5})"));

  auto empty = json::parse(encode_timestamp_last_reply(*req, std::nullopt));
  EXPECT_EQ(empty, (json{{"msg_type", "Timestamp_Last"},
                         {"request_id", "7f3a"},
                         {"time", nullptr},
                         {"period", 15}}));
  auto last = json::parse(
      encode_timestamp_last_reply(*req, LastLog{*LocalMinute::parse("202210040945"), 5}));
  EXPECT_EQ(last["time"], "202210040945");
  EXPECT_EQ(last["period"], 5);
}

}  // namespace
}  // namespace nbms::protocol
