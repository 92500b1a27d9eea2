// Authentication and authorisation of the REST API against the real nbmsd:
// every rule of docs/api.md (no token 401, other customer 404, role 403, bad
// JSON 400, oversized body 413, throttling 429), sessions and the audit log.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

constexpr const char* kOther = "C000004";
constexpr const char* kOtherThing = "C000004_B001_01";

class AuthApi : public NbmsTest {
 protected:
  void SetUp() override {
    NbmsTest::SetUp();
    register_thing();
    register_thing(kOther, kBuilding, kOtherThing);
    manager = add_user("mia", "manager", kCustomer);
    viewer = add_user("vic", "viewer", kCustomer);
    other_manager = add_user("otto", "manager", kOther);
  }

  HttpResponse as(const std::string& token, const std::string& method, const std::string& target,
                  const std::optional<Json>& body = std::nullopt) {
    return nbmsd().request(method, target, body, token);
  }

  std::string manager, viewer, other_manager;
};

// Every data route of a building, as the URL of customer `c`.
std::vector<std::string> read_routes(const std::string& c) {
  const std::string b = "/api/v1/customers/" + c + "/buildings/B001";
  return {"/api/v1/customers/" + c,
          "/api/v1/customers/" + c + "/overview",
          "/api/v1/customers/" + c + "/buildings",
          b,
          b + "/things",
          b + "/points",
          b + "/latest",
          b + "/points/AV-1/history?from=202201010000&to=202201020000"};
}

TEST_F(AuthApi, EveryRouteButLoginAndReadyNeedsAToken) {
  std::vector<std::string> routes = read_routes(kCustomer);
  for (const char* r : {"/api/v1/customers", "/api/v1/health", "/api/v1/dead-letters",
                        "/api/v1/users", "/api/v1/audit", "/api/v1/auth/me"}) {
    routes.emplace_back(r);
  }
  for (const auto& route : routes) {
    const auto r = as("", "GET", route);
    EXPECT_EQ(r.status, 401) << route << ": " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "unauthenticated") << route;
    EXPECT_EQ(as("not-a-token", "GET", route).status, 401) << route;
  }
  const auto post = as("", "POST", "/api/v1/customers", Json{{"id", "C9"}, {"name", "x"}});
  EXPECT_EQ(post.status, 401);
  EXPECT_EQ(as("", "GET", "/api/v1/ready").status, 200);
}

TEST_F(AuthApi, AnotherCustomersDataIsNotFoundWhateverTheUrlSays) {
  for (const auto& route : read_routes(kOther)) {
    for (const auto* token : {&manager, &viewer}) {
      const auto r = as(*token, "GET", route);
      EXPECT_EQ(r.status, 404) << route << ": " << r.body;
    }
    EXPECT_EQ(as(other_manager, "GET", route).status, 200) << route;
  }
  // Worded exactly like a customer that does not exist.
  EXPECT_EQ(as(manager, "GET", "/api/v1/customers/C000004").json["error"]["message"],
            "customer 'C000004' not found");
  EXPECT_EQ(as(manager, "GET", "/api/v1/customers/C000099").json["error"]["message"],
            "customer 'C000099' not found");
  // Writes into another customer are refused the same way, and nothing is created.
  EXPECT_EQ(as(manager, "POST", "/api/v1/customers/C000004/buildings",
               Json{{"id", "B002"}, {"name", "x"}})
                .status,
            404);
  EXPECT_EQ(nbmsd().get("/api/v1/customers/C000004/buildings/B002").status, 404);
  // Lists show only the caller's customer.
  const auto customers = as(viewer, "GET", "/api/v1/customers");
  ASSERT_EQ(customers.status, 200);
  ASSERT_EQ(customers.json["customers"].size(), 1u);
  EXPECT_EQ(customers.json["customers"][0]["id"], kCustomer);
}

