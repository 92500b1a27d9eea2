// The alarm console routes (routes_alarms.cpp) over an alarm service on an
// in-memory store: shapes, filters, history paging and CSV, operator actions
// and their audit entries, and every error status. Who may call which route is
// in authz_matrix_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr std::string_view kPassword = "alarm-password-1";
constexpr std::string_view kBase = "/api/v1/customers/C000003/buildings/B001/";
const ThingName kThing{"C000003", "B001", "01"};

class AlarmsApi : public ::testing::Test, protected testing::AlarmWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(auth.bootstrap_admin(std::string(kPassword)));
    ASSERT_TRUE(registry.create_customer({"C000003", "Acme", 1}));
    ASSERT_TRUE(registry.create_building({"C000003", "B001", "HQ", "", 2}));
    ASSERT_TRUE(registry.create_thing({kThing, 3}));
    const auth::Principal root{"admin", "", Role::admin};
    ASSERT_TRUE(auth.create_user(root, "mia", kPassword, Role::manager, "C000003", {}));
    token = auth.login("mia", kPassword, {}).value().token;
    points.all.push_back(
        {"p-ahu", kThing.full(), "AV", "SAT", "AHU/AHU_01/SAT", "", "", false, true});
    points.all.push_back(
        {"p-fcu", kThing.full(), "AV", "RAT", "FCU/FCU_03/RAT", "", "", false, true});
  }

  void raise(std::string id, int priority, std::string point = "p-ahu", std::string text = "",
             unsigned second = 0, AlarmStatus status = AlarmStatus::raise) {
    auto e = alarm_event(kThing, std::move(id), status, priority, second);
    e.point_id = std::move(point);
    e.text = std::move(text);
    ASSERT_TRUE(alarms.on_alarm(e).has_value());
  }

  Response call(std::string method, std::string path, std::string body = "",
                std::string content_type = "application/json") {
    return request(make_services(&alarms), token, std::move(method), std::string(kBase) + path,
                   std::move(body), std::move(content_type));
  }
  Response get(std::string path) { return call("GET", std::move(path)); }
  Response post(std::string path, std::string body = "") {
    return call("POST", std::move(path), std::move(body));
  }
  static json ok(const Response& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static std::string error(const Response& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["message"].get<std::string>() : "";
  }
  static std::vector<std::string> ids(const json& list) {
    std::vector<std::string> out;
    for (const auto& a : list) out.push_back(a["alarm_id"].get<std::string>());
    return out;
  }

  std::string token;
};

using Strings = std::vector<std::string>;

TEST_F(AlarmsApi, CurrentListsUnacknowledgedFirstThenByPriorityWithItsShape) {
  raise("A", 100);
  raise("B", 10, "p-fcu");
  raise("C", 50);
  ASSERT_EQ(post("alarms/C000003_B001_01/B/ack").status, 200);
  const json body = ok(get("alarms"));
  EXPECT_EQ(ids(body["alarms"]), (Strings{"C", "A", "B"}));
  const json& a = body["alarms"][0];
  EXPECT_EQ(a["thing"], "C000003_B001_01");
  EXPECT_EQ(a["kind"], "point");
  EXPECT_EQ(a["priority"], 50);
  EXPECT_EQ(a["active"], true);
  EXPECT_EQ(a["acknowledged"], false);
  EXPECT_EQ(a["shelved"], false);
  EXPECT_EQ(a["raised_at"], "20231114220000");
  EXPECT_EQ(a["raised_ms"], clock.now);
  EXPECT_EQ(body["alarms"][2]["acknowledged_by"], "mia");
}

