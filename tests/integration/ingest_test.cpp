// Ingest through the real broker into the real nbmsd, read back over REST.
#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

// The init and periodic_log of docs/mw-protocol.md, as a MW sends them. The log
// carries an int, a double, a boolean and a null (unreadable) value; point_1
// also has an attribute other than M_Value, which must be ignored.
constexpr const char* kInit = R"({
  "msg_type": "Init",
  "time": "202210040900",
  "point_count": 3,
  "point_0": {
    "point_id": "39.BI-300:1628_AHUReturnFan_01",
    "object_type": "BI",
    "name": "AHUReturnFan_01",
    "Point_Info": "AHU/AHU_0001/0001_AHUCOMP_U",
    "Point_Location": "Seobuk Hospital/Machine Room",
    "Point_Unit": "On/Off",
    "writable": false
  },
  "point_1": {
    "point_id": "01.0.AV-101:01_Elec",
    "object_type": "AV",
    "name": "Elec",
    "Point_Info": "METER/ELEC_0001/0001_ELEC",
    "Point_Location": "Seobuk Hospital/Inside/Electric",
    "Point_Unit": "kWh",
    "writable": false
  },
  "point_2": {
    "point_id": "12.BV-7:Pump_02_Cmd",
    "object_type": "BV",
    "name": "Pump_02_Cmd",
    "Point_Info": "PUMP/PUMP_0002/0002_CMD",
    "Point_Location": "Seobuk Hospital/Basement",
    "Point_Unit": "On/Off",
    "writable": true
  }
})";

constexpr const char* kLog = R"({
  "msg_type": "Periodic_Log",
  "point_0": {
    "msg": [ { "attr_name": "M_Value", "data": 0 } ],
    "period": 15,
    "point_id": "39.BI-300:1628_AHUReturnFan_01"
  },
  "point_1": {
    "msg": [ { "attr_name": "Status_Flags", "data": [false, false, false, false] },
             { "attr_name": "M_Value", "data": 21.4 } ],
    "period": 15,
    "point_id": "01.0.AV-101:01_Elec"
  },
  "point_2": {
    "msg": [ { "attr_name": "M_Value", "data": true } ],
    "period": 15,
    "point_id": "12.BV-7:Pump_02_Cmd"
  },
  "point_3": {
    "msg": [ { "attr_name": "M_Value", "data": null } ],
    "period": 15,
    "point_id": "07.AI-9:Broken_Sensor"
  },
  "point_count": 4,
  "time": "202210040945"
})";

constexpr const char* kFan = "39.BI-300:1628_AHUReturnFan_01";
constexpr const char* kElec = "01.0.AV-101:01_Elec";
constexpr const char* kPump = "12.BV-7:Pump_02_Cmd";
constexpr const char* kBroken = "07.AI-9:Broken_Sensor";

void expect_point(const Json& points, const std::string& id, const std::string& object_type,
                  const std::string& name, const std::string& equipment,
                  const std::string& location, const std::string& unit, bool writable) {
  const Json* p = find_point(points, id);
  ASSERT_NE(p, nullptr) << id << " missing from " << points.dump();
  EXPECT_EQ(p->value("thing", ""), kThing);
  EXPECT_EQ(p->value("object_type", ""), object_type) << p->dump();
  EXPECT_EQ(p->value("name", ""), name) << p->dump();
  EXPECT_EQ(p->value("equipment", ""), equipment) << p->dump();
  EXPECT_EQ(p->value("location", ""), location) << p->dump();
  EXPECT_EQ(p->value("unit", ""), unit) << p->dump();
  EXPECT_EQ((*p)["writable"], writable) << p->dump();
  EXPECT_EQ((*p)["declared"], true) << p->dump();
}

