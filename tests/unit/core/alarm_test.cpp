// The alarm state machine: MW events (idempotent on stamp), operator actions,
// disconnects and suppression. Sequences run against a small in-memory "store"
// that applies each AlarmUpdate as the real store would.
#include "nbms/core/alarm.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace nbms {
namespace {

const ThingName kThing{"C000003", "B001", "01"};
constexpr std::int64_t kT0 = 1'700'000'000'000;

EventStamp at(unsigned second, std::uint32_t seq = 0) {
  // 2022-10-04 09:45:00 plus `second`.
  auto s = EventStamp::parse("20221004094500", seq);
  EXPECT_TRUE(s);
  s->seconds += second;
  return *s;
}

AlarmEvent event(AlarmStatus status, EventStamp stamp, std::string id = "AL-1") {
  AlarmEvent e;
  e.thing = kThing;
  e.alarm_id = std::move(id);
  e.status = status;
  e.stamp = stamp;
  if (status != AlarmStatus::clear) {
    e.name = "Supply air high";
    e.priority = 100;
    e.point_id = "01.1.AI-101:SAT";
  }
  return e;
}

// Applies updates the way a store does.
struct Model {
  std::map<std::string, Alarm> current;
  std::map<std::string, EventStamp> marks;
  std::vector<AlarmTransition> history;
  std::vector<LinkState> links;
  std::int64_t now = kT0;

  void commit(const AlarmUpdate& u) {
    for (const auto& a : u.put) current[a.key.alarm_id] = a;
    for (const auto& k : u.erase) current.erase(k.alarm_id);
    for (const auto& [k, s] : u.marks) marks[k.alarm_id] = s;
    for (const auto& h : u.history) history.push_back(h);
    for (const auto& l : u.links) {
      std::erase_if(links, [&](const LinkState& x) { return x.device == l.device; });
      links.push_back(l);
    }
  }
  std::optional<Alarm> get(const std::string& id) const {
    auto it = current.find(id);
    return it == current.end() ? std::nullopt : std::optional<Alarm>(it->second);
  }
  std::optional<EventStamp> mark(const std::string& id) const {
    auto it = marks.find(id);
    return it == marks.end() ? std::nullopt : std::optional<EventStamp>(it->second);
  }
  EventResult apply(const AlarmEvent& e) {
    now += 1000;
    auto out = apply_event(get(e.alarm_id), mark(e.alarm_id), e, link_view(links), now);
    EXPECT_TRUE(out) << out.error().message;
    commit(out->update);
    return out->result;
  }
  void ack(const std::string& id, const std::string& user = "kim") {
    now += 1000;
    auto a = get(id);
    ASSERT_TRUE(a) << id;
    auto u = acknowledge(*a, user, now);
    ASSERT_TRUE(u) << u.error().message;
    commit(*u);
  }
  EventResult disconnect(std::string device, bool connected,
                         std::optional<EventStamp> stamp = std::nullopt) {
    now += 1000;
    DisconnectEvent e{kThing, std::move(device), connected, stamp, ""};
    std::vector<Alarm> all;
    for (const auto& [id, a] : current) all.push_back(a);
    auto out = apply_disconnect(e, links, all, now);
    EXPECT_TRUE(out) << out.error().message;
    commit(out->update);
    return out->result;
  }
  std::vector<TransitionKind> kinds() const {
    std::vector<TransitionKind> k;
    for (const auto& h : history) k.push_back(h.kind);
    return k;
  }
};

using TK = TransitionKind;
using R = EventResult;

TEST(EventStamp, ParsesSecondsAndMinutes) {
  auto s = EventStamp::parse("20221004094512");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->time_string(), "20221004094512");
  auto m = EventStamp::parse("202210040945");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->time_string(), "20221004094500");
  EXPECT_LT(*m, *s);
  EXPECT_LT(*EventStamp::parse("20221004094512", 0), *EventStamp::parse("20221004094512", 1));
  for (const char* bad : {"2022100409451", "20221004094560", "2022100409451x", "20221304094500", "",
                          "202210040945123"}) {
    auto r = EventStamp::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::malformed);
  }
}