TEST_F(AlarmsApi, CurrentFilters) {
  raise("A", 100);
  raise("B", 10, "p-fcu");
  raise("C", 200);
  EXPECT_EQ(ids(ok(get("alarms?max_priority=100"))["alarms"]), (Strings{"B", "A"}));
  EXPECT_EQ(ids(ok(get("alarms?equipment=FCU"))["alarms"]), (Strings{"B"}));
  EXPECT_EQ(ids(ok(get("alarms?thing=C000003_B001_02"))["alarms"]), Strings{});
  ASSERT_EQ(post("alarms/C000003_B001_01/C/shelve",
                 R"({"until_ms":)" + std::to_string(clock.now + 60'000) + "}")
                .status,
            200);
  EXPECT_EQ(ids(ok(get("alarms?shelved=false"))["alarms"]), (Strings{"B", "A"}));
  EXPECT_EQ(ok(get("alarms"))["alarms"].size(), 3u);
  error(get("alarms?max_priority=256"), 400);
  error(get("alarms?max_priority=x"), 400);
  error(get("alarms?shelved=maybe"), 400);
}

TEST_F(AlarmsApi, HistoryIsNewestFirstWithATruncatedFlag) {
  for (unsigned i = 0; i < 5; ++i) {
    clock.now += 1000;
    raise("A" + std::to_string(i), 100, "p-ahu", "", i);
  }
  json body = ok(get("alarms/history?limit=3"));
  EXPECT_EQ(body["truncated"], true);
  ASSERT_EQ(body["transitions"].size(), 3u);
  EXPECT_EQ(body["transitions"][0]["kind"], "raised");
  EXPECT_EQ(body["transitions"][0]["alarm"]["alarm_id"], "A4");
  body = ok(get("alarms/history?limit=5&order=asc"));
  EXPECT_EQ(body["truncated"], false);
  EXPECT_EQ(body["transitions"][0]["alarm"]["alarm_id"], "A0");
  // from inclusive, to exclusive.
  const auto t1 = clock.now - 3000;  // A1's time
  body = ok(get("alarms/history?from=" + std::to_string(t1) + "&to=" + std::to_string(t1 + 2000)));
  EXPECT_EQ(ids(json::array({body["transitions"][0]["alarm"], body["transitions"][1]["alarm"]})),
            (Strings{"A2", "A1"}));
  error(get("alarms/history?from=10&to=5"), 400);
  error(get("alarms/history?from=0&to=999999999999999"), 400);  // more than 400 days
  error(get("alarms/history?limit=0"), 400);
  error(get("alarms/history?limit=10001"), 400);
  error(get("alarms/history?order=up"), 400);
  error(get("alarms/history?format=xml"), 400);
}

TEST_F(AlarmsApi, HistoryCsvQuotesFieldsAndDefusesFormulas) {
  raise("A,1", 100, "p-ahu", "says \"hot\",\nreally");
  raise("B", 100, "p-ahu", "=HYPERLINK(\"x\")");
  for (const auto* path : {"alarms/history.csv?order=asc", "alarms/history?format=csv&order=asc"}) {
    const auto r = get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
    ASSERT_NE(r.header("Content-Disposition"), nullptr);
    EXPECT_TRUE(r.header("Content-Disposition")
                    ->starts_with("attachment; filename=\"alarms-C000003-B001-"));
    ASSERT_NE(r.header("X-Truncated"), nullptr);
    EXPECT_EQ(*r.header("X-Truncated"), "false");
    EXPECT_TRUE(r.body.starts_with("time_utc,at_ms,transition,thing,alarm_id,")) << r.body;
    EXPECT_NE(r.body.find("2023-11-14T22:13:20.000Z," + std::to_string(clock.now) +
                          ",raised,C000003_B001_01,\"A,1\",point,"),
              std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find(",\"says \"\"hot\"\",\nreally\"\r\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(",\"'=HYPERLINK(\"\"x\"\")\"\r\n"), std::string::npos) << r.body;
  }
  const auto r = get("alarms/history.csv?limit=1");
  EXPECT_EQ(*r.header("X-Truncated"), "true");
}

TEST_F(AlarmsApi, AcknowledgeSingleAndBulkAreAudited) {
  raise("A", 100);
  raise("B", 100);
  raise("C", 100);
  json body = ok(post("alarms/C000003_B001_01/A/ack"));
  EXPECT_EQ(body["alarm"]["acknowledged"], true);
  EXPECT_EQ(body["alarm"]["acknowledged_by"], "mia");
  body = ok(post("alarms/ack", R"({"alarms":[
      {"thing":"C000003_B001_01","alarm_id":"A"},
      {"thing":"C000003_B001_01","alarm_id":"B"},
      {"thing":"C000003_B001_01","alarm_id":"C"},
      {"thing":"C000003_B001_01","alarm_id":"nope"},
      {"thing":"C000004_B001_01","alarm_id":"B"}]})"));
  EXPECT_EQ(body["acknowledged"], 2);
  EXPECT_EQ(body["already"], 1);
  ASSERT_EQ(body["not_found"].size(), 2u);
  EXPECT_EQ(body["not_found"][0]["thing"], "C000004_B001_01");  // not of this building
  EXPECT_EQ(body["not_found"][1]["alarm_id"], "nope");
  const auto current = ok(get("alarms"));  // kept: a range-for over a temporary's member dangles
  for (const auto& a : current["alarms"]) EXPECT_EQ(a["acknowledged"], true);
  const auto entries = audit.with_action("alarm.ack");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].target, "C000003_B001_01/A");
  EXPECT_EQ(entries[0].user, "mia");
  EXPECT_EQ(entries[0].customer, "C000003");
  EXPECT_TRUE(entries[0].ok);
  EXPECT_EQ(json::parse(entries[1].detail)["acknowledged"], 2);
}

