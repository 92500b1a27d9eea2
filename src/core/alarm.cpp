#include "nbms/core/alarm.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace nbms {
namespace {

constexpr std::int64_t kUnixMsAt2000 = 946'684'800'000;

Result<void> validate_name(std::string_view what, std::string_view id, std::size_t max) {
  if (id.empty() || id.size() > max) {
    return fail(Errc::invalid_argument,
                std::string(what) + " must be 1.." + std::to_string(max) + " bytes");
  }
  for (const char c : id) {
    if (c <= ' ' || c > '~' || c == '/' || c == '+' || c == '#' || c == '"' || c == '\\') {
      return fail(
          Errc::invalid_argument,
          std::string(what) + " may hold printable ASCII only, without space and / + # \" \\");
    }
  }
  return {};
}

Result<void> check_user(std::string_view user) {
  if (user.empty()) return fail(Errc::invalid_argument, "user must be named");
  return {};
}

AlarmTransition transition(TransitionKind kind, const Alarm& after, std::int64_t now_ms,
                           std::string_view user = {}) {
  AlarmTransition t;
  t.kind = kind;
  t.at_ms = now_ms;
  t.user = std::string(user);
  t.alarm = after;
  t.alarm.comments.clear();  // comments are transitions of their own
  return t;
}

// Records that `a` (already inactive) cleared: it leaves the current set when it
// was acknowledged too (ISA-18.2 return to normal), else it stays, cleared.
void record_clear(AlarmUpdate& u, const AlarmKey& key, const Alarm& a,
                  std::optional<EventStamp> stamp, std::int64_t now_ms) {
  auto t = transition(TransitionKind::cleared, a, now_ms);
  t.event = stamp;
  if (a.acknowledged) {
    t.removed = true;
    u.erase.push_back(key);
  } else {
    u.put.push_back(a);
  }
  u.history.push_back(std::move(t));
}

// Copies the details an event carries onto the alarm; true if any changed.
bool take_details(Alarm& a, const AlarmEvent& e) {
  const auto old = std::make_tuple(a.point_id, a.device, a.name, a.priority, a.event_state, a.text);
  if (!e.point_id.empty()) a.point_id = e.point_id;
  if (!e.device.empty()) a.device = e.device;
  if (!e.name.empty()) a.name = e.name;
  if (e.priority) a.priority = *e.priority;
  if (!e.event_state.empty()) a.event_state = e.event_state;
  if (!e.text.empty()) a.text = e.text;
  return std::tie(a.point_id, a.device, a.name, a.priority, a.event_state, a.text) != old;
}

}  // namespace

Result<EventStamp> EventStamp::parse(std::string_view time, std::uint32_t seq) {
  if (time.size() != 12 && time.size() != 14) {
    return fail(Errc::malformed, "time must be YYYYMMDDhhmmss (or YYYYMMDDhhmm)");
  }
  auto minute = LocalMinute::parse(time.substr(0, 12));
  if (!minute) return std::unexpected(minute.error());
  unsigned second = 0;
  if (time.size() == 14) {
    const char a = time[12], b = time[13];
    if (a < '0' || a > '9' || b < '0' || b > '9') {
      return fail(Errc::malformed, "time must be YYYYMMDDhhmmss (or YYYYMMDDhhmm)");
    }
    second = static_cast<unsigned>((a - '0') * 10 + (b - '0'));
    if (second > 59) return fail(Errc::malformed, "time: seconds must be 00..59");
  }
  return EventStamp{std::uint64_t{minute->minutes()} * 60 + second, seq};
}

std::string EventStamp::time_string() const {
  const auto minute = LocalMinute::from_minutes(static_cast<std::uint32_t>(seconds / 60));
  const auto s = static_cast<unsigned>(seconds % 60);
  std::string out = minute.to_string();
  out.push_back(static_cast<char>('0' + s / 10));
  out.push_back(static_cast<char>('0' + s % 10));
  return out;
}

