#include "nbms/protocol/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_EQ(kind_of("realtime"), Kind::realtime);
  EXPECT_EQ(kind_of("control_result"), Kind::control_result);
  EXPECT_EQ(kind_of("alarm"), Kind::alarm);
  EXPECT_EQ(kind_of("disconnect"), Kind::disconnect);
  for (const char* r : {"schedule", "calendar"}) {
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
      "member 'point_0' appears twice");
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

// Found by fuzzing (tests/fuzz): an empty view has a null data(), which went to
// memcpy inside simdjson (undefined behaviour; UBSan's nonnull-attribute check).
TEST(PeriodicLog, EmptyPayloadIsRejectedWithoutTouchingTheParser) {
  Decoder d;
  for (const std::string_view empty : {std::string_view(), std::string_view("", 0)}) {
    auto r = d.periodic_log(kThing, empty);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().message.find("not valid JSON: the payload is empty"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(d.timestamp_last(empty));
    EXPECT_FALSE(d.control_result(kThing, empty));
  }
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

// ---------------------------------------------------------------------------
// realtime

json rt_entry(const std::string& id, json data) {
  return {{"point_id", id}, {"msg", json::array({{{"attr_name", "M_Value"}, {"data", data}}})}};
}

json realtime(std::vector<json> points, const char* time = "202210040945") {
  json j{{"msg_type", "Realtime"}, {"time", time}, {"point_count", points.size()}};
  for (std::size_t i = 0; i < points.size(); ++i) j["point_" + std::to_string(i)] = points[i];
  return j;
}

void expect_realtime_rejected(const std::string& payload, const std::string& needle) {
  Decoder d;
  auto r = d.realtime(kThing, payload);
  ASSERT_FALSE(r) << payload;
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

TEST(Realtime, DecodesValuesAndSkipsUnreadablePoints) {
  json absent = rt_entry("p.absent", 1);
  absent["msg"] = json::array({{{"attr_name", "Status"}, {"data", "ok"}}});
  json other_attrs = rt_entry("p.attrs", 4);
  other_attrs["msg"].push_back({{"attr_name", "Reliability"}, {"data", "no-fault"}});
  auto payload = realtime({rt_entry("p.dbl", 21.5), rt_entry("p.null", nullptr),
                           rt_entry("p.true", true), absent, rt_entry("p.neg", -3), other_attrs})
                     .dump();
  Decoder d;
  auto u = d.realtime(kThing, payload);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->thing, kThing);
  EXPECT_EQ(u->received_ms, 0);  // the router stamps it
  ASSERT_EQ(u->values.size(), 4u);
  EXPECT_EQ(u->values[0].point_id, "p.dbl");
  EXPECT_EQ(u->values[0].value, 21.5);
  EXPECT_EQ(u->values[1].point_id, "p.true");
  EXPECT_EQ(u->values[1].value, 1.0);
  EXPECT_EQ(u->values[2].point_id, "p.neg");
  EXPECT_EQ(u->values[2].value, -3.0);
  EXPECT_EQ(u->values[3].point_id, "p.attrs");
  EXPECT_EQ(u->values[3].value, 4.0);
}

TEST(Realtime, EmptyAndPeriodIgnored) {
  Decoder d;
  auto empty = d.realtime(kThing, realtime({}).dump());
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->values.empty());
  // A `period` (as in periodic_log) is allowed and ignored.
  auto with_period = d.realtime(kThing, realtime({pv("a", 2)}).dump());
  ASSERT_TRUE(with_period) << with_period.error().message;
  ASSERT_EQ(with_period->values.size(), 1u);
  EXPECT_EQ(with_period->values[0].value, 2.0);
}

TEST(Realtime, EveryRejectionReason) {
  expect_realtime_rejected("{\"msg_type\":", "not valid JSON");
  expect_realtime_rejected("[1]", "must be a JSON object");
  expect_realtime_rejected(R"({"time":"202210040945","point_count":0})", "msg_type: missing");
  expect_realtime_rejected(periodic({}).dump(), "msg_type is 'Periodic_Log', expected 'Realtime'");
  expect_realtime_rejected(R"({"msg_type":"Realtime","point_count":0})", "time: missing");
  expect_realtime_rejected(realtime({}, "202302301200").dump(), "day does not exist");
  expect_realtime_rejected(R"({"msg_type":"Realtime","time":"202210040945"})",
                           "point_count: missing");
  expect_realtime_rejected(R"({"msg_type":"Realtime","time":"202210040945","point_count":-1})",
                           "point_count: must be an integer");
  auto j = realtime({rt_entry("a", 1)});
  j["point_count"] = 2;
  expect_realtime_rejected(j.dump(), "point_count is 2 but point_1 is missing");
  j = realtime({rt_entry("a", 1)});
  j["point_count"] = 0;
  expect_realtime_rejected(j.dump(), "point_0: index not below point_count 0");
  j = realtime({rt_entry("a", 1)});
  j["point_00"] = rt_entry("b", 1);
  expect_realtime_rejected(j.dump(), "point_00: not a point_<n> member name");
  j = realtime({rt_entry("a", 1)});
  j["point_0"] = "x";
  expect_realtime_rejected(j.dump(), "point_0: must be an object");
  j = realtime({rt_entry("a", 1)});
  j["point_0"].erase("point_id");
  expect_realtime_rejected(j.dump(), "point_0.point_id: missing");
  expect_realtime_rejected(realtime({rt_entry("a#b", 1)}).dump(), "point_0.point_id:");
  expect_realtime_rejected(realtime({rt_entry("a", 1), rt_entry("a", 2)}).dump(),
                           "point_1.point_id: 'a' appears twice");
  j = realtime({rt_entry("a", 1)});
  j["point_0"].erase("msg");
  expect_realtime_rejected(j.dump(), "point_0.msg: missing");
  j = realtime({rt_entry("a", 1)});
  j["point_0"]["msg"] = json::object();
  expect_realtime_rejected(j.dump(), "point_0.msg: must be a list");
  j = realtime({rt_entry("a", 1)});
  j["point_0"]["msg"] = json::array({"M_Value"});
  expect_realtime_rejected(j.dump(), "point_0.msg[0]: must be an object");
  j = realtime({rt_entry("a", 1)});
  j["point_0"]["msg"][0]["attr_name"] = 3;
  expect_realtime_rejected(j.dump(), "point_0.msg[0].attr_name: must be a string");
  j = realtime({rt_entry("a", 1)});
  j["point_0"]["msg"][0].erase("data");
  expect_realtime_rejected(j.dump(), "point_0.msg[0].data: missing");
  expect_realtime_rejected(realtime({rt_entry("a", "21.5")}).dump(),
                           "point_0.msg[0].data: M_Value must be a number, boolean or null");
  j = realtime({rt_entry("a", 1)});
  j["point_0"]["msg"].push_back({{"attr_name", "M_Value"}, {"data", 2}});
  expect_realtime_rejected(j.dump(), "point_0.msg[1]: M_Value appears twice");
  Decoder small(DecodeLimits{.max_points = 1});
  auto r = small.realtime(kThing, realtime({rt_entry("a", 1), rt_entry("b", 2)}).dump());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("point_count: must be an integer 0..1"), std::string::npos);
}

