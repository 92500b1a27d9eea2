#pragma once
// The router: takes one MQTT message (topic + payload), decides what it is and
// hands it to its handler (init, delete, periodic_log, timestamp_last; realtime and
// control_result go to the live sink, not to storage; alarm and disconnect to
// the alarm sink, which stores them before it returns). A message
// it cannot take is rejected with a reason, counted, logged (rate-limited) and
// kept as a dead letter. Runs on the ingest pipeline's thread only (it owns a
// Decoder); its counters may be read from any thread.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "nbms/core/alarm_ports.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/protocol/codec.hpp"

namespace nbms::ingest {

// Why a message was rejected; the names are the reason codes of docs/mw-protocol.md.
enum class Reject : std::size_t {
  bad_topic,
  unregistered,
  unknown_type,
  reserved,
  too_large,
  malformed,
  throttled,  // over the thing's rate with its held-back backlog full
  kCount,
};
std::string_view to_string(Reject r);

struct Counters {
  std::atomic<std::uint64_t> messages{0};         // every message handled (stored or rejected)
  std::atomic<std::uint64_t> samples{0};          // samples durably stored
  std::atomic<std::uint64_t> missing{0};          // periodic entries without a value (null data)
  std::atomic<std::uint64_t> realtime{0};         // realtime messages handed to the live sink
  std::atomic<std::uint64_t> control_results{0};  // control results handed to the live sink
  std::atomic<std::uint64_t> alarms{0};           // alarm messages applied (state changed)
  std::atomic<std::uint64_t> disconnects{0};      // disconnect messages applied
  // Alarm/disconnect messages accepted but changing nothing: duplicate or
  // out-of-order (stale) deliveries, clears of alarms not current.
  std::atomic<std::uint64_t> alarms_ignored{0};
  std::atomic<std::uint64_t> rejected{0};
  // Points of an init and values of a periodic_log refused because another
  // thing of the building holds their point id (the rest of the message is
  // stored; the message is recorded as a `point_conflict` dead letter).
  std::atomic<std::uint64_t> point_conflicts{0};
  // Per-thing limits: messages held back (durably) because their thing was
  // over its rate, in all; and how many are held back now.
  std::atomic<std::uint64_t> deferred{0};
  std::atomic<std::uint64_t> held{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Reject::kCount)> by_reason{};
};

struct Outcome {
  bool accepted = false;
  std::string reason;  // reason code when rejected
  std::string detail;  // precise message when rejected
  std::size_t samples = 0;
};

struct RouterOptions {
  std::size_t max_message_bytes = 4u << 20;
  // Per-thing limits, a token bucket per registered thing: `thing_rate`
  // messages per second on average, `thing_burst` at once. A message over the
  // rate is held back in the spool (durable, so it may be acknowledged) and
  // handled later at the thing's rate, or at once while nothing else arrives;
  // a thing's later messages queue behind it (its order is kept). Once
  // `thing_backlog_bytes` of a thing are held back, further messages are
  // rejected as `throttled`. thing_rate 0 (or no spool): no limit.
  double thing_rate = 0;
  double thing_burst = 1;
  std::uint64_t thing_backlog_bytes = 64u << 20;
};

class Router {
 public:
  struct Ports {
    Registry& registry;
    PointStore& points;
    SeriesStore& series;
    DeadLetterStore& dead_letters;
    CommandPublisher& commands;
    const Clock& clock;
    // Where realtime values and control results go (the realtime hub). Without
    // one they are rejected as reserved, as before the hub existed.
    LiveSink* live = nullptr;
    // Where alarm and disconnect messages go (the alarm service). Without one
    // they are rejected as reserved.
    AlarmSink* alarms = nullptr;
    // Where messages over their thing's rate wait (RocksStore). Without one
    // there are no per-thing limits.
    SpoolStore* spool = nullptr;
    // Told of each arriving message of a registered thing (nbmsd's overview).
    ActivitySink* activity = nullptr;
  };

  Router(Ports ports, RouterOptions options);

  // Handles one message. Returns when its effects (or its rejection) are durable,
  // or it was durably held back (Outcome::reason "held"). An error means
  // storage could not take the message now: nothing was counted, and the
  // caller should retry it later.
  Result<Outcome> handle(std::string_view topic, std::string_view payload);

  // Reads what the spool holds from an earlier run (call once, before handle).
  Result<void> load_backlog();
  // True while messages are held back.
  bool has_backlog() const { return counters_.held.load() > 0; }
  // Handles the oldest held-back message of the next thing in turn (round
  // robin) that has a token, or of any thing when `idle` (nothing else is
  // arriving). False if none was eligible; an error as for handle().
  Result<bool> release_one(bool idle);

  const Counters& counters() const { return counters_; }

  // Forgets the thing's rate bucket and held-back backlog after it was purged
  // (its spool entries are gone): the held count drops by its backlog, and a
  // thing registered again under the name starts with a full bucket.
  void forget_thing(const std::string& thing);

 private:
  struct Flow {  // one registered thing's bucket and held-back backlog
    bool seen = false;
    double tokens = 0;
    std::int64_t refilled_ms = 0;
    std::uint64_t held = 0;
    std::uint64_t held_bytes = 0;
    std::uint64_t next_seq = 0;
  };

  bool limited() const { return ports_.spool != nullptr && options_.thing_rate > 0; }
  void refill(Flow& flow);
  Result<Outcome> admit(std::string_view topic, std::string_view payload, bool limit);
  Result<Outcome> hold_back(Flow& flow, const std::string& thing, std::string_view topic,
                            std::string_view payload);
  Result<Outcome> dispatch(const protocol::Envelope& env, const ThingName& thing,
                           std::string_view payload);
  Result<Outcome> reject(std::string_view topic, std::string_view payload, Reject why,
                         std::string detail);
  // Records the part of a stored message that was refused (PointConflict).
  Result<void> refuse_points(std::string_view topic, std::string_view payload,
                             const std::vector<PointConflict>& conflicts, std::string_view what);
  Result<void> put_dead_letter(std::string_view topic, std::string_view payload,
                               std::string_view reason, const std::string& detail);
  void log_dead_letter(std::string_view topic, std::string_view reason, const std::string& detail);

  Ports ports_;
  RouterOptions options_;
  protocol::Decoder decoder_;
  Counters counters_;
  // Registered things that sent something (bounded by the registry), ordered
  // for the round robin; cursor_ is the thing released last.
  std::map<std::string, Flow, std::less<>> flows_;
  std::string cursor_;
  // Rate limit for rejection logs: at most kLogBurst per kLogWindowMs.
  std::int64_t log_window_start_ms_ = 0;
  std::uint64_t logged_in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace nbms::ingest
