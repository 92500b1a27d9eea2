#pragma once
// Simulated alarms of one MW (docs/mw-protocol.md, `alarm`): a steady trickle
// of raises and clears on random points, a burst (flood) of raises, and a
// chattering point. Pure: the caller gives the simulated time and publishes the
// payloads on `<thing>/alarm`. Owned and used by the simulator's main thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "mwsim/model.hpp"
#include "nbms/core/alarm.hpp"

namespace nbms::mwsim {

struct AlarmSimOptions {
  double per_period = 0;  // average raises per thing per 15-minute log (0: none)
  std::size_t burst = 0;  // raises in one burst when the live phase starts (0: none)
  int chatter = 0;        // raise/clear cycles of one chattering point per log (0: none)
  std::uint64_t seed = 42;
  // The burst alarms stay active until the period() this many logs after the
  // burst's own log clears them (1: the next log); 0: never (they stay active,
  // as a real flood whose cause nobody fixed).
  int burst_clear_after = 0;
};

// `Alarm` payload. `status` is raise, update or clear; name, point and
// priority are written unless it is a clear.
std::string alarm_message(std::string_view alarm_id, std::string_view status, EventStamp stamp,
                          std::string_view point_id, std::string_view name, int priority,
                          std::string_view text);

class AlarmSim {
 public:
  AlarmSim(const SimThing& thing, AlarmSimOptions options);

  // One log period at `time`: clears about half of the active random alarms,
  // raises about `per_period` new ones, (with `chatter`) cycles the
  // chattering point, and clears the burst when `burst_clear_after` logs
  // have passed since it. The period() of the burst's own log never clears it.
  std::vector<std::string> period(LocalMinute time);
  // `burst` raises at `time` on distinct points (alarm ids `BURST-<n>`); they
  // stay active as `burst_clear_after` says.
  std::vector<std::string> burst(LocalMinute time);

  std::size_t active() const { return active_.size(); }
  std::uint64_t raised() const { return raised_; }
  std::uint64_t cleared() const { return cleared_; }

 private:
  struct Active {
    std::string point_id;
    std::string name;
    int priority;
  };
  std::string raise(const std::string& id, std::size_t point, LocalMinute time, int second,
                    int priority);
  std::string clear(const std::string& id, LocalMinute time, int second);
  // The stamp for the next event of `id` at `time`+`second`: never older than
  // the alarm's last one (same second: seq + 1), as a real MW must keep them.
  EventStamp next_stamp(const std::string& id, LocalMinute time, int second);

  const SimThing& thing_;
  AlarmSimOptions options_;
  std::mt19937_64 rng_;
  std::map<std::string, Active> active_;    // by alarm id
  std::map<std::string, EventStamp> last_;  // per alarm id: the last stamp sent
  std::uint64_t raised_ = 0;
  std::uint64_t cleared_ = 0;
  // Logs since the last burst: -1 before any; 0 during the burst's own log.
  int since_burst_ = -1;
};

}  // namespace nbms::mwsim