Result<void> validate_alarm_id(std::string_view id) {
  if (auto ok = validate_name("alarm id", id, 128); !ok) return ok;
  if (id.front() == '$') {
    return fail(Errc::invalid_argument, "alarm id may not start with '$' (reserved for nbmsd)");
  }
  return {};
}

Result<void> validate_device(std::string_view device) {
  return validate_name("device", device, 64);
}

std::string_view to_string(AlarmStatus s) {
  switch (s) {
    case AlarmStatus::raise:
      return "raise";
    case AlarmStatus::update:
      return "update";
    case AlarmStatus::clear:
      return "clear";
  }
  return "?";
}

namespace {
constexpr std::pair<TransitionKind, std::string_view> kKindNames[] = {
    {TransitionKind::raised, "raised"},
    {TransitionKind::updated, "updated"},
    {TransitionKind::cleared, "cleared"},
    {TransitionKind::acknowledged, "acknowledged"},
    {TransitionKind::shelved, "shelved"},
    {TransitionKind::unshelved, "unshelved"},
    {TransitionKind::shelve_expired, "shelve_expired"},
    {TransitionKind::commented, "commented"},
    {TransitionKind::suppressed, "suppressed"},
    {TransitionKind::unsuppressed, "unsuppressed"},
};
}  // namespace

std::string_view to_string(TransitionKind k) {
  for (const auto& [kind, name] : kKindNames) {
    if (kind == k) return name;
  }
  return "?";
}