class IngestTest : public NbmsTest {
 protected:
  // What kInit + kLog must leave behind, whichever topic form carried them.
  void expect_round_trip() {
    ASSERT_TRUE(messages_reach(2));
    const Json health = nbmsd().health();
    EXPECT_EQ(health["ingest"]["samples"], 3) << health.dump();
    EXPECT_EQ(health["ingest"]["missing_values"], 1) << health.dump();
    EXPECT_EQ(health["ingest"]["rejected"], 0) << health.dump();

    const Json pts = points();
    expect_point(pts, kFan, "BI", "AHUReturnFan_01", "AHU/AHU_0001/0001_AHUCOMP_U",
                 "Seobuk Hospital/Machine Room", "On/Off", false);
    expect_point(pts, kElec, "AV", "Elec", "METER/ELEC_0001/0001_ELEC",
                 "Seobuk Hospital/Inside/Electric", "kWh", false);
    expect_point(pts, kPump, "BV", "Pump_02_Cmd", "PUMP/PUMP_0002/0002_CMD",
                 "Seobuk Hospital/Basement", "On/Off", true);

    const Json last = latest();
    ASSERT_TRUE(last.is_array());
    EXPECT_EQ(last.size(), 3u) << "the null point must have no latest value: " << last.dump();
    EXPECT_EQ(find_point(last, kBroken), nullptr) << last.dump();
    const std::vector<std::pair<std::string, double>> expected{
        {kFan, 0.0}, {kElec, 21.4}, {kPump, 1.0}};
    for (const auto& [id, value] : expected) {
      const Json* v = find_point(last, id);
      ASSERT_NE(v, nullptr) << id << " missing from latest " << last.dump();
      EXPECT_EQ(v->value("time", ""), "202210040945") << v->dump();
      ASSERT_TRUE((*v)["value"].is_number()) << v->dump();
      EXPECT_EQ((*v)["value"].get<double>(), value) << v->dump();
    }

    // Point ids with ':' travel percent-encoded in the URL.
    EXPECT_EQ(history(kFan, "202210040000", "202210042359"),
              (std::vector<TimedValue>{{"202210040945", 0.0}}));
    EXPECT_EQ(history(kElec, "202210040000", "202210042359"),
              (std::vector<TimedValue>{{"202210040945", 21.4}}));
    EXPECT_EQ(history(kPump, "202210040945", "202210040945"),
              (std::vector<TimedValue>{{"202210040945", 1.0}}));
    EXPECT_TRUE(history(kBroken, "202210040000", "202210042359").empty());
  }
};

TEST_F(IngestTest, PeriodicLogRoundTrip) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  publish_raw(topic_of(kThing, "init"), kInit);
  publish_raw(topic_of(kThing, "periodic_log"), kLog);
  expect_round_trip();
}

TEST_F(IngestTest, BasicIngestTopic) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string prefix = std::string("$aws/rules/Rule_") + kThing + "/" + kThing + "/";
  publish_raw(prefix + "init", kInit);
  publish_raw(prefix + "periodic_log", kLog);
  expect_round_trip();
}

TEST_F(NbmsTest, MultiDayHistory) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string elec = "01.0.AV-101:01_Elec";
  const std::string temp = "02.AI-1:Supply_Temp";
  // Three days across a month end; the re-send of an old day comes after the
  // thing moved on (so that day's rows may already be sealed).
  const std::vector<std::pair<std::string, Json>> logs{
      {"202210302330", log_message("202210302330", {{elec, 100.5}, {temp, 20}})},
      {"202210302345", log_message("202210302345", {{elec, 101.0}, {temp, 20.5}})},
      {"202210310000", log_message("202210310000", {{elec, 102.25}})},
      {"202210310015", log_message("202210310015", {{elec, 103}})},
      {"202211011200", log_message("202211011200", {{elec, 104}})},
      {"202211011215", log_message("202211011215", {{elec, 105}})},
      // Re-send: replaces the value it repeats, keeps the one it does not.
      {"202210302345", log_message("202210302345", {{elec, 999}})},
  };
  for (const auto& [time, log] : logs) publish(topic_of(kThing, "periodic_log"), log);
  ASSERT_TRUE(messages_reach(logs.size()));

  const std::vector<TimedValue> all_elec{{"202210302330", 100.5},  {"202210302345", 999},
                                         {"202210310000", 102.25}, {"202210310015", 103},
                                         {"202211011200", 104},    {"202211011215", 105}};
  const std::vector<TimedValue> all_temp{{"202210302330", 20}, {"202210302345", 20.5}};
  auto check = [&] {
    EXPECT_EQ(history(elec, "202210300000", "202211012359"), all_elec);
    EXPECT_EQ(history(temp, "202210010000", "202211302359"), all_temp);
    // Both ends are inclusive and exact to the minute.
    EXPECT_EQ(history(elec, "202210302345", "202211011200"),
              (std::vector<TimedValue>{{"202210302345", 999},
                                       {"202210310000", 102.25},
                                       {"202210310015", 103},
                                       {"202211011200", 104}}));
    EXPECT_EQ(history(elec, "202210302346", "202211011159"),
              (std::vector<TimedValue>{{"202210310000", 102.25}, {"202210310015", 103}}));
    EXPECT_EQ(history(elec, "202210310015", "202210310015"),
              (std::vector<TimedValue>{{"202210310015", 103}}));
    EXPECT_TRUE(history(elec, "202210310001", "202210310014").empty());
    EXPECT_TRUE(history(elec, "202211011216", "202211020000").empty());
    // The backfill did not move the latest value back in time.
    const Json last = latest();
    const Json* v = find_point(last, elec);
    ASSERT_NE(v, nullptr) << last.dump();
    EXPECT_EQ(v->value("time", ""), "202211011215");
    EXPECT_EQ((*v)["value"], 105);
  };
  check();
  // Opening the store seals late rows into day blocks: the same answers after.
  ASSERT_EQ(nbmsd().stop(), 0);
  nbmsd().start();
  check();
}

