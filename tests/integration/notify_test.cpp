// The notification channels against local receivers: a webhook receiver that
// checks the signature, a Web Push receiver (over HTTPS) that checks VAPID and
// decrypts with the subscriber's key, an SMTP receiver with STARTTLS and AUTH;
// and a restart in the middle of delivery with a real RocksDB outbox.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness.hpp"
#include "integration/notify_receivers.hpp"
#include "nbms/crypto/crypto.hpp"
#include "nbms/crypto/ecc.hpp"
#include "nbms/notify/dispatcher.hpp"
#include "nbms/notify/smtp.hpp"
#include "nbms/notify/webhook.hpp"
#include "nbms/notify/webpush.hpp"
#include "nbms/notify/webpush_sender.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::it {
namespace {

using notify::SendOutcome;

class SettableClock final : public Clock {
 public:
  std::atomic<std::int64_t> now{1'764'162'600'000};
  std::int64_t now_ms() const override { return now.load(); }
};

constexpr std::string_view kHookSecret = "webhook-secret-0123456789";

Notification sample(std::string id, std::string title = "Température haute") {
  Notification n;
  n.id = std::move(id);
  n.customer = "C1";
  n.building = "B1";
  n.kind = NotificationKind::alarm;
  n.priority = NotificationPriority::urgent;
  n.title = std::move(title);
  n.body = "AHU 1 supply air 31.5 °C";
  n.created_ms = 1'764'162'600'000;
  n.link = "/alarms/B1/42";
  return n;
}

Delivery delivery_for(const Notification& n, const Endpoint& e, int index = 0) {
  Delivery d;
  d.id = n.id + "." + std::to_string(index);
  d.notification_id = n.id;
  d.user = e.user;
  d.endpoint_id = e.id;
  d.channel = e.kind;
  return d;
}

// A browser's push subscription: its key pair and auth secret.
struct Browser {
  crypto::P256Key key = *crypto::P256Key::generate();
  std::string auth = *crypto::random_bytes(16);
  Endpoint endpoint(std::string user, std::string id, std::string url) const {
    Endpoint e;
    e.user = std::move(user);
    e.id = std::move(id);
    e.kind = ChannelKind::web_push;
    e.address = std::move(url);
    e.p256dh = crypto::base64url_encode(key.public_point());
    e.auth = crypto::base64url_encode(auth);
    return e;
  }
};

Endpoint webhook_endpoint(std::string user, std::string id, std::uint16_t port) {
  Endpoint e;
  e.user = std::move(user);
  e.id = std::move(id);
  e.kind = ChannelKind::webhook;
  e.address = "http://127.0.0.1:" + std::to_string(port) + "/hooks/nbms";
  e.secret = std::string(kHookSecret);
  return e;
}

Endpoint email_endpoint(std::string user, std::string id, std::string address) {
  Endpoint e;
  e.user = std::move(user);
  e.id = std::move(id);
  e.kind = ChannelKind::email;
  e.address = std::move(address);
  return e;
}

// What a webhook receiver does with a request: verify, then parse.
HttpAnswer verify_webhook(const HttpRequestSeen& r, const Clock& clock) {
  const auto sig = r.headers.find("x-nbms-signature");
  if (sig == r.headers.end() ||
      !notify::verify_webhook_signature(kHookSecret, sig->second, r.body, clock.now_ms() / 1000)) {
    return {401, {}};
  }
  return {200, {}};
}

// What a push service + browser do: check VAPID, decrypt with the browser's key.
struct PushCheck {
  bool vapid_ok = false;
  std::string plaintext;
};
PushCheck check_push(const HttpRequestSeen& r, const Browser& b, const std::string& origin) {
  PushCheck out;
  const auto auth = r.headers.at("authorization");
  const auto comma = auth.find(", k=");
  const auto jwt = auth.substr(8, comma - 8);
  const auto k = crypto::base64url_decode(auth.substr(comma + 4)).value_or("");
  const auto dot = jwt.rfind('.');
  const auto claims = nlohmann::json::parse(
      crypto::base64url_decode(jwt.substr(jwt.find('.') + 1, dot - jwt.find('.') - 1))
          .value_or("{}"));
  out.vapid_ok = auth.starts_with("vapid t=") &&
                 crypto::verify_es256(k, jwt.substr(0, dot),
                                      crypto::base64url_decode(jwt.substr(dot + 1)).value_or("")) &&
                 claims.value("aud", "") == origin;
  auto plain = notify::decrypt_push(r.body, b.key, b.auth);
  if (plain) out.plaintext = *plain;
  return out;
}

class NotifyChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_test_certificate(dir_.path() / "tls");
    server_tls_ = server_tls_context(dir_.path() / "tls");
    // The receivers are on 127.0.0.1: allow private addresses here.
    auto http = notify::HttpClient::create({(dir_.path() / "tls" / "cert.pem").string(), true});
    ASSERT_TRUE(http) << http.error().message;
    http_ = std::move(*http);
    vapid_.emplace(*crypto::P256Key::generate(), "mailto:ops@example.com");
  }

  std::unique_ptr<notify::SmtpClient> smtp_client(std::uint16_t port, bool starttls,
                                                  std::string user = "nbms",
                                                  std::string password = "mail-pw") {
    notify::SmtpOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.starttls = starttls;
    o.ca_file = (dir_.path() / "tls" / "cert.pem").string();
    o.username = std::move(user);
    o.password = std::move(password);
    o.from = "alerts@nbms.example";
    o.timeout = std::chrono::seconds(10);
    auto c = notify::SmtpClient::create(o);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
  }

  TempDir dir_{"nbms-notify-"};
  std::unique_ptr<boost::asio::ssl::context> server_tls_;
  std::unique_ptr<notify::HttpClient> http_;
  std::optional<notify::Vapid> vapid_;
  SettableClock clock_;
};

