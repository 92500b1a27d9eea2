#include "throttle.hpp"

#include <algorithm>

namespace nbms::auth {

Throttle::Entry& Throttle::touch(const std::string& key) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  while (!lru_.empty() && entries_.size() >= std::max<std::size_t>(limits_.capacity, 1)) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  auto& e = entries_[key];
  e.lru = lru_.begin();
  return e;
}

void Throttle::drop_if_idle(std::unordered_map<std::string, Entry>::iterator it) {
  // Keys with nothing to remember cost memory for nothing.
  if (it->second.failures == 0 && it->second.in_flight == 0) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
}

std::int64_t Throttle::begin(const std::string& key, std::int64_t now_ms) {
  auto& e = touch(key);
  // A long quiet period forgives earlier failures (a typo last week must not
  // count today). The window is twice the longest lockout, so a client that
  // retries as soon as each lockout ends is never forgiven.
  const std::int64_t forget_after = 2 * std::max(limits_.max_lockout_ms, limits_.lockout_ms);
  if (e.in_flight == 0 && e.failures > 0 && now_ms - e.last_failure_ms >= forget_after &&
      e.locked_until_ms <= now_ms) {
    e.failures = 0;
    e.locked_until_ms = 0;
  }
  if (e.locked_until_ms > now_ms) return e.locked_until_ms - now_ms;
  // Once locked out, one attempt at a time.
  const std::uint32_t budget =
      e.failures < limits_.max_failures ? limits_.max_failures - e.failures : 1;
  if (e.in_flight >= budget) return 1000;  // wait for the attempts being checked
  ++e.in_flight;
  return 0;
}

std::int64_t Throttle::finish(const std::string& key, bool failed, bool reset,
                              std::int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    // Evicted while the attempt ran; a failure still counts.
    if (!failed) return 0;
    touch(key);
    it = entries_.find(key);
    ++it->second.in_flight;
  }
  auto& e = it->second;
  if (e.in_flight > 0) --e.in_flight;
  std::int64_t lockout = 0;
  if (failed) {
    ++e.failures;
    e.last_failure_ms = now_ms;
    if (e.failures >= limits_.max_failures) {
      lockout = std::max<std::int64_t>(limits_.lockout_ms, 0);
      for (std::uint32_t i = limits_.max_failures;
           i < e.failures && lockout < limits_.max_lockout_ms; ++i) {
        lockout *= 2;
        if (lockout == 0) break;
      }
      lockout = std::min(lockout, limits_.max_lockout_ms);
      e.locked_until_ms = std::max(e.locked_until_ms, now_ms + lockout);
    }
  } else if (reset) {
    e.failures = 0;
    e.locked_until_ms = 0;
  }
  drop_if_idle(it);
  return lockout;
}

void Throttle::cancel(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.in_flight > 0) --it->second.in_flight;
  drop_if_idle(it);
}

}  // namespace nbms::auth
