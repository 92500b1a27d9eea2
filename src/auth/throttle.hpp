#pragma once
// Counts failed logins per key (a user name or a client address) and refuses
// further attempts for a while once there were too many. Private to src/auth.
//
// State is in memory only: it resets when nbmsd restarts, which an attacker
// cannot trigger. Memory is bounded by `capacity` keys; the least recently
// used key is forgotten first, so a client spraying many user names cannot grow
// it without limit (its own address stays recently used and keeps its count).
//
// Not thread-safe: AuthService guards it with its mutex. Time comes from the
// caller (the injected Clock), never from the system.
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace nbms::auth {

struct ThrottleLimits {
  std::uint32_t max_failures = 5;
  std::int64_t lockout_ms = 30'000;
  std::int64_t max_lockout_ms = std::int64_t{15} * 60 * 1000;
  std::size_t capacity = 10'000;
};

class Throttle {
 public:
  explicit Throttle(ThrottleLimits limits) : limits_(limits) {}

  // Starts an attempt for `key`. Returns 0 when it may go ahead (then exactly
  // one finish() or cancel() must follow), else the milliseconds to wait.
  // Attempts running at the same time count against the failures still
  // allowed, so parallel requests cannot try more passwords than sequential ones.
  std::int64_t begin(const std::string& key, std::int64_t now_ms);
  // Ends an attempt. A failure counts and, from the `max_failures`th on, locks
  // the key for `lockout_ms`, doubling per further failure up to
  // `max_lockout_ms`; returns the lockout started (0: none). A success clears
  // the count when `reset` is set.
  std::int64_t finish(const std::string& key, bool failed, bool reset, std::int64_t now_ms);
  // Ends an attempt without counting it (the check could not be made).
  void cancel(const std::string& key);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint32_t failures = 0;  // consecutive
    std::uint32_t in_flight = 0;
    std::int64_t locked_until_ms = 0;
    std::int64_t last_failure_ms = 0;
    std::list<std::string>::iterator lru;
  };

  Entry& touch(const std::string& key);
  void drop_if_idle(std::unordered_map<std::string, Entry>::iterator it);

  ThrottleLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
};

}  // namespace nbms::auth