// ---------------------------------------------------------------------------
// control_result

json control_result(const char* result = "accepted") {
  return {{"msg_type", "Control_Result"},
          {"request_id", "5b1e-7"},
          {"point_id", "01.1.AV-101:0101_AHUSupplyAirTempSP"},
          {"result", result},
          {"value", 21.5},
          {"message", ""}};
}

void expect_result_rejected(const json& j, const std::string& needle) {
  Decoder d;
  auto r = d.control_result(kThing, j.dump());
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

// JSON leaves repeated member names open; a message that says two things is refused.
TEST(Duplicates, AMemberNamedTwiceAnywhereIsRejectedWithItsPath) {
  const std::string point =
      R"("point_count":1,"point_0":{"msg":[{"attr_name":"M_Value","data":1}],"period":15,"point_id":"AV-1"})";
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202001011200","time":"202001011215",)" + point + "}",
      "member 'time' appears twice");
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":1,"point_0":{"msg":[{"attr_name":"M_Value","data":1,"data":2}],"period":15,"point_id":"AV-1"}})",
      "point_0.msg[0]: member 'data' appears twice");
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":1,"point_0":{"msg":[],"period":15,"point_id":"AV-1","point_id":"AV-2"}})",
      "point_0: member 'point_id' appears twice");
  // An ignored member counts too: the document as a whole must be unambiguous.
  expect_rejected(
      R"({"msg_type":"Periodic_Log","time":"202001011200","x":[{"a":1,"a":1}],)" + point + "}",
      "x[0]: member 'a' appears twice");
  Decoder d;
  const auto r = d.control_result(
      kThing,
      R"({"msg_type":"Control_Result","request_id":"r1","point_id":"AV-1","result":"accepted","result":"failed"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "member 'result' appears twice");
}

