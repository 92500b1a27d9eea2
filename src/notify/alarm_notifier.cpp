#include "nbms/notify/alarm_notifier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include "nbms/crypto/crypto.hpp"

namespace nbms::notify {

NotificationPriority notification_priority(int bacnet_priority) {
  const int p = std::clamp(bacnet_priority, 0, 255);
  if (p < 64) return NotificationPriority::urgent;
  if (p < 128) return NotificationPriority::high;
  if (p < 192) return NotificationPriority::medium;
  return NotificationPriority::low;
}

std::string alarm_notification_id(const Alarm& a) {
  std::string key = a.key.thing.full();
  key.push_back('\0');
  key += a.key.alarm_id;
  key.push_back('\0');
  // nbmsd's own alarms (disconnect, stale) have no MW stamp: the time nbmsd
  // recorded the raise tells their occurrences apart.
  key += a.raised_at.time_string() + "#" + std::to_string(a.raised_at.seq) + "@" +
         std::to_string(a.raised_ms);
  const auto digest = crypto::to_hex(crypto::sha256(key)).substr(0, 24);
  return "alarm." + a.key.thing.customer + "." + a.key.thing.building + "." + digest;
}

namespace {

// MW text is free: control characters become spaces (titles are one line),
// NULs are dropped, and the text is cut to `max` bytes on a UTF-8 boundary,
// so a notification is never refused for what a MW wrote.
std::string clean(std::string_view text, std::size_t max, bool one_line) {
  std::string out;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (u == 0) continue;
    if (one_line && (u < 0x20 || u == 0x7f)) {
      out.push_back(' ');
    } else {
      out.push_back(ch);
    }
  }
  if (out.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string body_of(const Alarm& a) {
  std::string body = a.text;
  std::string where = a.key.thing.full();
  if (!a.device.empty()) where += " / " + a.device;
  if (!a.point_id.empty()) where += " / " + a.point_id;
  if (!body.empty()) body += "\n";
  body += where + " (priority " + std::to_string(a.priority) + ")";
  return clean(body, 10000, false);
}

}  // namespace

std::optional<Notification> alarm_notification(const AlarmTransition& t, std::int64_t now_ms) {
  if (t.kind != TransitionKind::raised) return std::nullopt;
  const Alarm& a = t.alarm;
  if (a.suppressed || a.shelved(now_ms)) return std::nullopt;
  Notification n;
  n.id = alarm_notification_id(a);
  n.customer = a.key.thing.customer;
  n.building = a.key.thing.building;
  n.kind = NotificationKind::alarm;
  n.priority = notification_priority(a.priority);
  n.title = clean(a.name.empty() ? a.key.alarm_id : a.name, 200, true);
  if (n.title.empty()) n.title = a.key.alarm_id;
  n.body = body_of(a);
  n.created_ms = t.at_ms != 0 ? t.at_ms : now_ms;
  n.link = "/#/b/" + n.customer + "/" + n.building;
  return n;
}

std::vector<Notification> alarm_notifications(const AlarmUpdate& update, std::int64_t now_ms) {
  std::vector<Notification> out;
  for (const auto& t : update.history) {
    if (auto n = alarm_notification(t, now_ms)) out.push_back(std::move(*n));
  }
  return out;
}

namespace {

// The current alarm that would be notified now, if its occurrence is `raise`'s.
bool still_raised(const Alarm& current, const Alarm& raise, std::int64_t now_ms) {
  return current.raised_at == raise.raised_at && current.raised_ms == raise.raised_ms &&
         current.active && !current.acknowledged && !current.suppressed && !current.shelved(now_ms);
}

std::string key_of(const AlarmKey& k) {
  std::string s = k.thing.full();
  s.push_back('\0');
  return s + k.alarm_id;
}

}  // namespace

std::vector<Notification> replay_notifications(const std::vector<Alarm>& current,
                                               const std::vector<AlarmTransition>& history,
                                               std::int64_t now_ms, std::int64_t window_ms) {
  std::vector<Notification> out;
  if (window_ms <= 0) return out;
  std::map<std::string, const Alarm*> by_key;
  for (const auto& a : current) by_key.emplace(key_of(a.key), &a);
  std::vector<const AlarmTransition*> raises;
  for (const auto& t : history) {
    if (t.kind != TransitionKind::raised || t.at_ms < now_ms - window_ms || t.at_ms > now_ms) {
      continue;
    }
    const auto it = by_key.find(key_of(t.alarm.key));
    if (it == by_key.end() || !still_raised(*it->second, t.alarm, now_ms)) continue;
    raises.push_back(&t);
  }
  std::stable_sort(raises.begin(), raises.end(),
                   [](const auto* x, const auto* y) { return x->at_ms < y->at_ms; });
  std::set<std::string> ids;
  for (const auto* t : raises) {
    auto n = alarm_notification(*t, t->at_ms);
    if (n && ids.insert(n->id).second) out.push_back(std::move(*n));
  }
  return out;
}

Result<std::vector<Notification>> alarm_replay(AlarmStore& alarms,
                                               const std::vector<Building>& buildings,
                                               std::int64_t now_ms, std::int64_t window_ms) {
  std::vector<Notification> out;
  if (window_ms <= 0) return out;
  for (const auto& b : buildings) {
    auto current = alarms.current_alarms(b.customer, b.id);
    if (!current) return std::unexpected(current.error());
    // Most buildings have nothing raised lately: skip their history.
    const bool recent = std::any_of(current->begin(), current->end(), [&](const Alarm& a) {
      return a.raised_ms >= now_ms - window_ms && still_raised(a, a, now_ms);
    });
    if (!recent) continue;
    AlarmHistoryQuery q;
    q.customer = b.customer;
    q.building = b.id;
    q.from_ms = now_ms - window_ms;
    q.to_ms = now_ms + 1;
    q.limit = std::numeric_limits<std::size_t>::max();
    auto history = alarms.alarm_history(q);
    if (!history) return std::unexpected(history.error());
    auto notes = replay_notifications(*current, *history, now_ms, window_ms);
    std::move(notes.begin(), notes.end(), std::back_inserter(out));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& x, const auto& y) { return x.created_ms < y.created_ms; });
  return out;
}

AlarmNotifier::AlarmNotifier(Dispatcher& dispatcher, const Clock& clock, std::size_t capacity)
    : dispatcher_(dispatcher), clock_(clock), capacity_(capacity) {}

AlarmNotifier::~AlarmNotifier() {
  stop();
}

void AlarmNotifier::on_update(const AlarmUpdate& update) {
  push(alarm_notifications(update, clock_.now_ms()), false);
}

std::size_t AlarmNotifier::replay(std::vector<Notification> notes) {
  return push(std::move(notes), true);
}

std::size_t AlarmNotifier::push(std::vector<Notification> notes, bool replay) {
  if (notes.empty()) return 0;
  std::size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    for (auto& n : notes) {
      if (queue_.size() >= capacity_) {
        ++counts_.dropped;
        continue;
      }
      queue_.push_back(Item{std::move(n), replay});
      ++queued;
    }
  }
  cv_.notify_one();
  return queued;
}

void AlarmNotifier::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] { loop(); });
}

void AlarmNotifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

AlarmNotifierStats AlarmNotifier::stats() const {
  std::lock_guard lock(mu_);
  auto s = counts_;
  s.queued = queue_.size();
  return s;
}

void AlarmNotifier::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    auto r = dispatcher_.enqueue(item.note);
    const bool known = !r && r.error().code == Errc::already_exists;
    if (!r && !known) {
      spdlog::warn("notify: alarm notification {} not enqueued: {}", item.note.id,
                   r.error().message);
    }
    lock.lock();
    if (r) {
      ++counts_.enqueued;
      if (item.replay) ++counts_.replayed;
    } else if (known) {
      ++counts_.already;
    } else {
      ++counts_.errors;
    }
  }
}

}  // namespace nbms::notify
