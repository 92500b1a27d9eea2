#include "mwsim/alarms.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace nbms::mwsim {
namespace {

// Priorities as a BACnet Notification Class would give them: mostly low.
int pick_priority(std::mt19937_64& rng) {
  const auto r = std::uniform_int_distribution<int>(0, 99)(rng);
  if (r < 5) return 20;    // critical
  if (r < 20) return 80;   // high
  if (r < 50) return 150;  // medium
  return 200;              // low
}

}  // namespace

std::string alarm_message(std::string_view alarm_id, std::string_view status, EventStamp stamp,
                          std::string_view point_id, std::string_view name, int priority,
                          std::string_view text) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Alarm";
  j["alarm_id"] = alarm_id;
  j["status"] = status;
  j["time"] = stamp.time_string();
  if (stamp.seq > 0) j["seq"] = stamp.seq;
  if (status != "clear") {
    j["point_id"] = point_id;
    j["name"] = name;
    j["priority"] = priority;
  }
  if (!text.empty()) j["text"] = text;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

AlarmSim::AlarmSim(const SimThing& thing, AlarmSimOptions options)
    : thing_(thing), options_(options), rng_(options.seed * 7919 + thing.index()) {}

std::string AlarmSim::raise(const std::string& id, std::size_t point, LocalMinute time, int second,
                            int priority) {
  const auto& p = thing_.points().at(point);
  std::string name = p.name + " alarm";
  active_[id] = Active{p.point_id, name, priority};
  ++raised_;
  return alarm_message(id, "raise", next_stamp(id, time, second), p.point_id, name, priority,
                       "simulated: " + p.name + " out of range");
}

EventStamp AlarmSim::next_stamp(const std::string& id, LocalMinute time, int second) {
  EventStamp s{std::uint64_t{time.minutes()} * 60 + static_cast<std::uint64_t>(second), 0};
  if (auto it = last_.find(id); it != last_.end() && !(it->second < s)) {
    s = EventStamp{it->second.seconds, it->second.seq + 1};
  }
  last_[id] = s;
  return s;
}

std::string AlarmSim::clear(const std::string& id, LocalMinute time, int second) {
  active_.erase(id);
  ++cleared_;
  return alarm_message(id, "clear", next_stamp(id, time, second), {}, {}, 0,
                       "simulated: back to normal");
}

std::vector<std::string> AlarmSim::period(LocalMinute time) {
  std::vector<std::string> out;
  const auto& points = thing_.points();
  if (points.empty()) return out;
  // The burst clears only when its time has come (never in its own log: a
  // flood that clears within the same second is no flood); about half of the
  // random alarms clear at every log.
  const bool clear_burst = options_.burst_clear_after > 0 && since_burst_ >= 0 &&
                           since_burst_ == options_.burst_clear_after;
  if (since_burst_ >= 0) ++since_burst_;
  std::vector<std::string> ids;
  ids.reserve(active_.size());
  for (const auto& [id, a] : active_) ids.push_back(id);
  for (const auto& id : ids) {
    if (id.starts_with("BURST-")) {
      if (clear_burst) out.push_back(clear(id, time, 1));
    } else if (std::bernoulli_distribution(0.5)(rng_)) {
      out.push_back(clear(id, time, 1));
    }
  }
  if (options_.per_period > 0) {
    const auto n = std::poisson_distribution<int>(options_.per_period)(rng_);
    for (int i = 0; i < n; ++i) {
      const auto p = std::uniform_int_distribution<std::size_t>(0, points.size() - 1)(rng_);
      const std::string id = "AL-" + std::to_string(p);
      if (active_.contains(id)) continue;
      out.push_back(raise(id, p, time, 2 + i % 50, pick_priority(rng_)));
    }
  }
  // One point that chatters: raise/clear `chatter` times within seconds.
  for (int c = 0; c < options_.chatter; ++c) {
    out.push_back(raise("CHATTER-0", 0, time, 55, 150));
    out.push_back(clear("CHATTER-0", time, 55));
  }
  return out;
}

std::vector<std::string> AlarmSim::burst(LocalMinute time) {
  std::vector<std::string> out;
  since_burst_ = 0;
  const auto& points = thing_.points();
  for (std::size_t i = 0; i < options_.burst && !points.empty(); ++i) {
    const std::string id = "BURST-" + std::to_string(i);
    if (active_.contains(id)) continue;
    out.push_back(raise(id, i % points.size(), time, static_cast<int>(i % 60), 80));
  }
  return out;
}

}  // namespace nbms::mwsim