TEST(ControlResult, AcceptedWithValue) {
  Decoder d;
  auto r = d.control_result(kThing, control_result().dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->thing, kThing);
  EXPECT_EQ(r->request_id, "5b1e-7");
  EXPECT_EQ(r->point_id, "01.1.AV-101:0101_AHUSupplyAirTempSP");
  EXPECT_TRUE(r->accepted);
  EXPECT_EQ(r->value, 21.5);
  EXPECT_EQ(r->message, "");
}

TEST(ControlResult, FailedWithoutValueOrWithNull) {
  Decoder d;
  auto j = control_result("failed");
  j.erase("value");
  j["message"] = "write access denied";
  auto r = d.control_result(kThing, j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->accepted);
  EXPECT_FALSE(r->value.has_value());
  EXPECT_EQ(r->message, "write access denied");
  j["value"] = nullptr;
  j.erase("message");
  r = d.control_result(kThing, j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->value.has_value());
  EXPECT_EQ(r->message, "");
  j["value"] = true;  // a binary point's present value
  r = d.control_result(kThing, j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->value, 1.0);
  j["value"] = 3;
  r = d.control_result(kThing, j.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->value, 3.0);
}

TEST(ControlResult, EveryRejectionReason) {
  Decoder d;
  for (const char* bad : {"{", "[]", "\"x\""}) {
    auto r = d.control_result(kThing, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::malformed);
  }
  auto j = control_result();
  j["msg_type"] = "Control";
  expect_result_rejected(j, "msg_type is 'Control', expected 'Control_Result'");
  j = control_result();
  j.erase("msg_type");
  expect_result_rejected(j, "msg_type: missing");
  j = control_result();
  j.erase("request_id");
  expect_result_rejected(j, "request_id: missing");
  j = control_result();
  j["request_id"] = 7;
  expect_result_rejected(j, "request_id: must be a string");
  j = control_result();
  j["request_id"] = "";
  expect_result_rejected(j, "request_id: must be 1..64 bytes");
  j = control_result();
  j["request_id"] = std::string(65, 'r');
  expect_result_rejected(j, "request_id: longer than 64 bytes");
  j = control_result();
  j.erase("point_id");
  expect_result_rejected(j, "point_id: missing");
  j = control_result();
  j["point_id"] = 12;
  expect_result_rejected(j, "point_id: must be a string");
  j = control_result();
  j["point_id"] = "a/b";
  expect_result_rejected(j, "point_id: point_id 'a/b' contains a character");
  j = control_result();
  j["point_id"] = "";
  expect_result_rejected(j, "point_id: point_id must be 1..200 bytes");
  j = control_result();
  j.erase("result");
  expect_result_rejected(j, "result: missing");
  j = control_result();
  j["result"] = true;
  expect_result_rejected(j, "result: must be a string");
  j = control_result();
  j["result"] = "Accepted";
  expect_result_rejected(j, "result: must be 'accepted' or 'failed'");
  j = control_result();
  j["value"] = "21.5";
  expect_result_rejected(j, "value: must be a number, boolean or null");
  j = control_result();
  j["value"] = json::array({21.5});
  expect_result_rejected(j, "value: must be a number, boolean or null");
  j = control_result();
  j["message"] = 5;
  expect_result_rejected(j, "message: must be a string");
  j = control_result();
  j["message"] = std::string(501, 'm');
  expect_result_rejected(j, "message: longer than 500 bytes");
}

