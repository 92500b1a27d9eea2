// alarms::Service over an in-memory store: MW events and operator actions go
// through one writer, bulk ack is one commit, filters and order of the list,
// health and links.
#include "nbms/alarms/service.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "unit/alarms/fake_alarm_store.hpp"

namespace nbms::alarms {
namespace {

class Clock0 final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'700'000'000'000;
};

class Points final : public PointStore {
 public:
  Result<PointChanges> upsert_points(const ThingName&, const std::vector<PointInfo>&) override {
    return PointChanges{};
  }
  Result<PointChanges> remove_points(const ThingName&, const std::vector<std::string>&) override {
    return PointChanges{};
  }
  Result<std::vector<PointInfo>> points(std::string_view, std::string_view) override {
    PointInfo ahu;
    ahu.point_id = "p-ahu";
    ahu.equipment = "AHU/AHU_0001/SAT";
    PointInfo fcu;
    fcu.point_id = "p-fcu";
    fcu.equipment = "FCU/FCU_0003/RAT";
    return std::vector<PointInfo>{ahu, fcu};
  }
};

const ThingName kThing{"C000003", "B001", "01"};

AlarmEvent ev(std::string id, AlarmStatus status, unsigned second, int priority = 100,
              std::string point = "p-ahu") {
  AlarmEvent e;
  e.thing = kThing;
  e.alarm_id = std::move(id);
  e.status = status;
  e.stamp = *EventStamp::parse("20231114220000");
  e.stamp.seconds += second;
  if (status != AlarmStatus::clear) {
    e.name = "n";
    e.priority = priority;
  }
  e.point_id = std::move(point);
  return e;
}

class ServiceTest : public ::testing::Test {
 protected:
  std::vector<std::string> ids(const std::vector<Alarm>& alarms) {
    std::vector<std::string> out;
    for (const auto& a : alarms) out.push_back(a.key.alarm_id);
    return out;
  }
  std::vector<Alarm> list(const ListFilter& f = {}) {
    auto r = service_.current("C000003", "B001", f);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<Alarm>{};
  }
  testing::FakeAlarmStore store_;
  Clock0 clock_;
  Points points_;
  Service service_{store_, clock_, &points_};
};

TEST_F(ServiceTest, EventsAreIdempotent) {
  EXPECT_EQ(*service_.on_alarm(ev("A", AlarmStatus::raise, 1)), EventResult::applied);
  EXPECT_EQ(*service_.on_alarm(ev("A", AlarmStatus::raise, 1)), EventResult::duplicate);
  EXPECT_EQ(*service_.on_alarm(ev("A", AlarmStatus::raise, 0)), EventResult::stale);
  EXPECT_EQ(store_.commits, 1);
  EXPECT_EQ(list().size(), 1u);
}

TEST_F(ServiceTest, StorageFailureIsReportedAndChangesNothing) {
  store_.fail_commits = true;
  auto r = service_.on_alarm(ev("A", AlarmStatus::raise, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  store_.fail_commits = false;
  EXPECT_TRUE(list().empty());
  // The retry succeeds: nothing was half-applied.
  EXPECT_EQ(*service_.on_alarm(ev("A", AlarmStatus::raise, 1)), EventResult::applied);
}

TEST_F(ServiceTest, ListOrderAndFilters) {
  service_.on_alarm(ev("low", AlarmStatus::raise, 1, 200));
  clock_.now += 1000;
  service_.on_alarm(ev("urgent", AlarmStatus::raise, 1, 10, "p-fcu"));
  clock_.now += 1000;
  service_.on_alarm(ev("urgent-newer", AlarmStatus::raise, 1, 10));
  clock_.now += 1000;
  service_.on_alarm(ev("acked", AlarmStatus::raise, 1, 1));
  ASSERT_TRUE(service_.acknowledge({{kThing, "acked"}}, "kim"));
  EXPECT_EQ(ids(list()), (std::vector<std::string>{"urgent-newer", "urgent", "low", "acked"}));

  EXPECT_EQ(ids(list({.max_priority = 10})),
            (std::vector<std::string>{"urgent-newer", "urgent", "acked"}));
  EXPECT_EQ(ids(list({.equipment = "FCU/"})), (std::vector<std::string>{"urgent"}));
  EXPECT_EQ(ids(list({.thing = "C000003_B001_02"})), (std::vector<std::string>{}));
  ASSERT_TRUE(service_.shelve({kThing, "low"}, "kim", clock_.now + 60'000));
  EXPECT_EQ(list({.include_shelved = false}).size(), 3u);
}

TEST_F(ServiceTest, BulkAckIsOneCommit) {
  for (const char* id : {"A", "B", "C"}) service_.on_alarm(ev(id, AlarmStatus::raise, 1));
  ASSERT_TRUE(service_.acknowledge({{kThing, "C"}}, "kim"));
  const int before = store_.commits;
  auto r = service_.acknowledge(
      {{kThing, "A"}, {kThing, "B"}, {kThing, "C"}, {kThing, "gone"}, {kThing, "A"}}, "lee");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->acknowledged, 2u);
  EXPECT_EQ(r->already, 1u);
  ASSERT_EQ(r->not_found.size(), 1u);
  EXPECT_EQ(r->not_found[0].alarm_id, "gone");
  EXPECT_EQ(store_.commits, before + 1);
  for (const auto& a : list()) EXPECT_TRUE(a.acknowledged) << a.key.alarm_id;
  EXPECT_FALSE(service_.acknowledge({{kThing, "A"}}, ""));
}

TEST_F(ServiceTest, ShelveUnshelveCommentAndExpiry) {
  service_.on_alarm(ev("A", AlarmStatus::raise, 1));
  auto missing = service_.shelve({kThing, "nope"}, "kim", clock_.now + 1000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto bad = service_.shelve({kThing, "A"}, "kim", clock_.now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);

  auto s = service_.shelve({kThing, "A"}, "kim", clock_.now + 60'000, "noisy");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->shelved_until_ms, clock_.now + 60'000);
  auto c = service_.comment({kThing, "A"}, "kim", "checked on site");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->comments.size(), 1u);
  auto u = service_.unshelve({kThing, "A"}, "lee");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->shelved_until_ms);

  ASSERT_TRUE(service_.shelve({kThing, "A"}, "kim", clock_.now + 60'000));
  clock_.now += 60'000;
  // Listing records the expiry.
  auto l = list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_FALSE(l[0].shelved_until_ms);
  EXPECT_EQ(store_.history().back().kind, TransitionKind::shelve_expired);
  EXPECT_EQ(*service_.expire_shelves("C000003", "B001"), 0u);
}

TEST_F(ServiceTest, EveryListenerSeesEveryCommit) {
  std::vector<TransitionKind> seen;
  std::size_t second = 0;
  service_.add_listener([&](const AlarmUpdate& u) {
    for (const auto& t : u.history) seen.push_back(t.kind);
  });
  service_.add_listener([&](const AlarmUpdate& u) { second += u.history.size(); });
  service_.on_alarm(ev("A", AlarmStatus::raise, 1));
  service_.on_alarm(ev("A", AlarmStatus::raise, 1));  // duplicate: nothing
  service_.acknowledge({{kThing, "A"}}, "kim");
  service_.on_alarm(ev("A", AlarmStatus::clear, 2));
  EXPECT_EQ(seen, (std::vector<TransitionKind>{TransitionKind::raised, TransitionKind::acknowledged,
                                               TransitionKind::cleared}));
  EXPECT_EQ(second, 3u);
}

// Stands for RocksStore::purge_thing: the alarm records of the thing go.
class FakePurger final : public ThingPurger {
 public:
  explicit FakePurger(testing::FakeAlarmStore& store) : store_(store) {}
  Result<PurgedData> purge_thing(const ThingName& thing) override {
    ++calls;
    if (failing) return fail(Errc::unavailable, "disk full");
    PurgedData d;
    d.thing = 1;
    d.current_alarms = store_.forget(thing);
    return d;
  }
  int calls = 0;
  bool failing = false;

 private:
  testing::FakeAlarmStore& store_;
};

TEST_F(ServiceTest, APurgedThingIsForgottenAndItsAlarmsLeaveTheConsoles) {
  const ThingName other{"C000003", "B001", "02"};
  service_.on_alarm(ev("A", AlarmStatus::raise, 1));
  service_.on_alarm(ev("B", AlarmStatus::raise, 2));
  auto on_other = ev("A", AlarmStatus::raise, 1);
  on_other.thing = other;
  service_.on_alarm(on_other);
  ASSERT_TRUE(service_.on_periodic_log(kThing, 1));
  ASSERT_TRUE(service_.on_periodic_log(other, 1));
  std::vector<AlarmUpdate> told;
  service_.add_listener([&](const AlarmUpdate& u) { told.push_back(u); });
  FakePurger purger(store_);

  purger.failing = true;
  EXPECT_EQ(service_.purge_thing(kThing, purger).error().code, Errc::unavailable);
  EXPECT_TRUE(told.empty());
  EXPECT_EQ(list().size(), 3u);

  purger.failing = false;
  auto purged = service_.purge_thing(kThing, purger);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(purged->current_alarms, 2u);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_TRUE(told[0].history.empty());
  EXPECT_TRUE(told[0].put.empty());
  EXPECT_EQ(told[0].erase, (std::vector<AlarmKey>{{kThing, "A"}, {kThing, "B"}}));
  EXPECT_EQ(list().size(), 1u);

  // Its liveness is forgotten: only the other MW goes stale.
  clock_.now += 3 * 60'000;
  EXPECT_EQ(*service_.check_liveness(), 1u);
  for (const auto& a : list()) EXPECT_EQ(a.key.thing, other);
  // The building's history keeps what happened to the purged thing's alarms.
  auto h = service_.history({"C000003", "B001", 0, clock_.now + 1});
  ASSERT_TRUE(h);
  EXPECT_EQ(std::count_if(h->begin(), h->end(),
                          [&](const AlarmTransition& t) { return t.alarm.key.thing == kThing; }),
            2);
}

TEST_F(ServiceTest, DisconnectsAndLinkHistory) {
  service_.on_alarm(ev("A", AlarmStatus::raise, 1));
  EXPECT_EQ(*service_.on_disconnect({kThing, "", false, std::nullopt, ""}), EventResult::applied);
  EXPECT_EQ(*service_.on_disconnect({kThing, "", false, std::nullopt, ""}), EventResult::duplicate);
  auto l = list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(ids(list({.include_suppressed = false})), (std::vector<std::string>{"$disconnect"}));
  auto links = service_.links("C000003", "B001");
  ASSERT_TRUE(links);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_FALSE((*links)[0].connected);
  clock_.now += 5000;
  service_.on_disconnect({kThing, "", true, std::nullopt, ""});
  auto h = service_.link_history("C000003", "B001", 0, clock_.now + 1);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].kind, TransitionKind::raised);
  EXPECT_EQ((*h)[1].kind, TransitionKind::cleared);
}

TEST_F(ServiceTest, LivenessRaisesAndClearsStale) {
  const ThingName other{"C000003", "B001", "02"};
  ASSERT_TRUE(service_.on_periodic_log(kThing, 15));
  ASSERT_TRUE(service_.on_periodic_log(other, 1));
  const int commits = store_.commits;
  EXPECT_EQ(*service_.check_liveness(), 0u);
  clock_.now += 2 * 60'000 + 1;  // two periods of `other`
  EXPECT_EQ(*service_.check_liveness(), 1u);
  EXPECT_EQ(*service_.check_liveness(), 0u) << "raised once";
  EXPECT_EQ(store_.commits, commits + 1);
  auto l = list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].key.thing, other);
  EXPECT_EQ(l[0].key.alarm_id, "$stale");
  EXPECT_EQ(l[0].kind, AlarmKind::stale);

  ASSERT_TRUE(service_.on_periodic_log(kThing, 15));  // not stale: no write
  EXPECT_EQ(store_.commits, commits + 1);
  ASSERT_TRUE(service_.on_periodic_log(other, 1));
  l = list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_FALSE(l[0].active) << "cleared by the log, waiting for its acknowledgement";

  // A storage failure is reported (the router retries the log).
  clock_.now += 3 * 60'000;
  EXPECT_EQ(*service_.check_liveness(), 1u);
  store_.fail_commits = true;
  EXPECT_FALSE(service_.on_periodic_log(other, 1));
  store_.fail_commits = false;
  ASSERT_TRUE(service_.on_periodic_log(other, 1));
  EXPECT_FALSE(list()[0].active);
}

TEST_F(ServiceTest, Health) {
  for (unsigned i = 0; i < 12; ++i) {
    service_.on_alarm(ev("F" + std::to_string(i), AlarmStatus::raise, i));
  }
  auto h = service_.health("C000003", "B001", clock_.now - 600'000, clock_.now + 600'000);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->raises, 12u);
  EXPECT_EQ(h->floods.size(), 1u);
  EXPECT_FALSE(service_.health("C000003", "B001", 5, 5));
}

}  // namespace
}  // namespace nbms::alarms
