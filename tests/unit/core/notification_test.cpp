// Validation and fan-out of notifications (pure domain, no I/O).
#include "nbms/core/notification.hpp"

#include <gtest/gtest.h>

namespace nbms {
namespace {

Notification alarm(std::string building, NotificationPriority p = NotificationPriority::high) {
  Notification n;
  n.id = "alarm-1";
  n.customer = "acme";
  n.building = std::move(building);
  n.kind = NotificationKind::alarm;
  n.priority = p;
  n.title = "High temperature";
  n.created_ms = 1000;
  return n;
}

Subscription sub(std::string user, std::string building, std::vector<ChannelKind> channels,
                 NotificationPriority min = NotificationPriority::low) {
  Subscription s;
  s.user = std::move(user);
  s.customer = "acme";
  s.building = std::move(building);
  s.min_priority = min;
  s.channels = std::move(channels);
  return s;
}

Endpoint ep(std::string user, std::string id, ChannelKind kind) {
  Endpoint e;
  e.user = std::move(user);
  e.id = std::move(id);
  e.kind = kind;
  e.address = kind == ChannelKind::email ? "a@example.com" : "https://push.example/x";
  e.p256dh = "k";
  e.auth = "a";
  e.secret = std::string(16, 's');
  return e;
}

std::vector<std::string> targets(const std::vector<Delivery>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.user + "/" + d.endpoint_id);
  return out;
}

TEST(FanOut, OneDeliveryPerListedEndpointWithStableIds) {
  const std::vector<Endpoint> eps = {ep("ann", "mail", ChannelKind::email),
                                     ep("ann", "hook", ChannelKind::webhook),
                                     ep("ann", "phone", ChannelKind::web_push)};
  auto ds = fan_out(alarm("b1"), {sub("ann", "b1", {ChannelKind::email, ChannelKind::web_push})},
                    eps, 5000);
  EXPECT_EQ(targets(ds), (std::vector<std::string>{"ann/mail", "ann/phone"}));
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].id, "alarm-1.0");
  EXPECT_EQ(ds[1].id, "alarm-1.1");
  EXPECT_EQ(ds[1].channel, ChannelKind::web_push);
  EXPECT_EQ(ds[0].state, DeliveryState::pending);
  EXPECT_EQ(ds[0].next_attempt_ms, 5000);
  EXPECT_EQ(ds[0].notification_id, "alarm-1");
  auto again = fan_out(alarm("b1"), {sub("ann", "b1", {ChannelKind::email, ChannelKind::web_push})},
                       eps, 5000);
  EXPECT_EQ(again, ds);
}

TEST(FanOut, BuildingSubscriptionWinsOverCustomerWide) {
  auto quiet = sub("ann", "b1", {ChannelKind::email});
  quiet.alarms = false;
  const std::vector<Subscription> subs = {sub("ann", "", {ChannelKind::email}), quiet};
  const std::vector<Endpoint> eps = {ep("ann", "mail", ChannelKind::email)};
  EXPECT_TRUE(fan_out(alarm("b1"), subs, eps, 0).empty());
  EXPECT_EQ(fan_out(alarm("b2"), subs, eps, 0).size(), 1u);  // customer-wide covers b2
}

TEST(FanOut, OtherBuildingsAndCustomersDoNotMatch) {
  auto other = sub("bob", "b1", {ChannelKind::email});
  other.customer = "globex";
  const std::vector<Endpoint> eps = {ep("ann", "mail", ChannelKind::email),
                                     ep("bob", "mail", ChannelKind::email)};
  EXPECT_TRUE(
      fan_out(alarm("b1"), {sub("ann", "b2", {ChannelKind::email}), other}, eps, 0).empty());
}

TEST(FanOut, MinimumPriorityAndKindSwitches) {
  const std::vector<Endpoint> eps = {ep("ann", "mail", ChannelKind::email)};
  const auto high_only = sub("ann", "b1", {ChannelKind::email}, NotificationPriority::high);
  EXPECT_TRUE(fan_out(alarm("b1", NotificationPriority::medium), {high_only}, eps, 0).empty());
  EXPECT_EQ(fan_out(alarm("b1", NotificationPriority::high), {high_only}, eps, 0).size(), 1u);
  EXPECT_EQ(fan_out(alarm("b1", NotificationPriority::urgent), {high_only}, eps, 0).size(), 1u);

  auto no_notices = sub("ann", "b1", {ChannelKind::email});
  no_notices.notices = false;
  auto notice = alarm("b1");
  notice.kind = NotificationKind::notice;
  EXPECT_TRUE(fan_out(notice, {no_notices}, eps, 0).empty());
  EXPECT_EQ(fan_out(alarm("b1"), {no_notices}, eps, 0).size(), 1u);
}

