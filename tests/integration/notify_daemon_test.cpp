// Notifications through the real nbmsd: an alarm published over MQTT and a
// notice posted by a manager reach a local webhook receiver (signature
// checked with the secret the API showed once), a local Web Push receiver
// (VAPID checked, payload decrypted with the browser's key) and a local SMTP
// receiver (STARTTLS + AUTH); and a kill of nbmsd while a delivery is in
// flight loses nothing and repeats only that delivery, under its own id; an
// alarm committed but not yet handed to the outbox at a kill is notified once
// after the restart (the replay), one already delivered is not again.
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "integration/fixture.hpp"
#include "integration/notify_receivers.hpp"
#include "nbms/alarms/service.hpp"
#include "nbms/crypto/crypto.hpp"
#include "nbms/crypto/ecc.hpp"
#include "nbms/notify/webhook.hpp"
#include "nbms/notify/webpush.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::it {
namespace {

Json alarm_raise(const std::string& id, const std::string& time, int priority,
                 const std::string& name) {
  return Json{{"msg_type", "Alarm"},
              {"alarm_id", id},
              {"status", "raise"},
              {"time", time},
              {"name", name},
              {"priority", priority},
              {"point_id", "01.1.AI-101:0101_AHUSupplyAirTemp"},
              {"text", "31.2 above 30"}};
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A browser's push subscription: its key pair and auth secret.
struct Browser {
  crypto::P256Key key = *crypto::P256Key::generate();
  std::string auth = *crypto::random_bytes(16);
};

class NotifyDaemonTest : public NbmsTest {
 protected:
  void configure(Nbmsd& n) override {
    tls_dir_ = dir() / "tls";
    fs::create_directories(tls_dir_);
    make_test_certificate(tls_dir_);
    server_tls_ = server_tls_context(tls_dir_);
    hooks_ = std::make_unique<HttpReceiver>([this](const HttpRequestSeen& r) { return hook(r); });
    push_ = std::make_unique<HttpReceiver>(
        [](const HttpRequestSeen&) {
          return HttpAnswer{201, {}};
        },
        server_tls_.get());
    smtp_ = std::make_unique<SmtpReceiver>(server_tls_.get(), "nbms", "mail-password");
    write_text(dir() / "smtp.password", "mail-password\n");
    fs::permissions(dir() / "smtp.password", fs::perms::owner_read | fs::perms::owner_write);
    n.config()["notify"] = {
        {"vapid_subject", "mailto:ops@example.com"},
        {"public_url", "https://nbms.example.com"},
        {"ca_file", (tls_dir_ / "cert.pem").string()},
        // The receivers listen on 127.0.0.1.
        {"allow_private_addresses", true},
        {"http_timeout_ms", 5000},
        {"initial_backoff_ms", 200},
        {"max_backoff_ms", 1000},
        {"smtp_host", "127.0.0.1"},
        {"smtp_port", smtp_->port()},
        {"smtp_username", "nbms"},
        {"smtp_password_file", (dir() / "smtp.password").string()},
        {"smtp_from", "alerts@nbms.example"},
        {"smtp_timeout_s", 10},
    };
  }

  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      hold_ = false;  // never leave the receiver's thread waiting
    }
    cv_.notify_all();
    NbmsTest::TearDown();
  }

  // The webhook receiver: verifies the signature with the secret nbmsd showed
  // (401 otherwise), then answers as the test's mode says.
  HttpAnswer hook(const HttpRequestSeen& r) {
    std::unique_lock lock(mu_);
    ++hook_arrivals_;
    cv_.notify_all();
    const auto sig = r.headers.find("x-nbms-signature");
    if (sig == r.headers.end() ||
        !notify::verify_webhook_signature(hook_secret_, sig->second, r.body, now_s())) {
      ++bad_signatures_;
      return {401, {}};
    }
    cv_.wait(lock, [this] { return !hold_; });
    return {accept_ ? 200 : 503, {}};
  }

  // As `token`: JSON answer with the expected status.
  Json call(const std::string& token, const std::string& method, const std::string& target,
            const std::optional<Json>& body, int expect) {
    const auto r = nbmsd().request(method, "/api/v1" + target, body, token);
    EXPECT_EQ(r.status, expect) << method << " " << target << ": " << r.body;
    return r.json;
  }

