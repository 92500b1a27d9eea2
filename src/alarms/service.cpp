#include "nbms/alarms/service.hpp"

#include <algorithm>
#include <unordered_map>

namespace nbms::alarms {
namespace {

// Health reads the whole range; a bound keeps a month of a flooding building
// (10,000 alarms a minute would be far more) from exhausting memory.
constexpr std::size_t kHealthHistoryLimit = 2'000'000;

std::string key_text(const AlarmKey& k) {
  return k.thing.full() + "/" + k.alarm_id;
}

}  // namespace

Service::Service(AlarmStore& store, const Clock& clock, PointStore* points)
    : store_(store), clock_(clock), points_(points) {}

void Service::add_listener(Listener listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

Result<void> Service::commit(const AlarmUpdate& update) {
  if (update.empty()) return {};
  if (auto c = store_.commit(update); !c) return c;
  if (update.put.empty() && update.erase.empty() && update.history.empty()) return {};
  for (const auto& listener : listeners_) listener(update);
  return {};
}

Result<PurgedData> Service::purge_thing(const ThingName& thing, ThingPurger& purger) {
  std::lock_guard live_lock(live_mu_);
  std::lock_guard lock(mu_);
  auto current = store_.current_alarms_of(thing);
  if (!current) return std::unexpected(current.error());
  auto purged = purger.purge_thing(thing);
  if (!purged) return purged;
  live_.erase(thing.full());
  // The consoles watching the building drop the thing's alarms; nothing is
  // written (the records are gone) and no transition is told (nothing happened
  // to the alarms as such).
  AlarmUpdate gone;
  for (const auto& a : *current) gone.erase.push_back(a.key);
  if (!gone.erase.empty()) {
    for (const auto& listener : listeners_) listener(gone);
  }
  return purged;
}

Result<EventResult> Service::on_alarm(const AlarmEvent& event) {
  std::lock_guard lock(mu_);
  const AlarmKey key{event.thing, event.alarm_id};
  auto current = store_.current_alarm(key);
  if (!current) return std::unexpected(current.error());
  auto mark = store_.alarm_mark(key);
  if (!mark) return std::unexpected(mark.error());
  auto links = store_.links_of(event.thing);
  if (!links) return std::unexpected(links.error());
  auto out = apply_event(*current, *mark, event, link_view(*links), clock_.now_ms());
  if (!out) return std::unexpected(out.error());
  if (auto c = commit(out->update); !c) return std::unexpected(c.error());
  return out->result;
}

Result<EventResult> Service::on_disconnect(const DisconnectEvent& event) {
  std::lock_guard lock(mu_);
  auto links = store_.links_of(event.thing);
  if (!links) return std::unexpected(links.error());
  auto alarms = store_.current_alarms_of(event.thing);
  if (!alarms) return std::unexpected(alarms.error());
  auto out = apply_disconnect(event, *links, *alarms, clock_.now_ms());
  if (!out) return std::unexpected(out.error());
  if (auto c = commit(out->update); !c) return std::unexpected(c.error());
  return out->result;
}

Result<void> Service::on_periodic_log(const ThingName& thing, int period_minutes) {
  std::lock_guard live_lock(live_mu_);
  auto& l = live_[thing.full()];
  l.thing = thing;
  l.last_log_ms = clock_.now_ms();
  l.period_minutes = period_minutes > 0 ? period_minutes : 15;
  if (l.stale == false) return {};  // the common case: nothing to clear, no I/O
  std::lock_guard lock(mu_);
  auto current = store_.current_alarm(AlarmKey{thing, std::string(kStaleAlarmId)});
  if (!current) return std::unexpected(current.error());
  auto update = apply_staleness(thing, false, *current, {}, l.last_log_ms);
  if (auto c = commit(update); !c) return c;
  l.stale = false;
  return {};
}

Result<std::size_t> Service::check_liveness() {
  std::lock_guard live_lock(live_mu_);
  const auto now = clock_.now_ms();
  std::size_t raised = 0;
  for (auto& [name, l] : live_) {
    if (l.stale == true || !is_stale(l.last_log_ms, l.period_minutes, now)) continue;
    std::lock_guard lock(mu_);
    auto current = store_.current_alarm(AlarmKey{l.thing, std::string(kStaleAlarmId)});
    if (!current) return std::unexpected(current.error());
    auto links = store_.links_of(l.thing);
    if (!links) return std::unexpected(links.error());
    auto update = apply_staleness(l.thing, true, *current, link_view(*links), now);
    if (auto c = commit(update); !c) return std::unexpected(c.error());
    raised += update.history.size();
    l.stale = true;
  }
  return raised;
}

Result<std::size_t> Service::expire_locked(std::string_view customer, std::string_view building) {
  auto alarms = store_.current_alarms(customer, building);
  if (!alarms) return std::unexpected(alarms.error());
  auto update = nbms::expire_shelves(*alarms, clock_.now_ms());
  if (auto c = commit(update); !c) return std::unexpected(c.error());
  return update.history.size();
}

Result<std::size_t> Service::expire_shelves(std::string_view customer, std::string_view building) {
  std::lock_guard lock(mu_);
  return expire_locked(customer, building);
}

Result<std::vector<Alarm>> Service::current(std::string_view customer, std::string_view building,
                                            const ListFilter& filter) {
  std::vector<Alarm> alarms;
  {
    std::lock_guard lock(mu_);
    if (auto e = expire_locked(customer, building); !e) return std::unexpected(e.error());
    auto all = store_.current_alarms(customer, building);
    if (!all) return std::unexpected(all.error());
    alarms = std::move(*all);
  }
  std::unordered_map<std::string, std::string> equipment;
  if (!filter.equipment.empty()) {
    if (points_ == nullptr) {
      return fail(Errc::invalid_argument, "filtering by equipment needs the point list");
    }
    auto pts = points_->points(customer, building);
    if (!pts) return std::unexpected(pts.error());
    for (const auto& p : *pts) equipment.emplace(p.point_id, p.equipment);
  }
  const auto now = clock_.now_ms();
  std::erase_if(alarms, [&](const Alarm& a) {
    if (!filter.thing.empty() && a.key.thing.full() != filter.thing) return true;
    if (filter.max_priority && a.priority > *filter.max_priority) return true;
    if (!filter.include_shelved && a.shelved(now)) return true;
    if (!filter.include_suppressed && a.suppressed) return true;
    if (!filter.equipment.empty()) {
      const auto it = equipment.find(a.point_id);
      if (it == equipment.end() || !it->second.starts_with(filter.equipment)) return true;
    }
    return false;
  });
  std::stable_sort(alarms.begin(), alarms.end(), [](const Alarm& a, const Alarm& b) {
    if (a.acknowledged != b.acknowledged) return !a.acknowledged;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.raised_ms > b.raised_ms;
  });
  return alarms;
}

Result<std::vector<AlarmTransition>> Service::history(const AlarmHistoryQuery& query) {
  return store_.alarm_history(query);
}

Result<AckResult> Service::acknowledge(const std::vector<AlarmKey>& keys, std::string_view user) {
  if (user.empty()) return fail(Errc::invalid_argument, "user must be named");
  std::lock_guard lock(mu_);
  AckResult result;
  std::vector<Alarm> to_ack;
  for (const auto& k : keys) {
    if (std::any_of(to_ack.begin(), to_ack.end(), [&](const Alarm& a) { return a.key == k; })) {
      continue;  // listed twice
    }
    auto a = store_.current_alarm(k);
    if (!a) return std::unexpected(a.error());
    if (!*a) {
      result.not_found.push_back(k);
    } else if ((*a)->acknowledged) {
      ++result.already;
    } else {
      to_ack.push_back(std::move(**a));
    }
  }
  auto update = acknowledge_all(to_ack, user, clock_.now_ms());
  if (!update) return std::unexpected(update.error());
  if (auto c = commit(*update); !c) return std::unexpected(c.error());
  result.acknowledged = update->history.size();
  return result;
}

Result<Alarm> Service::current_or_not_found(const AlarmKey& key) {
  auto a = store_.current_alarm(key);
  if (!a) return std::unexpected(a.error());
  if (!*a) return fail(Errc::not_found, "alarm '" + key_text(key) + "' is not current");
  return std::move(**a);
}

namespace {

// The alarm as the update leaves it.
Alarm after(const AlarmUpdate& u, Alarm fallback) {
  // Not `?:`: with a const lvalue on the other side, std::move(fallback) was copied.
  if (u.put.empty()) return fallback;
  return u.put.back();
}

}  // namespace

Result<Alarm> Service::shelve(const AlarmKey& key, std::string_view user, std::int64_t until_ms,
                              std::string_view reason) {
  std::lock_guard lock(mu_);
  auto a = current_or_not_found(key);
  if (!a) return a;
  auto u = nbms::shelve(*a, user, until_ms, reason, clock_.now_ms());
  if (!u) return std::unexpected(u.error());
  if (auto c = commit(*u); !c) return std::unexpected(c.error());
  return after(*u, std::move(*a));
}

Result<Alarm> Service::unshelve(const AlarmKey& key, std::string_view user) {
  std::lock_guard lock(mu_);
  auto a = current_or_not_found(key);
  if (!a) return a;
  auto u = nbms::unshelve(*a, user, clock_.now_ms());
  if (!u) return std::unexpected(u.error());
  if (auto c = commit(*u); !c) return std::unexpected(c.error());
  return after(*u, std::move(*a));
}

Result<Alarm> Service::comment(const AlarmKey& key, std::string_view user, std::string_view text) {
  std::lock_guard lock(mu_);
  auto a = current_or_not_found(key);
  if (!a) return a;
  auto u = nbms::comment(*a, user, text, clock_.now_ms());
  if (!u) return std::unexpected(u.error());
  if (auto c = commit(*u); !c) return std::unexpected(c.error());
  return after(*u, std::move(*a));
}

Result<AlarmHealth> Service::health(std::string_view customer, std::string_view building,
                                    std::int64_t from_ms, std::int64_t to_ms,
                                    const HealthOptions& options) {
  if (to_ms <= from_ms) return fail(Errc::invalid_argument, "the range must end after it starts");
  auto history = store_.alarm_history(AlarmHistoryQuery{
      std::string(customer), std::string(building), from_ms, to_ms, kHealthHistoryLimit, false});
  if (!history) return std::unexpected(history.error());
  if (history->size() >= kHealthHistoryLimit) {
    return fail(Errc::too_large,
                "the range holds too many alarm transitions; choose a shorter one");
  }
  auto current = store_.current_alarms(customer, building);
  if (!current) return std::unexpected(current.error());
  return alarm_health(*history, *current, from_ms, to_ms, clock_.now_ms(), options);
}

Result<std::vector<LinkState>> Service::links(std::string_view customer,
                                              std::string_view building) {
  return store_.links(customer, building);
}

Result<std::vector<AlarmTransition>> Service::link_history(std::string_view customer,
                                                           std::string_view building,
                                                           std::int64_t from_ms,
                                                           std::int64_t to_ms) {
  auto h = store_.alarm_history(AlarmHistoryQuery{std::string(customer), std::string(building),
                                                  from_ms, to_ms, kHealthHistoryLimit, false});
  if (!h) return h;
  std::erase_if(*h, [](const AlarmTransition& t) {
    return t.alarm.kind != AlarmKind::disconnect ||
           (t.kind != TransitionKind::raised && t.kind != TransitionKind::cleared);
  });
  return h;
}

}  // namespace nbms::alarms
