// Router tests: every route's happy path and shape, and every error status,
// against in-memory fakes of the ports (no sockets, no disk).
#include "http/api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

LocalMinute at(std::string_view text) {
  return LocalMinute::parse(text).value();
}

constexpr std::string_view kAdminPassword = "admin-password-1";

class HttpApi : public ::testing::Test, protected testing::ApiWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(auth.bootstrap_admin(std::string(kAdminPassword)));
    token = login("admin", kAdminPassword);
  }

  std::string login(std::string_view user, std::string_view password) {
    auto r = auth.login(user, password, auth::Origin{"127.0.0.1"});
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->token : std::string();
  }

  Response call(std::string method, std::string target, std::string body = "",
                std::string content_type = "application/json") {
    Services services{registry, points, series, dead, clock, auth, nullptr, health, {}};
    const Api api(services, options);
    Request req{std::move(method), std::move(target), std::move(content_type), std::move(body)};
    if (!token.empty()) req.authorization = "Bearer " + token;
    req.remote = "127.0.0.1";
    return api.handle(req);
  }
  Response get(std::string target) { return call("GET", std::move(target)); }
  Response post(std::string target, std::string body) {
    return call("POST", std::move(target), std::move(body));
  }

  static json body_of(const Response& r) {
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  // Checks the error shape and returns the message.
  static std::string expect_error(const Response& r, int status, std::string_view code) {
    EXPECT_EQ(r.status, status) << r.body;
    const json j = json::parse(r.body);
    EXPECT_TRUE(j.contains("error")) << r.body;
    if (!j.contains("error")) return {};
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    const auto* nosniff = r.header("X-Content-Type-Options");
    EXPECT_TRUE(nosniff && *nosniff == "nosniff");
    return j["error"]["message"].get<std::string>();
  }

  void seed() {
    ASSERT_TRUE(registry.create_customer({"C000003", "Acme", 1}));
    ASSERT_TRUE(registry.create_building({"C000003", "B001", "HQ", "1 Main St", 2}));
    ASSERT_TRUE(registry.create_thing({ThingName::parse("C000003_B001_01").value(), 3}));
  }

  std::string token;  // sent as the bearer token when not empty
  std::function<json()> health = [] { return json{{"status", "ok"}, {"mqtt", "connected"}}; };
  ApiOptions options;
};

// ---- health -----------------------------------------------------------------

TEST_F(HttpApi, HealthReturnsTheAppsBody) {
  const auto r = get("/api/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"status", "ok"}, {"mqtt", "connected"}}));
  const auto* nosniff = r.header("x-content-type-options");
  ASSERT_NE(nosniff, nullptr);
  EXPECT_EQ(*nosniff, "nosniff");
}

TEST_F(HttpApi, HealthWithoutBuilderSaysOk) {
  health = nullptr;
  const auto r = get("/api/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["status"], "ok");
}

TEST_F(HttpApi, HeadIsAnsweredAsGet) {
  const auto r = call("HEAD", "/api/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["mqtt"], "connected");  // the transport drops the body
}

// ---- customers --------------------------------------------------------------

TEST_F(HttpApi, ListCustomersEmpty) {
  const auto r = get("/api/v1/customers");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"customers", json::array()}}));
}

TEST_F(HttpApi, CreateCustomerThenListAndGet) {
  clock.now = 1234;
  auto r = post("/api/v1/customers", R"({"id":"C000003","name":"Acme Corp"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r), (json{{"id", "C000003"}, {"name", "Acme Corp"}, {"created_ms", 1234}}));
  ASSERT_NE(r.header("Location"), nullptr);
  EXPECT_EQ(*r.header("Location"), "/api/v1/customers/C000003");

  r = get("/api/v1/customers");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["customers"],
            (json::array({{{"id", "C000003"}, {"name", "Acme Corp"}, {"created_ms", 1234}}})));

  r = get("/api/v1/customers/C000003");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["name"], "Acme Corp");
}

