// The alarm console end to end: an alarm a MW publishes over the real broker
// reaches the real nbmsd's REST current list, its history and CSV export, and
// the WebSocket of a browser that watches the building; an acknowledgement over
// REST is pushed to that browser too, and is refused to a viewer.
#include <gtest/gtest.h>

#include <string>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

Json alarm_message(const std::string& id, const std::string& status, const std::string& time,
                   const std::string& text) {
  Json j{{"msg_type", "Alarm"}, {"alarm_id", id}, {"status", status}, {"time", time}};
  if (status != "clear") {
    j["name"] = "Supply air temperature high";
    j["priority"] = 100;
    j["point_id"] = "01.1.AI-101:0101_AHUSupplyAirTemp";
    j["text"] = text;
  }
  return j;
}

bool is_type(const Json& m, const char* type) {
  return m.is_object() && m.value("type", "") == type;
}

class AlarmConsole : public NbmsTest {
 protected:
  void SetUp() override {
    NbmsTest::SetUp();
    register_thing();
    manager = add_user("mia", "manager", kCustomer);
    viewer = add_user("vic", "viewer", kCustomer);
  }

  std::unique_ptr<WsClient> watch(const std::string& token) {
    auto ws = std::make_unique<WsClient>(nbmsd().http_port(), token);
    auto hello = ws->receive();
    EXPECT_TRUE(hello && is_type(*hello, "hello"));
    ws->send(Json{{"type", "alarms.subscribe"}, {"customer", kCustomer}, {"building", kBuilding}});
    auto snapshot = ws->receive();
    EXPECT_TRUE(snapshot && is_type(*snapshot, "alarms.snapshot"))
        << (snapshot ? snapshot->dump() : "none");
    return ws;
  }

  // The next `alarms` frame whose first transition is of `kind`.
  static std::optional<Json> transition(WsClient& ws, const std::string& kind) {
    return ws.receive_until([&](const Json& m) {
      return is_type(m, "alarms") && !m["transitions"].empty() &&
             m["transitions"][0]["kind"] == kind;
    });
  }

  std::string alarms_path() const { return building_path() + "/alarms"; }

  std::string manager;
  std::string viewer;
};

