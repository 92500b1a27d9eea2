// Which alarm transitions become notifications, with which priority and id.
#include "nbms/notify/alarm_notifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "nbms/notify/dispatcher.hpp"
#include "unit/alarms/fake_alarm_store.hpp"

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

// ---- restart replay ----

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'764'152'100'000;  // 2025-11-26 10:15 UTC

AlarmEvent raise_event(std::string id, std::string time) {
  AlarmEvent e;
  e.thing = ThingName{"acme", "hq", "1"};
  e.alarm_id = std::move(id);
  e.status = AlarmStatus::raise;
  e.stamp = *EventStamp::parse(time);
  e.name = "Alarm " + e.alarm_id;
  e.priority = 10;
  return e;
}

// Applies events and operator actions the way alarms::Service does: the
// pure state machine, committed to the fake store. `listener` collects what
// the live listener handed off.
class Replay : public ::testing::Test {
 protected:
  void event(const AlarmEvent& e, std::int64_t at, LinkView links = {}) {
    const AlarmKey key{e.thing, e.alarm_id};
    auto current = *store_.current_alarm(key);
    auto mark = *store_.alarm_mark(key);
    auto out = apply_event(current, mark, e, links, at);
    ASSERT_TRUE(out) << out.error().message;
    commit(out->update, at);
  }
  Alarm current(const std::string& id) {
    return **store_.current_alarm(AlarmKey{ThingName{"acme", "hq", "1"}, id});
  }
  void commit(const AlarmUpdate& u, std::int64_t at) {
    ASSERT_TRUE(store_.commit(u));
    for (auto& n : alarm_notifications(u, at)) listener_.push_back(std::move(n));
  }
  std::vector<std::string> replay_ids(std::int64_t now, std::int64_t window) {
    auto notes = alarm_replay(store_, {Building{"acme", "hq", "", "", 0}}, now, window);
    EXPECT_TRUE(notes) << notes.error().message;
    std::vector<std::string> ids;
    for (const auto& n : *notes) ids.push_back(n.id);
    return ids;
  }
  std::string listener_id(const std::string& alarm_id) const {
    for (const auto& n : listener_) {
      if (n.title == "Alarm " + alarm_id) return n.id;
    }
    return "";
  }

  nbms::testing::FakeAlarmStore store_;
  std::vector<Notification> listener_;
};

TEST_F(Replay, RaisedAlarmsOfTheWindowAreReplayedExactlyAsTheListenerMadeThem) {
  event(raise_event("OLD", "20251126090000"), kT0 - 61 * kMin);  // before the window
  event(raise_event("B", "20251126101600"), kT0 + 2 * kMin);
  event(raise_event("A", "20251126101500"), kT0 + 1 * kMin);
  const auto now = kT0 + 5 * kMin;
  auto notes = alarm_replay(store_, {Building{"acme", "hq", "", "", 0}}, now, 60 * kMin);
  ASSERT_TRUE(notes) << notes.error().message;
  ASSERT_EQ(notes->size(), 2u);
  // Identical to the listener's (same id, so the outbox refuses a repeat),
  // oldest raise first.
  ASSERT_EQ(listener_.size(), 3u);
  EXPECT_EQ((*notes)[0], listener_[2]);  // A
  EXPECT_EQ((*notes)[1], listener_[1]);  // B
  // The window is inclusive at its start; 0 turns the replay off.
  EXPECT_EQ(replay_ids(kT0 + 61 * kMin, 60 * kMin),
            (std::vector<std::string>{listener_id("A"), listener_id("B")}));
  EXPECT_EQ(replay_ids(kT0 + 62 * kMin, 60 * kMin), std::vector<std::string>{listener_id("B")});
  EXPECT_TRUE(replay_ids(now, 0).empty());
  EXPECT_TRUE(replay_ids(now, -1).empty());
}

TEST_F(Replay, OnlyAlarmsStillRaisedAndNotifiedByTheListenerRule) {
  const auto at = kT0 + kMin;
  for (const char* id : {"KEEP", "ACKED", "CLEARED", "SHELVED", "AGAIN", "SUPPRESSED_NOW"}) {
    event(raise_event(id, "20251126101500"), at);
  }
  // Raised while its MW was lost: suppressed, so the listener said nothing;
  // the MW is back now, but the raise is still not notified.
  event(raise_event("RAISED_SUPPRESSED", "20251126101500"), at, LinkView{true, {}});
  ASSERT_TRUE(current("RAISED_SUPPRESSED").suppressed);
  auto lifted = current("RAISED_SUPPRESSED");
  lifted.suppressed = false;
  commit(AlarmUpdate{{lifted}, {}, {}, {}, {}}, at + 1);
  // Acknowledged: an operator has seen it.
  commit(*acknowledge(current("ACKED"), "op", at + 1), at + 1);
  // Cleared by the MW (still current, unacknowledged): no longer raised.
  auto clear = raise_event("CLEARED", "20251126101501");
  clear.status = AlarmStatus::clear;
  event(clear, at + 2);
  // Shelved now.
  commit(*shelve(current("SHELVED"), "op", at + 60 * kMin, "", at + 3), at + 3);
  // Suppressed now.
  auto hidden = current("SUPPRESSED_NOW");
  hidden.suppressed = true;
  commit(AlarmUpdate{{hidden}, {}, {}, {}, {}}, at + 3);
  // Cleared, shelved, raised again (the shelve is kept: the listener said
  // nothing), then unshelved: still not notified.
  event(raise_event("SHELVED_AT_RAISE", "20251126101500"), at);
  auto clear2 = raise_event("SHELVED_AT_RAISE", "20251126101501");
  clear2.status = AlarmStatus::clear;
  event(clear2, at + 1);
  commit(*shelve(current("SHELVED_AT_RAISE"), "op", at + 30 * kMin, "", at + 2), at + 2);
  const auto first_shelved = alarm_notification_id(current("SHELVED_AT_RAISE"));
  event(raise_event("SHELVED_AT_RAISE", "20251126101502"), at + 3);
  commit(*unshelve(current("SHELVED_AT_RAISE"), "op", at + 4), at + 4);
  // A new occurrence: the listener notified both, only the current one is replayed.
  auto clear3 = raise_event("AGAIN", "20251126101501");
  clear3.status = AlarmStatus::clear;
  event(clear3, at + 4);
  event(raise_event("AGAIN", "20251126101502"), at + 5);
  const auto again_now = alarm_notification_id(current("AGAIN"));
  ASSERT_NE(again_now, listener_id("AGAIN"));

  auto got = replay_ids(at + 10 * kMin, 60 * kMin);
  std::sort(got.begin(), got.end());
  std::vector<std::string> expected{listener_id("KEEP"), again_now};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
  // The listener had notified the first SHELVED_AT_RAISE occurrence, not the second.
  EXPECT_EQ(std::count_if(listener_.begin(), listener_.end(),
                          [](const auto& n) { return n.title == "Alarm SHELVED_AT_RAISE"; }),
            1);
  EXPECT_EQ(listener_id("SHELVED_AT_RAISE"), first_shelved);
}

