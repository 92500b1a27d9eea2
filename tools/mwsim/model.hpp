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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// A message received on the thing's command topic.
struct Command {
  std::string msg_type;
  std::string request_id;           // empty if absent
  std::optional<LocalMinute> time;  // Timestamp_Last: null = nothing stored yet
  int period = 15;
};
// Parses a command-topic payload. Fails if it is not a JSON object with a string
// msg_type; for Timestamp_Last also if `time` is neither null nor a valid time.
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

  // The value of every point at `time`, in point order.
  std::vector<Value> values(LocalMinute time) const;
  Value value(std::size_t point, LocalMinute time) const;

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
  std::shared_ptr<const Replay> replay_;
  mutable std::vector<MeterCache> meter_cache_;  // one per point (used by meters)
};

}  // namespace nbms::mwsim
