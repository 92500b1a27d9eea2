#include "nbms/notify/alarm_notifier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

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

std::vector<Notification> alarm_notifications(const AlarmUpdate& update, std::int64_t now_ms) {
  std::vector<Notification> out;
  for (const auto& t : update.history) {
    if (t.kind != TransitionKind::raised) continue;
    const Alarm& a = t.alarm;
    if (a.suppressed || a.shelved(now_ms)) continue;
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
    out.push_back(std::move(n));
  }
  return out;
}

AlarmNotifier::AlarmNotifier(Dispatcher& dispatcher, const Clock& clock, std::size_t capacity)
    : dispatcher_(dispatcher), clock_(clock), capacity_(capacity) {}

AlarmNotifier::~AlarmNotifier() {
  stop();
}

void AlarmNotifier::on_update(const AlarmUpdate& update) {
  auto notes = alarm_notifications(update, clock_.now_ms());
  if (notes.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& n : notes) {
      if (queue_.size() >= capacity_) {
        ++dropped_;
        continue;
      }
      queue_.push_back(std::move(n));
    }
  }
  cv_.notify_one();
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

std::uint64_t AlarmNotifier::enqueued() const {
  std::lock_guard lock(mu_);
  return enqueued_;
}

std::uint64_t AlarmNotifier::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AlarmNotifier::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Notification n = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    auto r = dispatcher_.enqueue(n);
    if (!r && r.error().code != Errc::already_exists) {
      spdlog::warn("notify: alarm notification {} not enqueued: {}", n.id, r.error().message);
    }
    lock.lock();
    if (r) ++enqueued_;
  }
}

}  // namespace nbms::notify
