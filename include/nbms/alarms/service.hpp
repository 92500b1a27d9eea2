#pragma once
// The alarm service: the one writer of alarm state. The ingest router hands it
// MW alarm and disconnect messages (AlarmSink, on the ingest worker); the HTTP
// side calls it for the console (list, history, acknowledge, shelve, unshelve,
// comment, health, links; on HTTP threads). Each change is read, decided by the
// pure state machine (nbms/core/alarm.hpp) and committed to the AlarmStore in
// one atomic write, under one mutex, so a MW event and an operator action on
// the same alarm never overwrite each other.
//
// Owns that mutex, the listeners and the liveness table (newest periodic_log per
// MW, in memory); the store, the point store and the clock outlive it. Thread-safe. Access control
// (who may act on which customer's alarms) is the caller's: the service trusts the user name given.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/alarm.hpp"
#include "nbms/core/alarm_ports.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::alarms {

// Which current alarms to list. Empty/unset members do not filter.
struct ListFilter {
  std::string thing;                // full thing name
  std::string equipment;            // prefix of the point's equipment path (Point_Info)
  std::optional<int> max_priority;  // only priority <= this (more urgent)
  bool include_shelved = true;
  bool include_suppressed = true;
};

struct AckResult {
  std::size_t acknowledged = 0;
  std::size_t already = 0;          // were acknowledged before
  std::vector<AlarmKey> not_found;  // not in the current set (e.g. returned to normal)
};

// Called after every commit, on the committing thread (ingest worker, HTTP
// thread or ticker) while the service's mutex is held, with what was written;
// must not block and must not call back into the service (hand off and
// return). For WebSocket push and notifications: each history transition
// carries the alarm as it is now; notify on `raised` transitions whose alarm is
// not `suppressed` (and not shelved at that time).
using Listener = std::function<void(const AlarmUpdate&)>;

class Service final : public AlarmSink {
 public:
  // `points` (optional) serves the equipment filter.
  Service(AlarmStore& store, const Clock& clock, PointStore* points = nullptr);

  // Adds a listener (WebSocket push, notifications ...); call before events flow.
  void add_listener(Listener listener);

  // AlarmSink (ingest worker).
  Result<EventResult> on_alarm(const AlarmEvent& event) override;
  Result<EventResult> on_disconnect(const DisconnectEvent& event) override;
  Result<void> on_periodic_log(const ThingName& thing, int period_minutes) override;

  // Liveness: raises the `$stale` alarm of every MW whose newest periodic_log
  // arrived more than two of its periods ago (call it every minute or so);
  // how many were raised. A MW is judged from its first periodic_log after
  // nbmsd started (its MQTT last will covers a MW that died meanwhile).
  Result<std::size_t> check_liveness();

  // The current alarms of a building, unacknowledged first, then by priority
  // (most urgent first), then newest raise first. Shelves that have expired
  // are recorded as such (shelve_expired) before the list is read.
  Result<std::vector<Alarm>> current(std::string_view customer, std::string_view building,
                                     const ListFilter& filter = {});
  Result<std::vector<AlarmTransition>> history(const AlarmHistoryQuery& query);

  // Acknowledges every listed alarm in one atomic commit (bulk or single).
  Result<AckResult> acknowledge(const std::vector<AlarmKey>& keys, std::string_view user);
  // not_found if the alarm is not current; invalid_argument for a bad expiry.
  Result<Alarm> shelve(const AlarmKey& key, std::string_view user, std::int64_t until_ms,
                       std::string_view reason = {});
  Result<Alarm> unshelve(const AlarmKey& key, std::string_view user);
  Result<Alarm> comment(const AlarmKey& key, std::string_view user, std::string_view text);
  // Records shelve_expired for the building's expired shelves; how many.
  Result<std::size_t> expire_shelves(std::string_view customer, std::string_view building);

  // Health figures of a building over [from_ms, to_ms).
  Result<AlarmHealth> health(std::string_view customer, std::string_view building,
                             std::int64_t from_ms, std::int64_t to_ms,
                             const HealthOptions& options = {});

  // Purges a thing (DELETE .../things/{t}): forgets its liveness (no `$stale`
  // is raised for it afterwards) and runs `purger`, which deletes its alarm
  // records among the rest, under the service's locks, so that no alarm
  // commit of the thing interleaves. Listeners get an update that erases the
  // thing's current alarms (consoles drop them), without history: the
  // building's alarm history keeps what happened.
  Result<PurgedData> purge_thing(const ThingName& thing, ThingPurger& purger);

  // Connection state of the building's MWs and devices, and its history (the
  // transitions of the disconnect alarms) in [from_ms, to_ms).
  Result<std::vector<LinkState>> links(std::string_view customer, std::string_view building);
  Result<std::vector<AlarmTransition>> link_history(std::string_view customer,
                                                    std::string_view building, std::int64_t from_ms,
                                                    std::int64_t to_ms);

 private:
  Result<void> commit(const AlarmUpdate& update);  // under mu_
  Result<Alarm> current_or_not_found(const AlarmKey& key);
  Result<std::size_t> expire_locked(std::string_view customer, std::string_view building);

  AlarmStore& store_;
  const Clock& clock_;
  PointStore* points_;
  std::mutex mu_;  // serialises every read-modify-write of alarm state
  std::vector<Listener> listeners_;

  struct Live {
    ThingName thing;
    std::int64_t last_log_ms = 0;
    int period_minutes = 15;
    std::optional<bool> stale;  // whether its `$stale` alarm is active; unknown until read
  };
  std::mutex live_mu_;                // guards live_; taken before mu_ when both are needed
  std::map<std::string, Live> live_;  // by full thing name
};

}  // namespace nbms::alarms
