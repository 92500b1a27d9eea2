// The notify section: defaults, a full section, precise errors for bad values
// and for settings that need each other.
#include <gtest/gtest.h>

#include <string>

#include "nbms/config/config.hpp"
#include "unit/config/parse_error.hpp"

namespace nbms::config {
namespace {

using testing::parse_error;

std::string notify_error(const std::string& members) {
  return parse_error(R"({"notify": {)" + members + "}}");
}

TEST(ConfigNotify, DefaultsAreWebhooksOnlyWithTheKeyUnderTheDataDir) {
  auto c = parse(R"({"storage": {"data_dir": "/var/lib/nbms"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->notify, NotifyConfig{});
  EXPECT_FALSE(c->notify.web_push());
  EXPECT_FALSE(c->notify.email());
  EXPECT_FALSE(c->notify.allow_private_addresses);
  EXPECT_EQ(c->notify.max_attempts, 10);
  EXPECT_EQ(c->notify.initial_backoff_ms, 30000);
  EXPECT_EQ(c->notify.replay_window_minutes, 60);
  EXPECT_EQ(vapid_key_path(*c), "/var/lib/nbms/notify/vapid.key");
  Config moved;
  ASSERT_TRUE(apply_data_dir(moved, "/srv/nbms"));
  EXPECT_EQ(vapid_key_path(moved), "/srv/nbms/notify/vapid.key");
}

TEST(ConfigNotify, FullSectionRoundTrips) {
  auto c = parse(R"({"notify": {
    "vapid_key_file": "/etc/nbms/vapid.key", "vapid_subject": "mailto:ops@example.com",
    "public_url": "https://nbms.example.com", "ca_file": "/etc/nbms/extra-ca.pem",
    "allow_private_addresses": true, "http_timeout_ms": 5000, "push_ttl_s": 3600,
    "max_attempts": 5, "initial_backoff_ms": 1000, "max_backoff_ms": 60000,
    "smtp_host": "smtp.example.com", "smtp_port": 465, "smtp_starttls": false,
    "smtp_username": "nbms", "smtp_password_file": "/etc/nbms/smtp.password",
    "smtp_from": "nbms@example.com", "smtp_from_name": "NBMS Ops", "smtp_timeout_s": 60,
    "replay_window_minutes": 0}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(vapid_key_path(*c), "/etc/nbms/vapid.key");
  EXPECT_TRUE(c->notify.web_push());
  EXPECT_TRUE(c->notify.email());
  EXPECT_EQ(c->notify.smtp_port, 465);
  EXPECT_FALSE(c->notify.smtp_starttls);
  EXPECT_EQ(c->notify.smtp_from_name, "NBMS Ops");
  EXPECT_EQ(c->notify.max_backoff_ms, 60000);
  EXPECT_EQ(c->notify.replay_window_minutes, 0);
  auto back = parse(to_json(*c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *c);
  // The password file's path is shown, never a password.
  EXPECT_NE(to_json(*c).find(R"("smtp_password_file": "/etc/nbms/smtp.password")"),
            std::string::npos);
}

TEST(ConfigNotify, HttpsSubjectAndPublicUrlWithPath) {
  auto c = parse(
      R"({"notify": {"vapid_subject": "https://example.com/contact",
                     "public_url": "http://10.0.0.5:8080/nbms"}})");
  ASSERT_TRUE(c) << c.error().message;
}

TEST(ConfigNotify, RangesAreNamed) {
  EXPECT_EQ(notify_error(R"("http_timeout_ms": 50)"),
            "notify.http_timeout_ms: must be an integer 100..120000, got 50");
  EXPECT_EQ(notify_error(R"("max_attempts": 0)"),
            "notify.max_attempts: must be an integer 1..100, got 0");
  EXPECT_EQ(notify_error(R"("push_ttl_s": -1)"),
            "notify.push_ttl_s: must be an integer 0..2419200, got -1");
  EXPECT_EQ(notify_error(R"("smtp_port": 0)"),
            "notify.smtp_port: must be an integer 1..65535, got 0");
  EXPECT_EQ(notify_error(R"("smtp_timeout_s": 601)"),
            "notify.smtp_timeout_s: must be an integer 1..600, got 601");
  EXPECT_EQ(notify_error(R"("replay_window_minutes": 10081)"),
            "notify.replay_window_minutes: must be an integer 0..10080, got 10081");
  EXPECT_EQ(notify_error(R"("replay_window_minutes": -1)"),
            "notify.replay_window_minutes: must be an integer 0..10080, got -1");
  EXPECT_EQ(notify_error(R"("initial_backoff_ms": 99)"),
            "notify.initial_backoff_ms: must be an integer 100..3600000, got 99");
  EXPECT_NE(notify_error(R"("allow_private_addresses": "yes")").find("allow_private_addresses"),
            std::string::npos);
  EXPECT_NE(notify_error(R"("smtp_pasword_file": "/x")").find("did you mean"), std::string::npos);
}

TEST(ConfigNotify, BadValuesAreNamed) {
  EXPECT_EQ(notify_error(R"("vapid_subject": "ops@example.com")"),
            "notify.vapid_subject: must be a mailto: or https: URL where push services can reach "
            "the operator (RFC 8292), got 'ops@example.com'");
  EXPECT_NE(notify_error(R"("vapid_subject": "http://example.com")").find("notify.vapid_subject"),
            std::string::npos);
  EXPECT_NE(notify_error(R"("vapid_subject": "mailto:")").find("notify.vapid_subject"),
            std::string::npos);
  EXPECT_EQ(notify_error(R"("public_url": "https://nbms.example.com/")"),
            "notify.public_url: must be http(s)://host[:port][/path] without a trailing slash, "
            "got 'https://nbms.example.com/'");
  EXPECT_NE(notify_error(R"("public_url": "nbms.example.com")").find("notify.public_url"),
            std::string::npos);
  EXPECT_EQ(notify_error(R"("initial_backoff_ms": 70000, "max_backoff_ms": 60000)"),
            "notify.initial_backoff_ms: must be <= notify.max_backoff_ms, got 70000 > 60000");
  EXPECT_EQ(notify_error(R"("vapid_key_file": "/a\nb")"),
            "notify.vapid_key_file: must not contain control characters");
}

TEST(ConfigNotify, SmtpSettingsNeedEachOther) {
  EXPECT_EQ(notify_error(R"("smtp_from": "nbms@example.com")"),
            "notify.smtp_host: is needed for e-mail (notify.smtp_from, smtp_username or "
            "smtp_password_file is set)");
  EXPECT_EQ(notify_error(R"("smtp_host": "smtp.example.com")"),
            "notify.smtp_from: is required with notify.smtp_host (the sender address)");
  EXPECT_EQ(notify_error(R"("smtp_host": "smtp.example.com", "smtp_from": "nbms")"),
            "notify.smtp_from: must be an address local@domain, got 'nbms'");
  EXPECT_NE(notify_error(R"("smtp_host": "smtp.example.com", "smtp_from": "a b@example.com")")
                .find("notify.smtp_from"),
            std::string::npos);
  EXPECT_EQ(notify_error(R"("smtp_host": "bad host", "smtp_from": "n@example.com")"),
            "notify.smtp_host: invalid host name, got 'bad host'");
  EXPECT_EQ(notify_error(R"("smtp_host": "smtp.example.com", "smtp_from": "n@example.com",
                           "smtp_password_file": "/etc/p")"),
            "notify.smtp_password_file: needs notify.smtp_username (a password is sent only "
            "with a user name)");
  EXPECT_EQ(notify_error(R"("smtp_host": "smtp.example.com", "smtp_from": "n@example.com",
                           "smtp_username": "nbms")"),
            "notify.smtp_username: needs notify.smtp_password_file (the password is read from "
            "that file)");
}

TEST(ConfigNotify, ValidateChecksStructsBuiltInCode) {
  Config c;
  c.notify.max_attempts = 101;
  EXPECT_EQ(validate(c).error().message, "notify.max_attempts: must be an integer 1..100, got 101");
  c = Config{};
  c.notify.smtp_host = "127.0.0.1";
  c.notify.smtp_from = "nbms@example.com";
  EXPECT_TRUE(validate(c));
}

}  // namespace
}  // namespace nbms::config