TEST_F(HttpApi, CreateCustomerAcceptsJsonContentTypes) {
  EXPECT_EQ(call("POST", "/api/v1/customers", R"({"id":"A","name":"a"})", "").status, 201);
  EXPECT_EQ(call("POST", "/api/v1/customers", R"({"id":"B","name":"b"})",
                 "application/json; charset=utf-8")
                .status,
            201);
  EXPECT_EQ(
      call("POST", "/api/v1/customers", R"({"id":"C","name":"c"})", "Application/vnd.nbms+json")
          .status,
      201);
}

TEST_F(HttpApi, CreateCustomerRejectsOtherContentTypes) {
  const auto r = call("POST", "/api/v1/customers", R"({"id":"A","name":"a"})",
                      "application/x-www-form-urlencoded");
  expect_error(r, 415, "unsupported_media_type");
}

TEST_F(HttpApi, CreateCustomerDuplicateIs409) {
  ASSERT_EQ(post("/api/v1/customers", R"({"id":"C1","name":"a"})").status, 201);
  const auto msg =
      expect_error(post("/api/v1/customers", R"({"id":"C1","name":"b"})"), 409, "conflict");
  EXPECT_NE(msg.find("already exists"), std::string::npos) << msg;
}

TEST_F(HttpApi, CreateCustomerBadJsonIs400) {
  expect_error(post("/api/v1/customers", R"({"id":"C1",)"), 400, "bad_request");
  expect_error(post("/api/v1/customers", ""), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"(["C1"])"), 400, "bad_request");
}

TEST_F(HttpApi, CreateCustomerValidatesFields) {
  expect_error(post("/api/v1/customers", R"({"id":"C_1","name":"a"})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"id":"","name":"a"})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"id":7,"name":"a"})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"name":"a"})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"id":"C1"})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"id":"C1","name":""})"), 400, "bad_request");
  expect_error(post("/api/v1/customers", R"({"id":"C1","name":null})"), 400, "bad_request");
  const json long_name{{"id", "C1"}, {"name", std::string(201, 'x')}};
  expect_error(post("/api/v1/customers", long_name.dump()), 400, "bad_request");
  const json max_name{{"id", "C1"}, {"name", std::string(200, 'x')}};
  EXPECT_EQ(post("/api/v1/customers", max_name.dump()).status, 201);
}

TEST_F(HttpApi, CreateCustomerRejectsUnknownMembers) {
  const auto msg = expect_error(post("/api/v1/customers", R"({"id":"C1","name":"a","nmae":"b"})"),
                                400, "bad_request");
  EXPECT_NE(msg.find("nmae"), std::string::npos) << msg;
}

TEST_F(HttpApi, GetUnknownCustomerIs404) {
  expect_error(get("/api/v1/customers/C9"), 404, "not_found");
}

TEST_F(HttpApi, GetCustomerWithBadIdIs400) {
  expect_error(get("/api/v1/customers/C_1"), 400, "bad_request");
  expect_error(get("/api/v1/customers/" + std::string(33, 'a')), 400, "bad_request");
}

// ---- buildings --------------------------------------------------------------

TEST_F(HttpApi, CreateBuildingThenListAndGet) {
  seed();
  clock.now = 77;
  auto r = post("/api/v1/customers/C000003/buildings",
                R"({"id":"B002","name":"Annex","address":"2 Side St"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r), (json{{"customer", "C000003"},
                              {"id", "B002"},
                              {"name", "Annex"},
                              {"address", "2 Side St"},
                              {"created_ms", 77}}));
  ASSERT_NE(r.header("Location"), nullptr);
  EXPECT_EQ(*r.header("Location"), "/api/v1/customers/C000003/buildings/B002");

  r = get("/api/v1/customers/C000003/buildings");
  EXPECT_EQ(r.status, 200);
  const auto list = body_of(r)["buildings"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "B001");
  EXPECT_EQ(list[1]["id"], "B002");

  r = get("/api/v1/customers/C000003/buildings/B002");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["address"], "2 Side St");
}

