// The notification routes beyond the authorisation matrix: request shapes and
// their errors, secrets shown once and never listed, fan-out of a notice into
// the caller's delivery status, the VAPID key, and a deleted user's
// subscriptions and endpoints going with the user.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_notify.hpp"
#include "fixture.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr std::string_view kPassword = "notify-password-1";
constexpr const char* kC = "C000003";

class NotifyApi : public ::testing::Test, protected testing::ApiWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(auth.bootstrap_admin(std::string(kPassword)));
    ASSERT_TRUE(registry.create_customer({kC, "Acme", 1}));
    ASSERT_TRUE(registry.create_building({kC, "B001", "HQ", "1 Main St", 2}));
    const auth::Principal root{"admin", "", Role::admin};
    ASSERT_TRUE(auth.create_user(root, "mgr", kPassword, Role::manager, kC, {}));
    ASSERT_TRUE(auth.create_user(root, "ann", kPassword, Role::viewer, kC, {}));
    manager = login("mgr");
    viewer = login("ann");
  }
  std::string login(std::string_view user) {
    auto r = auth.login(user, kPassword, auth::Origin{"127.0.0.1"});
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->token : std::string();
  }
  Response call(const std::string& token, std::string method, std::string target,
                std::string body = "") {
    return request(make_services(nullptr, notify_on ? &notify : nullptr), token, std::move(method),
                   "/api/v1/" + std::move(target), std::move(body));
  }
  static json body_of(const Response& r) { return json::parse(r.body); }
  static std::string message(const Response& r) {
    return json::parse(r.body)["error"]["message"].get<std::string>();
  }
  std::vector<std::string> audited() {
    std::vector<std::string> out;
    for (const auto& e : audit.entries()) out.push_back(e.action);
    return out;
  }

  nbms::testing::FakeNotifyStore store;
  NotifyServices notify{store,
                        store,
                        [this](const Notification& n) { return store.fan_out_and_store(n, 5000); },
                        "BPublicKey",
                        {ChannelKind::webhook, ChannelKind::web_push}};
  bool notify_on = true;
  std::string manager, viewer;
};

TEST_F(NotifyApi, SubscriptionDefaultsReplaceAndErrors) {
  auto r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC, "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r), (json{{"customer", kC},
                              {"building", ""},
                              {"alarms", true},
                              {"notices", true},
                              {"min_priority", "low"},
                              {"channels", {"web_push", "webhook", "email"}}}));
  r = call(
      viewer, "PUT", std::string("notify/subscriptions/") + kC + "/B001",
      R"({"alarms":false,"notices":true,"min_priority":"urgent","channels":["webhook","webhook"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r)["channels"], json({"webhook"}));
  r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC + "/B001",
           R"({"min_priority":"high"})");
  EXPECT_EQ(r.status, 200) << r.body;  // replaced
  const auto list = body_of(call(viewer, "GET", "notify/subscriptions"));
  ASSERT_EQ(list["subscriptions"].size(), 2u);
  EXPECT_EQ(list["channels"], json({"webhook", "web_push"}));

  EXPECT_EQ(call(viewer, "PUT", std::string("notify/subscriptions/") + kC + "/B999", "{}").status,
            404);
  r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC, R"({"min_priority":"max"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message(r), "'min_priority' must be low, medium, high or urgent");
  r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC, R"({"channels":["sms"]})");
  EXPECT_EQ(message(r), "'channels' must be an array of web_push, webhook, email");
  r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC, R"({"alarms":"yes"})");
  EXPECT_EQ(message(r), "'alarms' must be true or false");
  r = call(viewer, "PUT", std::string("notify/subscriptions/") + kC, R"({"colour":"red"})");
  EXPECT_EQ(r.status, 400);

  EXPECT_EQ(call(viewer, "DELETE", std::string("notify/subscriptions/") + kC + "/B001").status,
            204);
  r = call(viewer, "DELETE", std::string("notify/subscriptions/") + kC + "/B001");
  EXPECT_EQ(r.status, 404);
  const auto actions = audited();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "notify.subscription.put"), 3);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "notify.subscription.delete"), 1);
}

