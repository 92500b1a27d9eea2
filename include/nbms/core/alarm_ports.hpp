#pragma once
// Ports of the alarm domain: where alarms are kept (AlarmStore, implemented by
// storage/RocksStore and by in-memory fakes in tests) and where the ingest
// router hands alarm and disconnect messages (AlarmSink, implemented by
// alarms::Service). All methods are thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nbms/core/alarm.hpp"
#include "nbms/core/error.hpp"

namespace nbms {

struct AlarmHistoryQuery {
  std::string customer;
  std::string building;
  std::int64_t from_ms = 0;  // inclusive
  std::int64_t to_ms = 0;    // exclusive
  std::size_t limit = 10000;
  bool newest_first = false;
};

class AlarmStore {
 public:
  virtual ~AlarmStore() = default;
  // The current set of a building (every thing), in key order.
  virtual Result<std::vector<Alarm>> current_alarms(std::string_view customer,
                                                    std::string_view building) = 0;
  // The current alarms of one thing.
  virtual Result<std::vector<Alarm>> current_alarms_of(const ThingName& thing) = 0;
  virtual Result<std::optional<Alarm>> current_alarm(const AlarmKey& key) = 0;
  // The newest MW stamp applied to the alarm id, kept after it left the current set.
  virtual Result<std::optional<EventStamp>> alarm_mark(const AlarmKey& key) = 0;
  // Transitions of a building with from_ms <= at_ms < to_ms, in time order
  // (ascending, or newest first), at most `limit`.
  virtual Result<std::vector<AlarmTransition>> alarm_history(const AlarmHistoryQuery& query) = 0;
  // Stored connection states (MWs and devices) of a building / of one thing.
  virtual Result<std::vector<LinkState>> links(std::string_view customer,
                                               std::string_view building) = 0;
  virtual Result<std::vector<LinkState>> links_of(const ThingName& thing) = 0;
  // Writes the whole update (current alarms, history, marks, links) in one
  // atomic batch; durable when it returns.
  virtual Result<void> commit(const AlarmUpdate& update) = 0;
};

// Where the ingest router hands decoded alarm and disconnect messages. Called on
// the ingest worker; returns when the effect is durable (an error: retry later).
class AlarmSink {
 public:
  virtual ~AlarmSink() = default;
  virtual Result<EventResult> on_alarm(const AlarmEvent& event) = 0;
  virtual Result<EventResult> on_disconnect(const DisconnectEvent& event) = 0;
  // A periodic_log of the thing was stored (liveness: clears its `$stale` alarm).
  virtual Result<void> on_periodic_log(const ThingName& thing, int period_minutes) = 0;
};

}  // namespace nbms