TEST_F(AlarmsApi, AcknowledgingAClearedAlarmReturnsItToNormal) {
  raise("A", 100);
  raise("A", 100, "", "", 1, AlarmStatus::clear);
  const json body = ok(post("alarms/C000003_B001_01/A/ack"));
  EXPECT_EQ(body["removed"], true);
  EXPECT_TRUE(ok(get("alarms"))["alarms"].empty());
}

TEST_F(AlarmsApi, ShelveNeedsABoundedExpiryUnshelveAndComment) {
  raise("A", 100);
  const std::string path = "alarms/C000003_B001_01/A/";
  EXPECT_NE(error(post(path + "shelve", "{}"), 400).find("until_ms"), std::string::npos);
  error(post(path + "shelve", R"({"until_ms":"soon"})"), 400);
  error(post(path + "shelve", R"({"until_ms":)" + std::to_string(clock.now - 1) + "}"), 400);
  error(
      post(path + "shelve", R"({"until_ms":)" + std::to_string(clock.now + kMaxShelveMs + 1) + "}"),
      400);
  error(post(path + "shelve", R"({"until_ms":)" + std::to_string(clock.now + 1000) +
                                  R"(,"reason":)" + json(std::string(1001, 'x')).dump() + "}"),
        400);
  json body = ok(post(path + "shelve", R"({"until_ms":)" + std::to_string(clock.now + 60'000) +
                                           R"(,"reason":"maintenance"})"));
  EXPECT_EQ(body["alarm"]["shelved"], true);
  EXPECT_EQ(body["alarm"]["shelved_until_ms"], clock.now + 60'000);
  EXPECT_EQ(body["alarm"]["shelved_by"], "mia");
  body = ok(post(path + "unshelve"));
  EXPECT_EQ(body["alarm"]["shelved"], false);
  error(post(path + "unshelve"), 400);  // not shelved
  body = ok(post(path + "comments", R"({"text":"called the technician"})"));
  ASSERT_EQ(body["alarm"]["comments"].size(), 1u);
  EXPECT_EQ(body["alarm"]["comments"][0]["user"], "mia");
  EXPECT_EQ(body["alarm"]["comments"][0]["text"], "called the technician");
  error(post(path + "comments", R"({"text":""})"), 400);
  error(post(path + "comments", "{}"), 400);
  // The two expiries the alarm rules refuse, and the shelve (malformed bodies never reach them).
  EXPECT_EQ(audit.with_action("alarm.shelve").size(), 3u);
  EXPECT_EQ(audit.with_action("alarm.unshelve").size(), 2u);
  ASSERT_EQ(audit.with_action("alarm.comment").size(), 1u);  // body errors come before the service
  EXPECT_EQ(audit.with_action("alarm.comment")[0].detail, "called the technician");
}

TEST_F(AlarmsApi, BadBodiesAre400) {
  raise("A", 100);
  error(post("alarms/ack", "{"), 400);
  error(post("alarms/ack", "[]"), 400);
  error(post("alarms/ack", R"({"alarms":[]})"), 400);
  error(post("alarms/ack", R"({"alarms":[{"thing":"C000003_B001_01"}]})"), 400);
  error(post("alarms/ack", R"({"alarms":["A"]})"), 400);
  error(post("alarms/ack", R"({"alarms":[{"thing":1,"alarm_id":"A"}]})"), 400);
  error(post("alarms/ack", R"({"alarm":[]})"), 400);
  error(post("alarms/C000003_B001_01/A/shelve", "not json"), 400);
  error(post("alarms/C000003_B001_01/A/comments", R"({"text":"x","extra":1})"), 400);
  EXPECT_EQ(call("POST", "alarms/C000003_B001_01/A/ack", "x", "text/plain").status, 415);
  EXPECT_EQ(ok(get("alarms"))["alarms"][0]["acknowledged"], false);
}

TEST_F(AlarmsApi, UnknownAlarmsAndBuildingsAre404) {
  raise("A", 100);
  for (const auto* action : {"ack", "unshelve"}) {
    error(post(std::string("alarms/C000003_B001_01/NOPE/") + action), 404);
    // A thing of another building is not found here either.
    error(post(std::string("alarms/C000003_B002_01/A/") + action), 404);
    error(post(std::string("alarms/not-a-thing/A/") + action), 404);
  }
  error(post("alarms/C000003_B001_01/NOPE/shelve",
             R"({"until_ms":)" + std::to_string(clock.now + 1000) + "}"),
        404);
  error(post("alarms/C000003_B001_01/NOPE/comments", R"({"text":"x"})"), 404);
  const auto r = call("GET", "alarms");
  EXPECT_EQ(r.status, 200);
  const Api api(make_services(&alarms), ApiOptions{});
  Request req{"GET", "/api/v1/customers/C000003/buildings/B009/alarms", "", ""};
  req.authorization = "Bearer " + token;
  EXPECT_EQ(api.handle(req).status, 404);
  req.target = "/api/v1/customers/C000003/buildings/B001/alarms/health?from=0&to=1";
  EXPECT_EQ(api.handle(req).status, 200);
}

TEST_F(AlarmsApi, ViewersMayReadButNotActAndTheRefusalIsAudited) {
  raise("A", 100);
  const auth::Principal root{"admin", "", Role::admin};
  ASSERT_TRUE(auth.create_user(root, "vic", kPassword, Role::viewer, "C000003", {}));
  token = auth.login("vic", kPassword, {}).value().token;
  EXPECT_EQ(ok(get("alarms"))["alarms"].size(), 1u);
  error(post("alarms/C000003_B001_01/A/ack"), 403);
  error(post("alarms/ack", R"({"alarms":[{"thing":"C000003_B001_01","alarm_id":"A"}]})"), 403);
  const auto denied = audit.with_action("alarm.ack");
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_FALSE(denied[0].ok);
  EXPECT_EQ(denied[0].user, "vic");
}

TEST_F(AlarmsApi, HealthAndLinks) {
  for (unsigned i = 0; i < 12; ++i) raise("F" + std::to_string(i), 100, "p-ahu", "", i);
  const json h = ok(get("alarms/health?from=" + std::to_string(clock.now - 600'000) +
                        "&to=" + std::to_string(clock.now + 600'000)));
  EXPECT_EQ(h["raises"], 12);
  EXPECT_EQ(h["bucket_ms"], 600'000);
  EXPECT_EQ(h["floods"].size(), 1u);
  EXPECT_LE(h["top"].size(), 10u);
  error(get("alarms/health?from=0&to=" + std::to_string(40LL * 24 * 3600 * 1000)), 400);

  DisconnectEvent d;
  d.thing = kThing;
  d.device = "dev-7";
  d.connected = false;
  d.text = "controller lost";
  ASSERT_TRUE(alarms.on_disconnect(d).has_value());
  const json links = ok(get("links"));
  ASSERT_EQ(links["links"].size(), 1u);
  EXPECT_EQ(links["links"][0]["device"], "dev-7");
  EXPECT_EQ(links["links"][0]["connected"], false);
  const json changes = ok(get("links/history"));
  ASSERT_EQ(changes["changes"].size(), 1u);
  EXPECT_EQ(changes["changes"][0]["connected"], false);
  EXPECT_EQ(changes["changes"][0]["device"], "dev-7");
}

TEST_F(AlarmsApi, WithoutTheAlarmServiceTheRoutesAnswer503) {
  const Api api(make_services(), ApiOptions{});
  Request req{"GET", std::string(kBase) + "alarms", "", ""};
  req.authorization = "Bearer " + token;
  EXPECT_EQ(api.handle(req).status, 503);
}

}  // namespace
}  // namespace nbms::http