TEST_F(NotifyApi, EndpointsSecretShownOnceKeysNeverListed) {
  auto r = call(viewer, "POST", "notify/endpoints",
                R"({"kind":"webhook","address":"https://hooks.example.com/x"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto hook = body_of(r);
  ASSERT_TRUE(hook["secret"].is_string());
  EXPECT_EQ(hook["secret"].get<std::string>().size(), 64u);
  EXPECT_EQ(store.endpoint("ann", hook["id"].get<std::string>())->secret,
            hook["secret"].get<std::string>());
  r = call(
      viewer, "POST", "notify/endpoints",
      R"({"kind":"web_push","address":"https://push.example.net/send/abc","p256dh":"BKey","auth":"AuthSecret"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto push_id = body_of(r)["id"];
  // The same browser again: replaced, same id.
  r = call(
      viewer, "POST", "notify/endpoints",
      R"({"kind":"web_push","address":"https://push.example.net/send/abc","p256dh":"BKey2","auth":"AuthSecret2"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["id"], push_id);
  EXPECT_EQ(store.endpoint("ann", push_id.get<std::string>())->p256dh, "BKey2");

  const auto listed = call(viewer, "GET", "notify/endpoints");
  EXPECT_EQ(body_of(listed)["endpoints"].size(), 2u);
  EXPECT_EQ(listed.body.find(hook["secret"].get<std::string>()), std::string::npos);
  EXPECT_EQ(listed.body.find("AuthSecret"), std::string::npos);
  EXPECT_EQ(listed.body.find("BKey"), std::string::npos);
  // Another user sees none of them and cannot delete them.
  EXPECT_TRUE(body_of(call(manager, "GET", "notify/endpoints"))["endpoints"].empty());
  EXPECT_EQ(call(manager, "DELETE", "notify/endpoints/" + push_id.get<std::string>()).status, 404);

  r = call(viewer, "POST", "notify/endpoints", R"({"kind":"email","address":"ann@example.com"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message(r), "channel 'email' is not configured on this server");
  r = call(viewer, "POST", "notify/endpoints", R"({"kind":"webhook","address":"ftp://x"})");
  EXPECT_EQ(message(r), "'address' must be an http:// or https:// URL");
  r = call(viewer, "POST", "notify/endpoints",
           R"({"kind":"web_push","address":"http://push.example.net/x","p256dh":"a","auth":"b"})");
  EXPECT_EQ(message(r), "'address' must be the https:// URL of the push service");
  r = call(viewer, "POST", "notify/endpoints",
           R"({"kind":"web_push","address":"https://push.example.net/y"})");
  EXPECT_EQ(r.status, 400);
  r = call(viewer, "POST", "notify/endpoints",
           R"({"kind":"webhook","address":"https://h.example.com","auth":"x"})");
  EXPECT_EQ(message(r), "'p256dh' and 'auth' belong to web_push endpoints only");
  r = call(viewer, "POST", "notify/endpoints", R"({"kind":"pigeon","address":"x"})");
  EXPECT_EQ(message(r), "'kind' must be web_push, webhook or email");
  EXPECT_EQ(call(viewer, "DELETE", "notify/endpoints/" + push_id.get<std::string>()).status, 204);
}

TEST_F(NotifyApi, EmailEndpointsAreChecked) {
  notify.channels.push_back(ChannelKind::email);
  EXPECT_EQ(
      call(viewer, "POST", "notify/endpoints", R"({"kind":"email","address":"ann@example.com"})")
          .status,
      201);
  for (const char* bad : {"ann", "@example.com", "ann@", "a b@example.com", "<a@b.c>"}) {
    const auto r =
        call(viewer, "POST", "notify/endpoints", json{{"kind", "email"}, {"address", bad}}.dump());
    EXPECT_EQ(r.status, 400) << bad;
  }
}

TEST_F(NotifyApi, NoticeFansOutAndShowsInDeliveryStatus) {
  ASSERT_EQ(call(viewer, "PUT", std::string("notify/subscriptions/") + kC, "{}").status, 201);
  ASSERT_EQ(call(viewer, "POST", "notify/endpoints",
                 R"({"kind":"webhook","address":"https://hooks.example.com/x"})")
                .status,
            201);
  auto r = call(manager, "POST", std::string("customers/") + kC + "/notices",
                R"({"title":"Fire drill","body":"Friday 10:00","building":"B001"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto notice = body_of(r);
  EXPECT_EQ(notice["deliveries"], 1);
  EXPECT_EQ(notice["priority"], "medium");
  EXPECT_EQ(notice["kind"], "notice");
  EXPECT_EQ(notice["author"], "mgr");  // the caller, never a member of the request
  EXPECT_TRUE(notice["id"].get<std::string>().starts_with(std::string("notice.") + kC + "."));
  clock.now += 1000;
  r = call(manager, "POST", std::string("customers/") + kC + "/notices",
           R"({"title":"Second","priority":"urgent"})");
  ASSERT_EQ(r.status, 201) << r.body;

  const auto notices = body_of(call(viewer, "GET", std::string("customers/") + kC + "/notices"));
  ASSERT_EQ(notices["notices"].size(), 2u);
  EXPECT_EQ(notices["notices"][0]["title"], "Second");  // newest first
  EXPECT_EQ(notices["notices"][1]["title"], "Fire drill");
  EXPECT_EQ(notices["notices"][0]["author"], "mgr");
  EXPECT_EQ(notices["notices"][1]["author"], "mgr");
  const auto one =
      body_of(call(viewer, "GET", std::string("customers/") + kC + "/notices?limit=1"));
  EXPECT_EQ(one["notices"].size(), 1u);
  EXPECT_EQ(call(viewer, "GET", std::string("customers/") + kC + "/notices?limit=0").status, 400);

  const auto ds = body_of(call(viewer, "GET", "notify/deliveries"));
  ASSERT_EQ(ds["deliveries"].size(), 2u);
  for (const auto& d : ds["deliveries"]) {
    EXPECT_EQ(d["state"], "pending");
    EXPECT_EQ(d["attempts"], 0);
    EXPECT_EQ(d["channel"], "webhook");
    EXPECT_EQ(d["kind"], "notice");
  }
  EXPECT_TRUE(body_of(call(manager, "GET", "notify/deliveries"))["deliveries"].empty());

  r = call(manager, "POST", std::string("customers/") + kC + "/notices", R"({"title":""})");
  EXPECT_EQ(r.status, 400);
  r = call(manager, "POST", std::string("customers/") + kC + "/notices",
           R"({"title":"x","building":"B999"})");
  EXPECT_EQ(r.status, 404);
  r = call(manager, "POST", std::string("customers/") + kC + "/notices",
           R"({"title":"x","priority":"max"})");
  EXPECT_EQ(message(r), "'priority' must be low, medium, high or urgent");
  // The author is the caller; a request cannot name another.
  r = call(manager, "POST", std::string("customers/") + kC + "/notices",
           R"({"title":"x","author":"admin"})");
  EXPECT_EQ(r.status, 400);
  const auto actions = audited();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "notice.post"), 2);
}

TEST_F(NotifyApi, VapidKeyAndNotConfigured) {
  auto r = call(viewer, "GET", "notify/vapid-public-key");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["public_key"], "BPublicKey");
  notify.vapid_public_key.clear();
  r = call(viewer, "GET", "notify/vapid-public-key");
  EXPECT_EQ(r.status, 404);
  notify_on = false;
  EXPECT_EQ(call(viewer, "GET", "notify/subscriptions").status, 503);
  EXPECT_EQ(call(viewer, "GET", std::string("customers/") + kC + "/notices").status, 503);
}

TEST_F(NotifyApi, DeletingAUserRemovesTheirSubscriptionsAndEndpoints) {
  ASSERT_EQ(call(viewer, "PUT", std::string("notify/subscriptions/") + kC, "{}").status, 201);
  ASSERT_EQ(call(viewer, "PUT", std::string("notify/subscriptions/") + kC + "/B001", "{}").status,
            201);
  ASSERT_EQ(call(viewer, "POST", "notify/endpoints",
                 R"({"kind":"webhook","address":"https://hooks.example.com/x"})")
                .status,
            201);
  ASSERT_EQ(call(manager, "PUT", std::string("notify/subscriptions/") + kC, "{}").status, 201);
  ASSERT_EQ(call(manager, "DELETE", "users/ann").status, 204);
  EXPECT_TRUE(store.subscriptions_of("ann")->empty());
  EXPECT_TRUE(store.endpoints_of("ann")->empty());
  EXPECT_EQ(store.subscriptions_of("mgr")->size(), 1u);  // others keep theirs
}

}  // namespace
}  // namespace nbms::http