  // A viewer "ann" subscribed to the customer with the given channels.
  std::string subscribe_ann(bool push_and_mail) {
    const auto ann = add_user("ann", "viewer", kCustomer);
    call(ann, "PUT", std::string("/notify/subscriptions/") + kCustomer, Json::object(), 201);
    const auto hook = call(
        ann, "POST", "/notify/endpoints",
        Json{{"kind", "webhook"},
             {"address", "http://127.0.0.1:" + std::to_string(hooks_->port()) + "/hooks/nbms"}},
        201);
    {
      std::lock_guard lock(mu_);
      hook_secret_ = hook.value("secret", "");
    }
    EXPECT_EQ(hook_secret_.size(), 64u);
    if (push_and_mail) {
      call(ann, "POST", "/notify/endpoints",
           Json{{"kind", "web_push"},
                {"address", "https://127.0.0.1:" + std::to_string(push_->port()) + "/push/ann"},
                {"p256dh", crypto::base64url_encode(browser_.key.public_point())},
                {"auth", crypto::base64url_encode(browser_.auth)}},
           201);
      call(ann, "POST", "/notify/endpoints",
           Json{{"kind", "email"}, {"address", "ann@example.com"}}, 201);
    }
    return ann;
  }

  // ann's deliveries once all `n` of them are sent (empty if they never are).
  Json wait_all_sent(const std::string& token, std::size_t n) {
    Json last;
    const bool done = wait_until(
        [&] {
          last = call(token, "GET", "/notify/deliveries?limit=200", std::nullopt, 200);
          if (last["deliveries"].size() != n) return false;
          for (const auto& d : last["deliveries"]) {
            if (d["state"] != "sent") return false;
          }
          return true;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(100));
    EXPECT_TRUE(done) << last.dump(1);
    return done ? last : Json();
  }

  fs::path tls_dir_;
  std::unique_ptr<boost::asio::ssl::context> server_tls_;
  std::unique_ptr<HttpReceiver> hooks_;
  std::unique_ptr<HttpReceiver> push_;
  std::unique_ptr<SmtpReceiver> smtp_;
  Browser browser_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::string hook_secret_;  // under mu_
  bool hold_ = false;        // under mu_: the webhook receiver holds its answer
  bool accept_ = true;       // under mu_
  int hook_arrivals_ = 0;    // under mu_
  int bad_signatures_ = 0;   // under mu_
};

TEST_F(NotifyDaemonTest, AlarmAndNoticeReachWebhookWebPushAndEmail) {
  register_thing();
  const auto ann = subscribe_ann(true);
  const auto key = call(ann, "GET", "/notify/vapid-public-key", std::nullopt, 200);
  ASSERT_TRUE(key["public_key"].is_string());
  EXPECT_EQ(crypto::base64url_decode(key["public_key"].get<std::string>()).value_or("").size(),
            65u);
  // The key nbmsd created on first start is owner-only.
  const auto key_file = nbmsd().data_dir() / "notify" / "vapid.key";
  ASSERT_TRUE(fs::exists(key_file));
  EXPECT_EQ(fs::status(key_file).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);

  // An alarm over MQTT; priority 10 is "urgent" (docs/notifications.md).
  publish(topic_of(kThing, "alarm"),
          alarm_raise("AL-7", "20261126101500", 10, "Supply air temperature high"));
  ASSERT_TRUE(messages_reach(1));

  const auto hooks = hooks_->wait_for(1);
  const auto pushes = push_->wait_for(1);
  const auto mails = smtp_->wait_for(1);
  ASSERT_EQ(hooks.size(), 1u);
  ASSERT_EQ(pushes.size(), 1u);
  ASSERT_EQ(mails.size(), 1u);

  const auto hook_json = Json::parse(hooks[0].body);
  EXPECT_EQ(hook_json["kind"], "alarm");
  EXPECT_EQ(hook_json["priority"], "urgent");
  EXPECT_EQ(hook_json["title"], "Supply air temperature high");
  EXPECT_EQ(hook_json["customer"], kCustomer);
  EXPECT_EQ(hook_json["building"], kBuilding);
  EXPECT_EQ(hooks[0].headers.at("x-nbms-delivery"), hook_json["delivery"].get<std::string>());

  auto plain = notify::decrypt_push(pushes[0].body, browser_.key, browser_.auth);
  ASSERT_TRUE(plain) << plain.error().message;
  const auto push_json = Json::parse(*plain);
  EXPECT_EQ(push_json["title"], "Supply air temperature high");
  EXPECT_EQ(push_json["id"], hook_json["id"]);
  EXPECT_TRUE(pushes[0].headers.at("authorization").starts_with("vapid t="));
  EXPECT_NE(pushes[0].headers.at("authorization").find(key["public_key"].get<std::string>()),
            std::string::npos);
  EXPECT_EQ(pushes[0].headers.at("urgency"), "high");

  EXPECT_TRUE(mails[0].tls);
  EXPECT_EQ(mails[0].user, "nbms");
  ASSERT_EQ(mails[0].to.size(), 1u);
  EXPECT_NE(mails[0].to[0].find("ann@example.com"), std::string::npos);
  EXPECT_NE(mails[0].data.find("Supply air temperature high"), std::string::npos);

  // A notice by a manager of the customer goes the same ways.
  const auto mia = add_user("mia", "manager", kCustomer);
  const auto notice =
      call(mia, "POST", std::string("/customers/") + kCustomer + "/notices",
           Json{{"title", "Fire drill"}, {"body", "Friday 10:00, all floors"}}, 201);
  EXPECT_EQ(notice["deliveries"], 3);
  ASSERT_EQ(hooks_->wait_for(2).size(), 2u);
  ASSERT_EQ(push_->wait_for(2).size(), 2u);
  ASSERT_EQ(smtp_->wait_for(2).size(), 2u);
  const auto notice_hook = Json::parse(hooks_->seen()[1].body);
  EXPECT_EQ(notice_hook["kind"], "notice");
  EXPECT_EQ(notice_hook["title"], "Fire drill");
  const auto notice_push = notify::decrypt_push(push_->seen()[1].body, browser_.key, browser_.auth);
  ASSERT_TRUE(notice_push);
  EXPECT_EQ(Json::parse(*notice_push)["title"], "Fire drill");
  EXPECT_NE(smtp_->seen()[1].data.find("Fire drill"), std::string::npos);

  // The notice is listed for everyone of the customer, and ann sees the
  // status of all six deliveries.
  const auto notices =
      call(ann, "GET", std::string("/customers/") + kCustomer + "/notices", std::nullopt, 200);
  ASSERT_EQ(notices["notices"].size(), 1u);
  EXPECT_EQ(notices["notices"][0]["title"], "Fire drill");
  const auto status = wait_all_sent(ann, 6);
  for (const auto& d : status["deliveries"]) {
    EXPECT_EQ(d["attempts"], 1) << d.dump();
    EXPECT_EQ(d["last_error"], "") << d.dump();
  }
  std::lock_guard lock(mu_);
  EXPECT_EQ(bad_signatures_, 0);
}

TEST_F(NotifyDaemonTest, KilledWhileDeliveringEveryNotificationArrivesOnceByDeliveryId) {
  register_thing();
  const auto ann = subscribe_ann(false);
  {
    std::lock_guard lock(mu_);
    hold_ = true;  // the first request hangs until nbmsd is gone
  }
  const auto t = topic_of(kThing, "alarm");
  publish(t, alarm_raise("AL-1", "20261126101500", 10, "One"));
  publish(t, alarm_raise("AL-2", "20261126101501", 100, "Two"));
  publish(t, alarm_raise("AL-3", "20261126101502", 200, "Three"));
  ASSERT_TRUE(messages_reach(3));
  // All three are in the outbox before the kill (the alarm -> outbox hand-off
  // is asynchronous), and the first one is being delivered.
  ASSERT_TRUE(wait_until([&] {
    return call(ann, "GET", "/notify/deliveries", std::nullopt, 200)["deliveries"].size() == 3;
  }));
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, kEventTimeout, [this] { return hook_arrivals_ >= 1; }));
  }
  nbmsd().kill();
  {
    std::lock_guard lock(mu_);
    hold_ = false;
    accept_ = true;
  }
  cv_.notify_all();

  nbmsd().start();
  const auto ann2 = nbmsd().login("ann", "ann-password");
  const auto status = wait_all_sent(ann2, 3);
  ASSERT_FALSE(status.is_null());

  // What the receiver saw: every delivery, the interrupted one possibly twice
  // but under the same X-Nbms-Delivery id, nothing else repeated.
  const auto seen = hooks_->seen();
  std::map<std::string, int> by_delivery;
  std::set<std::string> titles;
  for (const auto& r : seen) {
    ++by_delivery[r.headers.at("x-nbms-delivery")];
    titles.insert(Json::parse(r.body)["title"].get<std::string>());
  }
  EXPECT_EQ(titles, (std::set<std::string>{"One", "Two", "Three"}));
  ASSERT_EQ(by_delivery.size(), 3u);
  int repeated = 0;
  for (const auto& [id, n] : by_delivery) {
    EXPECT_LE(n, 2) << id;
    if (n == 2) ++repeated;
  }
  EXPECT_LE(repeated, 1) << "only the delivery in flight at the kill may repeat";
  EXPECT_LE(seen.size(), 4u);
  std::multiset<int> attempts;
  for (const auto& d : status["deliveries"]) {
    // The status has the same ids the receiver de-duplicated on.
    EXPECT_TRUE(by_delivery.contains(d["id"].get<std::string>())) << d.dump();
    attempts.insert(d["attempts"].get<int>());
  }
  // The dispatcher sends one at a time: the held one was in flight at the
  // kill (sent again after the restart), the other two had not started.
  EXPECT_EQ(attempts, (std::multiset<int>{1, 1, 2})) << status.dump(1);
  std::lock_guard lock(mu_);
  EXPECT_EQ(bad_signatures_, 0);
}

