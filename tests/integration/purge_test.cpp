// Purging a thing through the real nbmsd (DELETE .../things/{t}?confirm=):
// its data leaves every read of the API, the other thing of the building
// keeps its own, and the same name registered again starts clean.
#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

constexpr const char* kOther = "C000003_B001_02";
constexpr const char* kTemp = "02.AI-1:Supply_Temp";   // kThing's
constexpr const char* kFlow = "03.AI-2:Water_Flow";    // kOther's
constexpr const char* kFresh = "04.AI-3:Return_Temp";  // kThing's after it came back

class PurgeTest : public NbmsTest {
 protected:
  std::string thing_path(const std::string& thing) { return building_path() + "/things/" + thing; }
  HttpResponse purge(const std::string& thing, const std::string& query) {
    return nbmsd().request("DELETE", thing_path(thing) + query, std::nullopt,
                           nbmsd().admin_token());
  }
  // Two days of logs (the first one gets sealed when the second begins).
  void feed(const std::string& thing, const std::string& point, double base) {
    for (const char* t : {"202210302330", "202210302345", "202210310000", "202210310015"}) {
      publish(topic_of(thing, "periodic_log"), log_message(t, {{point, base}}));
      base += 1;
    }
  }
};

TEST_F(PurgeTest, APurgedThingIsGoneFromEveryReadAndComesBackClean) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  auto other = nbmsd().post(building_path() + "/things", {{"name", kOther}});
  ASSERT_EQ(other.status, 201) << other.body;
  publish(topic_of(kThing, "init"), init_message("202210302300", {{kTemp, "AI", "Supply_Temp"}}));
  feed(kThing, kTemp, 20);
  feed(kOther, kFlow, 100);
  publish(topic_of(kThing, "alarm"), Json{{"msg_type", "Alarm"},
                                          {"alarm_id", "AL-1"},
                                          {"status", "raise"},
                                          {"time", "20221031001500"},
                                          {"name", "High"},
                                          {"priority", 100},
                                          {"point_id", kTemp}});
  ASSERT_TRUE(messages_reach(10));
  ASSERT_EQ(history(kTemp, "202210300000", "202210312359").size(), 4u);
  const auto flow_before = history(kFlow, "202210300000", "202210312359");
  ASSERT_EQ(flow_before.size(), 4u);

  // Without the name as confirmation: refused, nothing happens.
  EXPECT_EQ(purge(kThing, "").status, 400);
  EXPECT_EQ(purge(kThing, "?confirm=yes").status, 400);
  EXPECT_EQ(history(kTemp, "202210300000", "202210312359").size(), 4u);

  const auto r = purge(kThing, std::string("?confirm=") + kThing);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json& deleted = r.json["deleted"];
  EXPECT_EQ(deleted["thing"], 1) << r.body;
  EXPECT_EQ(deleted["points"], 1) << r.body;
  EXPECT_EQ(deleted["periodic_blocks"], 1) << r.body;  // 30 Oct, sealed
  EXPECT_EQ(deleted["rows"], 2) << r.body;             // 31 Oct
  EXPECT_EQ(deleted["latest"], 1) << r.body;
  EXPECT_EQ(deleted["current_alarms"], 1) << r.body;
  EXPECT_EQ(r.json["shared_points_kept"], 0) << r.body;

  // Gone from every read; the other thing keeps all it had.
  const Json things = get_ok(building_path() + "/things");
  ASSERT_EQ(things["things"].size(), 1u) << things.dump();
  EXPECT_EQ(things["things"][0]["name"], kOther);
  EXPECT_TRUE(history(kTemp, "202210300000", "202210312359").empty());
  EXPECT_EQ(find_point(points(), kTemp), nullptr);
  EXPECT_EQ(find_point(latest(), kTemp), nullptr);
  EXPECT_NE(find_point(latest(), kFlow), nullptr);
  EXPECT_EQ(history(kFlow, "202210300000", "202210312359"), flow_before);
  const Json alarms = get_ok(building_path() + "/alarms");
  EXPECT_TRUE(alarms["alarms"].empty()) << alarms.dump();
  EXPECT_EQ(purge(kThing, std::string("?confirm=") + kThing).status, 404);
  const Json audit = get_ok("/api/v1/audit?customer=C000003");
  bool audited = false;
  for (const auto& e : audit["entries"]) {
    if (e["action"] == "thing.purge" && e["target"] == kThing && e["ok"] == true) audited = true;
  }
  EXPECT_TRUE(audited) << audit.dump();

  // A message of the purged name is refused as unregistered.
  publish(topic_of(kThing, "periodic_log"), log_message("202210310030", {{kTemp, 1}}));
  ASSERT_TRUE(messages_reach(11));
  EXPECT_EQ(ingest_counter("rejected"), 1u);

  // Registered again: it starts with nothing of before.
  auto again = nbmsd().post(building_path() + "/things", {{"name", kThing}});
  ASSERT_EQ(again.status, 201) << again.body;
  publish(topic_of(kThing, "periodic_log"), log_message("202211011000", {{kFresh, 5}}));
  ASSERT_TRUE(messages_reach(12));
  EXPECT_TRUE(history(kTemp, "202210300000", "202211012359").empty());
  EXPECT_EQ(history(kFresh, "202211010000", "202211012359"),
            (std::vector<TimedValue>{{"202211011000", 5}}));
  const Json last = latest();
  EXPECT_EQ(find_point(last, kTemp), nullptr) << last.dump();
  EXPECT_NE(find_point(last, kFresh), nullptr) << last.dump();

  // And it survives a restart the same way (the series dictionary on disk).
  ASSERT_EQ(nbmsd().stop(), 0);
  nbmsd().start();
  EXPECT_EQ(history(kFresh, "202211010000", "202211012359"),
            (std::vector<TimedValue>{{"202211011000", 5}}));
  EXPECT_TRUE(history(kTemp, "202210300000", "202211012359").empty());
}

}  // namespace
}  // namespace nbms::it