TEST_F(HttpApi, CreateBuildingAddressIsOptional) {
  seed();
  const auto r = post("/api/v1/customers/C000003/buildings", R"({"id":"B002","name":"Annex"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r)["address"], "");
}

TEST_F(HttpApi, CreateBuildingErrors) {
  seed();
  expect_error(post("/api/v1/customers/C9/buildings", R"({"id":"B1","name":"x"})"), 404,
               "not_found");
  expect_error(post("/api/v1/customers/C000003/buildings", R"({"id":"B001","name":"x"})"), 409,
               "conflict");
  expect_error(post("/api/v1/customers/C000003/buildings", R"({"id":"B 1","name":"x"})"), 400,
               "bad_request");
  expect_error(post("/api/v1/customers/C000003/buildings", R"({"id":"B1","name":"x","address":3})"),
               400, "bad_request");
  expect_error(post("/api/v1/customers/C000003/buildings", R"({"id":"B1","name":"x","floors":3})"),
               400, "bad_request");
  expect_error(post("/api/v1/customers/C000003/buildings", "{"), 400, "bad_request");
}

TEST_F(HttpApi, BuildingsOfUnknownCustomerIs404) {
  expect_error(get("/api/v1/customers/C9/buildings"), 404, "not_found");
}

TEST_F(HttpApi, UnknownBuildingIs404) {
  seed();
  expect_error(get("/api/v1/customers/C000003/buildings/B999"), 404, "not_found");
  expect_error(get("/api/v1/customers/C9/buildings/B001"), 404, "not_found");
  expect_error(get("/api/v1/customers/C000003/buildings/B_1"), 400, "bad_request");
}

// ---- things -----------------------------------------------------------------

TEST_F(HttpApi, CreateThingThenList) {
  seed();
  clock.now = 99;
  auto r = post("/api/v1/customers/C000003/buildings/B001/things", R"({"name":"C000003_B001_02"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r), (json{{"name", "C000003_B001_02"},
                              {"customer", "C000003"},
                              {"building", "B001"},
                              {"index", "02"},
                              {"created_ms", 99}}));
  r = get("/api/v1/customers/C000003/buildings/B001/things");
  EXPECT_EQ(r.status, 200);
  const auto list = body_of(r)["things"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "C000003_B001_01");
  EXPECT_EQ(list[1]["name"], "C000003_B001_02");
}

TEST_F(HttpApi, CreateThingErrors) {
  seed();
  const std::string url = "/api/v1/customers/C000003/buildings/B001/things";
  auto msg = expect_error(post(url, R"({"name":"C000004_B001_01"})"), 400, "bad_request");
  EXPECT_NE(msg.find("C000003/B001"), std::string::npos) << msg;
  expect_error(post(url, R"({"name":"C000003_B002_01"})"), 400, "bad_request");
  msg = expect_error(post(url, R"({"name":"C000003-B001-01"})"), 400, "bad_request");
  EXPECT_NE(msg.find("<customer>_<building>_<index>"), std::string::npos) << msg;
  expect_error(post(url, R"({"name":"C000003_B001_x1"})"), 400, "bad_request");
  expect_error(post(url, R"({"name":"C000003_B001_01"})"), 409, "conflict");
  expect_error(post(url, R"({"thing":"C000003_B001_03"})"), 400, "bad_request");
  expect_error(
      post("/api/v1/customers/C000003/buildings/B404/things", R"({"name":"C000003_B404_1"})"), 404,
      "not_found");
}

TEST_F(HttpApi, ThingsOfUnknownBuildingIs404) {
  seed();
  expect_error(get("/api/v1/customers/C000003/buildings/B404/things"), 404, "not_found");
}

// ---- points, latest, history --------------------------------------------------

TEST_F(HttpApi, PointsShape) {
  seed();
  points.all.push_back({"39.BI-300:1628_AHUReturnFan_01", "C000003_B001_01", "BI", "Return fan",
                        "AHU/AHU_0001", "B1F", "", true, true});
  points.all.push_back(
      {"01.0.AV-101:01_Elec", "C000003_B001_01", "AV", "", "", "", "kWh", false, false});
  const auto r = get("/api/v1/customers/C000003/buildings/B001/points");
  EXPECT_EQ(r.status, 200);
  const auto list = body_of(r)["points"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (json{{"point_id", "39.BI-300:1628_AHUReturnFan_01"},
                           {"thing", "C000003_B001_01"},
                           {"object_type", "BI"},
                           {"name", "Return fan"},
                           {"equipment", "AHU/AHU_0001"},
                           {"location", "B1F"},
                           {"unit", ""},
                           {"writable", true},
                           {"declared", true}}));
  EXPECT_EQ(list[1]["declared"], false);
  EXPECT_EQ(list[1]["unit"], "kWh");
}

