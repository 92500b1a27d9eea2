// The authorisation matrix (issue 6 §4): every REST route of the route tables
// and every WebSocket request type, called by every kind of caller on data of
// its own customer and of another one, with the answer docs/api.md promises:
//
//   - no (valid) session token:                        401 unauthenticated
//   - anything of another customer:                    404 not_found, exactly as
//                                                      if it did not exist
//   - within its customer, a role without the right:   403 forbidden
//   - otherwise:                                       2xx
//
// Each cell runs in a fresh world: customers A = C000001 and B = C000002, each
// with building B001, thing <c>_B001_01 and one writable point, and the users
// admin, mgr-<c>, viewer-<c> and spare-<c> (a viewer the routes act on). A
// refused request must leave the registry, the users and the sessions exactly
// as they were; an accepted write must have happened.
//
// A cell where nbmsd contradicts docs/api.md may be marked Expect(status, bug):
// it holds the documented answer and its test name ends in _KnownBug<bug>.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_notify.hpp"
#include "fixture.hpp"
#include "http/alarm_json.hpp"
#include "http/api.hpp"
#include "http/api_common.hpp"
#include "http/ws_alarms.hpp"
#include "http/ws_channel.hpp"
#include "nbms/alarms/service.hpp"
#include "nbms/protocol/codec.hpp"
#include "nbms/realtime/hub.hpp"
#include "unit/provisioning/fake_certificate_store.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr std::string_view kA = "C000001";
constexpr std::string_view kB = "C000002";
constexpr std::string_view kGhost = "C000009";  // a valid customer id that does not exist
constexpr std::string_view kPassword = "matrix-password-1";
constexpr std::string_view kNewPassword = "matrix-password-2";
constexpr std::string_view kPoint = "01.0.AV-101:SetPoint";
constexpr std::string_view kRemote = "192.0.2.10";

// ---- callers and targets -----------------------------------------------------

// The columns of the matrix.
enum Caller { kNone, kAdmin, kMgrA, kViewerA, kMgrB, kViewerB, kCallers };
constexpr std::array<std::string_view, kCallers> kCallerNames{"none",    "admin", "mgrA",
                                                              "viewerA", "mgrB",  "viewerB"};

// The customer a request is about; `any` for routes without one.
enum class Target { any, A, B };

std::string_view customer_of(Target t) {
  return t == Target::A ? kA : t == Target::B ? kB : std::string_view();
}
std::string_view other_than(Target t) {
  return t == Target::A ? kB : t == Target::B ? kA : std::string_view();
}