std::optional<TransitionKind> transition_kind_from(std::string_view name) {
  for (const auto& [kind, n] : kKindNames) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

std::string_view to_string(EventResult r) {
  switch (r) {
    case EventResult::applied:
      return "applied";
    case EventResult::duplicate:
      return "duplicate";
    case EventResult::stale:
      return "stale";
    case EventResult::no_alarm:
      return "no_alarm";
  }
  return "?";
}

std::string disconnect_alarm_id(std::string_view device) {
  return device.empty() ? std::string("$disconnect") : "$disconnect:" + std::string(device);
}

bool LinkView::suppresses(const Alarm& a) const {
  if (a.kind == AlarmKind::stale) return thing_down;  // the disconnect alarm says more
  if (a.kind == AlarmKind::disconnect) {
    // The MW's own disconnect alarm stands for the others; a device's one is
    // behind the MW.
    return !a.device.empty() && thing_down;
  }
  if (thing_down) return true;
  return !a.device.empty() &&
         std::find(devices_down.begin(), devices_down.end(), a.device) != devices_down.end();
}

LinkView link_view(const std::vector<LinkState>& links_of_thing) {
  LinkView v;
  for (const auto& l : links_of_thing) {
    if (l.connected) continue;
    if (l.device.empty()) {
      v.thing_down = true;
    } else {
      v.devices_down.push_back(l.device);
    }
  }
  return v;
}

Result<EventOutcome> apply_event(const std::optional<Alarm>& current,
                                 const std::optional<EventStamp>& mark, const AlarmEvent& event,
                                 const LinkView& links, std::int64_t now_ms) {
  if (current && !(current->key == AlarmKey{event.thing, event.alarm_id})) {
    return fail(Errc::internal, "apply_event: the current alarm is another alarm");
  }
  if (event.status != AlarmStatus::clear && (event.name.empty() || !event.priority)) {
    return fail(Errc::invalid_argument, "a raise or update needs a name and a priority");
  }
  std::optional<EventStamp> last = mark;
  if (current && (!last || current->last_event > *last)) last = current->last_event;
  EventOutcome out;
  if (last && event.stamp <= *last) {
    out.result = event.stamp == *last ? EventResult::duplicate : EventResult::stale;
    return out;
  }
  const AlarmKey key{event.thing, event.alarm_id};
  out.update.marks.emplace_back(key, event.stamp);

  if (event.status == AlarmStatus::clear) {
    if (!current) {
      out.result = EventResult::no_alarm;
      return out;
    }
    Alarm a = *current;
    a.last_event = event.stamp;
    const bool changed = take_details(a, event);
    a.updated_ms = now_ms;
    if (!current->active) {
      // Already cleared: only newer details.
      out.update.put.push_back(a);
      if (changed) {
        auto t = transition(TransitionKind::updated, a, now_ms);
        t.event = event.stamp;
        out.update.history.push_back(std::move(t));
      }
      return out;
    }
    a.active = false;
    record_clear(out.update, key, a, event.stamp, now_ms);
    return out;
  }

  // raise / update: the MW says the alarm is active.
  if (current && current->active) {
    Alarm a = *current;
    a.last_event = event.stamp;
    take_details(a, event);
    a.suppressed = links.suppresses(a);
    a.updated_ms = now_ms;
    auto t = transition(TransitionKind::updated, a, now_ms);
    t.event = event.stamp;
    out.update.history.push_back(std::move(t));
    out.update.put.push_back(std::move(a));
    return out;
  }
  // A new occurrence; a cleared-unacknowledged alarm raised again starts over
  // (unacknowledged) but keeps its shelve and comments.
  Alarm a = current ? *current : Alarm{};
  a.key = key;
  a.kind = AlarmKind::point;
  take_details(a, event);
  a.active = true;
  a.acknowledged = false;
  a.acknowledged_ms = 0;
  a.acknowledged_by.clear();
  a.raised_at = event.stamp;
  a.last_event = event.stamp;
  a.raised_ms = now_ms;
  a.updated_ms = now_ms;
  a.suppressed = links.suppresses(a);
  auto t = transition(TransitionKind::raised, a, now_ms);
  t.event = event.stamp;
  out.update.history.push_back(std::move(t));
  out.update.put.push_back(std::move(a));
  return out;
}

Result<AlarmUpdate> acknowledge(const Alarm& alarm, std::string_view user, std::int64_t now_ms) {
  if (auto ok = check_user(user); !ok) return std::unexpected(ok.error());
  AlarmUpdate u;
  if (alarm.acknowledged) return u;
  Alarm a = alarm;
  a.acknowledged = true;
  a.acknowledged_ms = now_ms;
  a.acknowledged_by = std::string(user);
  a.updated_ms = now_ms;
  auto t = transition(TransitionKind::acknowledged, a, now_ms, user);
  if (!a.active) {
    t.removed = true;
    u.erase.push_back(a.key);
  } else {
    u.put.push_back(a);
  }
  u.history.push_back(std::move(t));
  return u;
}

Result<AlarmUpdate> acknowledge_all(const std::vector<Alarm>& alarms, std::string_view user,
                                    std::int64_t now_ms) {
  if (auto ok = check_user(user); !ok) return std::unexpected(ok.error());
  AlarmUpdate all;
  for (const auto& a : alarms) {
    auto u = acknowledge(a, user, now_ms);
    if (!u) return u;
    for (auto& p : u->put) all.put.push_back(std::move(p));
    for (auto& e : u->erase) all.erase.push_back(std::move(e));
    for (auto& h : u->history) all.history.push_back(std::move(h));
  }
  return all;
}

Result<AlarmUpdate> shelve(const Alarm& alarm, std::string_view user, std::int64_t until_ms,
                           std::string_view reason, std::int64_t now_ms) {
  if (auto ok = check_user(user); !ok) return std::unexpected(ok.error());
  if (until_ms <= now_ms) {
    return fail(Errc::invalid_argument, "a shelve must expire in the future");
  }
  if (until_ms - now_ms > kMaxShelveMs) {
    return fail(Errc::invalid_argument, "a shelve may last at most 30 days");
  }
  if (reason.size() > kMaxCommentBytes) {
    return fail(Errc::invalid_argument, "the reason is longer than 1000 bytes");
  }
  Alarm a = alarm;
  a.shelved_until_ms = until_ms;
  a.shelved_by = std::string(user);
  a.updated_ms = now_ms;
  AlarmUpdate u;
  auto t = transition(TransitionKind::shelved, a, now_ms, user);
  t.text = std::string(reason);
  u.history.push_back(std::move(t));
  u.put.push_back(std::move(a));
  return u;
}

Result<AlarmUpdate> unshelve(const Alarm& alarm, std::string_view user, std::int64_t now_ms) {
  if (auto ok = check_user(user); !ok) return std::unexpected(ok.error());
  if (!alarm.shelved(now_ms)) return fail(Errc::invalid_argument, "the alarm is not shelved");
  Alarm a = alarm;
  a.shelved_until_ms.reset();
  a.shelved_by.clear();
  a.updated_ms = now_ms;
  AlarmUpdate u;
  u.history.push_back(transition(TransitionKind::unshelved, a, now_ms, user));
  u.put.push_back(std::move(a));
  return u;
}

Result<AlarmUpdate> comment(const Alarm& alarm, std::string_view user, std::string_view text,
                            std::int64_t now_ms) {
  if (auto ok = check_user(user); !ok) return std::unexpected(ok.error());
  if (text.empty() || text.size() > kMaxCommentBytes) {
    return fail(Errc::invalid_argument, "a comment must be 1..1000 bytes");
  }
  if (alarm.comments.size() >= kMaxComments) {
    return fail(Errc::invalid_argument, "the alarm has the most comments allowed (200)");
  }
  Alarm a = alarm;
  a.comments.push_back(AlarmComment{now_ms, std::string(user), std::string(text)});
  a.updated_ms = now_ms;
  AlarmUpdate u;
  auto t = transition(TransitionKind::commented, a, now_ms, user);
  t.text = std::string(text);
  u.history.push_back(std::move(t));
  u.put.push_back(std::move(a));
  return u;
}

AlarmUpdate expire_shelves(const std::vector<Alarm>& alarms, std::int64_t now_ms) {
  AlarmUpdate u;
  for (const auto& alarm : alarms) {
    if (!alarm.shelved_until_ms || alarm.shelved(now_ms)) continue;
    Alarm a = alarm;
    a.shelved_until_ms.reset();
    a.shelved_by.clear();
    a.updated_ms = now_ms;
    u.history.push_back(transition(TransitionKind::shelve_expired, a, now_ms));
    u.put.push_back(std::move(a));
  }
  return u;
}

Result<EventOutcome> apply_disconnect(const DisconnectEvent& event,
                                      const std::vector<LinkState>& links_of_thing,
                                      const std::vector<Alarm>& alarms_of_thing,
                                      std::int64_t now_ms) {
  EventOutcome out;
  const LinkState* stored = nullptr;
  for (const auto& l : links_of_thing) {
    if (!(l.thing == event.thing)) {
      return fail(Errc::internal, "apply_disconnect: a link of another thing");
    }
    if (l.device == event.device) stored = &l;
  }
  if (stored && event.stamp && stored->last_event) {
    if (*event.stamp < *stored->last_event) {
      out.result = EventResult::stale;
      return out;
    }
  }
  const bool was_connected = stored ? stored->connected : true;
  if (stored && was_connected == event.connected) {
    out.result = EventResult::duplicate;
    return out;
  }
  LinkState link;
  link.thing = event.thing;
  link.device = event.device;
  link.connected = event.connected;
  link.since_ms = now_ms;
  link.last_event = event.stamp ? event.stamp : (stored ? stored->last_event : std::nullopt);
  link.text = event.text;
  out.update.links.push_back(link);
  if (was_connected == event.connected) return out;  // first report: connected, nothing to do

  // The links after this event, for suppression.
  std::vector<LinkState> after;
  for (const auto& l : links_of_thing) {
    if (l.device != event.device) after.push_back(l);
  }
  after.push_back(link);
  const LinkView view = link_view(after);

  const AlarmKey dkey{event.thing, disconnect_alarm_id(event.device)};
  const Alarm* disc = nullptr;
  for (const auto& a : alarms_of_thing) {
    if (a.key == dkey) disc = &a;
  }

  // Suppression of the other alarms of the thing.
  for (const auto& alarm : alarms_of_thing) {
    if (alarm.key == dkey) continue;
    const bool s = view.suppresses(alarm);
    if (s == alarm.suppressed) continue;
    Alarm a = alarm;
    a.suppressed = s;
    a.updated_ms = now_ms;
    out.update.history.push_back(
        transition(s ? TransitionKind::suppressed : TransitionKind::unsuppressed, a, now_ms));
    out.update.put.push_back(std::move(a));
  }

  // The disconnect alarm itself.
  if (!event.connected) {
    Alarm a = disc ? *disc : Alarm{};
    a.key = dkey;
    a.kind = AlarmKind::disconnect;
    a.device = event.device;
    a.name = event.device.empty() ? "Middleware " + event.thing.full() + " disconnected"
                                  : "Device " + event.device + " disconnected";
    a.priority = kDisconnectPriority;
    a.text = event.text;
    a.active = true;
    a.acknowledged = false;
    a.acknowledged_ms = 0;
    a.acknowledged_by.clear();
    if (event.stamp) {
      a.raised_at = *event.stamp;
      a.last_event = *event.stamp;
    }
    a.raised_ms = now_ms;
    a.updated_ms = now_ms;
    a.suppressed = view.suppresses(a);
    auto t = transition(TransitionKind::raised, a, now_ms);
    t.event = event.stamp;
    out.update.history.push_back(std::move(t));
    out.update.put.push_back(std::move(a));
  } else if (disc && disc->active) {
    Alarm a = *disc;
    a.active = false;
    if (!event.text.empty()) a.text = event.text;
    if (event.stamp) a.last_event = *event.stamp;
    a.updated_ms = now_ms;
    record_clear(out.update, dkey, a, event.stamp, now_ms);
  }
  return out;
}

AlarmUpdate apply_staleness(const ThingName& thing, bool stale, const std::optional<Alarm>& current,
                            const LinkView& links, std::int64_t now_ms) {
  AlarmUpdate u;
  const bool active = current && current->active;
  if (stale == active) return u;
  if (stale) {
    Alarm a = current ? *current : Alarm{};
    a.key = AlarmKey{thing, std::string(kStaleAlarmId)};
    a.kind = AlarmKind::stale;
    a.name = "Middleware " + thing.full() + " sends no periodic_log";
    a.priority = kDisconnectPriority;
    a.text = "no periodic_log for more than two periods";
    a.active = true;
    a.acknowledged = false;
    a.acknowledged_ms = 0;
    a.acknowledged_by.clear();
    a.raised_ms = now_ms;
    a.updated_ms = now_ms;
    a.suppressed = links.suppresses(a);
    u.history.push_back(transition(TransitionKind::raised, a, now_ms));
    u.put.push_back(std::move(a));
    return u;
  }
  Alarm a = *current;
  a.active = false;
  a.text = "periodic_log received again";
  a.updated_ms = now_ms;
  record_clear(u, a.key, a, std::nullopt, now_ms);
  return u;
}

// ---- health ----

namespace {

struct KeyLess {
  bool operator()(const AlarmKey& a, const AlarmKey& b) const {
    return std::tie(a.thing.customer, a.thing.building, a.thing.index, a.alarm_id) <
           std::tie(b.thing.customer, b.thing.building, b.thing.index, b.alarm_id);
  }
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

AlarmHealth alarm_health(const std::vector<AlarmTransition>& history,
                         const std::vector<Alarm>& current, std::int64_t from_ms,
                         std::int64_t to_ms, std::int64_t now_ms, const HealthOptions& options) {
  AlarmHealth h;
  h.from_ms = from_ms;
  h.to_ms = to_ms;
  const std::int64_t bucket = options.bucket_ms > 0 ? options.bucket_ms : 600'000;

  struct PerAlarm {
    std::string point_id;
    std::string name;
    std::vector<std::int64_t> times;
  };
  std::map<AlarmKey, PerAlarm, KeyLess> per_alarm;
  std::map<std::int64_t, std::size_t> counts;
  for (const auto& t : history) {
    if (t.kind != TransitionKind::raised || t.at_ms < from_ms || t.at_ms >= to_ms) continue;
    ++h.raises;
    ++counts[floor_div(t.at_ms, bucket)];
    auto& p = per_alarm[t.alarm.key];
    p.point_id = t.alarm.point_id;
    p.name = t.alarm.name;
    p.times.push_back(t.at_ms);
  }

  // Buckets, zeros included, and floods over them.
  if (to_ms > from_ms) {
    const std::int64_t first = floor_div(from_ms, bucket);
    const std::int64_t last = floor_div(to_ms - 1, bucket);
    std::optional<Flood> flood;
    for (std::int64_t b = first; b <= last; ++b) {
      const auto it = counts.find(b);
      const std::size_t n = it == counts.end() ? 0 : it->second;
      h.buckets.push_back(HealthBucket{b * bucket, n});
      if (!flood) {
        if (n >= options.flood_start) flood = Flood{b * bucket, 0, n, n};
      } else if (n < options.flood_end) {
        flood->end_ms = b * bucket;
        h.flood_ms += flood->end_ms - flood->start_ms;
        h.floods.push_back(*flood);
        flood.reset();
      } else {
        flood->raises += n;
        flood->peak = std::max(flood->peak, n);
      }
    }
    if (flood) {
      flood->end_ms = to_ms;
      h.flood_ms += flood->end_ms - flood->start_ms;
      h.floods.push_back(*flood);
    }
  }

  // Chattering and top-N.
  std::vector<AlarmCount> all;
  for (auto& [key, p] : per_alarm) {
    std::sort(p.times.begin(), p.times.end());
    std::size_t peak = 0;
    for (std::size_t i = 0, j = 0; j < p.times.size(); ++j) {
      while (p.times[j] - p.times[i] >= options.chatter_window_ms) ++i;
      peak = std::max(peak, j - i + 1);
    }
    all.push_back(AlarmCount{key, p.point_id, p.name, p.times.size(), peak});
  }
  for (const auto& c : all) {
    if (c.peak_per_window >= options.chatter_count) h.chattering.push_back(c);
  }
  std::stable_sort(h.chattering.begin(), h.chattering.end(), [](const auto& a, const auto& b) {
    return a.peak_per_window > b.peak_per_window;
  });
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.raises > b.raises; });
  if (all.size() > options.top) all.resize(options.top);
  h.top = std::move(all);

  for (const auto& a : current) {
    if (a.active && now_ms - a.raised_ms > options.stale_ms) h.stale.push_back(a);
  }
  std::stable_sort(h.stale.begin(), h.stale.end(),
                   [](const auto& a, const auto& b) { return a.raised_ms < b.raised_ms; });
  for (auto& a : h.stale) a.comments.clear();
  return h;
}

std::uint32_t utc_yyyymm(std::int64_t unix_ms) {
  if (unix_ms < kUnixMsAt2000) return 200001;
  const auto minutes = (unix_ms - kUnixMsAt2000) / 60'000;
  const auto max_minutes = static_cast<std::int64_t>(
      LocalMinute::from_civil(LocalMinute::kLastYear, 12, 31, 23, 59).minutes());
  return LocalMinute::from_minutes(static_cast<std::uint32_t>(std::min(minutes, max_minutes)))
      .yyyymm();
}

}  // namespace nbms
