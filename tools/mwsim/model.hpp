#pragma once
// The middleware simulator's model: which points a simulated MW has, what values
// they take at a given simulated time, and the MW protocol messages that carry
// them (docs/mw-protocol.md). Pure: no MQTT, no clock, no threads.
//
// Values are a deterministic function of (seed, thing, point, simulated time):
// re-running with the same seed gives the same point list and the same value for
// the same time, whether the time is reached live, in a backfill or after a
// restart. Analog values wander within plausible bounds (smooth value noise, a
// bounded random walk), equipment runs on an occupancy schedule (weekdays about
// 07-19), and meters are cumulative totals of a load profile, monotonic in time.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/time.hpp"

namespace nbms::mwsim {

class Replay;

// How a point's value is produced.
enum class Behavior : std::uint8_t {
  outdoor_temp,     // seasonal + daily outdoor air temperature (°C)
  zone_temp,        // follows the equipment's setpoint while it runs, drifts when off
  supply_air_temp,  // AHU discharge: near its setpoint while running
  mixed_air_temp,   // mix of return and outdoor air
  free_analog,      // center ± amplitude (humidity, ...)
  running_analog,   // center ± amplitude while the equipment runs, off_value when off
  filter_dp,        // differential pressure rising over the month (filter loading)
  setpoint,         // base, occasionally moved by a step (writable AV)
  binary_status,    // BI: equipment runs (schedule, with rare trips)
  binary_command,   // BO/BV: equipment is commanded on (schedule)
  mode_state,       // MSV operating mode 1 cool, 2 heat, 3 fan, 4 auto by season
  speed_state,      // MSV fan speed 1..states
  elec_energy,      // cumulative kWh
  elec_power,       // kW, consistent with elec_energy
  gas_volume,       // cumulative Nm3
  gas_flow,         // Nm3/h, consistent with gas_volume
  replay,           // a column of the LBNL Building 59 CSVs
};

struct PointDef {
  // What `init` announces.
  std::string point_id;
  std::string object_type;  // AI AO AV BI BO BV MSV
  std::string name;         // the part of point_id after ':'
  std::string equipment;    // Point_Info, e.g. AHU/AHU_0101/0101_AHUCOMP_U
  std::string location;     // Point_Location, e.g. Sim Building B001/3F/Machine Room
  std::string unit;         // Point_Unit
  bool writable = false;

  // How its values are made.
  Behavior behavior = Behavior::free_analog;
  std::uint64_t key = 0;        // noise key of the point
  std::uint64_t equip_key = 0;  // shared by the points of one piece of equipment
  double center = 0;            // base / setpoint / mean; for meters: kW or Nm3/h at full load
  double amplitude = 0;
  double lo = 0;  // clamp bounds
  double hi = 0;
  double off_value = 0;
  double step = 0;  // setpoint step
  int decimals = 1;
  int states = 0;  // multi-state count
  int replay_column = -1;
};

struct SimConfig {
  std::string customer = "C000001";
  std::string building = "B001";
  std::string building_name;  // Point_Location prefix; empty = "Sim Building <building>"
  int points = 120;           // generated points per thing (replay points come on top)
  std::uint64_t seed = 42;
};

// `<customer>_<building>_<index as two digits or more>`.
std::string thing_name(std::string_view customer, std::string_view building, int index);

// Topic of a MW message: `<thing>/<point>`, or with `legacy` the AWS basic-ingest
// form `$aws/rules/Rule_<thing>/<thing>/<point>`.
std::string topic_for(std::string_view thing, std::string_view point, bool legacy);

// The generated point list of thing `index` (1-based): exactly `config.points`
// points of AHUs, VAVs, FCUs, PACs and electricity and gas meters.
std::vector<PointDef> make_points(const SimConfig& config, int index);

// The replay points (one per Replay::columns() entry), ids prefixed for thing `index`.
std::vector<PointDef> make_replay_points(const SimConfig& config, int index);

// A value as it goes on the wire: a number or null (the MW could not read the point).
using Value = std::optional<double>;

// Message payloads (docs/mw-protocol.md).
std::string init_message(const std::vector<PointDef>& points, LocalMinute time);
std::string periodic_log_message(const std::vector<PointDef>& points,
                                 const std::vector<Value>& values, LocalMinute time,
                                 int period_minutes = 15);
std::string timestamp_last_request(std::string_view request_id);
// `Realtime`: the listed points (indices into `points`) with their values.
std::string realtime_message(const std::vector<PointDef>& points,
                             const std::vector<std::pair<std::size_t, Value>>& values,
                             LocalMinute time);
// `Control_Result`: accepted with the point's new value, or failed with a reason.
std::string control_result_message(std::string_view request_id, std::string_view point_id,
                                   bool accepted, Value value, std::string_view message);

// A message received on the thing's command topic.
struct Command {
  std::string msg_type;
  std::string request_id;           // empty if absent
  std::optional<LocalMinute> time;  // Timestamp_Last: null = nothing stored yet
  int period = 15;
  std::vector<std::string> point_ids;  // Subscribe, Unsubscribe
  std::int64_t lease_s = 0;            // Subscribe: 1..86400
  std::string point_id;                // Control (empty if absent)
  std::optional<double> value;         // Control: nullopt if absent or not a number
  int priority = 16;                   // Control: 16 if absent
};
// Parses a command-topic payload. Fails if it is not a JSON object with a string
// msg_type; for Timestamp_Last also if `time` is neither null nor a valid time; for
// Subscribe and Unsubscribe if `point_ids` is not a list of strings or (Subscribe)
// `lease` is not an integer 1..86400; for Control if it has no request_id (there
// would be nobody to answer). Other faults of a Control are answered by the MW
// with a failed Control_Result.
Result<Command> parse_command(std::string_view payload);

// The first 15-minute grid time strictly after `t` (0, 15, 30, 45).
LocalMinute next_slot_after(LocalMinute t);
// `t` rounded down to the 15-minute grid.
LocalMinute floor_slot(LocalMinute t);
// Monday = 0 ... Sunday = 6.
int weekday(LocalMinute t);

// One simulated middleware box.
class SimThing {
 public:
  // `replay` (may be null) adds its points when `index` is 1.
  SimThing(const SimConfig& config, int index, std::shared_ptr<const Replay> replay = nullptr);

