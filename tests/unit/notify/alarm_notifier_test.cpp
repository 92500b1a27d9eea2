// Which alarm transitions become notifications, with which priority and id.
#include "nbms/notify/alarm_notifier.hpp"

#include <gtest/gtest.h>

namespace nbms::notify {
namespace {

Alarm alarm(std::string id, int priority) {
  Alarm a;
  a.key.thing = ThingName{"acme", "hq", "1"};
  a.key.alarm_id = std::move(id);
  a.name = "Supply air high";
  a.text = "AHU 1 supply air 31.5 °C";
  a.point_id = "AHU1.SAT";
  a.priority = priority;
  a.raised_at = *EventStamp::parse("20261126101500", 3);
  a.raised_ms = 1'764'152'100'000;
  return a;
}

AlarmTransition raised(Alarm a, std::int64_t at = 1'764'152'100'500) {
  AlarmTransition t;
  t.kind = TransitionKind::raised;
  t.at_ms = at;
  t.alarm = std::move(a);
  return t;
}

TEST(AlarmNotifications, PriorityBands) {
  EXPECT_EQ(notification_priority(0), NotificationPriority::urgent);
  EXPECT_EQ(notification_priority(63), NotificationPriority::urgent);
  EXPECT_EQ(notification_priority(64), NotificationPriority::high);
  EXPECT_EQ(notification_priority(kDisconnectPriority), NotificationPriority::high);
  EXPECT_EQ(notification_priority(127), NotificationPriority::high);
  EXPECT_EQ(notification_priority(128), NotificationPriority::medium);
  EXPECT_EQ(notification_priority(191), NotificationPriority::medium);
  EXPECT_EQ(notification_priority(192), NotificationPriority::low);
  EXPECT_EQ(notification_priority(255), NotificationPriority::low);
  EXPECT_EQ(notification_priority(-5), NotificationPriority::urgent);
  EXPECT_EQ(notification_priority(300), NotificationPriority::low);
}

TEST(AlarmNotifications, OnlyRaisedNotSuppressedNotShelved) {
  const std::int64_t now = 1'764'152'101'000;
  AlarmUpdate u;
  u.history.push_back(raised(alarm("A1", 10)));
  auto updated = raised(alarm("A2", 10));
  updated.kind = TransitionKind::updated;
  u.history.push_back(updated);
  auto acked = raised(alarm("A3", 10));
  acked.kind = TransitionKind::acknowledged;
  u.history.push_back(acked);
  auto suppressed = alarm("A4", 10);
  suppressed.suppressed = true;
  u.history.push_back(raised(suppressed));
  auto shelved = alarm("A5", 10);
  shelved.shelved_until_ms = now + 60'000;
  u.history.push_back(raised(shelved));
  auto shelve_over = alarm("A6", 200);
  shelve_over.shelved_until_ms = now - 1;
  u.history.push_back(raised(shelve_over));

  const auto notes = alarm_notifications(u, now);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].id, alarm_notification_id(alarm("A1", 10)));
  EXPECT_EQ(notes[1].id, alarm_notification_id(shelve_over));
  const auto& n = notes[0];
  EXPECT_TRUE(validate(n)) << validate(n).error().message;
  EXPECT_EQ(n.customer, "acme");
  EXPECT_EQ(n.building, "hq");
  EXPECT_EQ(n.kind, NotificationKind::alarm);
  EXPECT_EQ(n.priority, NotificationPriority::urgent);
  EXPECT_EQ(notes[1].priority, NotificationPriority::low);
  EXPECT_EQ(n.title, "Supply air high");
  EXPECT_NE(n.body.find("AHU 1 supply air 31.5 °C"), std::string::npos);
  EXPECT_NE(n.body.find("acme_hq_1"), std::string::npos);
  EXPECT_NE(n.body.find("AHU1.SAT"), std::string::npos);
  EXPECT_EQ(n.created_ms, 1'764'152'100'500);
  EXPECT_EQ(n.link, "/#/b/acme/hq");
}

TEST(AlarmNotifications, IdIsStablePerOccurrence) {
  const auto a = alarm("A1", 10);
  const auto id = alarm_notification_id(a);
  EXPECT_TRUE(id.starts_with("alarm.acme.hq."));
  EXPECT_EQ(id.size(), std::string("alarm.acme.hq.").size() + 24);
  // Same occurrence (e.g. the details changed): same id.
  auto later = a;
  later.text = "other text";
  later.priority = 200;
  EXPECT_EQ(alarm_notification_id(later), id);
  // A new occurrence (new raise stamp), another MW, another alarm id, or
  // nbmsd's own alarm raised again (same empty stamp, new time): new ids.
  auto again = a;
  again.raised_at = *EventStamp::parse("20261126111500");
  EXPECT_NE(alarm_notification_id(again), id);
  auto other_mw = a;
  other_mw.key.thing.index = "2";
  EXPECT_NE(alarm_notification_id(other_mw), id);
  EXPECT_NE(alarm_notification_id(alarm("A2", 10)), id);
  auto re_raised = a;
  re_raised.raised_ms += 1;
  EXPECT_NE(alarm_notification_id(re_raised), id);
  // Longest customer and building ids still give a valid notification id.
  auto longest = a;
  longest.key.thing.customer = std::string(32, 'c');
  longest.key.thing.building = std::string(32, 'b');
  Notification n;
  n.id = alarm_notification_id(longest);
  n.customer = longest.key.thing.customer;
  n.title = "t";
  EXPECT_TRUE(validate(n)) << validate(n).error().message;
}

TEST(AlarmNotifications, TitleFallsBackToTheAlarmIdAndIsBounded) {
  auto a = alarm("A1", 10);
  a.name.clear();
  AlarmUpdate u;
  u.history.push_back(raised(a));
  auto notes = alarm_notifications(u, 0);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].title, "A1");
  a.name = std::string(199, 'x') + "é\ttab";  // cut inside the 2-byte é
  a.text = std::string("nul\0inside", 10);
  u.history = {raised(a)};
  notes = alarm_notifications(u, 0);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(validate(notes[0])) << validate(notes[0]).error().message;
  EXPECT_EQ(notes[0].title, std::string(199, 'x'));
  EXPECT_EQ(notes[0].body.find('\0'), std::string::npos);
  a.name = "line\nbreak";
  u.history = {raised(a)};
  EXPECT_EQ(alarm_notifications(u, 0)[0].title, "line break");
}

}  // namespace
}  // namespace nbms::notify
