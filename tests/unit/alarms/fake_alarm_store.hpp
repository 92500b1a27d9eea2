#pragma once
// An in-memory AlarmStore for service tests: commits apply the whole update,
// or fail as a whole when `fail_commits` is set.
#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "nbms/core/alarm_ports.hpp"

namespace nbms::testing {

class FakeAlarmStore final : public AlarmStore {
 public:
  Result<std::vector<Alarm>> current_alarms(std::string_view customer,
                                            std::string_view building) override {
    std::lock_guard lock(mu_);
    std::vector<Alarm> out;
    for (const auto& [k, a] : current_) {
      if (a.key.thing.customer == customer && a.key.thing.building == building) out.push_back(a);
    }
    return out;
  }
  Result<std::vector<Alarm>> current_alarms_of(const ThingName& thing) override {
    std::lock_guard lock(mu_);
    std::vector<Alarm> out;
    for (const auto& [k, a] : current_) {
      if (a.key.thing == thing) out.push_back(a);
    }
    return out;
  }
  Result<std::optional<Alarm>> current_alarm(const AlarmKey& key) override {
    std::lock_guard lock(mu_);
    auto it = current_.find(id(key));
    return it == current_.end() ? std::nullopt : std::optional<Alarm>(it->second);
  }
  Result<std::optional<EventStamp>> alarm_mark(const AlarmKey& key) override {
    std::lock_guard lock(mu_);
    auto it = marks_.find(id(key));
    return it == marks_.end() ? std::nullopt : std::optional<EventStamp>(it->second);
  }
  Result<std::vector<AlarmTransition>> alarm_history(const AlarmHistoryQuery& q) override {
    std::lock_guard lock(mu_);
    std::vector<AlarmTransition> out;
    for (const auto& t : history_) {
      if (t.alarm.key.thing.customer == q.customer && t.alarm.key.thing.building == q.building &&
          t.at_ms >= q.from_ms && t.at_ms < q.to_ms) {
        out.push_back(t);
      }
    }
    if (q.newest_first) std::reverse(out.begin(), out.end());
    if (out.size() > q.limit) out.resize(q.limit);
    return out;
  }
  Result<std::vector<LinkState>> links(std::string_view customer,
                                       std::string_view building) override {
    std::lock_guard lock(mu_);
    std::vector<LinkState> out;
    for (const auto& [k, l] : links_) {
      if (l.thing.customer == customer && l.thing.building == building) out.push_back(l);
    }
    return out;
  }
  Result<std::vector<LinkState>> links_of(const ThingName& thing) override {
    std::lock_guard lock(mu_);
    std::vector<LinkState> out;
    for (const auto& [k, l] : links_) {
      if (l.thing == thing) out.push_back(l);
    }
    return out;
  }
  Result<void> commit(const AlarmUpdate& u) override {
    std::lock_guard lock(mu_);
    if (fail_commits) return fail(Errc::unavailable, "disk full");
    ++commits;
    for (const auto& a : u.put) current_[id(a.key)] = a;
    for (const auto& k : u.erase) current_.erase(id(k));
    for (const auto& [k, s] : u.marks) marks_[id(k)] = s;
    for (const auto& l : u.links) links_[l.thing.full() + "/" + l.device] = l;
    for (const auto& t : u.history) history_.push_back(t);
    return {};
  }

  std::vector<AlarmTransition> history() {
    std::lock_guard lock(mu_);
    return history_;
  }

  // What a purge does to the alarm records of `thing`: current alarms, marks
  // and links go, the history stays. Returns how many current alarms went.
  std::size_t forget(const ThingName& thing) {
    std::lock_guard lock(mu_);
    const std::string prefix = thing.full() + "/";
    std::size_t n =
        std::erase_if(current_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    std::erase_if(marks_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    std::erase_if(links_, [&](const auto& kv) { return kv.second.thing == thing; });
    return n;
  }

  bool fail_commits = false;
  int commits = 0;

 private:
  static std::string id(const AlarmKey& k) { return k.thing.full() + "/" + k.alarm_id; }
  std::mutex mu_;
  std::map<std::string, Alarm> current_;
  std::map<std::string, EventStamp> marks_;
  std::map<std::string, LinkState> links_;
  std::vector<AlarmTransition> history_;
};

}  // namespace nbms::testing