TEST(FanOut, CustomerWideNoticeReachesBuildingSubscribers) {
  auto notice = alarm("");
  notice.kind = NotificationKind::notice;
  auto no_notices_b1 = sub("ann", "b1", {ChannelKind::email});
  no_notices_b1.notices = false;
  const std::vector<Subscription> subs = {no_notices_b1, sub("ann", "b2", {ChannelKind::email}),
                                          sub("bob", "b3", {ChannelKind::email})};
  const std::vector<Endpoint> eps = {ep("ann", "mail", ChannelKind::email),
                                     ep("bob", "mail", ChannelKind::email)};
  EXPECT_EQ(targets(fan_out(notice, subs, eps, 0)),
            (std::vector<std::string>{"ann/mail", "bob/mail"}));
  // The customer-wide subscription speaks for a customer-wide notice.
  auto wide_off = sub("ann", "", {ChannelKind::email});
  wide_off.notices = false;
  EXPECT_TRUE(fan_out(notice, {sub("ann", "b2", {ChannelKind::email}), wide_off}, eps, 0).empty());
}

TEST(FanOut, ExpiredEndpointsAndDuplicatesAreSkipped) {
  auto gone = ep("ann", "old-phone", ChannelKind::web_push);
  gone.expired_ms = 10;
  const std::vector<Endpoint> eps = {gone, ep("ann", "phone", ChannelKind::web_push),
                                     ep("ann", "phone", ChannelKind::web_push)};
  EXPECT_EQ(targets(fan_out(alarm("b1"), {sub("ann", "", {ChannelKind::web_push})}, eps, 0)),
            (std::vector<std::string>{"ann/phone"}));
}

TEST(NotificationValidation, RejectsBadFields) {
  auto n = alarm("b1");
  EXPECT_TRUE(validate(n));
  n.id = "has space";
  EXPECT_EQ(validate(n).error().code, Errc::invalid_argument);
  n = alarm("b1");
  n.title = "two\nlines";
  EXPECT_FALSE(validate(n));
  n = alarm("b1");
  n.customer = "";
  EXPECT_FALSE(validate(n));
  n = alarm("b1");
  n.id = std::string(101, 'a');
  EXPECT_FALSE(validate(n));
  n = alarm("b1");
  n.author = std::string(64, 'm');  // user names are shorter; 64 bytes is the bound
  EXPECT_TRUE(validate(n));
  n.author = std::string(65, 'm');
  EXPECT_EQ(validate(n).error().message,
            "notification author must be at most 64 bytes without control characters");
  n.author = "mia\n";
  EXPECT_FALSE(validate(n));
}

TEST(EndpointValidation, PerKindRules) {
  EXPECT_TRUE(validate(ep("ann", "mail", ChannelKind::email)));
  auto bad_mail = ep("ann", "mail", ChannelKind::email);
  bad_mail.address = "no-at-sign";
  EXPECT_FALSE(validate(bad_mail));
  bad_mail.address = "a@b.c\r\nBcc: x@y.z";
  EXPECT_FALSE(validate(bad_mail));
  auto hook = ep("ann", "hook", ChannelKind::webhook);
  EXPECT_TRUE(validate(hook));
  hook.secret = "short";
  EXPECT_FALSE(validate(hook));
  auto push = ep("ann", "p", ChannelKind::web_push);
  push.auth = "";
  EXPECT_FALSE(validate(push));
  push = ep("ann", "p", ChannelKind::web_push);
  push.address = "ftp://x";
  EXPECT_FALSE(validate(push));
}

TEST(SubscriptionValidation, RejectsRepeatedChannel) {
  EXPECT_TRUE(validate(sub("ann", "", {ChannelKind::email})));
  EXPECT_FALSE(validate(sub("ann", "", {ChannelKind::email, ChannelKind::email})));
}

TEST(NotificationEnums, RoundTripNames) {
  for (auto k : {ChannelKind::web_push, ChannelKind::webhook, ChannelKind::email}) {
    EXPECT_EQ(*parse_channel_kind(to_string(k)), k);
  }
  for (auto s : {DeliveryState::pending, DeliveryState::in_flight, DeliveryState::sent,
                 DeliveryState::failed, DeliveryState::expired}) {
    EXPECT_EQ(*parse_delivery_state(to_string(s)), s);
  }
  EXPECT_EQ(*parse_notification_priority("urgent"), NotificationPriority::urgent);
  EXPECT_EQ(*parse_notification_kind("notice"), NotificationKind::notice);
  EXPECT_FALSE(parse_channel_kind("sms"));
}

}  // namespace
}  // namespace nbms
