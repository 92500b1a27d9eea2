#pragma once
// Ports: the abstract interfaces the domain and the ingest path need from the
// outside world. Adapters (storage/RocksDB, mqtt/Paho) implement them; unit tests
// implement them with in-memory fakes. All methods are thread-safe.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/model.hpp"

namespace nbms {

// Customers, buildings and registered things.
class Registry {
 public:
  virtual ~Registry() = default;
  // already_exists if the id is taken.
  virtual Result<void> create_customer(const Customer& c) = 0;
  virtual Result<std::vector<Customer>> customers() = 0;
  virtual Result<Customer> customer(std::string_view id) = 0;  // not_found
  // not_found if the customer does not exist; already_exists if the building does.
  virtual Result<void> create_building(const Building& b) = 0;
  virtual Result<std::vector<Building>> buildings(std::string_view customer) = 0;
  virtual Result<Building> building(std::string_view customer, std::string_view id) = 0;
  // not_found if the thing's building does not exist; already_exists if registered.
  virtual Result<void> create_thing(const Thing& t) = 0;
  virtual Result<Thing> thing(std::string_view name) = 0;  // not_found
  virtual Result<std::vector<Thing>> things(std::string_view customer,
                                            std::string_view building) = 0;
};

// A point id that another registered thing of the same building holds: that
// thing's point record names it, or that thing has reported values for it.
// Point ids are unique within a building (its history is keyed by building and
// point id, as the REST API addresses it), so the second thing's point and
// values are refused rather than mixed into the first one's history
// (docs/mw-protocol.md, "Point ids").
struct PointConflict {
  std::string point_id;
  std::string holder;  // the thing that holds it
};

struct PointChanges {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t unchanged = 0;
  std::size_t removed = 0;
  std::size_t unknown = 0;               // delete named a point the thing does not have
  std::vector<PointConflict> conflicts;  // init points refused (not stored)
};

// Point metadata of a building.
class PointStore {
 public:
  virtual ~PointStore() = default;
  // Creates or updates the points of an `init` (declared = true). Idempotent.
  // Points another thing of the building holds are left alone and listed in
  // `conflicts`.
  virtual Result<PointChanges> upsert_points(const ThingName& thing,
                                             const std::vector<PointInfo>& points) = 0;
  // Removes points of this thing from the point list; their history stays.
  virtual Result<PointChanges> remove_points(const ThingName& thing,
                                             const std::vector<std::string>& point_ids) = 0;
  virtual Result<std::vector<PointInfo>> points(std::string_view customer,
                                                std::string_view building) = 0;
};

struct LastLog {
  LocalMinute time;
  int period_minutes = 15;
};

struct AppendResult {
  std::size_t samples = 0;               // values stored
  std::size_t undeclared = 0;            // points first seen in this log and listed as undeclared
  std::vector<PointConflict> conflicts;  // values refused: another thing holds the point
};

// The 15-minute history.
class SeriesStore {
 public:
  virtual ~SeriesStore() = default;
  // Stores every value of the log; durable when it returns. Samples of points no
  // `init` announced are stored too, and those points are listed as undeclared.
  // Values of points another thing of the building holds are not stored; they
  // are listed in `conflicts`.
  // A second log for the same thing and time overwrites the values it repeats.
  virtual Result<AppendResult> append(const PeriodicLog& log) = 0;
  // Samples of one point with from <= time <= to, ascending.
  virtual Result<std::vector<Sample>> history(std::string_view customer, std::string_view building,
                                              std::string_view point_id, LocalMinute from,
                                              LocalMinute to) = 0;
  // Latest sample of every point of the building that has one, by point id.
  virtual Result<std::vector<LatestValue>> latest(std::string_view customer,
                                                  std::string_view building) = 0;
  // The same, one value at a time without copying the point ids (`point_id`
  // is valid during the call only): the REST `latest` writes its answer from
  // it. The default goes through latest().
  struct LatestView {
    std::string_view point_id;
    LocalMinute time;
    double value = 0;
  };
  virtual Result<void> visit_latest(std::string_view customer, std::string_view building,
                                    const std::function<void(const LatestView&)>& visit) {
    auto all = latest(customer, building);
    if (!all) return std::unexpected(all.error());
    for (const auto& v : *all) visit({v.point_id, v.time, v.value});
    return {};
  }
  // Time and period of the newest periodic log stored for the thing, if any
  // (answers timestamp_last).
  virtual Result<std::optional<LastLog>> last_log(const ThingName& thing) = 0;
};

// Messages the router refused, with their raw payload; bounded.
class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
  virtual Result<void> put_dead_letter(const DeadLetter& letter) = 0;
  // Newest first.
  virtual Result<std::vector<DeadLetter>> dead_letters(std::size_t limit) = 0;
};