TEST_F(NotifyChannelsTest, WebhookIsSignedAndCarriesTheDeliveryId) {
  HttpReceiver receiver([&](const HttpRequestSeen& r) { return verify_webhook(r, clock_); });
  notify::WebhookSender sender(*http_, clock_, std::chrono::seconds(10));
  const auto n = sample("n1");
  const auto e = webhook_endpoint("ann", "hook", receiver.port());
  const auto r = sender.send(n, delivery_for(n, e), e);
  EXPECT_EQ(r.outcome, SendOutcome::delivered) << r.detail;
  const auto seen = receiver.wait_for(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/hooks/nbms");
  EXPECT_EQ(seen[0].headers.at("x-nbms-delivery"), "n1.0");
  EXPECT_EQ(seen[0].headers.at("content-type"), "application/json");
  const auto body = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(body["delivery"], "n1.0");
  EXPECT_EQ(body["title"], "Température haute");

  // A receiver with another secret refuses it: permanent failure.
  auto wrong = e;
  wrong.secret = "some-other-secret-xx";
  EXPECT_EQ(sender.send(n, delivery_for(n, wrong), wrong).outcome, SendOutcome::rejected);
}

TEST_F(NotifyChannelsTest, WebhookRetryAfterAndUnreachableAreTransient) {
  HttpReceiver receiver([](const HttpRequestSeen&) {
    return HttpAnswer{503, {{"Retry-After", "7"}}};
  });
  notify::WebhookSender sender(*http_, clock_, std::chrono::seconds(10));
  const auto n = sample("n1");
  const auto e = webhook_endpoint("ann", "hook", receiver.port());
  auto r = sender.send(n, delivery_for(n, e), e);
  EXPECT_EQ(r.outcome, SendOutcome::retry);
  EXPECT_EQ(r.retry_after_ms, 7000);
  // Nobody listening: a transport error, worth a retry.
  const auto closed = webhook_endpoint("ann", "hook", pick_free_port());
  r = sender.send(n, delivery_for(n, closed), closed);
  EXPECT_EQ(r.outcome, SendOutcome::retry);
}

TEST_F(NotifyChannelsTest, PrivateAddressesAreRefusedByDefault) {
  HttpReceiver receiver([](const HttpRequestSeen&) { return HttpAnswer{200, {}}; });
  auto guarded = notify::HttpClient::create({});
  ASSERT_TRUE(guarded);
  notify::WebhookSender sender(**guarded, clock_, std::chrono::seconds(10));
  const auto n = sample("n1");
  for (const std::string host : {"127.0.0.1", "localhost", "[::1]"}) {
    auto e = webhook_endpoint("ann", "hook", receiver.port());
    e.address = "http://" + host + ":" + std::to_string(receiver.port()) + "/";
    const auto r = sender.send(n, delivery_for(n, e), e);
    EXPECT_EQ(r.outcome, SendOutcome::rejected) << host;
    EXPECT_NE(r.detail.find("private address"), std::string::npos) << r.detail;
  }
  EXPECT_TRUE(receiver.seen().empty());
}

TEST_F(NotifyChannelsTest, WebPushOverHttpsIsVapidSignedAndDecryptsWithTheBrowserKey) {
  const Browser browser;
  HttpReceiver push([](const HttpRequestSeen&) { return HttpAnswer{201, {}}; }, server_tls_.get());
  notify::WebPushSender sender(*vapid_, *http_, clock_, std::chrono::seconds(10), 3600);
  const auto origin = "https://127.0.0.1:" + std::to_string(push.port());
  const auto e = browser.endpoint("ann", "phone", origin + "/push/sub-1");
  const auto n = sample("n1");
  const auto r = sender.send(n, delivery_for(n, e), e);
  ASSERT_EQ(r.outcome, SendOutcome::delivered) << r.detail;
  const auto seen = push.wait_for(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/push/sub-1");
  EXPECT_EQ(seen[0].headers.at("content-encoding"), "aes128gcm");
  EXPECT_EQ(seen[0].headers.at("ttl"), "3600");
  EXPECT_EQ(seen[0].headers.at("urgency"), "high");
  EXPECT_EQ(seen[0].headers.at("topic"), notify::push_topic("n1.0"));
  const auto check = check_push(seen[0], browser, origin);
  EXPECT_TRUE(check.vapid_ok);
  ASSERT_FALSE(check.plaintext.empty());
  const auto payload = nlohmann::json::parse(check.plaintext);
  EXPECT_EQ(payload["delivery"], "n1.0");
  EXPECT_EQ(payload["title"], "Température haute");
  EXPECT_EQ(payload["link"], "/alarms/B1/42");
  // Another browser's key cannot read it.
  EXPECT_TRUE(check_push(seen[0], Browser{}, origin).plaintext.empty());
}

TEST_F(NotifyChannelsTest, WebPushGoneAndUntrustedCertificate) {
  const Browser browser;
  HttpReceiver push([](const HttpRequestSeen&) { return HttpAnswer{410, {}}; }, server_tls_.get());
  notify::WebPushSender sender(*vapid_, *http_, clock_, std::chrono::seconds(10));
  const auto e =
      browser.endpoint("ann", "phone", "https://127.0.0.1:" + std::to_string(push.port()) + "/x");
  const auto n = sample("n1");
  EXPECT_EQ(sender.send(n, delivery_for(n, e), e).outcome, SendOutcome::gone);
  // Without the test CA the self-signed certificate is refused: nothing is sent.
  auto strict = notify::HttpClient::create({.ca_file = "", .allow_private_addresses = true});
  ASSERT_TRUE(strict);
  notify::WebPushSender strict_sender(*vapid_, **strict, clock_, std::chrono::seconds(10));
  const auto r = strict_sender.send(n, delivery_for(n, e), e);
  EXPECT_EQ(r.outcome, SendOutcome::retry);
  EXPECT_NE(r.detail.find("certificate verify failed"), std::string::npos) << r.detail;
  EXPECT_EQ(push.seen().size(), 1u);
}

TEST_F(NotifyChannelsTest, EmailWithStartTlsAndAuth) {
  SmtpReceiver mta(server_tls_.get(), "nbms", "mail-pw");
  auto smtp = smtp_client(mta.port(), true);
  ASSERT_TRUE(smtp);
  notify::EmailSender sender(*smtp, clock_, "https://nbms.example");
  const auto n = sample("n1");
  const auto e = email_endpoint("ann", "mail", "ann@example.com");
  const auto r = sender.send(n, delivery_for(n, e), e);
  ASSERT_EQ(r.outcome, SendOutcome::delivered) << r.detail;
  const auto mails = mta.wait_for(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_TRUE(mails[0].tls);
  EXPECT_EQ(mails[0].user, "nbms");
  EXPECT_EQ(mails[0].from, "alerts@nbms.example");
  EXPECT_EQ(mails[0].to, (std::vector<std::string>{"ann@example.com"}));
  const auto& data = mails[0].data;
  EXPECT_NE(data.find("Message-ID: <n1.0@nbms.example>\r\n"), std::string::npos);
  EXPECT_NE(data.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(data.find("Date: "), std::string::npos);
  // The base64 body decodes to the text with the absolute link.
  auto body = data.substr(data.find("\r\n\r\n") + 4);
  std::erase(body, '\r');
  std::erase(body, '\n');
  const auto text = crypto::base64_decode(body).value_or("");
  EXPECT_NE(text.find("AHU 1 supply air 31.5 °C"), std::string::npos);
  EXPECT_NE(text.find("https://nbms.example/alarms/B1/42"), std::string::npos);
}

TEST_F(NotifyChannelsTest, EmailErrorsAreClassified) {
  SmtpReceiver mta(server_tls_.get(), "nbms", "mail-pw");
  mta.set_rcpt_reply([](const std::string& to) {
    if (to.starts_with("full")) return std::string("452 4.2.2 Mailbox full");
    if (to.starts_with("nobody")) return std::string("550 5.1.1 No such user");
    return std::string("250 OK");
  });
  auto smtp = smtp_client(mta.port(), true);
  notify::EmailSender sender(*smtp, clock_, "");
  const auto n = sample("n1");
  auto full = email_endpoint("ann", "m", "full@example.com");
  auto r = sender.send(n, delivery_for(n, full), full);
  EXPECT_EQ(r.outcome, SendOutcome::retry) << r.detail;
  EXPECT_NE(r.detail.find("452"), std::string::npos);
  auto nobody = email_endpoint("ann", "m", "nobody@example.com");
  r = sender.send(n, delivery_for(n, nobody), nobody);
  EXPECT_EQ(r.outcome, SendOutcome::rejected) << r.detail;
  EXPECT_NE(r.detail.find("RCPT TO: 550"), std::string::npos) << r.detail;
  // Wrong password: permanent.
  auto bad_pw = smtp_client(mta.port(), true, "nbms", "wrong");
  notify::EmailSender bad_sender(*bad_pw, clock_, "");
  const auto ok_rcpt = email_endpoint("ann", "m", "ann@example.com");
  r = bad_sender.send(n, delivery_for(n, ok_rcpt), ok_rcpt);
  EXPECT_EQ(r.outcome, SendOutcome::rejected);
  EXPECT_NE(r.detail.find("535"), std::string::npos) << r.detail;
  EXPECT_TRUE(mta.seen().empty());
}

TEST_F(NotifyChannelsTest, EmailStartTlsRequiredUnlessTurnedOff) {
  SmtpReceiver plain_relay(nullptr, "", "");
  auto strict = smtp_client(plain_relay.port(), true, "", "");
  notify::EmailSender strict_sender(*strict, clock_, "");
  const auto n = sample("n1");
  const auto e = email_endpoint("ann", "m", "ann@example.com");
  auto r = strict_sender.send(n, delivery_for(n, e), e);
  EXPECT_EQ(r.outcome, SendOutcome::rejected);
  EXPECT_NE(r.detail.find("STARTTLS"), std::string::npos);
  EXPECT_TRUE(plain_relay.seen().empty());
  auto relaxed = smtp_client(plain_relay.port(), false, "", "");
  notify::EmailSender relaxed_sender(*relaxed, clock_, "");
  r = relaxed_sender.send(n, delivery_for(n, e), e);
  EXPECT_EQ(r.outcome, SendOutcome::delivered) << r.detail;
  const auto mails = plain_relay.wait_for(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_FALSE(mails[0].tls);
}

TEST_F(NotifyChannelsTest, VapidKeyIsCreatedOwnerOnlyAndReloaded) {
  const auto path = (dir_.path() / "vapid.key").string();
  auto first = notify::Vapid::load_or_create(path, "mailto:ops@example.com");
  ASSERT_TRUE(first) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = notify::Vapid::load_or_create(path, "mailto:ops@example.com");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key(), first->public_key());
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(notify::Vapid::load_or_create(path, "mailto:ops@example.com").error().code,
            Errc::invalid_argument);
  EXPECT_FALSE(notify::Vapid::load_or_create(path + "2", "ops@example.com"));  // not a URL
}

TEST_F(NotifyChannelsTest, WorkerThreadRetriesUntilTheReceiverAccepts) {
  SystemClock clock;
  int calls = 0;
  HttpReceiver hooks([&](const HttpRequestSeen& r) {
    if (++calls < 3) return HttpAnswer{503, {{"Retry-After", "0"}}};
    return verify_webhook(r, clock);
  });
  storage::StoreOptions so;
  so.path = (dir_.path() / "db").string();
  auto store = storage::RocksStore::open(so, clock);
  ASSERT_TRUE(store) << store.error().message;
  auto& s = **store;
  ASSERT_TRUE(s.put_subscription(
      {"ann", "C1", "", true, true, NotificationPriority::low, {ChannelKind::webhook}}));
  ASSERT_TRUE(s.put_endpoint(webhook_endpoint("ann", "hook", hooks.port())));
  notify::WebhookSender sender(*http_, clock, std::chrono::seconds(10));
  notify::DispatcherOptions options;
  options.initial_backoff_ms = 40;  // real time: keep the test short
  notify::Dispatcher dispatcher(s, s, clock, options);
  dispatcher.set_sender(ChannelKind::webhook, &sender);
  dispatcher.start();
  ASSERT_TRUE(dispatcher.enqueue(sample("n1")));
  const auto seen = hooks.wait_for(3);
  ASSERT_EQ(seen.size(), 3u);
  dispatcher.stop();
  const auto d = s.delivery("n1.0");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, DeliveryState::sent) << d->last_error;
  EXPECT_EQ(d->attempts, 3);
  for (const auto& r : seen) EXPECT_EQ(r.headers.at("x-nbms-delivery"), "n1.0");
}

// Passes everything to the real store, except that after `crash_after`
// recorded outcomes every further write fails: the process "died" there. The
// delivery whose outcome could not be recorded was already sent.
class CrashingOutbox final : public OutboxStore {
 public:
  CrashingOutbox(OutboxStore& real, int crash_after) : real_(real), left_(crash_after) {}
  Result<void> enqueue(const Notification& n, const std::vector<Delivery>& d) override {
    return real_.enqueue(n, d);
  }
  Result<Notification> notification(std::string_view id) override { return real_.notification(id); }
  Result<Delivery> delivery(std::string_view id) override { return real_.delivery(id); }
  Result<std::vector<Delivery>> due_deliveries(std::int64_t now, std::size_t limit) override {
    return real_.due_deliveries(now, limit);
  }
  Result<std::optional<std::int64_t>> next_due() override { return real_.next_due(); }
  Result<void> update_delivery(const Delivery& d) override {
    if (left_ < 0) return fail(Errc::io, "crashed");
    if (d.state != DeliveryState::in_flight && left_-- == 0) {
      left_ = -1;
      return fail(Errc::io, "crashed");
    }
    return real_.update_delivery(d);
  }
  Result<std::vector<Delivery>> deliveries_of(std::string_view u, std::size_t limit) override {
    return real_.deliveries_of(u, limit);
  }
  Result<std::vector<Notification>> notifications_with_prefix(std::string_view p,
                                                              std::size_t limit) override {
    return real_.notifications_with_prefix(p, limit);
  }

 private:
  OutboxStore& real_;
  int left_;
};

TEST_F(NotifyChannelsTest, RestartInTheMiddleOfDeliveryLosesNothingAndRepeatsOnlyByDeliveryId) {
  HttpReceiver hooks([&](const HttpRequestSeen& r) { return verify_webhook(r, clock_); });
  const Browser ann_phone;
  HttpReceiver push([](const HttpRequestSeen&) { return HttpAnswer{201, {}}; }, server_tls_.get());
  SmtpReceiver mta(server_tls_.get(), "nbms", "mail-pw");
  auto smtp = smtp_client(mta.port(), true);
  notify::WebhookSender hook_sender(*http_, clock_, std::chrono::seconds(10));
  notify::WebPushSender push_sender(*vapid_, *http_, clock_, std::chrono::seconds(10));
  notify::EmailSender mail_sender(*smtp, clock_, "https://nbms.example");
  const auto push_origin = "https://127.0.0.1:" + std::to_string(push.port());

  storage::StoreOptions so;
  so.path = (dir_.path() / "db").string();
  auto opened = storage::RocksStore::open(so, clock_);
  ASSERT_TRUE(opened) << opened.error().message;
  auto store = std::move(*opened);
  // ann: push + webhook + mail for everything of C1; bob: webhook for B1 only.
  ASSERT_TRUE(
      store->put_subscription({"ann",
                               "C1",
                               "",
                               true,
                               true,
                               NotificationPriority::low,
                               {ChannelKind::web_push, ChannelKind::webhook, ChannelKind::email}}));
  ASSERT_TRUE(store->put_subscription(
      {"bob", "C1", "B1", true, false, NotificationPriority::high, {ChannelKind::webhook}}));
  ASSERT_TRUE(store->put_endpoint(ann_phone.endpoint("ann", "phone", push_origin + "/sub/ann")));
  ASSERT_TRUE(store->put_endpoint(webhook_endpoint("ann", "hook", hooks.port())));
  ASSERT_TRUE(store->put_endpoint(email_endpoint("ann", "mail", "ann@example.com")));
  ASSERT_TRUE(store->put_endpoint(webhook_endpoint("bob", "hook", hooks.port())));

  const auto attach = [&](notify::Dispatcher& d) {
    d.set_sender(ChannelKind::webhook, &hook_sender);
    d.set_sender(ChannelKind::web_push, &push_sender);
    d.set_sender(ChannelKind::email, &mail_sender);
  };
  std::set<std::string> expected;
  {
    CrashingOutbox crashing(*store, 5);
    notify::Dispatcher first(crashing, *store, clock_);
    attach(first);
    for (int i = 0; i < 3; ++i) {
      auto ds = first.enqueue(sample("alarm-" + std::to_string(i), "Alarm " + std::to_string(i)));
      ASSERT_TRUE(ds) << ds.error().message;
      ASSERT_EQ(ds->size(), 4u);  // ann x3, bob x1
      for (const auto& d : *ds) expected.insert(d.id);
    }
    // A producer retrying after its own crash enqueues nothing twice.
    EXPECT_EQ(first.enqueue(sample("alarm-0")).error().code, Errc::already_exists);
    auto done = first.run_once();
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 12u);  // all were due; 6 were sent, the 6th outcome was lost
  }
  store.reset();  // the process is gone; reopen the database

  auto reopened = storage::RocksStore::open(so, clock_);
  ASSERT_TRUE(reopened) << reopened.error().message;
  store = std::move(*reopened);
  std::size_t in_flight = 0;
  std::size_t sent_before = 0;
  for (const auto& id : expected) {
    const auto d = store->delivery(id);
    ASSERT_TRUE(d);
    in_flight += d->state == DeliveryState::in_flight;
    sent_before += d->state == DeliveryState::sent;
  }
  EXPECT_EQ(in_flight, 1u);
  EXPECT_EQ(sent_before, 5u);
  {
    notify::Dispatcher second(*store, *store, clock_);
    attach(second);
    EXPECT_EQ(*second.recover(), 1u);
    auto done = second.run_once();
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 7u);  // the interrupted one again, and the six never attempted
    EXPECT_EQ(*second.run_once(), 0u);
  }
  for (const auto& id : expected) {
    const auto d = store->delivery(id);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->state, DeliveryState::sent) << id << ": " << d->last_error;
  }
  const auto ann = store->deliveries_of("ann", 100);
  ASSERT_TRUE(ann);
  EXPECT_EQ(ann->size(), 9u);

  // What the receivers saw: 13 requests for 12 deliveries, and after each
  // receiver's de-duplication rule (webhook X-Nbms-Delivery, push Topic + the
  // payload's delivery id, mail Message-ID) exactly the 12 deliveries.
  const auto hook_seen = hooks.seen();
  const auto push_seen = push.seen();
  const auto mail_seen = mta.seen();
  EXPECT_EQ(hook_seen.size() + push_seen.size() + mail_seen.size(), 13u);
  std::multiset<std::string> raw;
  std::set<std::string> unique;
  for (const auto& r : hook_seen) {
    const auto id = r.headers.at("x-nbms-delivery");
    EXPECT_EQ(nlohmann::json::parse(r.body)["delivery"], id);
    EXPECT_TRUE(notify::verify_webhook_signature(kHookSecret, r.headers.at("x-nbms-signature"),
                                                 r.body, clock_.now_ms() / 1000));
    raw.insert(id);
    unique.insert(id);
  }
  for (const auto& r : push_seen) {
    const auto check = check_push(r, ann_phone, push_origin);
    EXPECT_TRUE(check.vapid_ok);
    const auto id = nlohmann::json::parse(check.plaintext)["delivery"].get<std::string>();
    EXPECT_EQ(r.headers.at("topic"), notify::push_topic(id));
    raw.insert(id);
    unique.insert(id);
  }
  for (const auto& m : mail_seen) {
    const auto at = m.data.find("Message-ID: <") + 13;
    const auto id = m.data.substr(at, m.data.find('@', at) - at);
    raw.insert(id);
    unique.insert(id);
  }
  EXPECT_EQ(unique, expected);
  std::size_t repeated = 0;
  for (const auto& id : unique) repeated += raw.count(id) - 1;
  EXPECT_EQ(repeated, 1u);  // only the delivery in flight at the crash, with its same id
}

}  // namespace
}  // namespace nbms::it