TEST(AlarmIds, Validation) {
  EXPECT_TRUE(validate_alarm_id("AL-1"));
  EXPECT_TRUE(validate_alarm_id("39.BI-300:1628_Fan/x").has_value() == false);
  EXPECT_FALSE(validate_alarm_id(""));
  EXPECT_FALSE(validate_alarm_id(std::string(129, 'a')));
  EXPECT_TRUE(validate_alarm_id(std::string(128, 'a')));
  EXPECT_FALSE(validate_alarm_id("has space"));
  auto r = validate_alarm_id("$disconnect");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("reserved"), std::string::npos);
  EXPECT_TRUE(validate_device("1001"));
  EXPECT_FALSE(validate_device(std::string(65, 'd')));
}

// A table of event sequences: the final state and the history kinds.
struct Step {
  AlarmStatus status;
  unsigned second;
  std::uint32_t seq = 0;
  R expect = R::applied;
};
struct Case {
  const char* name;
  std::vector<Step> steps;
  bool present;  // in the current set at the end
  bool active;
  std::vector<TK> history;
};

TEST(AlarmEvents, Sequences) {
  using S = AlarmStatus;
  const std::vector<Case> cases = {
      {"raise", {{S::raise, 1}}, true, true, {TK::raised}},
      {"raise then clear (unacked stays)",
       {{S::raise, 1}, {S::clear, 2}},
       true,
       false,
       {TK::raised, TK::cleared}},
      {"duplicate raise",
       {{S::raise, 1}, {S::raise, 1, 0, R::duplicate}},
       true,
       true,
       {TK::raised}},
      {"duplicate clear",
       {{S::raise, 1}, {S::clear, 2}, {S::clear, 2, 0, R::duplicate}},
       true,
       false,
       {TK::raised, TK::cleared}},
      {"out of order: clear before raise",
       {{S::clear, 2, 0, R::no_alarm}, {S::raise, 1, 0, R::stale}},
       false,
       false,
       {}},
      {"late raise after clear is stale",
       {{S::raise, 1}, {S::clear, 3}, {S::raise, 2, 0, R::stale}},
       true,
       false,
       {TK::raised, TK::cleared}},
      {"raise while active is an update",
       {{S::raise, 1}, {S::raise, 2}},
       true,
       true,
       {TK::raised, TK::updated}},
      {"update before raise starts an occurrence", {{S::update, 1}}, true, true, {TK::raised}},
      {"re-raise after clear is a new occurrence",
       {{S::raise, 1}, {S::clear, 2}, {S::raise, 3}},
       true,
       true,
       {TK::raised, TK::cleared, TK::raised}},
      {"same second, seq orders",
       {{S::raise, 1, 0},
        {S::clear, 1, 1},
        {S::raise, 1, 0, R::stale},
        {S::clear, 1, 1, R::duplicate}},
       true,
       false,
       {TK::raised, TK::cleared}},
      {"clear of a cleared alarm changes nothing visible",
       {{S::raise, 1}, {S::clear, 2}, {S::clear, 3}},
       true,
       false,
       {TK::raised, TK::cleared}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Model m;
    for (const auto& s : c.steps) {
      EXPECT_EQ(m.apply(event(s.status, at(s.second, s.seq))), s.expect)
          << to_string(s.status) << "@" << s.second;
    }
    auto a = m.get("AL-1");
    EXPECT_EQ(a.has_value(), c.present);
    if (a) {
      EXPECT_EQ(a->active, c.active);
    }
    EXPECT_EQ(m.kinds(), c.history);
  }
}

TEST(AlarmEvents, RaiseRecordsDetailsAndStamps) {
  Model m;
  auto e = event(AlarmStatus::raise, at(5));
  e.device = "1001";
  e.event_state = "high_limit";
  e.text = "31.2 > 30";
  m.apply(e);
  auto a = *m.get("AL-1");
  EXPECT_EQ(a.name, "Supply air high");
  EXPECT_EQ(a.priority, 100);
  EXPECT_EQ(a.point_id, "01.1.AI-101:SAT");
  EXPECT_EQ(a.device, "1001");
  EXPECT_EQ(a.event_state, "high_limit");
  EXPECT_EQ(a.text, "31.2 > 30");
  EXPECT_FALSE(a.acknowledged);
  EXPECT_EQ(a.raised_at, at(5));
  EXPECT_EQ(a.raised_ms, m.now);
  ASSERT_EQ(m.history.size(), 1u);
  EXPECT_EQ(m.history[0].event, at(5));
  EXPECT_EQ(m.history[0].user, "");
  EXPECT_EQ(m.history[0].alarm.name, "Supply air high");

  // A clear may carry only its id; details stay, a new text replaces the old.
  auto c = event(AlarmStatus::clear, at(6));
  c.text = "back to 24.0";
  m.apply(c);
  a = *m.get("AL-1");
  EXPECT_EQ(a.name, "Supply air high");
  EXPECT_EQ(a.text, "back to 24.0");
  EXPECT_FALSE(a.active);
}

TEST(AlarmEvents, RaiseNeedsNameAndPriority) {
  auto e = event(AlarmStatus::raise, at(1));
  e.priority.reset();
  auto r = apply_event(std::nullopt, std::nullopt, e, {}, kT0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST(AlarmEvents, MarkSurvivesReturnToNormal) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.ack("AL-1");
  EXPECT_EQ(m.apply(event(AlarmStatus::clear, at(2))), R::applied);
  EXPECT_FALSE(m.get("AL-1")) << "cleared and acknowledged: back to normal";
  EXPECT_TRUE(m.history.back().removed);
  // The MQTT redelivery of the first raise must not bring it back.
  EXPECT_EQ(m.apply(event(AlarmStatus::raise, at(1))), R::stale);
  EXPECT_EQ(m.apply(event(AlarmStatus::clear, at(2))), R::duplicate);
  EXPECT_FALSE(m.get("AL-1"));
  EXPECT_EQ(m.apply(event(AlarmStatus::raise, at(3))), R::applied);
  EXPECT_TRUE(m.get("AL-1"));
}

TEST(AlarmActions, AckWhileActiveThenClearRemoves) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.ack("AL-1", "park");
  auto a = *m.get("AL-1");
  EXPECT_TRUE(a.acknowledged);
  EXPECT_TRUE(a.active);
  EXPECT_EQ(a.acknowledged_by, "park");
  EXPECT_EQ(a.acknowledged_ms, m.now);
  EXPECT_EQ(m.history.back().kind, TK::acknowledged);
  EXPECT_EQ(m.history.back().user, "park");
  EXPECT_EQ(m.history.back().at_ms, m.now);
  // Updates keep the acknowledgement.
  m.apply(event(AlarmStatus::update, at(2)));
  EXPECT_TRUE(m.get("AL-1")->acknowledged);
  m.apply(event(AlarmStatus::clear, at(3)));
  EXPECT_FALSE(m.get("AL-1"));
  EXPECT_EQ(m.kinds(), (std::vector<TK>{TK::raised, TK::acknowledged, TK::updated, TK::cleared}));
}

TEST(AlarmActions, AckAfterClearRemoves) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.apply(event(AlarmStatus::clear, at(2)));
  m.ack("AL-1");
  EXPECT_FALSE(m.get("AL-1"));
  EXPECT_TRUE(m.history.back().removed);
  EXPECT_EQ(m.history.back().kind, TK::acknowledged);
}