// What the replay hands the outbox twice is refused there by id: an alarm
// already handed off is not delivered again, a lost one is.
class FakeOutbox final : public OutboxStore, public SubscriptionStore {
 public:
  Result<void> enqueue(const Notification& n, const std::vector<Delivery>&) override {
    if (!ids.insert(n.id).second) return fail(Errc::already_exists, "again");
    return {};
  }
  Result<Notification> notification(std::string_view) override { return fail(Errc::not_found, ""); }
  Result<Delivery> delivery(std::string_view) override { return fail(Errc::not_found, ""); }
  Result<std::vector<Delivery>> due_deliveries(std::int64_t, std::size_t) override {
    return std::vector<Delivery>{};
  }
  Result<std::optional<std::int64_t>> next_due() override { return std::nullopt; }
  Result<void> update_delivery(const Delivery&) override { return {}; }
  Result<std::vector<Delivery>> deliveries_of(std::string_view, std::size_t) override {
    return std::vector<Delivery>{};
  }
  Result<std::vector<Notification>> notifications_with_prefix(std::string_view,
                                                              std::size_t) override {
    return std::vector<Notification>{};
  }
  Result<void> put_subscription(const Subscription&) override { return {}; }
  Result<void> delete_subscription(std::string_view, std::string_view, std::string_view) override {
    return {};
  }
  Result<std::vector<Subscription>> subscriptions_of(std::string_view) override {
    return std::vector<Subscription>{};
  }
  Result<std::vector<Subscription>> subscriptions_for(std::string_view) override {
    return std::vector<Subscription>{};
  }
  Result<void> put_endpoint(const Endpoint&) override { return {}; }
  Result<void> delete_endpoint(std::string_view, std::string_view) override { return {}; }
  Result<Endpoint> endpoint(std::string_view, std::string_view) override {
    return fail(Errc::not_found, "");
  }
  Result<std::vector<Endpoint>> endpoints_of(std::string_view) override {
    return std::vector<Endpoint>{};
  }
  std::set<std::string> ids;
};

struct FixedClock final : Clock {
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = kT0 + 10 * kMin;
};

TEST_F(Replay, TheNotifierCountsReplayedAndAlreadyKnownAndTheOutboxKeepsOneOfEach) {
  event(raise_event("HANDED", "20251126101500"), kT0 + kMin);
  event(raise_event("LOST", "20251126101501"), kT0 + 2 * kMin);
  FakeOutbox outbox;
  outbox.ids.insert(listener_id("HANDED"));  // the listener's hand-off made it
  FixedClock clock;
  Dispatcher dispatcher(outbox, outbox, clock);
  AlarmNotifier notifier(dispatcher, clock);
  notifier.start();
  auto notes = alarm_replay(store_, {Building{"acme", "hq", "", "", 0}}, clock.now, 60 * kMin);
  ASSERT_TRUE(notes);
  EXPECT_EQ(notifier.replay(*notes), 2u);
  notifier.stop();  // hands off what is queued
  const auto s = notifier.stats();
  EXPECT_EQ(s.enqueued, 1u);
  EXPECT_EQ(s.replayed, 1u);
  EXPECT_EQ(s.already, 1u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(outbox.ids, (std::set<std::string>{listener_id("HANDED"), listener_id("LOST")}));
}

TEST(AlarmNotifierQueue, AFullQueueDropsAndCounts) {
  struct Clock0 final : Clock {
    std::int64_t now_ms() const override { return 0; }
  } clock;
  FakeOutbox outbox;
  Dispatcher dispatcher(outbox, outbox, clock);
  AlarmNotifier notifier(dispatcher, clock, 2);  // not started: nothing leaves the queue
  std::vector<Notification> notes(3);
  for (int i = 0; i < 3; ++i) notes[i].id = "n" + std::to_string(i);
  EXPECT_EQ(notifier.replay(notes), 2u);
  const auto s = notifier.stats();
  EXPECT_EQ(s.queued, 2u);
  EXPECT_EQ(s.dropped, 1u);
}

}  // namespace
}  // namespace nbms::notify