TEST_F(HttpApi, PointsOfUnknownBuildingIs404) {
  expect_error(get("/api/v1/customers/C000003/buildings/B001/points"), 404, "not_found");
}

TEST_F(HttpApi, LatestShape) {
  seed();
  series.samples[{"C000003", "B001", "p1"}] = {{at("202210040930"), 1.0},
                                               {at("202210040945"), 21.5}};
  const auto r = get("/api/v1/customers/C000003/buildings/B001/latest");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      body_of(r),
      (json{{"points",
             json::array({{{"point_id", "p1"}, {"time", "202210040945"}, {"value", 21.5}}})}}));
  expect_error(get("/api/v1/customers/C000003/buildings/B404/latest"), 404, "not_found");
}

TEST_F(HttpApi, HistoryReturnsSamplesInRange) {
  seed();
  const std::string id = "39.BI-300:1628_AHUReturnFan_01";
  series.samples[{"C000003", "B001", id}] = {{at("202210040900"), 0},
                                             {at("202210040915"), 1},
                                             {at("202210040930"), 1},
                                             {at("202210050000"), 0}};
  const auto r =
      get("/api/v1/customers/C000003/buildings/B001/points/39.BI-300%3A1628_AHUReturnFan_01/"
          "history?from=202210040915&to=202210040930");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = body_of(r);
  EXPECT_EQ(j["point_id"], id);
  EXPECT_EQ(j["from"], "202210040915");
  EXPECT_EQ(j["to"], "202210040930");
  ASSERT_EQ(j["samples"].size(), 2u);
  EXPECT_EQ(j["samples"][0]["time"], "202210040915");
  EXPECT_DOUBLE_EQ(j["samples"][0]["value"].get<double>(), 1.0);
  ASSERT_TRUE(series.last_history);
  EXPECT_EQ(std::get<2>(*series.last_history), id);
}

TEST_F(HttpApi, HistoryPointIdMayBeSentUnencoded) {
  seed();
  const auto r =
      get("/api/v1/customers/C000003/buildings/B001/points/39.BI-300:1628_AHUReturnFan_01/"
          "history?from=202210040915&to=202210040930");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["point_id"], "39.BI-300:1628_AHUReturnFan_01");
  EXPECT_EQ(body_of(r)["samples"], json::array());
}

TEST_F(HttpApi, HistoryEncodedSlashStaysInTheSegmentAndIsRejected) {
  seed();
  // %2F decodes to '/' inside the point id (it does not split the path), and '/'
  // is not allowed in point ids.
  const auto msg = expect_error(
      get("/api/v1/customers/C000003/buildings/B001/points/a%2Fb/history?from=202210040915&"
          "to=202210040930"),
      400, "bad_request");
  EXPECT_NE(msg.find("point_id"), std::string::npos) << msg;
  EXPECT_FALSE(series.last_history);
  // A raw '/' makes a different path: no such route.
  expect_error(get("/api/v1/customers/C000003/buildings/B001/points/a/b/history?from=202210040915&"
                   "to=202210040930"),
               404, "not_found");
}

TEST_F(HttpApi, HistoryInvalidEscapesAre400) {
  seed();
  const std::string base = "/api/v1/customers/C000003/buildings/B001/points/";
  const std::string q = "/history?from=202210040915&to=202210040930";
  expect_error(get(base + "abc%zz" + q), 400, "bad_request");
  expect_error(get(base + "abc%4" + q), 400, "bad_request");
  expect_error(get(base + "abc%" + q), 400, "bad_request");
  expect_error(get(base + "abc%00" + q), 400, "bad_request");
  expect_error(get(base + "abc" + "/history?from=2022%zz&to=202210040930"), 400, "bad_request");
  // Escapes also apply to customer/building segments.
  expect_error(get("/api/v1/customers/C%G1"), 400, "bad_request");
  EXPECT_EQ(get("/api/v1/customers/C%30").status, 404);  // C0: valid id, unknown
}