TEST_F(NotifyDaemonTest, AlarmCommittedButNotHandedOffAtAKillIsDeliveredOnceAfterRestart) {
  register_thing();
  const auto ann = subscribe_ann(false);
  publish(topic_of(kThing, "alarm"), alarm_raise("AL-1", "20261126101500", 10, "Delivered before"));
  ASSERT_TRUE(messages_reach(1));
  ASSERT_FALSE(wait_all_sent(ann, 1).is_null());
  ASSERT_EQ(hooks_->seen().size(), 1u);

  // A kill, and the state a kill between an alarm's commit and its in-memory
  // hand-off to the outbox leaves: the alarm is current and in history
  // (committed the way nbmsd commits it, by the alarm service), the outbox
  // has nothing of it. Deterministic, where racing a kill against the
  // hand-off (microseconds) would mostly test nothing.
  nbmsd().kill();
  {
    SystemClock clock;
    auto opened = storage::RocksStore::open(
        storage::StoreOptions{.path = (nbmsd().data_dir() / "db").string()}, clock);
    ASSERT_TRUE(opened) << opened.error().message;
    alarms::Service service(**opened, clock);  // no listener: nothing is handed off
    AlarmEvent e;
    e.thing = *ThingName::parse(kThing);
    e.alarm_id = "AL-2";
    e.status = AlarmStatus::raise;
    e.stamp = *EventStamp::parse("20261126101600");
    e.name = "Committed at the kill";
    e.priority = 10;
    auto r = service.on_alarm(e);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(*r, EventResult::applied);
  }

  nbmsd().start();
  const auto ann2 = nbmsd().login("ann", "ann-password");
  // The replay finds both raised alarms: AL-2 is new to the outbox, AL-1 is
  // refused there by its notification id.
  Json handoff;
  ASSERT_TRUE(wait_until([&] {
    handoff = nbmsd().health()["notify"]["alarm_handoff"];
    return handoff["replayed"] == 1 && handoff["already_enqueued"] == 1;
  })) << handoff.dump();
  EXPECT_EQ(handoff["errors"], 0);
  const auto status = wait_all_sent(ann2, 2);
  ASSERT_FALSE(status.is_null());
  for (const auto& d : status["deliveries"]) EXPECT_EQ(d["attempts"], 1) << d.dump();

  std::map<std::string, int> titles;
  for (const auto& r : hooks_->seen()) ++titles[Json::parse(r.body)["title"].get<std::string>()];
  EXPECT_EQ(titles,
            (std::map<std::string, int>{{"Delivered before", 1}, {"Committed at the kill", 1}}));
  const auto health = nbmsd().health()["notify"];
  EXPECT_EQ(health["delivered"], 1) << "since this start: only AL-2";
  EXPECT_EQ(health["queued"], 0);
  EXPECT_TRUE(health["oldest_pending_age_s"].is_null());
  std::lock_guard lock(mu_);
  EXPECT_EQ(bad_signatures_, 0);
}

}  // namespace
}  // namespace nbms::it