std::string user_of(Caller c) {
  switch (c) {
    case kAdmin:
      return "admin";
    case kMgrA:
      return "mgr-" + std::string(kA);
    case kViewerA:
      return "viewer-" + std::string(kA);
    case kMgrB:
      return "mgr-" + std::string(kB);
    case kViewerB:
      return "viewer-" + std::string(kB);
    default:
      return "nobody";
  }
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// ---- the world of one cell ----------------------------------------------------

// Records what the hub would hand to the MQTT broker (commands to the MW).
class RecordingCommands final : public CommandPublisher {
 public:
  Result<void> publish(const std::string& topic, std::string payload) override {
    std::lock_guard lock(mu_);
    sent_.emplace_back(topic, json::parse(payload));
    return {};
  }
  std::vector<std::pair<std::string, json>> take() {
    std::lock_guard lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, json>> sent_;
};

void require(bool ok, std::string_view what) {
  if (!ok) throw std::runtime_error("seeding the matrix world failed: " + std::string(what));
}

struct World : testing::AlarmWorld {
  World() {
    require(auth.bootstrap_admin(std::string(kPassword)).has_value(), "admin");
    const auth::Principal root{"admin", "", Role::admin};
    for (const auto c : {kA, kB}) {
      const std::string id(c);
      require(registry.create_customer({id, "Customer " + id, 1}).has_value(), "customer");
      require(registry.create_building({id, "B001", "HQ", "1 Main St", 2}).has_value(), "building");
      const auto thing = ThingName::parse(id + "_B001_01").value();
      require(registry.create_thing({thing, 3}).has_value(), "thing");
      points.all.push_back(
          {std::string(kPoint), thing.full(), "AV", "Setpoint", "AHU", "", "degC", true, true});
      series.samples[{id, "B001", std::string(kPoint)}] = {
          {LocalMinute::parse("202210040900").value(), 21.5}};
      // Two current alarms: AL-1 as the MW raised it, AL-2 shelved for an hour.
      for (const auto* alarm_id : {"AL-1", "AL-2"}) {
        AlarmEvent e;
        e.thing = thing;
        e.alarm_id = alarm_id;
        e.stamp = EventStamp::parse("20221004090000").value();
        e.name = "High temperature";
        e.priority = 100;
        e.point_id = std::string(kPoint);
        require(alarms.on_alarm(e).has_value(), "alarm");
      }
      require(alarms.shelve({thing, "AL-2"}, "admin", clock.now + 3'600'000).has_value(), "shelve");
      // Each thing holds a certificate, for the routes that revoke or list it.
      require(provisioner.register_thing(thing.full()).has_value(), "certificate");
      for (const auto& [name, role] :
           {std::pair{"mgr-", Role::manager}, std::pair{"viewer-", Role::viewer},
            std::pair{"spare-", Role::viewer}}) {
        require(auth.create_user(root, name + id, kPassword, role, id, origin()).has_value(),
                "user");
      }
    }
    for (int c = kAdmin; c < kCallers; ++c) {
      auto r = auth.login(user_of(static_cast<Caller>(c)), kPassword, origin());
      require(r.has_value(), "login");
      tokens[c] = r->token;
    }
    seed_notify();
    services.notify = &notify_services;
    // The purge as the daemon wires it, over the fakes: the thing leaves the
    // registry (its data lives in stores the matrix does not model).
    services.purge_thing = [this](const ThingName& t) -> Result<PurgedData> {
      if (!registry.remove_thing(t.full())) return fail(Errc::not_found, "no thing");
      return PurgedData{.thing = 1};
    };
  }

  // Each caller: a customer-wide and a B001 subscription on its own customer
  // (the admin on both) and one webhook endpoint; one notice per customer.
  void seed_notify() {
    for (int c = kAdmin; c < kCallers; ++c) {
      const auto who = static_cast<Caller>(c);
      std::vector<std::string_view> customers;
      if (who == kAdmin) customers = {kA, kB};
      if (who == kMgrA || who == kViewerA) customers = {kA};
      if (who == kMgrB || who == kViewerB) customers = {kB};
      for (const auto cust : customers) {
        for (const char* building : {"", "B001"}) {
          require(notify_store
                      .put_subscription({user_of(who),
                                         std::string(cust),
                                         building,
                                         true,
                                         true,
                                         NotificationPriority::low,
                                         {ChannelKind::webhook}})
                      .has_value(),
                  "subscription");
        }
      }
      Endpoint e;
      e.user = user_of(who);
      e.id = "ep-seed";
      e.kind = ChannelKind::webhook;
      e.address = "https://hooks.example.com/seed";
      e.secret = "seed-secret-0123456789";
      require(notify_store.put_endpoint(e).has_value(), "endpoint");
    }
    for (const auto cust : {kA, kB}) {
      Notification n;
      n.id = "notice." + std::string(cust) + ".000000000000001.seed";
      n.customer = std::string(cust);
      n.title = "Seeded notice";
      require(notify_store.enqueue(n, {}).has_value(), "notice");
    }
  }

  static auth::Origin origin() { return auth::Origin{std::string(kRemote)}; }

  // Subscriptions, endpoints (with their secrets) and notices, as JSON.
  json notify_snapshot() {
    json s{
        {"subscriptions", json::array()}, {"endpoints", json::array()}, {"notices", json::array()}};
    for (const auto cust : {kA, kB, kGhost}) {
      const auto subs = notify_store.subscriptions_for(cust).value();
      for (const auto& sub : subs) {
        s["subscriptions"].push_back({sub.user, sub.customer, sub.building, sub.alarms, sub.notices,
                                      std::string(to_string(sub.min_priority)),
                                      sub.channels.size()});
      }
    }
    for (int c = kAdmin; c < kCallers; ++c) {
      const auto eps = notify_store.endpoints_of(user_of(static_cast<Caller>(c))).value();
      for (const auto& e : eps) {
        s["endpoints"].push_back({e.user, e.id, e.address, e.secret});
      }
    }
    const auto notices = notify_store.notifications_with_prefix("notice.", 1000).value();
    for (const auto& n : notices) {
      s["notices"].push_back(n.id);
    }
    return s;
  }

  Response call(Caller who, std::string method, std::string target, std::string body) {
    const Api api(services, ApiOptions{});
    Request req{std::move(method), "/api/v1/" + std::move(target),
                body.empty() ? "" : "application/json", std::move(body)};
    if (who != kNone) req.authorization = "Bearer " + tokens[who];
    req.remote = std::string(kRemote);
    return api.handle(req);
  }

  // The principal a WebSocket upgrade with this caller's token gets.
  Result<auth::Principal> upgrade(Caller who) {
    const Api api(services, ApiOptions{});
    Request req{"GET", "/api/v1/ws", "", ""};
    if (who != kNone) req.authorization = "Bearer " + tokens[who];
    req.remote = std::string(kRemote);
    return api.authenticate(req);
  }

  // Everything a request may change: the registry, the users (with their
  // password hashes) and the sessions. The audit log is left out on purpose:
  // refusals are audited too.
  json snapshot() {
    json s{{"customers", json::array()}, {"users", json::array()}, {"sessions", json::array()}};
    const auto customers = registry.customers().value();
    for (const auto& c : customers) {
      json jc = to_json(c);
      jc["buildings"] = json::array();
      const auto buildings = registry.buildings(c.id).value();
      for (const auto& b : buildings) {
        json jb = to_json(b);
        jb["things"] = array_of(registry.things(c.id, b.id).value());
        for (auto& jt : jb["things"]) {
          jt["certificates"] = json::array();
          const auto certs = certificates.certificates_of(jt["name"].get<std::string>()).value();
          for (const auto& r : certs) {
            jt["certificates"].push_back(
                {{"serial", r.serial}, {"revoked_ms", r.revoked_ms.value_or(-1)}});
          }
        }
        jc["buildings"].push_back(std::move(jb));
      }
      s["customers"].push_back(std::move(jc));
    }
    const auto all_users = users.users(std::nullopt).value();
    for (const auto& u : all_users) {
      s["users"].push_back({{"name", u.name},
                            {"customer", u.customer},
                            {"role", to_string(u.role)},
                            {"salt", u.password.salt},
                            {"hash", u.password.hash}});
    }
    for (const auto& session : users.sessions()) s["sessions"].push_back(session.token_hash);
    s["alarms"] = json::array();
    for (const auto c : {kA, kB}) {
      const auto current = alarm_store.current_alarms(c, "B001").value();
      for (const auto& a : current) {
        s["alarms"].push_back(alarm_json(a, clock.now));
      }
    }
    s["alarm_history"] = alarm_store.history().size();
    s["notify"] = notify_snapshot();
    return s;
  }

  RecordingCommands commands;
  realtime::Hub hub{commands, clock};
  nbms::testing::FakeCertificateStore certificates;
  // One CA for every cell: making a key per world would only slow the matrix down.
  static const pki::CertificateAuthority& ca() {
    static const auto kCa = pki::CertificateAuthority::create({.now_s = 1'690'000'000}).value();
    return kCa;
  }
  provisioning::Service provisioner{registry, certificates, clock, ca(), {}};
  Services services{registry, points,       series, dead,
                    clock,    auth,         &hub,   [] { return json{{"status", "ok"}}; },
                    {},       &provisioner, &alarms};
  std::array<std::string, kCallers> tokens;
  nbms::testing::FakeNotifyStore notify_store;
  NotifyServices notify_services{
      notify_store,
      notify_store,
      [this](const Notification& n) { return notify_store.fan_out_and_store(n, clock.now_ms()); },
      "BPublicKeyForTests",
      {ChannelKind::webhook, ChannelKind::web_push, ChannelKind::email}};
};

// ---- the REST matrix ----------------------------------------------------------

// The expected status of one cell; `bug` names the bug when nbmsd answers
// differently today (the cell then holds what docs/api.md says).
struct Expect {
  constexpr Expect(int s) : status(s) {}  // NOLINT(google-explicit-constructor): table cells
  constexpr Expect(int s, int b) : status(s), bug(b) {}
  int status;
  int bug = 0;
};

// What a successful write leaves behind.
enum class Effect {
  none,  // a read: nothing changes, whatever the answer
  customer_created,
  building_created,
  thing_created,
  session_added,               // of spare-C000001
  session_ended,               // the caller's own
  user_created,                // new-<c>
  user_deleted,                // spare-<c>
  password_reset,              // of spare-<c>
  own_password_set,            // of the caller
  cert_issued,                 // <c>_B001_01 has a second certificate, the first revoked
  cert_revoked,                // <c>_B001_01 has no unrevoked certificate
  thing_purged,                // <c>_B001_01 is gone, its certificates revoked
  alarm_acked,                 // AL-1 of <c>_B001_01 is acknowledged
  alarm_shelved,               // AL-1 is shelved
  alarm_unshelved,             // AL-2 is no longer shelved
  alarm_commented,             // AL-1 has a comment
  subscription_set,            // the caller's subscription to <c> has min_priority high
  building_subscription_set,   // the caller's subscription to <c>/B001 has min_priority high
  subscription_gone,           // the caller has no customer-wide subscription to <c>
  building_subscription_gone,  // the caller has no subscription to <c>/B001
  endpoint_added,              // the caller has a second endpoint
  endpoint_gone,               // the caller's ep-seed is gone
  notice_posted,               // <c> has a second notice
};

struct Row {
  std::string_view name;    // for test names
  std::string_view method;  // as in the route table
  std::string_view route;   // the route table's pattern, joined with '/'
  std::string_view path;    // below /api/v1; {c} is the target customer, {self} the caller
  std::string_view body;    // same placeholders; empty for none
  Target on;                // the customer the request is about
  std::array<Expect, kCallers> expect;
  Effect effect = Effect::none;
};

// clang-format off
const std::vector<Row>& rest_rows() {
  using enum Target;
  using enum Effect;
  static const std::vector<Row> kRows{
// name             method    route                                   path                                                    body                                                                            on     none  admin mgrA      viewerA   mgrB      viewerB      effect
// ---- routes_auth.cpp ----
{"ready",           "GET",    "ready",                                "ready",                                                "",                                                                             any, {200,  200,  200,      200,      200,      200},      none},
{"login",           "POST",   "auth/login",                           "auth/login",                                           R"({"user":"spare-C000001","password":"matrix-password-1"})",                   any, {200,  200,  200,      200,      200,      200},      session_added},
{"logout",          "POST",   "auth/logout",                          "auth/logout",                                          "",                                                                             any, {204,  204,  204,      204,      204,      204},      session_ended},
{"me",              "GET",    "auth/me",                              "auth/me",                                              "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"list_users",      "GET",    "users",                                "users",                                                "",                                                                             any, {401,  200,  200,      403,      200,      403},      none},
{"list_users_of",   "GET",    "users",                                "users?customer={c}",                                   "",                                                                             A,   {401,  200,  200,      403,      404, 404}, none},
{"list_users_of",   "GET",    "users",                                "users?customer={c}",                                   "",                                                                             B,   {401,  200,  404, 404, 200,     403},      none},
{"create_user",     "POST",   "users",                                "users",                                                R"({"name":"new-{c}","password":"matrix-password-2","role":"viewer","customer":"{c}"})", A, {401, 201, 201, 403, 404, 404}, user_created},
{"create_user",     "POST",   "users",                                "users",                                                R"({"name":"new-{c}","password":"matrix-password-2","role":"viewer","customer":"{c}"})", B, {401, 201, 404, 404, 201, 403}, user_created},
{"delete_user",     "DELETE", "users/{}",                             "users/spare-{c}",                                      "",                                                                             A,   {401,  204,  204,      403,      404,      404}, user_deleted},
{"delete_user",     "DELETE", "users/{}",                             "users/spare-{c}",                                      "",                                                                             B,   {401,  204,  404,      404, 204,     403},      user_deleted},
{"reset_password",  "POST",   "users/{}/password",                    "users/spare-{c}/password",                             R"({"password":"matrix-password-2"})",                                          A,   {401,  204,  204,      403,      404,      404}, password_reset},
{"reset_password",  "POST",   "users/{}/password",                    "users/spare-{c}/password",                             R"({"password":"matrix-password-2"})",                                          B,   {401,  204,  404,      404, 204,     403},      password_reset},
{"own_password",    "POST",   "users/{}/password",                    "users/{self}/password",                                R"({"password":"matrix-password-2","current_password":"matrix-password-1"})",   any, {401,  204,  204,      204,      204,      204},      own_password_set},
{"audit",           "GET",    "audit",                                "audit",                                                "",                                                                             any, {401,  200,  200,      403,      200,      403},      none},
// Viewers: 403 for their own customer's log, 404 for another's (scope before role).
{"audit_of",        "GET",    "audit",                                "audit?customer={c}",                                   "",                                                                             A,   {401,  200,  200,      403,      404, 404},      none},
{"audit_of",        "GET",    "audit",                                "audit?customer={c}",                                   "",                                                                             B,   {401,  200,  404, 404,      200,      403},      none},
// ---- routes_data.cpp ----
{"health",          "GET",    "health",                               "health",                                               "",                                                                             any, {401,  200,  403,      403,      403,      403},      none},
{"list_customers",  "GET",    "customers",                            "customers",                                            "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"create_customer", "POST",   "customers",                            "customers",                                            R"({"id":"C000003","name":"New"})",                                             any, {401,  201,  403,      403,      403,      403},      customer_created},
{"get_customer",    "GET",    "customers/{}",                         "customers/{c}",                                        "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"get_customer",    "GET",    "customers/{}",                         "customers/{c}",                                        "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"overview",        "GET",    "customers/{}/overview",                "customers/{c}/overview",                               "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"overview",        "GET",    "customers/{}/overview",                "customers/{c}/overview",                               "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"list_buildings",  "GET",    "customers/{}/buildings",               "customers/{c}/buildings",                              "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"list_buildings",  "GET",    "customers/{}/buildings",               "customers/{c}/buildings",                              "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"create_building", "POST",   "customers/{}/buildings",               "customers/{c}/buildings",                              R"({"id":"B002","name":"Annex"})",                                              A,   {401,  201,  201,      403,      404,      404},      building_created},
{"create_building", "POST",   "customers/{}/buildings",               "customers/{c}/buildings",                              R"({"id":"B002","name":"Annex"})",                                              B,   {401,  201,  404,      404,      201,      403},      building_created},
{"get_building",    "GET",    "customers/{}/buildings/{}",            "customers/{c}/buildings/B001",                         "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"get_building",    "GET",    "customers/{}/buildings/{}",            "customers/{c}/buildings/B001",                         "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"list_things",     "GET",    "customers/{}/buildings/{}/things",     "customers/{c}/buildings/B001/things",                  "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"list_things",     "GET",    "customers/{}/buildings/{}/things",     "customers/{c}/buildings/B001/things",                  "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"create_thing",    "POST",   "customers/{}/buildings/{}/things",     "customers/{c}/buildings/B001/things",                  R"({"name":"{c}_B001_02"})",                                                    A,   {401,  201,  201,      403,      404,      404},      thing_created},
{"create_thing",    "POST",   "customers/{}/buildings/{}/things",     "customers/{c}/buildings/B001/things",                  R"({"name":"{c}_B001_02"})",                                                    B,   {401,  201,  404,      404,      201,      403},      thing_created},
{"list_points",     "GET",    "customers/{}/buildings/{}/points",     "customers/{c}/buildings/B001/points",                  "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"list_points",     "GET",    "customers/{}/buildings/{}/points",     "customers/{c}/buildings/B001/points",                  "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"latest",          "GET",    "customers/{}/buildings/{}/latest",     "customers/{c}/buildings/B001/latest",                  "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"latest",          "GET",    "customers/{}/buildings/{}/latest",     "customers/{c}/buildings/B001/latest",                  "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"history",         "GET",    "customers/{}/buildings/{}/points/{}/history", "customers/{c}/buildings/B001/points/01.0.AV-101%3ASetPoint/history?from=202210040000&to=202210050000", "", A, {401, 200, 200, 200, 404, 404}, none},
{"history",         "GET",    "customers/{}/buildings/{}/points/{}/history", "customers/{c}/buildings/B001/points/01.0.AV-101%3ASetPoint/history?from=202210040000&to=202210050000", "", B, {401, 200, 404, 404, 200, 200}, none},
{"dead_letters",    "GET",    "dead-letters",                         "dead-letters",                                         "",                                                                             any, {401,  200,  403,      403,      403,      403},      none},
// ---- routes_provisioning.cpp: a manager of the customer or the admin ----
{"issue_cert",      "POST",   "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          A,   {401,  201,  201,      403,      404,      404},      cert_issued},
{"issue_cert",      "POST",   "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          B,   {401,  201,  404,      404,      201,      403},      cert_issued},
{"revoke_cert",     "DELETE", "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          A,   {401,  200,  200,      403,      404,      404},      cert_revoked},
{"revoke_cert",     "DELETE", "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          B,   {401,  200,  404,      404,      200,      403},      cert_revoked},
{"purge_thing",     "DELETE", "customers/{}/buildings/{}/things/{}", "customers/{c}/buildings/B001/things/{c}_B001_01?confirm={c}_B001_01", "",                                                   A,   {401,  200,  200,      403,      404,      404},      thing_purged},
{"purge_thing",     "DELETE", "customers/{}/buildings/{}/things/{}", "customers/{c}/buildings/B001/things/{c}_B001_01?confirm={c}_B001_01", "",                                                   B,   {401,  200,  404,      404,      200,      403},      thing_purged},
{"get_cert",        "GET",    "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          A,   {401,  200,  200,      403,      404,      404},      none},
{"get_cert",        "GET",    "customers/{}/buildings/{}/things/{}/certificate", "customers/{c}/buildings/B001/things/{c}_B001_01/certificate", "",                                          B,   {401,  200,  404,      404,      200,      403},      none},
{"ca_pem",          "GET",    "pki/ca.pem",                           "pki/ca.pem",                                           "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"crl_pem",         "GET",    "pki/crl.pem",                          "pki/crl.pem",                                          "",                                                                             any, {401,  200,  403,      403,      403,      403},      none},
// ---- routes_alarms.cpp: reads in scope; operator actions by a manager of the customer or the admin ----
{"alarms", "GET", "customers/{}/buildings/{}/alarms", "customers/{c}/buildings/B001/alarms?max_priority=200&shelved=false", "", A, {401,  200,  200,      200,      404,      404}, none},
{"alarm_history", "GET", "customers/{}/buildings/{}/alarms/history", "customers/{c}/buildings/B001/alarms/history?from=1690000000000&to=1710000000000&limit=10", "", A, {401,  200,  200,      200,      404,      404}, none},
{"alarm_history_csv", "GET", "customers/{}/buildings/{}/alarms/history.csv", "customers/{c}/buildings/B001/alarms/history.csv?from=1690000000000&to=1710000000000", "", A, {401,  200,  200,      200,      404,      404}, none},
{"alarm_health", "GET", "customers/{}/buildings/{}/alarms/health", "customers/{c}/buildings/B001/alarms/health?from=1699990000000&to=1700000000000", "", A, {401,  200,  200,      200,      404,      404}, none},
{"links", "GET", "customers/{}/buildings/{}/links", "customers/{c}/buildings/B001/links", "", A, {401,  200,  200,      200,      404,      404}, none},
{"link_history", "GET", "customers/{}/buildings/{}/links/history", "customers/{c}/buildings/B001/links/history", "", A, {401,  200,  200,      200,      404,      404}, none},
{"alarm_ack_bulk", "POST", "customers/{}/buildings/{}/alarms/ack", "customers/{c}/buildings/B001/alarms/ack", R"({"alarms":[{"thing":"{c}_B001_01","alarm_id":"AL-1"}]})", A, {401,  200,  200,      403,      404,      404}, alarm_acked},
{"alarm_ack", "POST", "customers/{}/buildings/{}/alarms/{}/{}/ack", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/ack", "", A, {401,  200,  200,      403,      404,      404}, alarm_acked},
{"alarm_shelve", "POST", "customers/{}/buildings/{}/alarms/{}/{}/shelve", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/shelve", R"({"until_ms":1700003600000,"reason":"maintenance"})", A, {401,  200,  200,      403,      404,      404}, alarm_shelved},
{"alarm_unshelve", "POST", "customers/{}/buildings/{}/alarms/{}/{}/unshelve", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-2/unshelve", "", A, {401,  200,  200,      403,      404,      404}, alarm_unshelved},
{"alarm_comment", "POST", "customers/{}/buildings/{}/alarms/{}/{}/comments", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/comments", R"({"text":"on it"})", A, {401,  200,  200,      403,      404,      404}, alarm_commented},
{"alarms", "GET", "customers/{}/buildings/{}/alarms", "customers/{c}/buildings/B001/alarms?max_priority=200&shelved=false", "", B, {401,  200,  404,      404,      200,      200}, none},
{"alarm_history", "GET", "customers/{}/buildings/{}/alarms/history", "customers/{c}/buildings/B001/alarms/history?from=1690000000000&to=1710000000000&limit=10", "", B, {401,  200,  404,      404,      200,      200}, none},
{"alarm_history_csv", "GET", "customers/{}/buildings/{}/alarms/history.csv", "customers/{c}/buildings/B001/alarms/history.csv?from=1690000000000&to=1710000000000", "", B, {401,  200,  404,      404,      200,      200}, none},
{"alarm_health", "GET", "customers/{}/buildings/{}/alarms/health", "customers/{c}/buildings/B001/alarms/health?from=1699990000000&to=1700000000000", "", B, {401,  200,  404,      404,      200,      200}, none},
{"links", "GET", "customers/{}/buildings/{}/links", "customers/{c}/buildings/B001/links", "", B, {401,  200,  404,      404,      200,      200}, none},
{"link_history", "GET", "customers/{}/buildings/{}/links/history", "customers/{c}/buildings/B001/links/history", "", B, {401,  200,  404,      404,      200,      200}, none},
{"alarm_ack_bulk", "POST", "customers/{}/buildings/{}/alarms/ack", "customers/{c}/buildings/B001/alarms/ack", R"({"alarms":[{"thing":"{c}_B001_01","alarm_id":"AL-1"}]})", B, {401,  200,  404,      404,      200,      403}, alarm_acked},
{"alarm_ack", "POST", "customers/{}/buildings/{}/alarms/{}/{}/ack", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/ack", "", B, {401,  200,  404,      404,      200,      403}, alarm_acked},
{"alarm_shelve", "POST", "customers/{}/buildings/{}/alarms/{}/{}/shelve", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/shelve", R"({"until_ms":1700003600000,"reason":"maintenance"})", B, {401,  200,  404,      404,      200,      403}, alarm_shelved},
{"alarm_unshelve", "POST", "customers/{}/buildings/{}/alarms/{}/{}/unshelve", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-2/unshelve", "", B, {401,  200,  404,      404,      200,      403}, alarm_unshelved},
{"alarm_comment", "POST", "customers/{}/buildings/{}/alarms/{}/{}/comments", "customers/{c}/buildings/B001/alarms/{c}_B001_01/AL-1/comments", R"({"text":"on it"})", B, {401,  200,  404,      404,      200,      403}, alarm_commented},
// ---- routes_notify.cpp: a user's own subscriptions and endpoints (viewers too); notices ----
{"vapid_key",       "GET",    "notify/vapid-public-key",              "notify/vapid-public-key",                              "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"list_subs",       "GET",    "notify/subscriptions",                 "notify/subscriptions",                                 "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"put_sub",         "PUT",    "notify/subscriptions/{}",              "notify/subscriptions/{c}",                             R"({"alarms":true,"min_priority":"high","channels":["webhook"]})",              A,   {401,  200,  200,      200,      404,      404},      subscription_set},
{"put_sub",         "PUT",    "notify/subscriptions/{}",              "notify/subscriptions/{c}",                             R"({"alarms":true,"min_priority":"high","channels":["webhook"]})",              B,   {401,  200,  404,      404,      200,      200},      subscription_set},
{"delete_sub",      "DELETE", "notify/subscriptions/{}",              "notify/subscriptions/{c}",                             "",                                                                             A,   {401,  204,  204,      204,      404,      404},      subscription_gone},
{"delete_sub",      "DELETE", "notify/subscriptions/{}",              "notify/subscriptions/{c}",                             "",                                                                             B,   {401,  204,  404,      404,      204,      204},      subscription_gone},
{"put_sub_bldg",    "PUT",    "notify/subscriptions/{}/{}",           "notify/subscriptions/{c}/B001",                        R"({"min_priority":"high"})",                                                   A,   {401,  200,  200,      200,      404,      404},      building_subscription_set},
{"put_sub_bldg",    "PUT",    "notify/subscriptions/{}/{}",           "notify/subscriptions/{c}/B001",                        R"({"min_priority":"high"})",                                                   B,   {401,  200,  404,      404,      200,      200},      building_subscription_set},
{"delete_sub_bldg", "DELETE", "notify/subscriptions/{}/{}",           "notify/subscriptions/{c}/B001",                        "",                                                                             A,   {401,  204,  204,      204,      404,      404},      building_subscription_gone},
{"delete_sub_bldg", "DELETE", "notify/subscriptions/{}/{}",           "notify/subscriptions/{c}/B001",                        "",                                                                             B,   {401,  204,  404,      404,      204,      204},      building_subscription_gone},
{"list_endpoints",  "GET",    "notify/endpoints",                     "notify/endpoints",                                     "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"add_endpoint",    "POST",   "notify/endpoints",                     "notify/endpoints",                                     R"({"kind":"webhook","address":"https://hooks.example.com/{self}"})",          any, {401,  201,  201,      201,      201,      201},      endpoint_added},
{"delete_endpoint", "DELETE", "notify/endpoints/{}",                  "notify/endpoints/ep-seed",                             "",                                                                             any, {401,  204,  204,      204,      204,      204},      endpoint_gone},
{"deliveries",      "GET",    "notify/deliveries",                    "notify/deliveries",                                    "",                                                                             any, {401,  200,  200,      200,      200,      200},      none},
{"list_notices",    "GET",    "customers/{}/notices",                 "customers/{c}/notices",                                "",                                                                             A,   {401,  200,  200,      200,      404,      404},      none},
{"list_notices",    "GET",    "customers/{}/notices",                 "customers/{c}/notices",                                "",                                                                             B,   {401,  200,  404,      404,      200,      200},      none},
{"post_notice",     "POST",   "customers/{}/notices",                 "customers/{c}/notices",                                R"({"title":"Fire drill","body":"Friday 10:00","priority":"high"})",            A,   {401,  201,  201,      403,      404,      404},      notice_posted},
{"post_notice",     "POST",   "customers/{}/notices",                 "customers/{c}/notices",                                R"({"title":"Fire drill","body":"Friday 10:00","priority":"high"})",            B,   {401,  201,  404,      404,      201,      403},      notice_posted},
  };
  return kRows;
}
// clang-format on

std::string join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (const auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const auto slash = s.find('/');
    out.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    s.remove_prefix(slash + 1);
  }
}

std::vector<const Route*> all_routes() {
  std::vector<const Route*> out;
  for (const auto* table : {&auth_routes(), &data_routes(), &provisioning_routes(), &alarm_routes(),
                            &notify_routes()}) {
    for (const auto& r : *table) out.push_back(&r);
  }
  return out;
}

std::string fill(std::string_view text, Target on, Caller who, std::string_view customer = {}) {
  std::string s(text);
  replace_all(s, "{c}", customer.empty() ? customer_of(on) : customer);
  replace_all(s, "{self}", user_of(who));
  return s;
}

bool is_2xx(int status) {
  return status >= 200 && status < 300;
}

struct Cell {
  const Row* row;
  Caller who;
};

std::vector<Cell> rest_cells() {
  std::vector<Cell> out;
  for (const auto& row : rest_rows()) {
    for (int c = kNone; c < kCallers; ++c) out.push_back({&row, static_cast<Caller>(c)});
  }
  return out;
}

std::string cell_name(const Cell& cell) {
  const Row& row = *cell.row;
  std::string name(row.name);
  name += row.on == Target::A ? "_onA" : row.on == Target::B ? "_onB" : "";
  name += "_";
  name += kCallerNames[cell.who];
  if (const int bug = row.expect[cell.who].bug) name += "_KnownBug" + std::to_string(bug);
  return name;
}

// Whether a write the row stands for has happened in `w`.
bool happened(World& w, const Row& row, Caller who) {
  const std::string c(customer_of(row.on));
  switch (row.effect) {
    case Effect::none:
      return false;
    case Effect::customer_created:
      return w.registry.customer("C000003").has_value();
    case Effect::building_created:
      return w.registry.building(c, "B002").has_value();
    case Effect::thing_created:
      return w.registry.thing(c + "_B001_02").has_value();
    case Effect::session_added: {
      const auto sessions = w.users.sessions();
      return std::ranges::any_of(
          sessions, [](const Session& s) { return s.user == "spare-" + std::string(kA); });
    }
    case Effect::session_ended:
      return who == kNone || !w.auth.authenticate(w.tokens[who]).has_value();
    case Effect::user_created:
      return w.users.user("new-" + c).has_value();
    case Effect::user_deleted:
      return !w.users.user("spare-" + c).has_value();
    case Effect::password_reset:
      return w.auth.login("spare-" + c, kNewPassword, World::origin()).has_value();
    case Effect::own_password_set:
      return w.auth.login(user_of(who), kNewPassword, World::origin()).has_value();
    case Effect::cert_issued: {
      const auto certs = w.certificates.certificates_of(c + "_B001_01").value();
      return certs.size() == 2 && std::ranges::count_if(certs, [](const CertificateRecord& r) {
                                    return !r.revoked_ms;
                                  }) == 1;
    }
    case Effect::alarm_acked:
    case Effect::alarm_shelved:
    case Effect::alarm_unshelved:
    case Effect::alarm_commented: {
      const auto thing = ThingName::parse(c + "_B001_01").value();
      const bool second = row.effect == Effect::alarm_unshelved;
      const auto a = w.alarm_store.current_alarm({thing, second ? "AL-2" : "AL-1"}).value();
      if (!a) return false;
      if (row.effect == Effect::alarm_acked) return a->acknowledged;
      if (row.effect == Effect::alarm_shelved) return a->shelved(w.clock.now);
      if (row.effect == Effect::alarm_unshelved) return !a->shelved(w.clock.now);
      return a->comments.size() == 1 && a->comments[0].user == user_of(who);
    }
    case Effect::subscription_set:
    case Effect::building_subscription_set:
    case Effect::subscription_gone:
    case Effect::building_subscription_gone: {
      const bool building = row.effect == Effect::building_subscription_set ||
                            row.effect == Effect::building_subscription_gone;
      const auto subs = w.notify_store.subscriptions_of(user_of(who)).value();
      const auto it = std::ranges::find_if(subs, [&](const Subscription& s) {
        return s.customer == c && s.building == (building ? "B001" : "");
      });
      if (row.effect == Effect::subscription_gone ||
          row.effect == Effect::building_subscription_gone) {
        return it == subs.end();
      }
      return it != subs.end() && it->min_priority == NotificationPriority::high;
    }
    case Effect::endpoint_added:
      return w.notify_store.endpoints_of(user_of(who)).value().size() == 2;
    case Effect::endpoint_gone:
      return !w.notify_store.endpoint(user_of(who), "ep-seed").has_value();
    case Effect::notice_posted:
      return w.notify_store.notifications_with_prefix("notice." + c + ".", 10).value().size() == 2;
    case Effect::thing_purged: {
      const auto certs = w.certificates.certificates_of(c + "_B001_01").value();
      return !w.registry.thing(c + "_B001_01").has_value() && !certs.empty() &&
             std::ranges::none_of(certs, [](const CertificateRecord& r) { return !r.revoked_ms; });
    }
    case Effect::cert_revoked: {
      const auto certs = w.certificates.certificates_of(c + "_B001_01").value();
      return !certs.empty() &&
             std::ranges::none_of(certs, [](const CertificateRecord& r) { return !r.revoked_ms; });
    }
  }
  return false;
}

void PrintTo(const Cell& cell, std::ostream* os) {
  *os << cell_name(cell);
}

class AuthzMatrixRest : public ::testing::TestWithParam<Cell> {};

TEST_P(AuthzMatrixRest, Cell) {
  const Row& row = *GetParam().row;
  const Caller who = GetParam().who;
  const Expect expect = row.expect[who];
  const std::string path = fill(row.path, row.on, who);
  const std::string body = fill(row.body, row.on, who);
  SCOPED_TRACE(std::string(kCallerNames[who]) + ": " + std::string(row.method) + " /api/v1/" +
               path + (body.empty() ? "" : " " + body));

  World w;
  const json before = w.snapshot();
  const Response r = w.call(who, std::string(row.method), path, body);

  if (expect.bug) {
    EXPECT_EQ(r.status, expect.status)
        << "BUG-" << expect.bug << ": docs/api.md says " << expect.status << ", nbmsd answers "
        << r.status << " " << r.body;
  } else {
    EXPECT_EQ(r.status, expect.status) << r.body;
  }

  if (!is_2xx(r.status)) {
    const json err = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(err.is_object() && err.contains("error")) << r.body;
    EXPECT_EQ(err["error"]["code"], error_code_name(r.status)) << r.body;
    if (r.status == 401) {
      const auto* challenge = r.header("WWW-Authenticate");
      EXPECT_TRUE(challenge && *challenge == "Bearer");
    }
    // Refused: nothing changed.
    EXPECT_EQ(w.snapshot(), before) << "a refused request changed the state";
  } else if (row.effect == Effect::none) {
    EXPECT_EQ(w.snapshot(), before) << "a read changed the state";
  } else {
    EXPECT_TRUE(happened(w, row, who)) << "answered " << r.status << " but the write is missing";
  }

  // What is answered about one customer never mentions the other one.
  if (row.on != Target::any && is_2xx(r.status)) {
    EXPECT_EQ(r.body.find(other_than(row.on)), std::string::npos) << r.body;
  }

  // Another customer's data is "not found" exactly as data that does not exist:
  // the same request about a customer id nobody has gets the same answer.
  if (row.on != Target::any && r.status == 404 && expect.status == 404 && !expect.bug) {
    World ghost_world;
    const json ghost_before = ghost_world.snapshot();
    const std::string ghost_path = fill(row.path, row.on, who, kGhost);
    const std::string ghost_body = fill(row.body, row.on, who, kGhost);
    const Response g = ghost_world.call(who, std::string(row.method), ghost_path, ghost_body);
    std::string ghost_answer = g.body;
    replace_all(ghost_answer, kGhost, customer_of(row.on));
    EXPECT_EQ(g.status, 404) << g.body;
    EXPECT_EQ(ghost_answer, r.body) << "another customer's data is told apart from missing data";
    EXPECT_EQ(ghost_world.snapshot(), ghost_before);
  }
}

INSTANTIATE_TEST_SUITE_P(AuthzRest, AuthzMatrixRest, ::testing::ValuesIn(rest_cells()),
                         [](const ::testing::TestParamInfo<Cell>& p) {
                           return cell_name(p.param);
                         });

// A route added to a table without a row in the matrix fails here, as does a
// row whose route went away.
TEST(AuthzMatrix, EveryRouteHasRowsForEveryTarget) {
  const auto routes = all_routes();
  ASSERT_FALSE(routes.empty());
  for (const Route* route : routes) {
    const std::string pattern = join(route->pattern);
    bool any = false;
    bool on_a = false;
    bool on_b = false;
    for (const auto& row : rest_rows()) {
      if (row.method != route->method || row.route != pattern) continue;
      any = true;
      on_a = on_a || row.on == Target::A;
      on_b = on_b || row.on == Target::B;
    }
    EXPECT_TRUE(any) << route->method << " /api/v1/" << pattern << " has no row in the matrix";
    // A route about one customer is checked on its own customer and another's.
    if (pattern.starts_with("customers/{}")) {
      EXPECT_TRUE(on_a && on_b) << route->method << " /api/v1/" << pattern
                                << " needs rows on customer A and on customer B";
    }
  }
  for (const auto& row : rest_rows()) {
    const Route* found = nullptr;
    for (const Route* route : routes) {
      if (row.method == route->method && row.route == join(route->pattern)) found = route;
    }
    ASSERT_NE(found, nullptr) << "row " << row.name << ": no route " << row.method << " "
                              << row.route;
    // The row's request really goes to that route.
    for (const Caller who : {kNone, kAdmin}) {
      const std::string path = fill(row.path, row.on, who);
      const auto segments = split(std::string_view(path).substr(0, path.find('?')));
      ASSERT_EQ(segments.size(), found->pattern.size()) << row.name;
      for (std::size_t i = 0; i < segments.size(); ++i) {
        if (found->pattern[i] != "{}") {
          EXPECT_EQ(segments[i], found->pattern[i]) << row.name;
        }
      }
    }
  }
}

// Lists without a customer in the URL hold only what the caller may see.
TEST(AuthzMatrix, ListsAreScopedToTheCallersCustomer) {
  World w;
  // One audited write in each customer.
  ASSERT_EQ(
      w.call(kMgrA, "POST", "customers/C000001/buildings", R"({"id":"B7","name":"a"})").status,
      201);
  ASSERT_EQ(
      w.call(kMgrB, "POST", "customers/C000002/buildings", R"({"id":"B7","name":"b"})").status,
      201);
  const auto ids = [&](Caller who, const char* path, const char* list, const char* member) {
    const auto r = w.call(who, "GET", path, "");
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> out;
    const json body = json::parse(r.body);
    for (const auto& item : body[list]) out.insert(item[member].get<std::string>());
    return out;
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(ids(kAdmin, "customers", "customers", "id"), (Set{"C000001", "C000002"}));
  EXPECT_EQ(ids(kMgrA, "customers", "customers", "id"), (Set{"C000001"}));
  EXPECT_EQ(ids(kViewerA, "customers", "customers", "id"), (Set{"C000001"}));
  EXPECT_EQ(ids(kMgrB, "customers", "customers", "id"), (Set{"C000002"}));
  EXPECT_EQ(ids(kViewerB, "customers", "customers", "id"), (Set{"C000002"}));
  EXPECT_EQ(ids(kAdmin, "users", "users", "customer"), (Set{"", "C000001", "C000002"}));
  EXPECT_EQ(ids(kMgrA, "users", "users", "customer"), (Set{"C000001"}));
  EXPECT_EQ(ids(kMgrB, "users", "users", "customer"), (Set{"C000002"}));
  EXPECT_EQ(ids(kMgrA, "audit", "entries", "customer"), (Set{"C000001"}));
  EXPECT_EQ(ids(kMgrB, "audit", "entries", "customer"), (Set{"C000002"}));
  EXPECT_TRUE(ids(kAdmin, "audit", "entries", "customer").contains("C000002"));
}

// ---- the WebSocket matrix -----------------------------------------------------

enum class Ws {
  refused,    // no session: the upgrade itself is 401
  ok,         // answered, and the command went to the MW
  not_found,  // error not_found, nothing sent to the MW
  forbidden,  // error forbidden, nothing sent to the MW
};

struct WsRow {
  std::string_view type;
  Target on;
  std::array<Ws, kCallers> expect;
};

// clang-format off
const std::vector<WsRow>& ws_rows() {
  using enum Target;
  using enum Ws;
  static const std::vector<WsRow> kRows{
// type           thing of   none     admin  mgrA       viewerA    mgrB       viewerB
{"subscribe",     A,        {refused, ok,    ok,        ok,        not_found, not_found}},
{"subscribe",     B,        {refused, ok,    not_found, not_found, ok,        ok}},
{"unsubscribe",   A,        {refused, ok,    ok,        ok,        not_found, not_found}},
{"unsubscribe",   B,        {refused, ok,    not_found, not_found, ok,        ok}},
{"control",       A,        {refused, ok,    ok,        forbidden, not_found, not_found}},
{"control",       B,        {refused, ok,    not_found, not_found, ok,        forbidden}},
  };
  return kRows;
}
// clang-format on

struct WsCell {
  const WsRow* row;
  Caller who;
};

std::vector<WsCell> ws_cells() {
  std::vector<WsCell> out;
  for (const auto& row : ws_rows()) {
    for (int c = kNone; c < kCallers; ++c) out.push_back({&row, static_cast<Caller>(c)});
  }
  return out;
}

std::vector<json> drain(WsChannel& channel) {
  std::vector<json> out;
  for (std::string frame; channel.next_frame(frame);) out.push_back(json::parse(frame));
  return out;
}

json ws_message(std::string_view type, std::string_view thing) {
  if (type == "control") {
    return {{"type", "control"},  {"ref", "r1"},   {"thing", thing},
            {"point_id", kPoint}, {"value", 21.5}, {"priority", 8}};
  }
  return {{"type", type}, {"thing", thing}, {"point_ids", json::array({kPoint})}};
}

// A channel opened as `who`, closed (released by the hub) when it goes.
struct OpenChannel {
  OpenChannel(World& w, const auth::Principal& who)
      : channel(std::make_shared<WsChannel>(w.services, who, World::origin(), [] {})) {
    channel->open();
    const auto hello = drain(*channel);
    EXPECT_EQ(hello.size(), 1u);
  }
  ~OpenChannel() { channel->close(); }
  OpenChannel(const OpenChannel&) = delete;
  OpenChannel& operator=(const OpenChannel&) = delete;
  std::shared_ptr<WsChannel> channel;
};

std::string ws_cell_name(const WsCell& c) {
  return std::string(c.row->type) + (c.row->on == Target::A ? "_thingA_" : "_thingB_") +
         std::string(kCallerNames[c.who]);
}

void PrintTo(const WsCell& cell, std::ostream* os) {
  *os << ws_cell_name(cell);
}

class AuthzMatrixWs : public ::testing::TestWithParam<WsCell> {};

TEST_P(AuthzMatrixWs, Cell) {
  const WsRow& row = *GetParam().row;
  const Caller who = GetParam().who;
  const Ws expect = row.expect[who];
  const std::string customer(customer_of(row.on));
  const std::string thing = customer + "_B001_01";
  const auto thing_name = ThingName::parse(thing).value();
  SCOPED_TRACE(std::string(kCallerNames[who]) + ": " + std::string(row.type) + " " + thing);

  World w;
  auto principal = w.upgrade(who);
  if (expect == Ws::refused) {
    ASSERT_FALSE(principal.has_value());
    EXPECT_EQ(status_for(principal.error().code), 401);
    return;
  }
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  OpenChannel open(w, *principal);
  WsChannel& channel = *open.channel;

  // Unsubscribing needs a watch to end: the caller watches the point first
  // when it may.
  if (row.type == "unsubscribe" && principal->can_read(customer)) {
    channel.on_text(ws_message("subscribe", thing).dump());
    const auto frames = drain(channel);
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0]["type"], "subscribed") << frames[0];
  }
  (void)w.commands.take();
  const auto audited = w.audit.with_action("control").size();

  channel.on_text(ws_message(row.type, thing).dump());
  const auto frames = drain(channel);
  const auto sent = w.commands.take();

  if (expect == Ws::ok) {
    ASSERT_EQ(sent.size(), 1u) << "one command to the MW";
    EXPECT_EQ(sent[0].first, protocol::command_topic(thing));
    const json& cmd = sent[0].second;
    if (row.type == "control") {
      EXPECT_TRUE(frames.empty()) << frames.front();  // the answer comes with the MW's result
      EXPECT_EQ(cmd["msg_type"], "Control");
      EXPECT_EQ(cmd["point_id"], kPoint);
      EXPECT_EQ(cmd["value"], 21.5);
      EXPECT_EQ(cmd["priority"], 8);
      ControlResult result;
      result.thing = thing_name;
      result.request_id = cmd["request_id"].get<std::string>();
      result.point_id = std::string(kPoint);
      result.accepted = true;
      result.value = 21.5;
      w.hub.on_control_result(result);
      const auto answer = drain(channel);
      ASSERT_EQ(answer.size(), 1u);
      EXPECT_EQ(answer[0]["type"], "control_result");
      EXPECT_EQ(answer[0]["ref"], "r1");
      EXPECT_EQ(answer[0]["status"], "accepted");
      const auto entries = w.audit.with_action("control");
      ASSERT_EQ(entries.size(), audited + 1);
      EXPECT_TRUE(entries.back().ok);
      EXPECT_EQ(entries.back().customer, customer);
      EXPECT_EQ(entries.back().user, user_of(who));
    } else {
      ASSERT_EQ(frames.size(), 1u);
      EXPECT_EQ(frames[0]["type"], row.type == "subscribe" ? "subscribed" : "unsubscribed");
      EXPECT_EQ(frames[0]["thing"], thing);
      EXPECT_EQ(cmd["msg_type"], row.type == "subscribe" ? "Subscribe" : "Unsubscribe");
      EXPECT_EQ(cmd["point_ids"], json::array({kPoint}));
    }
  } else {
    EXPECT_TRUE(sent.empty()) << "a refused request reached the MW: " << sent.front().second;
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0]["type"], "error") << frames[0];
    EXPECT_EQ(frames[0]["code"], expect == Ws::not_found ? "not_found" : "forbidden") << frames[0];
    if (row.type == "control") {
      EXPECT_EQ(frames[0]["ref"], "r1") << frames[0];
    }
    const auto entries = w.audit.with_action("control");
    if (expect == Ws::forbidden) {
      // A denied control is audited as such.
      ASSERT_EQ(entries.size(), audited + 1);
      EXPECT_FALSE(entries.back().ok);
      EXPECT_EQ(entries.back().customer, customer);
    }
    if (expect == Ws::not_found) {
      // Told apart from a thing that does not exist? It must not be.
      std::string ghost_thing = thing;
      replace_all(ghost_thing, customer, kGhost);
      channel.on_text(ws_message(row.type, ghost_thing).dump());
      auto ghost = drain(channel);
      ASSERT_EQ(ghost.size(), 1u);
      std::string ghost_answer = ghost[0].dump();
      replace_all(ghost_answer, kGhost, customer);
      EXPECT_EQ(ghost_answer, frames[0].dump());
      EXPECT_TRUE(w.commands.take().empty());
    }
  }

  // Live values of the thing reach the channel exactly when it watches them.
  w.hub.on_realtime(RealtimeUpdate{thing_name, 42, {{std::string(kPoint), 22.0}}});
  const auto live = drain(channel);
  const bool watching = row.type == "subscribe" && expect == Ws::ok;
  ASSERT_EQ(live.size(), watching ? 1u : 0u);
  if (watching) {
    EXPECT_EQ(live[0]["type"], "values");
    ASSERT_EQ(live[0]["updates"].size(), 1u);
    EXPECT_EQ(live[0]["updates"][0]["thing"], thing);
  }
}

INSTANTIATE_TEST_SUITE_P(AuthzWs, AuthzMatrixWs, ::testing::ValuesIn(ws_cells()),
                         [](const ::testing::TestParamInfo<WsCell>& p) {
                           return ws_cell_name(p.param);
                         });

}  // namespace
}  // namespace nbms::http

namespace nbms::http {
namespace {

// ---- the WebSocket alarm matrix --------------------------------------------------
//
// alarms.subscribe for building B001 of each customer, by every caller: a
// snapshot and then the live transitions within scope; not_found (worded as for
// a customer that does not exist) and nothing pushed outside it.

struct WsAlarmCell {
  Target on;
  Caller who;
};

std::vector<WsAlarmCell> ws_alarm_cells() {
  std::vector<WsAlarmCell> out;
  for (const Target on : {Target::A, Target::B}) {
    for (int c = kNone; c < kCallers; ++c) out.push_back({on, static_cast<Caller>(c)});
  }
  return out;
}

std::string ws_alarm_cell_name(const WsAlarmCell& c) {
  return std::string("alarms_subscribe") + (c.on == Target::A ? "_onA_" : "_onB_") +
         std::string(kCallerNames[c.who]);
}

void PrintTo(const WsAlarmCell& cell, std::ostream* os) {
  *os << ws_alarm_cell_name(cell);
}

class AuthzMatrixWsAlarms : public ::testing::TestWithParam<WsAlarmCell> {};

json subscribe_message(std::string_view customer) {
  return {{"type", "alarms.subscribe"}, {"customer", customer}, {"building", "B001"}};
}

TEST_P(AuthzMatrixWsAlarms, Cell) {
  const auto [on, who] = GetParam();
  const std::string customer(customer_of(on));
  World w;
  auto principal = w.upgrade(who);
  if (who == kNone) {
    ASSERT_FALSE(principal.has_value());
    return;
  }
  ASSERT_TRUE(principal.has_value());
  const bool in_scope = principal->can_read(customer);
  auto feed = AlarmFeed::create(w.alarms, w.clock);
  auto channel = std::make_shared<WsChannel>(
      w.services, *principal, World::origin(), [] {}, WsLimits{}, feed);
  channel->open();
  ASSERT_EQ(drain(*channel).size(), 1u);  // hello

  channel->on_text(subscribe_message(customer).dump());
  const auto frames = drain(*channel);
  ASSERT_EQ(frames.size(), 1u);
  if (in_scope) {
    EXPECT_EQ(frames[0]["type"], "alarms.snapshot") << frames[0];
    EXPECT_EQ(frames[0]["customer"], customer);
    ASSERT_EQ(frames[0]["alarms"].size(), 2u);
    for (const auto& a : frames[0]["alarms"]) EXPECT_EQ(a["thing"], customer + "_B001_01");
  } else {
    EXPECT_EQ(frames[0]["type"], "error") << frames[0];
    EXPECT_EQ(frames[0]["code"], "not_found") << frames[0];
    channel->on_text(subscribe_message(kGhost).dump());
    const auto ghost = drain(*channel);
    ASSERT_EQ(ghost.size(), 1u);
    std::string ghost_answer = ghost[0].dump();
    replace_all(ghost_answer, kGhost, customer);
    EXPECT_EQ(ghost_answer, frames[0].dump());
  }

  // A new alarm of the building reaches the channel exactly when it watches.
  AlarmEvent e;
  e.thing = ThingName::parse(customer + "_B001_01").value();
  e.alarm_id = "AL-9";
  e.stamp = EventStamp::parse("20221004100000").value();
  e.name = "Filter dirty";
  e.priority = 200;
  ASSERT_TRUE(w.alarms.on_alarm(e).has_value());
  const auto live = drain(*channel);
  ASSERT_EQ(live.size(), in_scope ? 1u : 0u);
  if (in_scope) {
    EXPECT_EQ(live[0]["type"], "alarms");
    ASSERT_EQ(live[0]["transitions"].size(), 1u);
    EXPECT_EQ(live[0]["transitions"][0]["kind"], "raised");
    EXPECT_EQ(live[0]["transitions"][0]["alarm"]["alarm_id"], "AL-9");
  }
  channel->close();
  EXPECT_EQ(feed->watchers(customer + "/B001"), 0u);
}

INSTANTIATE_TEST_SUITE_P(AuthzWsAlarms, AuthzMatrixWsAlarms, ::testing::ValuesIn(ws_alarm_cells()),
                         [](const ::testing::TestParamInfo<WsAlarmCell>& p) {
                           return ws_alarm_cell_name(p.param);
                         });

}  // namespace
}  // namespace nbms::http
