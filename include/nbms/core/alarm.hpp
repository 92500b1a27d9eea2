#pragma once
// Alarms and disconnects: records and the pure state machine (no I/O).
//
// States follow ISA-18.2 / IEC 62682: an alarm is active or cleared (the MW
// says which) and unacknowledged or acknowledged (an operator says which). It
// stays in the current set until it is both cleared and acknowledged (return to
// normal). Operators may shelve it (always with an expiry) and comment on it.
// An alarm behind a disconnected MW or device is suppressed: still recorded and
// listed, flagged, and one disconnect alarm stands for it.
//
// Two clocks, on purpose:
// - EventStamp: the MW's own time of an event (building-local, seconds) plus a
//   sequence number. It orders the MW's events of one alarm: an event whose
//   stamp is not newer than the last one applied changes nothing (duplicates
//   and late, out-of-order deliveries are harmless).
// - *_ms: nbmsd's wall clock (unix epoch milliseconds) when something was
//   recorded. History, month partitions, shelve expiry and health figures use
//   it, because operator actions have no MW time.
//
// Every function here is pure: it takes the current records and returns an
// AlarmUpdate (what to write, in one atomic commit) or nothing.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"

namespace nbms {

// The MW's time of an event: seconds since 2000-01-01 00:00 building-local,
// and a counter the MW may use to order several events of one alarm within the
// same second (0 when it does not).
struct EventStamp {
  std::uint64_t seconds = 0;
  std::uint32_t seq = 0;
  // `YYYYMMDDhhmmss`, or `YYYYMMDDhhmm` (seconds 0) as in the other messages.
  static Result<EventStamp> parse(std::string_view time, std::uint32_t seq = 0);
  std::string time_string() const;  // `YYYYMMDDhhmmss`
  auto operator<=>(const EventStamp&) const = default;
};

// Alarm ids: 1..128 bytes of printable ASCII without space, `/ + # " \`. Ids
// starting with `$` are nbmsd's own (disconnect alarms) and refused from a MW.
Result<void> validate_alarm_id(std::string_view id);
// Device names in alarm and disconnect messages: same characters, 1..64 bytes.
Result<void> validate_device(std::string_view device);

// What the MW says about an alarm.
enum class AlarmStatus { raise, update, clear };
std::string_view to_string(AlarmStatus s);

// One `alarm` message from a MW.
struct AlarmEvent {
  ThingName thing;
  std::string alarm_id;
  AlarmStatus status = AlarmStatus::raise;
  EventStamp stamp;
  // Details; on a clear each is optional (an empty / absent one keeps the old).
  std::string point_id;         // the point the alarm is about; may be empty
  std::string device;           // the controller behind the MW it belongs to; may be empty
  std::string name;             // required on raise/update
  std::optional<int> priority;  // 0..255, lower is more urgent (BACnet); required on raise/update
  std::string event_state;      // BACnet Event_State name, e.g. high_limit; may be empty
  std::string text;             // the MW's message text
};

enum class AlarmKind {
  point,       // raised by the MW
  disconnect,  // raised by nbmsd for a disconnected MW or device
  stale,       // raised by nbmsd: the MW sent no periodic_log for two periods
};

// Identity of an alarm: alarm ids are unique per MW (thing), so two MWs of one
// building may use the same ids.
struct AlarmKey {
  ThingName thing;
  std::string alarm_id;
  bool operator==(const AlarmKey&) const = default;
};

struct AlarmComment {
  std::int64_t at_ms = 0;
  std::string user;
  std::string text;
  bool operator==(const AlarmComment&) const = default;
};

// One alarm of the current set (not normal yet).
struct Alarm {
  AlarmKey key;
  AlarmKind kind = AlarmKind::point;
  std::string point_id;
  std::string device;
  std::string name;
  int priority = 0;
  std::string event_state;
  std::string text;

  bool active = true;  // false: cleared by the MW (returned to normal), awaiting ack
  bool acknowledged = false;
  std::int64_t acknowledged_ms = 0;
  std::string acknowledged_by;
  std::optional<std::int64_t> shelved_until_ms;  // shelved while now < this
  std::string shelved_by;
  bool suppressed = false;  // behind a disconnected MW/device

  EventStamp raised_at;         // MW stamp of the raise that opened this occurrence
  EventStamp last_event;        // newest MW event applied
  std::int64_t raised_ms = 0;   // when nbmsd recorded that raise
  std::int64_t updated_ms = 0;  // when nbmsd last changed this record
  std::vector<AlarmComment> comments;