TEST_F(HttpApi, HistoryQueryValidation) {
  seed();
  const std::string base = "/api/v1/customers/C000003/buildings/B001/points/p1/history";
  auto msg = expect_error(get(base), 400, "bad_request");
  EXPECT_NE(msg.find("from"), std::string::npos) << msg;
  msg = expect_error(get(base + "?from=202210040915"), 400, "bad_request");
  EXPECT_NE(msg.find("to"), std::string::npos) << msg;
  msg = expect_error(get(base + "?from=20221004&to=202210040930"), 400, "bad_request");
  EXPECT_NE(msg.find("12 digits"), std::string::npos) << msg;
  msg = expect_error(get(base + "?from=202202300000&to=202203010000"), 400, "bad_request");
  EXPECT_NE(msg.find("day"), std::string::npos) << msg;
  msg = expect_error(get(base + "?from=202210050000&to=202210040000"), 400, "bad_request");
  EXPECT_NE(msg.find("after"), std::string::npos) << msg;
  EXPECT_FALSE(series.last_history);
}

TEST_F(HttpApi, HistoryRangeIsAtMost400Days) {
  seed();
  const std::string base = "/api/v1/customers/C000003/buildings/B001/points/p1/history";
  // 2022-01-01 + 400 days = 2023-02-05.
  EXPECT_EQ(get(base + "?from=202201010000&to=202302050000").status, 200);
  EXPECT_EQ(get(base + "?to=202302050000&from=202201010000").status, 200);
  const auto msg =
      expect_error(get(base + "?from=202201010000&to=202302050001"), 400, "bad_request");
  EXPECT_NE(msg.find("400 days"), std::string::npos) << msg;
  EXPECT_EQ(get(base + "?from=202201010000&to=202201010000").status, 200);
}

TEST_F(HttpApi, HistoryOfUnknownBuildingIs404) {
  seed();
  expect_error(get("/api/v1/customers/C000003/buildings/B404/points/p1/history?from=202201010000&"
                   "to=202201020000"),
               404, "not_found");
  expect_error(get("/api/v1/customers/C9/buildings/B001/points/p1/history?from=202201010000&"
                   "to=202201020000"),
               404, "not_found");
}

// ---- dead letters -------------------------------------------------------------

TEST_F(HttpApi, DeadLettersShapeAndDefaultLimit) {
  dead.letters.push_back({10, "C1_B1_01/periodic_log", "unregistered thing", R"({"a":1})"});
  dead.letters.push_back({20, "x/y", "bad json", "\xff\xfe not utf-8"});
  const auto r = get("/api/v1/dead-letters");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(dead.last_limit, 100u);
  const auto j = body_of(r);  // parses: invalid UTF-8 was replaced
  ASSERT_EQ(j["dead_letters"].size(), 2u);
  EXPECT_EQ(j["dead_letters"][0]["received_ms"], 20);
  EXPECT_EQ(j["dead_letters"][0]["topic"], "x/y");
  EXPECT_EQ(j["dead_letters"][0]["reason"], "bad json");
  EXPECT_EQ(j["dead_letters"][0]["payload"], "\xEF\xBF\xBD\xEF\xBF\xBD not utf-8");
  EXPECT_EQ(j["dead_letters"][1]["payload"], R"({"a":1})");
}