// ---------------------------------------------------------------------------
// Commands to the MW

TEST(Encode, Subscribe) {
  const auto text = encode_subscribe("r-1", {"01.1.AI-101:a", "01.1.AV-102:b"}, 60);
  EXPECT_EQ(text, R"({"msg_type":"Subscribe","request_id":"r-1","lease":60,)"
                  R"("point_ids":["01.1.AI-101:a","01.1.AV-102:b"]})");
  EXPECT_EQ(json::parse(encode_subscribe("r", {}, 1))["point_ids"], json::array());
}

TEST(Encode, Unsubscribe) {
  EXPECT_EQ(encode_unsubscribe({"a", "b"}), R"({"msg_type":"Unsubscribe","point_ids":["a","b"]})");
}

TEST(Encode, Control) {
  const auto j = json::parse(encode_control("r-2", "01.1.BO-101:fan", 1, 8));
  EXPECT_EQ(j, (json{{"msg_type", "Control"},
                     {"request_id", "r-2"},
                     {"point_id", "01.1.BO-101:fan"},
                     {"value", 1.0},
                     {"priority", 8}}));
  // Shortest round-trip text for the value.
  EXPECT_NE(encode_control("r", "p", 21.5, 8).find(R"("value":21.5,)"), std::string::npos);
  EXPECT_NE(encode_control("r", "p", 0.1, 8).find(R"("value":0.1,)"), std::string::npos);
  EXPECT_EQ(json::parse(encode_control("r", "p", -1e30, 16))["value"], -1e30);
  // Not representable in JSON: null rather than invalid text.
  EXPECT_EQ(json::parse(encode_control("r", "p", std::nan(""), 8))["value"], nullptr);
  EXPECT_EQ(json::parse(encode_control("r", "p", HUGE_VAL, 8))["value"], nullptr);
}

TEST(Encode, AnyPointIdGivesValidJson) {
  const std::vector<std::string> ids = {R"(quo"te)",   R"(back\slash)",   "ctl\x01\n\t",
                                        "uni\xc3\xa9", "bad\xff\xfeutf8", std::string("nul\0x", 5)};
  for (const auto& id : ids) {
    for (const auto& text : {encode_subscribe("r", {id}, 60), encode_unsubscribe({id}),
                             encode_control(id, id, 1, 8)}) {
      const auto j = json::parse(text, nullptr, false);
      // nlohmann's parser is strict: it refuses invalid UTF-8 and raw control characters.
      ASSERT_FALSE(j.is_discarded()) << text;
    }
  }
  // Valid UTF-8 and escapes round-trip exactly.
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(json::parse(encode_unsubscribe({ids[i]}))["point_ids"][0], ids[i]);
  }
  EXPECT_EQ(json::parse(encode_unsubscribe({ids[5]}))["point_ids"][0], ids[5]);
  EXPECT_EQ(json::parse(encode_control("r", ids[0], 1, 8))["point_id"], ids[0]);
}

}  // namespace
}  // namespace nbms::protocol