  const std::string& name() const { return name_; }
  int index() const { return index_; }
  const std::vector<PointDef>& points() const { return points_; }
  // Index of the point with this id.
  std::optional<std::size_t> find(std::string_view point_id) const;

  // The value of every point at `time`, in point order.
  std::vector<Value> values(LocalMinute time) const;
  Value value(std::size_t i, LocalMinute t) const;
  // The value streamed live at `minutes` (simulated minutes since 2000-01-01,
  // with a fraction): analog values move between the minute values instead of
  // jumping once a minute; binary and multi-state values are the minute's.
  Value live_value(std::size_t i, double minutes) const;

  // A Control: from now on the point holds `v` (at every time, live and periodic),
  // as a device holds a commanded value until it is relinquished.
  void write(std::size_t point, double v) { written_.at(point) = v; }
  std::optional<double> written(std::size_t point) const { return written_.at(point); }

  std::string init(LocalMinute time) const { return init_message(points_, time); }
  std::string periodic_log(LocalMinute time) const {
    return periodic_log_message(points_, values(time), time);
  }

 private:
  struct MeterCache {
    std::uint32_t day = 0;  // days since 2000-01-01 whose start `total` is
    double total = 0;       // meter reading at 00:00 of `day`
    bool valid = false;
  };
  double meter_reading(std::size_t point, LocalMinute time) const;

  std::string name_;
  int index_;
  std::uint64_t seed_;
  std::vector<PointDef> points_;
  std::unordered_map<std::string, std::size_t> by_id_;  // point id -> index in points_
  std::vector<std::optional<double>> written_;          // by Control, one per point
  std::shared_ptr<const Replay> replay_;
  mutable std::vector<MeterCache> meter_cache_;  // one per point (used by meters)
};

// What a simulated MW publishes in answer: `point` is the topic's point part.
struct Outgoing {
  std::string point;  // "realtime" or "control_result"
  std::string payload;
  bool accepted = true;  // false for a failed Control_Result
};

// The live side of one simulated MW (docs/mw-protocol.md): realtime streams under
// leases (Subscribe / Unsubscribe) and writes (Control). Pure: the caller passes
// a monotonic clock in milliseconds for leases and pacing and the simulated time
// for values, and publishes what it gets back.
class LiveSession {
 public:
  // Each streamed point is sent at least every `interval_ms`.
  LiveSession(SimThing& thing, std::int64_t interval_ms);

  // A command from nbmsd. Subscribe starts (or renews the lease of) the listed
  // points that exist; Unsubscribe stops them; Control writes a writable point
  // and is answered at once. Other commands give nothing.
  std::vector<Outgoing> handle(const Command& command, std::int64_t now_ms, double sim_minutes);

  // The Realtime message of the points due at `now_ms` (nullopt: none due),
  // with those due within half an interval. Streams whose lease ran out end here. An analog value
  // that would repeat the last one sent is moved by one step of its last decimal, so a watcher sees
  // it live; written (controlled) values are sent as written.
  std::optional<std::string> due(std::int64_t now_ms, double sim_minutes);
  // When due() next has work (nullopt: nothing is streamed).
  std::optional<std::int64_t> next_due_ms() const;
  // Points streamed now (leases not yet ended at `now_ms`).
  std::size_t streaming(std::int64_t now_ms) const;

 private:
  struct Stream {
    std::int64_t lease_until_ms = 0;
    std::int64_t next_ms = 0;
    Value last;
  };
  Outgoing control(const Command& c, std::int64_t now_ms, double sim_minutes);

  SimThing& thing_;
  std::int64_t interval_ms_;
  std::map<std::size_t, Stream> streams_;  // by point index: messages list points in order
};

}  // namespace nbms::mwsim
