// Pure parts of the channels: webhook signatures, HTTP status outcomes,
// Retry-After, push headers and the notification JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nbms/crypto/crypto.hpp"
#include "nbms/notify/channel.hpp"
#include "nbms/notify/http_client.hpp"
#include "nbms/notify/webhook.hpp"
#include "nbms/notify/webpush_sender.hpp"

namespace nbms::notify {
namespace {

TEST(WebhookSignature, IsHmacOfTimestampDotBody) {
  const std::string body = R"({"id":"n1"})";
  const auto header = webhook_signature("0123456789abcdef", 1700000000, body);
  const auto expected =
      crypto::to_hex(crypto::hmac_sha256("0123456789abcdef", "1700000000." + body));
  EXPECT_EQ(header, "t=1700000000,v1=" + expected);
}

TEST(WebhookSignature, VerifiesAndRejects) {
  const std::string secret = "0123456789abcdef";
  const std::string body = R"({"id":"n1"})";
  const auto header = webhook_signature(secret, 1000, body);
  EXPECT_TRUE(verify_webhook_signature(secret, header, body, 1000));
  EXPECT_TRUE(verify_webhook_signature(secret, header, body, 1300));
  EXPECT_FALSE(verify_webhook_signature(secret, header, body, 1301));  // too old: a replay
  EXPECT_FALSE(verify_webhook_signature(secret, header, body + " ", 1000));
  EXPECT_FALSE(verify_webhook_signature("another secret!!", header, body, 1000));
  EXPECT_FALSE(verify_webhook_signature(secret, "t=1000", body, 1000));
  EXPECT_FALSE(verify_webhook_signature(secret, "v1=abc", body, 1000));
  EXPECT_FALSE(verify_webhook_signature(secret, "t=1x,v1=abc", body, 1000));
  EXPECT_FALSE(verify_webhook_signature(secret, "", body, 1000));
  // A second v1 (rotation) may be the right one.
  EXPECT_TRUE(verify_webhook_signature(secret, "t=1000,v1=00," + header.substr(7), body, 1000));
}

TEST(HttpOutcome, StatusClasses) {
  EXPECT_EQ(classify_http_status(201, true).outcome, SendOutcome::delivered);
  EXPECT_EQ(classify_http_status(204, false).outcome, SendOutcome::delivered);
  EXPECT_EQ(classify_http_status(404, true).outcome, SendOutcome::gone);
  EXPECT_EQ(classify_http_status(410, true).outcome, SendOutcome::gone);
  EXPECT_EQ(classify_http_status(410, false).outcome, SendOutcome::rejected);
  EXPECT_EQ(classify_http_status(429, true).outcome, SendOutcome::retry);
  EXPECT_EQ(classify_http_status(503, false).outcome, SendOutcome::retry);
  EXPECT_EQ(classify_http_status(400, true).outcome, SendOutcome::rejected);
  EXPECT_EQ(classify_http_status(413, true).outcome, SendOutcome::rejected);
  EXPECT_EQ(classify_http_status(302, false).outcome, SendOutcome::rejected);
}

TEST(RetryAfter, SecondsAndDates) {
  EXPECT_EQ(parse_retry_after("120", 0), 120000);
  EXPECT_EQ(parse_retry_after(" 0 ", 0), 0);
  EXPECT_EQ(parse_retry_after("", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", 0), std::nullopt);
  // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 - 5000), 5000);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 + 5000), 0);
}

TEST(PushHeaders, UrgencyAndTopic) {
  EXPECT_EQ(push_urgency(NotificationPriority::low), "low");
  EXPECT_EQ(push_urgency(NotificationPriority::medium), "normal");
  EXPECT_EQ(push_urgency(NotificationPriority::urgent), "high");
  const auto t = push_topic("alarm-1.0");
  EXPECT_EQ(t.size(), 32u);
  EXPECT_EQ(t, push_topic("alarm-1.0"));
  EXPECT_NE(t, push_topic("alarm-1.1"));
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(NotificationJson, CarriesDeliveryIdAndFields) {
  Notification n;
  n.id = "n1";
  n.customer = "acme";
  n.building = "b1";
  n.kind = NotificationKind::alarm;
  n.priority = NotificationPriority::urgent;
  n.title = "Fire \xff";  // invalid UTF-8 is replaced, not refused
  n.created_ms = 42;
  const auto j = nlohmann::json::parse(notification_json(n, "n1.0"));
  EXPECT_EQ(j["delivery"], "n1.0");
  EXPECT_EQ(j["id"], "n1");
  EXPECT_EQ(j["kind"], "alarm");
  EXPECT_EQ(j["priority"], "urgent");
  EXPECT_EQ(j["created_ms"], 42);
  EXPECT_EQ(j["title"], "Fire \xef\xbf\xbd");
}

}  // namespace
}  // namespace nbms::notify

namespace nbms::notify {
namespace {

TEST(PrivateAddresses, Classification) {
  for (auto ip :
       {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
        "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an ip"}) {
    EXPECT_TRUE(is_private_address(ip)) << ip;
  }
  for (auto ip : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "2001:db8::1",
                  "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(is_private_address(ip)) << ip;
  }
}

}  // namespace
}  // namespace nbms::notify