TEST(AlarmActions, AckIsIdempotentAndNeedsUser) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.ack("AL-1");
  auto again = acknowledge(*m.get("AL-1"), "kim", m.now + 5);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto anon = acknowledge(*m.get("AL-1"), "", m.now);
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, Errc::invalid_argument);
}

TEST(AlarmActions, ReRaiseNeedsAckAgain) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.apply(event(AlarmStatus::clear, at(2)));  // RTN unacknowledged
  m.apply(event(AlarmStatus::raise, at(3)));
  auto a = *m.get("AL-1");
  EXPECT_TRUE(a.active);
  EXPECT_FALSE(a.acknowledged);
  EXPECT_EQ(a.raised_at, at(3));
}

TEST(AlarmActions, BulkAck) {
  Model m;
  for (const char* id : {"A", "B", "C"}) m.apply(event(AlarmStatus::raise, at(1), id));
  m.apply(event(AlarmStatus::clear, at(2), "B"));
  m.ack("C");
  std::vector<Alarm> all;
  for (const auto& [id, a] : m.current) all.push_back(a);
  auto u = acknowledge_all(all, "lee", m.now + 1);
  ASSERT_TRUE(u);
  // C was acknowledged already: only A and B.
  ASSERT_EQ(u->history.size(), 2u);
  EXPECT_EQ(u->history[0].alarm.key.alarm_id, "A");
  EXPECT_EQ(u->history[1].alarm.key.alarm_id, "B");
  for (const auto& h : u->history) {
    EXPECT_EQ(h.kind, TK::acknowledged);
    EXPECT_EQ(h.user, "lee");
  }
  m.commit(*u);
  EXPECT_TRUE(m.get("A")->acknowledged);
  EXPECT_FALSE(m.get("B")) << "cleared and now acknowledged";
  EXPECT_TRUE(m.get("C"));
}

