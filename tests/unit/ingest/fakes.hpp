#pragma once
// In-memory fakes of the storage and command ports, for router and pipeline tests.
#include <map>
#include <mutex>
#include <set>

#include "nbms/core/alarm_ports.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::testing {

class FakeClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'700'000'000'000;
};

class FakeStore final : public Registry,
                        public PointStore,
                        public SeriesStore,
                        public DeadLetterStore {
 public:
  // Registry: only things matter to the router.
  Result<void> create_customer(const Customer&) override { return {}; }
  Result<std::vector<Customer>> customers() override { return std::vector<Customer>{}; }
  Result<Customer> customer(std::string_view) override { return fail(Errc::not_found, "x"); }
  Result<void> create_building(const Building&) override { return {}; }
  Result<std::vector<Building>> buildings(std::string_view) override {
    return std::vector<Building>{};
  }
  Result<Building> building(std::string_view, std::string_view) override {
    return fail(Errc::not_found, "x");
  }
  Result<void> create_thing(const Thing& t) override {
    things_.insert(t.name.full());
    return {};
  }
  Result<Thing> thing(std::string_view name) override {
    if (!things_.contains(std::string(name))) return fail(Errc::not_found, "not registered");
    return Thing{*ThingName::parse(name), 0};
  }
  Result<std::vector<Thing>> things(std::string_view, std::string_view) override {
    return std::vector<Thing>{};
  }

  Result<PointChanges> upsert_points(const ThingName&, const std::vector<PointInfo>& p) override {
    PointChanges c;
    for (const auto& info : p) {
      if (auto other = held_by_.find(info.point_id); other != held_by_.end()) {
        c.conflicts.push_back({info.point_id, other->second});
        continue;
      }
      ++(points_.contains(info.point_id) ? c.updated : c.created);
      points_[info.point_id] = info;
    }
    return c;
  }
  Result<PointChanges> remove_points(const ThingName&,
                                     const std::vector<std::string>& ids) override {
    PointChanges c;
    for (const auto& id : ids) ++(points_.erase(id) ? c.removed : c.unknown);
    return c;
  }
  Result<std::vector<PointInfo>> points(std::string_view, std::string_view) override {
    std::vector<PointInfo> out;
    for (const auto& [id, p] : points_) out.push_back(p);
    return out;
  }

  Result<AppendResult> append(const PeriodicLog& log) override {
    std::lock_guard lock(mu_);
    if (fail_appends_ > 0) {
      --fail_appends_;
      return fail(Errc::unavailable, "disk full");
    }
    AppendResult r;
    PeriodicLog stored = log;
    std::erase_if(stored.values, [&](const PointValue& v) {
      auto other = held_by_.find(v.point_id);
      if (other == held_by_.end()) return false;
      r.conflicts.push_back({v.point_id, other->second});
      return true;
    });
    r.samples = stored.values.size();
    logs_.push_back(std::move(stored));
    return r;
  }
  Result<std::vector<Sample>> history(std::string_view, std::string_view, std::string_view,
                                      LocalMinute, LocalMinute) override {
    return std::vector<Sample>{};
  }
  Result<std::vector<LatestValue>> latest(std::string_view, std::string_view) override {
    return std::vector<LatestValue>{};
  }
  Result<std::optional<LastLog>> last_log(const ThingName&) override {
    std::lock_guard lock(mu_);
    if (logs_.empty()) return std::optional<LastLog>{};
    return std::optional<LastLog>(LastLog{logs_.back().time, logs_.back().period_minutes});
  }

  Result<void> put_dead_letter(const DeadLetter& d) override {
    std::lock_guard lock(mu_);
    dead_.push_back(d);
    return {};
  }
  Result<std::vector<DeadLetter>> dead_letters(std::size_t) override { return dead_; }

  std::vector<PeriodicLog> logs() {
    std::lock_guard lock(mu_);
    return logs_;
  }
  std::vector<DeadLetter> dead() {
    std::lock_guard lock(mu_);
    return dead_;
  }
  void fail_next_appends(int n) {
    std::lock_guard lock(mu_);
    fail_appends_ = n;
  }
  std::map<std::string, PointInfo> points_;
  std::map<std::string, std::string> held_by_;  // point ids another thing holds

 private:
  std::mutex mu_;
  std::set<std::string> things_;
  std::vector<PeriodicLog> logs_;
  std::vector<DeadLetter> dead_;
  int fail_appends_ = 0;
};

class FakeCommands final : public CommandPublisher {
 public:
  Result<void> publish(const std::string& topic, std::string payload) override {
    sent.emplace_back(topic, std::move(payload));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> sent;
};

// Records what the router hands to the live path (the realtime hub in nbmsd).
class FakeLive final : public LiveSink {
 public:
  void on_realtime(const RealtimeUpdate& update) override { realtime.push_back(update); }
  void on_control_result(const ControlResult& result) override { results.push_back(result); }
  std::vector<RealtimeUpdate> realtime;
  std::vector<ControlResult> results;
};

// Records what the router hands to the alarm service; answers `result`, or
// fails with `error` (a storage failure) while `fail` is set.
class FakeAlarms final : public AlarmSink {
 public:
  Result<EventResult> on_alarm(const AlarmEvent& event) override {
    if (fail) return std::unexpected(*fail);
    alarms.push_back(event);
    return result;
  }
  Result<EventResult> on_disconnect(const DisconnectEvent& event) override {
    if (fail) return std::unexpected(*fail);
    disconnects.push_back(event);
    return result;
  }
  Result<void> on_periodic_log(const ThingName& thing, int period_minutes) override {
    if (fail) return std::unexpected(*fail);
    logs.emplace_back(thing.full(), period_minutes);
    return {};
  }
  EventResult result = EventResult::applied;
  std::optional<Error> fail;
  std::vector<std::pair<std::string, int>> logs;
  std::vector<AlarmEvent> alarms;
  std::vector<DisconnectEvent> disconnects;
};

}  // namespace nbms::testing