TEST_F(AuthApi, RolesWithinTheCustomer) {
  const std::string buildings = std::string("/api/v1/customers/") + kCustomer + "/buildings";
  const auto denied = as(viewer, "POST", buildings, Json{{"id", "B002"}, {"name", "x"}});
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.json["error"]["code"], "forbidden");
  EXPECT_EQ(as(manager, "POST", buildings, Json{{"id", "B002"}, {"name", "x"}}).status, 201);
  // Only the admin creates customers and reads health and dead letters.
  EXPECT_EQ(as(manager, "POST", "/api/v1/customers", Json{{"id", "C9"}, {"name", "x"}}).status,
            403);
  EXPECT_EQ(as(manager, "GET", "/api/v1/health").status, 403);
  EXPECT_EQ(as(manager, "GET", "/api/v1/dead-letters").status, 403);
  // Viewers neither manage users nor read the audit log.
  EXPECT_EQ(as(viewer, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(as(viewer, "GET", "/api/v1/audit").status, 403);
  EXPECT_EQ(as(viewer, "POST", "/api/v1/users",
               Json{{"name", "eve"}, {"password", "long-enough-pw"}, {"role", "viewer"}})
                .status,
            403);
}

TEST_F(AuthApi, ManagersManageOnlyTheirOwnUsers) {
  const auto mine = as(manager, "GET", "/api/v1/users");
  ASSERT_EQ(mine.status, 200) << mine.body;
  std::vector<std::string> names;
  for (const auto& u : mine.json["users"]) names.push_back(u["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"mia", "vic"}));
  EXPECT_FALSE(mine.body.find("hash") != std::string::npos ||
               mine.body.find("salt") != std::string::npos);

  const auto created =
      as(manager, "POST", "/api/v1/users",
         Json{{"name", "nina"}, {"password", "nina-password"}, {"role", "viewer"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["customer"], kCustomer);
  EXPECT_EQ(nbmsd().login("nina", "nina-password").size(), 43u);

  // Another customer's user is not found, for delete and password reset alike.
  EXPECT_EQ(as(manager, "DELETE", "/api/v1/users/otto").status, 404);
  EXPECT_EQ(as(manager, "POST", "/api/v1/users/otto/password", Json{{"password", "hijacked-pw-1"}})
                .status,
            404);
  EXPECT_NO_THROW(nbmsd().login("otto", "otto-password"));

  // Reset a user's password: the old one stops working and its sessions end.
  const std::string vic_session = viewer;
  ASSERT_EQ(
      as(manager, "POST", "/api/v1/users/vic/password", Json{{"password", "vic-new-password"}})
          .status,
      204);
  EXPECT_EQ(as(vic_session, "GET", "/api/v1/auth/me").status, 401);
  EXPECT_THROW(nbmsd().login("vic", "vic-password"), std::runtime_error);
  EXPECT_NO_THROW(nbmsd().login("vic", "vic-new-password"));

  ASSERT_EQ(as(manager, "DELETE", "/api/v1/users/nina").status, 204);
  EXPECT_THROW(nbmsd().login("nina", "nina-password"), std::runtime_error);
}

TEST_F(AuthApi, BadBodiesAndOversizedBodies) {
  const std::string buildings = std::string("/api/v1/customers/") + kCustomer + "/buildings";
  const auto bad = http_request(nbmsd().http_port(), "POST", buildings, std::nullopt, 10s, manager);
  EXPECT_EQ(bad.status, 400) << bad.body;
  const auto not_object = as(manager, "POST", buildings, Json::array());
  EXPECT_EQ(not_object.status, 400);
  const auto huge =
      as(manager, "POST", buildings, Json{{"id", "B003"}, {"name", std::string(2u << 20, 'x')}});
  EXPECT_EQ(huge.status, 413) << huge.body.substr(0, 200);
  const auto login = as("", "POST", "/api/v1/auth/login", Json{{"user", "mia"}});
  EXPECT_EQ(login.status, 400);
}

TEST_F(AuthApi, LoginLogoutAndMe) {
  const auto me = as(manager, "GET", "/api/v1/auth/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.json, (Json{{"name", "mia"}, {"customer", kCustomer}, {"role", "manager"}}));

  const auto wrong =
      as("", "POST", "/api/v1/auth/login", Json{{"user", "mia"}, {"password", "wrong-password"}});
  const auto unknown = as("", "POST", "/api/v1/auth/login",
                          Json{{"user", "nobody"}, {"password", "wrong-password"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.json["error"]["message"], unknown.json["error"]["message"]);

  ASSERT_EQ(as(manager, "POST", "/api/v1/auth/logout").status, 204);
  EXPECT_EQ(as(manager, "GET", "/api/v1/auth/me").status, 401);
}

TEST_F(AuthApi, RepeatedFailedLoginsAreThrottled) {
  HttpResponse r;
  for (int i = 0; i < 5; ++i) {
    r = as("", "POST", "/api/v1/auth/login",
           Json{{"user", "vic"}, {"password", "guess-" + std::to_string(i)}});
    ASSERT_EQ(r.status, 401) << i;
  }
  r = as("", "POST", "/api/v1/auth/login", Json{{"user", "vic"}, {"password", "vic-password"}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "throttled");
}

TEST_F(AuthApi, WritesAreAuditedAndManagersReadTheirCustomersTrail) {
  ASSERT_EQ(as(manager, "POST", std::string("/api/v1/customers/") + kCustomer + "/buildings",
               Json{{"id", "B005"}, {"name", "Annex"}})
                .status,
            201);
  const auto trail = as(manager, "GET", "/api/v1/audit?limit=50");
  ASSERT_EQ(trail.status, 200) << trail.body;
  bool building = false;
  bool login = false;
  for (const auto& e : trail.json["entries"]) {
    EXPECT_EQ(e["customer"], kCustomer);
    EXPECT_EQ(e["remote"], "127.0.0.1");
    if (e["action"] == "building.create" && e["user"] == "mia") building = true;
    if (e["action"] == "login" && e["user"] == "vic") login = true;
    EXPECT_EQ(e.dump().find("-password"), std::string::npos) << "a password in the audit log";
  }
  EXPECT_TRUE(building);
  EXPECT_TRUE(login);
  EXPECT_EQ(as(manager, "GET", "/api/v1/audit?customer=C000004").status / 100, 4);
}

}  // namespace
}  // namespace nbms::it