  bool shelved(std::int64_t now_ms) const {
    return shelved_until_ms.has_value() && now_ms < *shelved_until_ms;
  }
  bool operator==(const Alarm&) const = default;
};

// Who/what changed an alarm, as recorded in its history.
enum class TransitionKind {
  raised,          // new occurrence (MW raise, or a disconnect)
  updated,         // MW update of details while active
  cleared,         // MW clear (or reconnect for a disconnect alarm)
  acknowledged,    // operator
  shelved,         // operator
  unshelved,       // operator
  shelve_expired,  // nbmsd, when the shelve's expiry passed
  commented,       // operator
  suppressed,      // nbmsd: its MW/device was disconnected
  unsuppressed,    // nbmsd: its MW/device is back
};
std::string_view to_string(TransitionKind k);
std::optional<TransitionKind> transition_kind_from(std::string_view name);

// One history record: what happened, who did it and when, and the alarm as it
// was afterwards (without its comments: they are transitions of their own).
struct AlarmTransition {
  TransitionKind kind = TransitionKind::raised;
  std::int64_t at_ms = 0;
  std::string user;                 // operator name; empty for the MW and nbmsd
  std::optional<EventStamp> event;  // the MW stamp, for MW events
  std::string text;                 // comment text, or the shelve's reason
  bool removed = false;             // the alarm left the current set (cleared + acked)
  Alarm alarm;
  bool operator==(const AlarmTransition&) const = default;
};

// Connection of a MW (device empty) or of a device behind it, as the MW reports.
struct LinkState {
  ThingName thing;
  std::string device;  // empty: the MW itself
  bool connected = true;
  std::int64_t since_ms = 0;             // nbmsd time of the last change
  std::optional<EventStamp> last_event;  // newest MW stamp applied (none for last wills)
  std::string text;
  bool operator==(const LinkState&) const = default;
};

// One `disconnect` message (also the MW's MQTT last will, which has no time).
struct DisconnectEvent {
  ThingName thing;
  std::string device;  // empty: the MW itself
  bool connected = false;
  std::optional<EventStamp> stamp;
  std::string text;
};

// Everything one event or action changes, written together in one atomic commit.
struct AlarmUpdate {
  std::vector<Alarm> put;                // current alarms to write
  std::vector<AlarmKey> erase;           // current alarms that left the set
  std::vector<AlarmTransition> history;  // in order
  // Newest MW stamp per alarm, kept also after the alarm left the current set,
  // so a late duplicate cannot raise it again.
  std::vector<std::pair<AlarmKey, EventStamp>> marks;
  std::vector<LinkState> links;
  bool empty() const {
    return put.empty() && erase.empty() && history.empty() && marks.empty() && links.empty();
  }
};

// What became of a MW event.
enum class EventResult {
  applied,
  duplicate,  // same stamp as the last applied: no change
  stale,      // older than the last applied: no change
  no_alarm,   // a clear for an alarm that is not current: only its mark is kept
};
std::string_view to_string(EventResult r);

struct EventOutcome {
  EventResult result = EventResult::applied;
  AlarmUpdate update;
};

// The disconnect alarm of a MW (device empty) or device: `$disconnect` or
// `$disconnect:<device>`.
std::string disconnect_alarm_id(std::string_view device);
inline constexpr int kDisconnectPriority = 64;  // BACnet band "high" of property safety

// The disconnected links of one thing: what suppresses its alarms.
struct LinkView {
  bool thing_down = false;
  std::vector<std::string> devices_down;
  // Whether an alarm of this thing is suppressed now.
  bool suppresses(const Alarm& a) const;
};
LinkView link_view(const std::vector<LinkState>& links_of_thing);

// Applies one MW alarm event. `current`: the alarm if it is in the current set;
// `mark`: the newest stamp applied to this alarm id before (kept after it left).
// Rules (docs/mw-protocol.md, `alarm`):
// - stamp <= mark: duplicate / stale, nothing changes;
// - raise or update of an alarm not active: a new occurrence (raised,
//   unacknowledged); of an active alarm: updated (details only, ack kept);
// - clear of an active alarm: cleared, and removed if it was acknowledged;
//   of a cleared alarm: details updated only; of no current alarm: only the mark.
// Suppression is set from `links` on every raise/update.
Result<EventOutcome> apply_event(const std::optional<Alarm>& current,
                                 const std::optional<EventStamp>& mark, const AlarmEvent& event,
                                 const LinkView& links, std::int64_t now_ms);

// Operator actions. Each returns the update to commit; an empty update means
// nothing to do (e.g. already acknowledged). `user` must be non-empty.
Result<AlarmUpdate> acknowledge(const Alarm& alarm, std::string_view user, std::int64_t now_ms);
// Bulk: every alarm not yet acknowledged, in one update.
Result<AlarmUpdate> acknowledge_all(const std::vector<Alarm>& alarms, std::string_view user,
                                    std::int64_t now_ms);

inline constexpr std::int64_t kMaxShelveMs = 30LL * 24 * 3600 * 1000;  // 30 days
inline constexpr std::size_t kMaxCommentBytes = 1000;
inline constexpr std::size_t kMaxComments = 200;  // per alarm occurrence

// Shelves until `until_ms` (must be after now, at most kMaxShelveMs ahead);
// re-shelving moves the expiry. `reason` (optional, <= 1000 bytes) is recorded.
Result<AlarmUpdate> shelve(const Alarm& alarm, std::string_view user, std::int64_t until_ms,
                           std::string_view reason, std::int64_t now_ms);
// invalid_argument if the alarm is not shelved.
Result<AlarmUpdate> unshelve(const Alarm& alarm, std::string_view user, std::int64_t now_ms);
Result<AlarmUpdate> comment(const Alarm& alarm, std::string_view user, std::string_view text,
                            std::int64_t now_ms);
// Alarms whose shelve has expired: shelve_expired transitions (nbmsd's own).
AlarmUpdate expire_shelves(const std::vector<Alarm>& alarms, std::int64_t now_ms);

// Applies a disconnect message. `link`: the stored state of this MW/device if
// any; `alarms_of_thing`: the current alarms of the thing (for suppression and
// for its disconnect alarm); `links_of_thing`: every stored link of the thing.
// - a stamped event older than the link's last stamp is stale;
// - the same status as stored changes nothing (duplicate);
// - disconnected: raises the disconnect alarm, suppresses the alarms behind it;
// - connected: clears the disconnect alarm, lifts what no other link suppresses.
Result<EventOutcome> apply_disconnect(const DisconnectEvent& event,
                                      const std::vector<LinkState>& links_of_thing,
                                      const std::vector<Alarm>& alarms_of_thing,
                                      std::int64_t now_ms);

// ---- liveness ----

// The `$stale` alarm of a MW: connected (as far as MQTT knows) but no
// periodic_log for more than two of its periods.
inline constexpr std::string_view kStaleAlarmId = "$stale";
inline bool is_stale(std::int64_t last_log_ms, int period_minutes, std::int64_t now_ms) {
  return now_ms - last_log_ms > 2LL * period_minutes * 60'000;
}
// Raises (stale) or clears (not stale) the thing's `$stale` alarm; an empty
// update if it already says so. `current`: the `$stale` alarm if current.
AlarmUpdate apply_staleness(const ThingName& thing, bool stale, const std::optional<Alarm>& current,
                            const LinkView& links, std::int64_t now_ms);

// ---- alarm health (ISA-18.2 / EEMUA 191 figures) ----

struct HealthOptions {
  std::int64_t bucket_ms = 10LL * 60 * 1000;
  std::size_t flood_start = 11;                  // a bucket with more than 10 raises starts a flood
  std::size_t flood_end = 5;                     // the first bucket with fewer than 5 ends it
  std::size_t chatter_count = 3;                 // >= 3 raises of one alarm ...
  std::int64_t chatter_window_ms = 60LL * 1000;  // ... within any 60 s
  std::int64_t stale_ms = 24LL * 3600 * 1000;    // active for more than 24 h
  std::size_t top = 10;
};

struct HealthBucket {
  std::int64_t start_ms = 0;
  std::size_t raises = 0;
  bool operator==(const HealthBucket&) const = default;
};
struct Flood {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;  // start of the bucket that ended it (or the range end)
  std::size_t raises = 0;
  std::size_t peak = 0;  // most raises in one bucket
  bool operator==(const Flood&) const = default;
};
struct AlarmCount {
  AlarmKey key;
  std::string point_id;
  std::string name;
  std::size_t raises = 0;
  std::size_t peak_per_window = 0;  // chattering: most raises within one window
  bool operator==(const AlarmCount&) const = default;
};
struct AlarmHealth {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::size_t raises = 0;
  std::vector<HealthBucket> buckets;  // every bucket overlapping [from, to], zeros included
  std::vector<Flood> floods;
  std::int64_t flood_ms = 0;           // total time in flood
  std::vector<AlarmCount> chattering;  // most raises per window first
  std::vector<Alarm> stale;            // oldest first
  std::vector<AlarmCount> top;         // most frequent first
};

// Figures over the `raised` transitions of `history` with from <= at < to,
// and the stale alarms among `current`. A raise counts whatever its
// suppressed/shelved state: the figures measure the alarm system, the console
// shows what an operator has to handle.
AlarmHealth alarm_health(const std::vector<AlarmTransition>& history,
                         const std::vector<Alarm>& current, std::int64_t from_ms,
                         std::int64_t to_ms, std::int64_t now_ms,
                         const HealthOptions& options = {});

// Calendar month (YYYYMM, UTC) of a unix time in ms; the month partition of history.
std::uint32_t utc_yyyymm(std::int64_t unix_ms);

}  // namespace nbms