TEST_F(NbmsTest, UndeclaredPoints) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string room_temp = "05.AI-1:Room_Temp";
  const std::string room_hum = "05.AI-2:Room_Hum";
  publish(topic_of(kThing, "periodic_log"),
          log_message("202210041000", {{room_temp, 22.5}, {room_hum, 40}}));
  ASSERT_TRUE(messages_reach(1));
  EXPECT_EQ(ingest_counter("rejected"), 0u);

  Json pts = points();
  for (const auto& id : {room_temp, room_hum}) {
    const Json* p = find_point(pts, id);
    ASSERT_NE(p, nullptr) << id << " not listed: " << pts.dump();
    EXPECT_EQ((*p)["declared"], false) << p->dump();
    EXPECT_EQ(p->value("thing", ""), kThing) << p->dump();
  }
  EXPECT_EQ(history(room_temp, "202210040000", "202210042359"),
            (std::vector<TimedValue>{{"202210041000", 22.5}}));

  // An init naming one of them declares it (with its metadata); the other stays undeclared.
  publish(topic_of(kThing, "init"),
          init_message("202210041005", {{room_temp, "AI", "Room_Temp", "ROOM/R101/TEMP",
                                         "Building A/1F/R101", "degC", false}}));
  ASSERT_TRUE(messages_reach(2));
  pts = points();
  const Json* t = find_point(pts, room_temp);
  ASSERT_NE(t, nullptr) << pts.dump();
  EXPECT_EQ((*t)["declared"], true) << t->dump();
  EXPECT_EQ(t->value("object_type", ""), "AI") << t->dump();
  EXPECT_EQ(t->value("equipment", ""), "ROOM/R101/TEMP") << t->dump();
  EXPECT_EQ(t->value("location", ""), "Building A/1F/R101") << t->dump();
  EXPECT_EQ(t->value("unit", ""), "degC") << t->dump();
  const Json* h = find_point(pts, room_hum);
  ASSERT_NE(h, nullptr) << pts.dump();
  EXPECT_EQ((*h)["declared"], false) << h->dump();
  // Declaring a point does not touch its samples.
  EXPECT_EQ(history(room_temp, "202210040000", "202210042359"),
            (std::vector<TimedValue>{{"202210041000", 22.5}}));
}