// Messages the ingest limiter held back because their thing went over its
// rate (docs/reliability.md, per-thing limits): stored before the broker's
// message is let go, taken in arrival order per thing, released once handled.
struct HeldMessage {
  std::uint64_t seq = 0;  // per thing, increasing
  std::string topic;
  std::string payload;
};
struct HeldBacklog {
  std::string thing;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;     // payload bytes
  std::uint64_t next_seq = 0;  // one past the newest held
};
class SpoolStore {
 public:
  virtual ~SpoolStore() = default;
  virtual Result<void> hold(const std::string& thing, std::uint64_t seq, std::string_view topic,
                            std::string_view payload) = 0;
  // The oldest held message of a thing, if any.
  virtual Result<std::optional<HeldMessage>> first_held(const std::string& thing) = 0;
  virtual Result<void> release(const std::string& thing, std::uint64_t seq) = 0;
  // Every thing with held messages (read once at start).
  virtual Result<std::vector<HeldBacklog>> held_backlogs() = 0;
};

// What purging one thing deleted (docs/storage.md, "Purging a thing"): the
// number of records per kind. Certificates, the building's alarm history and
// the audit trail are kept, so they are not counted here.
struct PurgedData {
  std::size_t thing = 0;            // the registry record (1)
  std::size_t points = 0;           // point records of the thing
  std::size_t series = 0;           // series dictionary entries (point id <-> ordinal)
  std::size_t sealed_days = 0;      // days the thing had sealed (markers)
  std::size_t rows = 0;             // unsealed periodic logs
  std::size_t periodic_blocks = 0;  // sealed day blocks of its points (all months)
  std::size_t latest = 0;           // its latest-values record (0 or 1)
  std::size_t spool = 0;            // messages held back by the per-thing limits
  std::size_t current_alarms = 0;
  std::size_t alarm_marks = 0;
  std::size_t links = 0;
  // Point ids the thing reported that another thing of the building also
  // reports or owns: their points and history stay (they are not its alone).
  std::size_t shared_points_kept = 0;
};

// Deletes every stored record of one thing, in one atomic write. not_found if
// the thing is not registered. The caller serialises it with ingest of that
// thing (nbmsd runs it on the ingest worker).
class ThingPurger {
 public:
  virtual ~ThingPurger() = default;
  virtual Result<PurgedData> purge_thing(const ThingName& thing) = 0;
};

// Sends commands and answers to a middleware on its command topic (`<thing>`).
class CommandPublisher {
 public:
  virtual ~CommandPublisher() = default;
  // Queues a QoS 1 publish; never blocks on the network.
  virtual Result<void> publish(const std::string& topic, std::string payload) = 0;
};

// Receives what a MW streams live (not stored): realtime values and control
// results. Called on the ingest worker; must not block (hand off and return).
class LiveSink {
 public:
  virtual ~LiveSink() = default;
  virtual void on_realtime(const RealtimeUpdate& update) = 0;
  virtual void on_control_result(const ControlResult& result) = 0;
};

// Told that a registered thing sent a message (the overview's "last seen").
// Called on the ingest worker, for messages as they arrive (not again when a
// held-back one is handled): ordered with everything else that runs there, a
// thing's purge included, so a purged name's activity cannot come back.
// Must not block.
class ActivitySink {
 public:
  virtual ~ActivitySink() = default;
  virtual void on_activity(const std::string& thing, std::int64_t at_ms) = 0;
};

// Wall clock, injectable for tests.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ms() const = 0;  // unix epoch milliseconds
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override;
};

}  // namespace nbms