TEST_F(AlarmConsole, APublishedAlarmIsListedInHistoryInCsvAndPushedAndItsAckIsPushedToo) {
  auto browser = watch(viewer);  // a viewer may watch; only managers may act
  publish(topic_of(kThing, "alarm"),
          alarm_message("AL-7", "raise", "20221004094512", "31.2 \"above\", 30"));

  // Pushed to the watching browser.
  const auto raised = transition(*browser, "raised");
  ASSERT_TRUE(raised) << "no alarms frame for the raise";
  EXPECT_EQ((*raised)["customer"], kCustomer);
  EXPECT_EQ((*raised)["building"], kBuilding);
  EXPECT_EQ((*raised)["transitions"][0]["alarm"]["alarm_id"], "AL-7");
  ASSERT_EQ((*raised)["alarms"].size(), 1u);
  EXPECT_EQ((*raised)["alarms"][0]["acknowledged"], false);

  // Listed as current.
  const auto current = nbmsd().request("GET", alarms_path(), std::nullopt, viewer);
  ASSERT_EQ(current.status, 200) << current.body;
  ASSERT_EQ(current.json["alarms"].size(), 1u);
  const Json& a = current.json["alarms"][0];
  EXPECT_EQ(a["alarm_id"], "AL-7");
  EXPECT_EQ(a["thing"], kThing);
  EXPECT_EQ(a["priority"], 100);
  EXPECT_EQ(a["text"], "31.2 \"above\", 30");
  EXPECT_EQ(a["raised_at"], "20221004094512");

  // In history and in its CSV export, quoted.
  const auto history = nbmsd().request("GET", alarms_path() + "/history", std::nullopt, viewer);
  ASSERT_EQ(history.status, 200) << history.body;
  ASSERT_EQ(history.json["transitions"].size(), 1u);
  EXPECT_EQ(history.json["transitions"][0]["kind"], "raised");
  EXPECT_EQ(history.json["truncated"], false);
  const auto csv = nbmsd().request("GET", alarms_path() + "/history.csv", std::nullopt, viewer);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_TRUE(csv.body.starts_with("time_utc,at_ms,transition,thing,alarm_id,")) << csv.body;
  EXPECT_NE(csv.body.find(",raised,C000003_B001_01,AL-7,point,"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",\"31.2 \"\"above\"\", 30\"\r\n"), std::string::npos) << csv.body;

  // A viewer may not acknowledge; a manager may, and the browser sees it.
  const std::string ack = alarms_path() + "/" + kThing + "/AL-7/ack";
  EXPECT_EQ(nbmsd().request("POST", ack, Json::object(), viewer).status, 403);
  const auto acked = nbmsd().request("POST", ack, Json::object(), manager);
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(acked.json["alarm"]["acknowledged_by"], "mia");
  const auto pushed = transition(*browser, "acknowledged");
  ASSERT_TRUE(pushed) << "no alarms frame for the acknowledgement";
  EXPECT_EQ((*pushed)["transitions"][0]["user"], "mia");
  EXPECT_EQ((*pushed)["alarms"][0]["acknowledged"], true);

  // The MW clears it: acknowledged and cleared, it returns to normal.
  publish(topic_of(kThing, "alarm"), alarm_message("AL-7", "clear", "20221004095000", ""));
  const auto cleared = transition(*browser, "cleared");
  ASSERT_TRUE(cleared);
  EXPECT_EQ((*cleared)["transitions"][0]["removed"], true);
  ASSERT_EQ((*cleared)["removed"].size(), 1u);
  EXPECT_TRUE(nbmsd().request("GET", alarms_path(), std::nullopt, viewer).json["alarms"].empty());

  // The audit log has the manager's acknowledgement and the viewer's refusal.
  const auto audit = nbmsd().request("GET", "/api/v1/audit?customer=" + std::string(kCustomer),
                                     std::nullopt, manager);
  ASSERT_EQ(audit.status, 200);
  int ok = 0;
  int denied = 0;
  for (const auto& e : audit.json["entries"]) {
    if (e["action"] != "alarm.ack") continue;
    (e["ok"].get<bool>() ? ok : denied) += 1;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(denied, 1);
}

TEST_F(AlarmConsole, AnotherCustomersBrowserGetsNothing) {
  register_thing("C000004", "B001", "C000004_B001_01");
  const auto other = add_user("oli", "manager", "C000004");
  auto ws = std::make_unique<WsClient>(nbmsd().http_port(), other);
  ASSERT_TRUE(ws->receive());  // hello
  ws->send(Json{{"type", "alarms.subscribe"}, {"customer", kCustomer}, {"building", kBuilding}});
  const auto refused = ws->receive();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["type"], "error");
  EXPECT_EQ((*refused)["code"], "not_found");
  EXPECT_EQ(nbmsd().request("GET", alarms_path(), std::nullopt, other).status, 404);
  // It watches its own building: the first frame it gets is of its own alarm,
  // published after one of C000003 (frames follow the commit order).
  ws->send(Json{{"type", "alarms.subscribe"}, {"customer", "C000004"}, {"building", kBuilding}});
  const auto snapshot = ws->receive();
  ASSERT_TRUE(snapshot && is_type(*snapshot, "alarms.snapshot"));
  publish(topic_of(kThing, "alarm"), alarm_message("AL-1", "raise", "20221004094512", "x"));
  publish(topic_of("C000004_B001_01", "alarm"),
          alarm_message("AL-2", "raise", "20221004094512", "y"));
  const auto frame = ws->receive();
  ASSERT_TRUE(frame);
  EXPECT_EQ((*frame)["customer"], "C000004") << frame->dump();
  EXPECT_EQ((*frame)["transitions"][0]["alarm"]["alarm_id"], "AL-2");
}

}  // namespace
}  // namespace nbms::it