TEST_F(HttpApi, DeadLettersLimit) {
  for (int i = 0; i < 5; ++i) dead.letters.push_back({i, "t", "r", "p"});
  auto r = get("/api/v1/dead-letters?limit=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(dead.last_limit, 2u);
  EXPECT_EQ(body_of(r)["dead_letters"].size(), 2u);
  EXPECT_EQ(get("/api/v1/dead-letters?limit=1000").status, 200);
  EXPECT_EQ(get("/api/v1/dead-letters?limit=1").status, 200);
  for (const char* bad : {"0", "1001", "-1", "abc", "", "5x", "99999999999999999999999"}) {
    expect_error(get(std::string("/api/v1/dead-letters?limit=") + bad), 400, "bad_request");
  }
}

// ---- routing and general errors ---------------------------------------------

TEST_F(HttpApi, UnknownRoutesAre404) {
  expect_error(get("/api/v1/nope"), 404, "not_found");
  expect_error(get("/api/v2/customers"), 404, "not_found");
  expect_error(get("/api"), 404, "not_found");
  expect_error(get("/api/v1"), 404, "not_found");
  expect_error(get("/api/v1/customers/"), 404, "not_found");
  expect_error(get("/api/v1/customers/C1/buildings/B1/nope"), 404, "not_found");
  // No web root: non-API paths are not served either.
  expect_error(get("/"), 404, "not_found");
  expect_error(get("/index.html"), 404, "not_found");
}

TEST_F(HttpApi, WrongMethodIs405WithAllow) {
  auto r = call("DELETE", "/api/v1/customers");
  expect_error(r, 405, "method_not_allowed");
  ASSERT_NE(r.header("Allow"), nullptr);
  EXPECT_EQ(*r.header("Allow"), "GET, POST, HEAD");

  r = post("/api/v1/health", "{}");
  expect_error(r, 405, "method_not_allowed");
  ASSERT_NE(r.header("Allow"), nullptr);
  EXPECT_EQ(*r.header("Allow"), "GET, HEAD");

  r = call("PUT", "/api/v1/customers/C1/buildings/B1/things");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(*r.header("Allow"), "GET, POST, HEAD");
}

TEST_F(HttpApi, BodyOverLimitIs413) {
  options.body_limit = 10;
  expect_error(post("/api/v1/customers", R"({"id":"C1","name":"a"})"), 413, "payload_too_large");
}

TEST_F(HttpApi, StoreErrorsMapToStatuses) {
  registry.fail_with = Error{Errc::io, "rocksdb: IO error: disk on fire"};
  auto msg = expect_error(get("/api/v1/customers"), 500, "internal");
  EXPECT_EQ(msg.find("disk"), std::string::npos) << "internal details leaked: " << msg;
  registry.fail_with = Error{Errc::unavailable, "busy"};
  expect_error(get("/api/v1/customers"), 503, "unavailable");
  registry.fail_with = Error{Errc::too_large, "too big"};
  expect_error(get("/api/v1/customers"), 413, "payload_too_large");
  registry.fail_with.reset();
  seed();
  dead.fail_with = Error{Errc::internal, "bug"};
  expect_error(get("/api/v1/dead-letters"), 500, "internal");
  series.fail_with = Error{Errc::unavailable, "busy"};
  expect_error(get("/api/v1/customers/C000003/buildings/B001/latest"), 503, "unavailable");
}

TEST_F(HttpApi, StatusForErrc) {
  EXPECT_EQ(status_for(Errc::invalid_argument), 400);
  EXPECT_EQ(status_for(Errc::malformed), 400);
  EXPECT_EQ(status_for(Errc::not_found), 404);
  EXPECT_EQ(status_for(Errc::already_exists), 409);
  EXPECT_EQ(status_for(Errc::too_large), 413);
  EXPECT_EQ(status_for(Errc::unavailable), 503);
  EXPECT_EQ(status_for(Errc::unregistered), 500);
  EXPECT_EQ(status_for(Errc::io), 500);
  EXPECT_EQ(status_for(Errc::internal), 500);
}

TEST_F(HttpApi, HealthBuilderThrowingIs500) {
  health = []() -> json { throw std::runtime_error("boom"); };
  expect_error(get("/api/v1/health"), 500, "internal");
}

TEST_F(HttpApi, StaticPathsAreRejectedBeforeTouchingDisk) {
  options.web_root = "/nonexistent-nbms-web-root";
  expect_error(get("/../etc/passwd"), 400, "bad_request");
  expect_error(get("/js/%2e%2e/%2e%2e/etc/passwd"), 400, "bad_request");
  expect_error(get("/a%5c..%5cb"), 400, "bad_request");
  expect_error(get("/a%00.html"), 400, "bad_request");
  expect_error(get("/a%2Fb"), 400, "bad_request");
  expect_error(get("/.git/config"), 404, "not_found");
  expect_error(get("/js/"), 404, "not_found");
  expect_error(get("/missing.html"), 404, "not_found");
  expect_error(get("/"), 404, "not_found");  // no index.html there
  auto r = post("/index.html", "{}");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(*r.header("Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace nbms::http