TEST(AlarmActions, ShelveNeedsFutureBoundedExpiry) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  const auto a = *m.get("AL-1");
  const auto now = m.now;
  for (std::int64_t until : {now, now - 1, now + kMaxShelveMs + 1}) {
    auto r = shelve(a, "kim", until, "", now);
    ASSERT_FALSE(r) << until - now;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  EXPECT_FALSE(shelve(a, "kim", now + 1000, std::string(1001, 'x'), now));
  EXPECT_FALSE(shelve(a, "", now + 1000, "", now));
  auto ok = shelve(a, "kim", now + kMaxShelveMs, "sensor being replaced", now);
  ASSERT_TRUE(ok) << ok.error().message;
  m.commit(*ok);
  const auto s = *m.get("AL-1");
  EXPECT_TRUE(s.shelved(now));
  EXPECT_EQ(s.shelved_by, "kim");
  EXPECT_EQ(m.history.back().kind, TK::shelved);
  EXPECT_EQ(m.history.back().text, "sensor being replaced");
  EXPECT_FALSE(s.shelved(now + kMaxShelveMs)) << "expired at its expiry";
}

TEST(AlarmActions, ShelveExpiresAndUnshelve) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1), "A"));
  m.apply(event(AlarmStatus::raise, at(1), "B"));
  const auto now = m.now;
  m.commit(*shelve(*m.get("A"), "kim", now + 60'000, "", now));
  m.commit(*shelve(*m.get("B"), "kim", now + 120'000, "", now));
  std::vector<Alarm> all{*m.get("A"), *m.get("B")};
  EXPECT_TRUE(expire_shelves(all, now + 59'999).empty());
  auto u = expire_shelves(all, now + 60'000);
  ASSERT_EQ(u.history.size(), 1u);
  EXPECT_EQ(u.history[0].kind, TK::shelve_expired);
  EXPECT_EQ(u.history[0].alarm.key.alarm_id, "A");
  EXPECT_EQ(u.history[0].user, "");
  m.commit(u);
  EXPECT_FALSE(m.get("A")->shelved_until_ms);

  auto r = unshelve(*m.get("A"), "kim", now + 60'001);
  ASSERT_FALSE(r) << "not shelved any more";
  auto ok = unshelve(*m.get("B"), "lee", now + 60'001);
  ASSERT_TRUE(ok);
  m.commit(*ok);
  EXPECT_FALSE(m.get("B")->shelved(now + 60'002));
  EXPECT_EQ(m.history.back().kind, TK::unshelved);
  EXPECT_EQ(m.history.back().user, "lee");
}

TEST(AlarmActions, ShelveSurvivesClearAndReRaise) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  m.commit(*shelve(*m.get("AL-1"), "kim", m.now + 3'600'000, "", m.now));
  m.apply(event(AlarmStatus::clear, at(2)));
  m.apply(event(AlarmStatus::raise, at(3)));
  EXPECT_TRUE(m.get("AL-1")->shelved(m.now));
}

TEST(AlarmActions, Comments) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1)));
  EXPECT_FALSE(comment(*m.get("AL-1"), "kim", "", m.now));
  EXPECT_FALSE(comment(*m.get("AL-1"), "kim", std::string(1001, 'x'), m.now));
  auto ok = comment(*m.get("AL-1"), "kim", "called the contractor", m.now);
  ASSERT_TRUE(ok);
  m.commit(*ok);
  const auto a = *m.get("AL-1");
  ASSERT_EQ(a.comments.size(), 1u);
  EXPECT_EQ(a.comments[0].user, "kim");
  EXPECT_EQ(a.comments[0].text, "called the contractor");
  EXPECT_EQ(m.history.back().kind, TK::commented);
  EXPECT_EQ(m.history.back().text, "called the contractor");
  EXPECT_TRUE(m.history.back().alarm.comments.empty()) << "history snapshots carry no comments";

  Alarm full = a;
  full.comments.resize(kMaxComments);
  EXPECT_FALSE(comment(full, "kim", "one more", m.now));
}

TEST(Disconnects, MwDisconnectSuppressesAndStandsForAlarms) {
  Model m;
  auto e = event(AlarmStatus::raise, at(1), "A");
  e.device = "1001";
  m.apply(e);
  m.apply(event(AlarmStatus::raise, at(1), "B"));  // no device
  EXPECT_EQ(m.disconnect("", false), R::applied);  // the last will: no stamp

  const auto d = m.get("$disconnect");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, AlarmKind::disconnect);
  EXPECT_TRUE(d->active);
  EXPECT_FALSE(d->suppressed);
  EXPECT_EQ(d->priority, kDisconnectPriority);
  EXPECT_TRUE(m.get("A")->suppressed);
  EXPECT_TRUE(m.get("B")->suppressed);
  ASSERT_EQ(m.links.size(), 1u);
  EXPECT_FALSE(m.links[0].connected);
  EXPECT_EQ(m.links[0].since_ms, m.now);

  // A second will (QoS 1 redelivery) changes nothing.
  EXPECT_EQ(m.disconnect("", false), R::duplicate);

  // A raise while disconnected is recorded, but suppressed.
  m.apply(event(AlarmStatus::raise, at(2), "C"));
  EXPECT_TRUE(m.get("C")->suppressed);

  EXPECT_EQ(m.disconnect("", true, at(10)), R::applied);
  EXPECT_FALSE(m.get("A")->suppressed);
  EXPECT_FALSE(m.get("C")->suppressed);
  const auto back = m.get("$disconnect");
  ASSERT_TRUE(back) << "cleared, waiting for its acknowledgement";
  EXPECT_FALSE(back->active);
  m.ack("$disconnect");
  EXPECT_FALSE(m.get("$disconnect"));
}

TEST(Disconnects, DeviceDisconnectSuppressesOnlyItsAlarms) {
  Model m;
  auto a = event(AlarmStatus::raise, at(1), "A");
  a.device = "1001";
  m.apply(a);
  auto b = event(AlarmStatus::raise, at(1), "B");
  b.device = "1002";
  m.apply(b);
  m.disconnect("1001", false, at(2));
  EXPECT_TRUE(m.get("A")->suppressed);
  EXPECT_FALSE(m.get("B")->suppressed);
  const auto d = m.get("$disconnect:1001");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->device, "1001");
  EXPECT_FALSE(d->suppressed);

  // Then the whole MW goes: the device's disconnect alarm is suppressed too.
  m.disconnect("", false);
  EXPECT_TRUE(m.get("$disconnect:1001")->suppressed);
  EXPECT_TRUE(m.get("B")->suppressed);
  // The MW is back, the device still is not: A stays suppressed.
  m.disconnect("", true, at(5));
  EXPECT_TRUE(m.get("A")->suppressed);
  EXPECT_FALSE(m.get("B")->suppressed);
  EXPECT_FALSE(m.get("$disconnect:1001")->suppressed);
  // An older stamped message about the device is stale.
  EXPECT_EQ(m.disconnect("1001", true, at(1)), R::stale);
  EXPECT_EQ(m.disconnect("1001", true, at(6)), R::applied);
  EXPECT_FALSE(m.get("A")->suppressed);
}

TEST(Disconnects, FirstConnectedIsRecordedWithoutAlarm) {
  Model m;
  EXPECT_EQ(m.disconnect("", true, at(1)), R::applied);
  ASSERT_EQ(m.links.size(), 1u);
  EXPECT_TRUE(m.links[0].connected);
  EXPECT_TRUE(m.current.empty());
  EXPECT_TRUE(m.history.empty());
}

TEST(Disconnects, HistoryRecordsEveryChange) {
  Model m;
  m.apply(event(AlarmStatus::raise, at(1), "A"));
  m.disconnect("", false);
  m.disconnect("", true, at(3));
  EXPECT_EQ(m.kinds(), (std::vector<TK>{TK::raised, TK::suppressed, TK::raised, TK::unsuppressed,
                                        TK::cleared}));
}

TEST(Liveness, StaleAfterTwoPeriods) {
  EXPECT_FALSE(is_stale(kT0, 15, kT0 + 30 * 60'000));
  EXPECT_TRUE(is_stale(kT0, 15, kT0 + 30 * 60'000 + 1));
  EXPECT_FALSE(is_stale(kT0, 1, kT0 + 120'000));
}

TEST(Liveness, StaleAlarmRaisedClearedAndSuppressed) {
  Model m;
  auto u = apply_staleness(kThing, true, std::nullopt, {}, m.now);
  ASSERT_EQ(u.history.size(), 1u);
  EXPECT_EQ(u.history[0].kind, TK::raised);
  m.commit(u);
  auto s = m.get("$stale");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, AlarmKind::stale);
  EXPECT_TRUE(s->active);
  EXPECT_TRUE(apply_staleness(kThing, true, s, {}, m.now).empty()) << "already raised";
  // The MW is lost as well: its disconnect alarm stands for the stale one.
  m.disconnect("", false);
  EXPECT_TRUE(m.get("$stale")->suppressed);
  EXPECT_FALSE(m.get("$disconnect")->suppressed);
  m.disconnect("", true, at(1));
  EXPECT_FALSE(m.get("$stale")->suppressed);
  // Data again: cleared, and gone once acknowledged.
  m.commit(apply_staleness(kThing, false, m.get("$stale"), {}, m.now));
  EXPECT_FALSE(m.get("$stale")->active);
  EXPECT_TRUE(apply_staleness(kThing, false, m.get("$stale"), {}, m.now).empty());
  m.ack("$stale");
  EXPECT_FALSE(m.get("$stale"));
  EXPECT_TRUE(apply_staleness(kThing, false, std::nullopt, {}, m.now).empty());
}

// ---- health ----

AlarmTransition raised(std::string id, std::int64_t at_ms) {
  AlarmTransition t;
  t.kind = TK::raised;
  t.at_ms = at_ms;
  t.alarm.key = {kThing, std::move(id)};
  t.alarm.name = "n";
  return t;
}

TEST(AlarmHealthTest, BucketsAndFloods) {
  constexpr std::int64_t kB = 600'000;
  const std::int64_t base = 1'699'999'800'000;  // a multiple of 10 minutes
  ASSERT_EQ(base % kB, 0);
  std::vector<AlarmTransition> h;
  // bucket 0: 3; bucket 1: 11 (flood starts); bucket 2: 5 (continues);
  // bucket 3: 4 (ends); bucket 4: 12 (a second flood, to the range end).
  const std::vector<int> per = {3, 11, 5, 4, 12};
  for (std::size_t b = 0; b < per.size(); ++b) {
    for (int i = 0; i < per[b]; ++i) {
      h.push_back(raised("X" + std::to_string(b) + "_" + std::to_string(i),
                         base + static_cast<std::int64_t>(b) * kB + i * 1000));
    }
  }
  // Not counted: out of range, and other transition kinds.
  h.push_back(raised("late", base + 5 * kB));
  auto ack = raised("X0_0", base + 10);
  ack.kind = TK::acknowledged;
  h.push_back(ack);

  auto r = alarm_health(h, {}, base, base + 5 * kB, base + 5 * kB);
  EXPECT_EQ(r.raises, 35u);
  ASSERT_EQ(r.buckets.size(), 5u);
  for (std::size_t b = 0; b < per.size(); ++b) {
    EXPECT_EQ(r.buckets[b].start_ms, base + static_cast<std::int64_t>(b) * kB);
    EXPECT_EQ(r.buckets[b].raises, static_cast<std::size_t>(per[b]));
  }
  ASSERT_EQ(r.floods.size(), 2u);
  EXPECT_EQ(r.floods[0], (Flood{base + kB, base + 3 * kB, 16, 11}));
  EXPECT_EQ(r.floods[1], (Flood{base + 4 * kB, base + 5 * kB, 12, 12}));
  EXPECT_EQ(r.flood_ms, 3 * kB);
}

TEST(AlarmHealthTest, TenInTenMinutesIsNoFlood) {
  const std::int64_t base = 1'699'999'800'000;
  std::vector<AlarmTransition> h;
  for (int i = 0; i < 10; ++i) h.push_back(raised("A" + std::to_string(i), base + i));
  auto r = alarm_health(h, {}, base, base + 600'000, base);
  EXPECT_TRUE(r.floods.empty());
  h.push_back(raised("A10", base + 10));
  EXPECT_EQ(alarm_health(h, {}, base, base + 600'000, base).floods.size(), 1u);
}

TEST(AlarmHealthTest, ChatteringAndTop) {
  const std::int64_t base = 1'699'999'800'000;
  std::vector<AlarmTransition> h;
  // C: 3 raises within 59 s: chattering. S: 3 raises 60 s apart each: not.
  for (int i = 0; i < 3; ++i) h.push_back(raised("C", base + i * 29'500));
  for (int i = 0; i < 4; ++i) h.push_back(raised("S", base + i * 60'000));
  // Many others, one raise each, for top-N ordering.
  for (int i = 0; i < 12; ++i) h.push_back(raised("O" + std::to_string(i), base + i));
  auto r = alarm_health(h, {}, base, base + 3'600'000, base);
  ASSERT_EQ(r.chattering.size(), 1u);
  EXPECT_EQ(r.chattering[0].key.alarm_id, "C");
  EXPECT_EQ(r.chattering[0].peak_per_window, 3u);
  ASSERT_EQ(r.top.size(), 10u);
  EXPECT_EQ(r.top[0].key.alarm_id, "S");
  EXPECT_EQ(r.top[0].raises, 4u);
  EXPECT_EQ(r.top[1].key.alarm_id, "C");
  EXPECT_EQ(r.top[1].raises, 3u);
  EXPECT_EQ(r.top[2].raises, 1u);
}

TEST(AlarmHealthTest, StaleAlarms) {
  const std::int64_t now = kT0 + 48LL * 3600 * 1000;
  auto make = [](std::string id, std::int64_t raised_ms, bool active) {
    Alarm a;
    a.key = {kThing, std::move(id)};
    a.raised_ms = raised_ms;
    a.active = active;
    a.comments.push_back({1, "u", "c"});
    return a;
  };
  std::vector<Alarm> current = {
      make("fresh", now - 3600'000, true), make("old", now - 25 * 3600'000LL, true),
      make("older", now - 47 * 3600'000LL, true), make("old-cleared", now - 30 * 3600'000LL, false),
      make("edge", now - 24 * 3600'000LL, true)};  // exactly 24 h: not "more than"
  auto r = alarm_health({}, current, kT0, now, now);
  ASSERT_EQ(r.stale.size(), 2u);
  EXPECT_EQ(r.stale[0].key.alarm_id, "older");
  EXPECT_EQ(r.stale[1].key.alarm_id, "old");
  EXPECT_TRUE(r.stale[0].comments.empty());
}

TEST(AlarmHealthTest, UtcMonth) {
  EXPECT_EQ(utc_yyyymm(1'700'000'000'000), 202311u);  // 2023-11-14T22:13:20Z
  EXPECT_EQ(utc_yyyymm(1'698'796'799'999), 202310u);  // 2023-10-31T23:59:59.999Z
  EXPECT_EQ(utc_yyyymm(1'698'796'800'000), 202311u);
  EXPECT_EQ(utc_yyyymm(0), 200001u);
}

}  // namespace
}  // namespace nbms