TEST_F(NbmsTest, DeleteKeepsHistory) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string gone = "21.AI-4:Old_Meter";
  const std::string stays = "21.AI-5:New_Meter";
  publish(topic_of(kThing, "init"),
          init_message("202210040900", {{gone, "AI", "Old_Meter", "METER/OLD", "Roof", "kWh"},
                                        {stays, "AI", "New_Meter", "METER/NEW", "Roof", "kWh"}}));
  publish(topic_of(kThing, "periodic_log"),
          log_message("202210041000", {{gone, 1.5}, {stays, 10}}));
  publish(topic_of(kThing, "periodic_log"),
          log_message("202210041015", {{gone, 2.5}, {stays, 11}}));
  // An id the thing does not have is counted as unknown, not rejected.
  publish(topic_of(kThing, "delete"), delete_message("202210041200", {gone, "99.AI-0:Nope"}));
  ASSERT_TRUE(messages_reach(4));
  EXPECT_EQ(ingest_counter("rejected"), 0u);

  const Json pts = points();
  EXPECT_EQ(find_point(pts, gone), nullptr) << pts.dump();
  EXPECT_NE(find_point(pts, stays), nullptr) << pts.dump();
  EXPECT_EQ(history(gone, "202210040000", "202210042359"),
            (std::vector<TimedValue>{{"202210041000", 1.5}, {"202210041015", 2.5}}));
  EXPECT_EQ(history(stays, "202210040000", "202210042359"),
            (std::vector<TimedValue>{{"202210041000", 10}, {"202210041015", 11}}));
}

// Two MWs of one building with the same BACnet point id (separate networks,
// same device instance): the id stays with the first, whose history must not
// be sealed over by the second's values; what was refused is recorded.
TEST_F(NbmsTest, APointIdTwoThingsReportStaysWithTheFirst) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::string second = std::string(kCustomer) + "_" + kBuilding + "_02";
  ASSERT_EQ(nbmsd().post(building_path() + "/things", {{"name", second}}).status, 201);
  const std::string shared = "39.BI-300:1628_AHUReturnFan_01";
  const std::string own = "40.AI-1:Zone_Temp";
  publish(topic_of(kThing, "init"),
          init_message("202210040900", {{shared, "BI", "Fan", "AHU/1", "Roof", "On/Off"}}));
  ASSERT_TRUE(messages_reach(1));
  publish(topic_of(second, "init"),
          init_message("202210040900", {{shared, "BI", "Other fan", "AHU/9", "Basement", ""},
                                        {own, "AI", "Zone", "VAV/1", "2F", "degC"}}));
  // Both log the same day and move on to the next one, which seals the day.
  for (const char* time : {"202210041000", "202210051000"}) {
    publish(topic_of(kThing, "periodic_log"), log_message(time, {{shared, 1}}));
    publish(topic_of(second, "periodic_log"), log_message(time, {{shared, 0}, {own, 21.5}}));
  }
  ASSERT_TRUE(messages_reach(6));
  EXPECT_EQ(ingest_counter("point_conflicts"), 3u);
  EXPECT_EQ(ingest_counter("rejected"), 0u);

  EXPECT_EQ(history(shared, "202210040000", "202210052359"),
            (std::vector<TimedValue>{{"202210041000", 1}, {"202210051000", 1}}));
  EXPECT_EQ(history(own, "202210040000", "202210052359"),
            (std::vector<TimedValue>{{"202210041000", 21.5}, {"202210051000", 21.5}}));
  const Json pts = points();
  const Json* p = find_point(pts, shared);
  ASSERT_NE(p, nullptr) << pts.dump();
  EXPECT_EQ(p->value("thing", ""), kThing) << p->dump();
  EXPECT_EQ(p->value("name", ""), "Fan") << p->dump();

  const Json dl = get_ok("/api/v1/dead-letters?limit=3");
  ASSERT_EQ(dl["dead_letters"].size(), 3u) << dl.dump();
  for (const auto& letter : dl["dead_letters"]) {
    EXPECT_EQ(letter["topic"].get<std::string>().rfind(second + "/", 0), 0u) << letter.dump();
    const auto reason = letter["reason"].get<std::string>();
    EXPECT_EQ(reason.rfind("point_conflict: 1 ", 0), 0u) << reason;
    EXPECT_NE(reason.find("'" + shared + "' of " + kThing), std::string::npos) << reason;
  }
  // The day blocks survive a restart (which seals whatever is left).
  ASSERT_EQ(nbmsd().stop(), 0);
  nbmsd().start();
  EXPECT_EQ(history(shared, "202210040000", "202210052359"),
            (std::vector<TimedValue>{{"202210041000", 1}, {"202210051000", 1}}));
}

}  // namespace
}  // namespace nbms::it
