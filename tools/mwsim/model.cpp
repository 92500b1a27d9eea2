#include "model.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <span>

#include <nlohmann/json.hpp>

#include "replay.hpp"

namespace nbms::mwsim {
namespace {

// ---------------------------------------------------------------------------
// Deterministic noise

constexpr std::uint64_t mix(std::uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
constexpr std::uint64_t hash(std::uint64_t a, std::uint64_t b) {
  return mix(a ^ mix(b));
}
constexpr std::uint64_t hash(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return hash(hash(a, b), c);
}
// Uniform in [0, 1).
double u01(std::uint64_t h) {
  return static_cast<double>(mix(h) >> 11) * 0x1.0p-53;
}
// Uniform in [-1, 1).
double sym(std::uint64_t h) {
  return 2.0 * u01(h) - 1.0;
}

// Smooth value noise in [-1, 1]: random knots every `period` minutes joined by
// cosine interpolation. Sums of a few periods give a bounded random walk.
double smooth(std::uint64_t key, double minutes, double period) {
  const double x = minutes / period;
  const double k = std::floor(x);
  const double f = x - k;
  const auto ki = static_cast<std::uint64_t>(static_cast<std::int64_t>(k));
  const double a = sym(hash(key, ki));
  const double b = sym(hash(key, ki + 1));
  const double w = (1.0 - std::cos(std::numbers::pi * f)) / 2.0;
  return a + (b - a) * w;
}

double round_to(double v, int decimals) {
  const double p = std::pow(10.0, decimals);
  const double r = std::round(v * p) / p;
  return r == 0.0 ? 0.0 : r;  // no -0
}

// ---------------------------------------------------------------------------
// Calendar helpers

int day_of_year(LocalMinute t) {  // 0-based
  return static_cast<int>(t.day() - LocalMinute::from_civil(t.year(), 1, 1, 0, 0).day());
}

// +1 at the end of July, -1 in late January.
double season(LocalMinute t) {
  return std::cos(2.0 * std::numbers::pi * (day_of_year(t) - 200) / 365.25);
}

double outdoor_temp(std::uint64_t building_key, LocalMinute t) {
  const double hour = t.minute_of_day() / 60.0;
  const double m = t.minutes();
  return 12.5 + 14.5 * season(t) + 4.0 * std::cos(2.0 * std::numbers::pi * (hour - 15.0) / 24.0) +
         2.5 * smooth(hash(building_key, 1), m, 360) + 0.6 * smooth(hash(building_key, 2), m, 60);
}

// Equipment is commanded on: weekdays about 07:00-19:00 (start and stop vary by a
// few quarter hours per day and unit), some overtime evenings, some Saturday mornings.
bool scheduled_on(std::uint64_t equip_key, LocalMinute t) {
  const int wd = weekday(t);
  const auto mod = static_cast<int>(t.minute_of_day());
  const std::uint64_t day = t.day();
  if (wd < 5) {
    const int start = 6 * 60 + 30 + 15 * static_cast<int>(u01(hash(equip_key, day, 1)) * 4);
    int stop = 18 * 60 + 45 + 15 * static_cast<int>(u01(hash(equip_key, day, 2)) * 4);
    if (u01(hash(equip_key, day, 3)) < 0.1) stop = 21 * 60;  // overtime
    return mod >= start && mod < stop;
  }
  if (wd == 5 && u01(hash(equip_key, day, 4)) < 0.2) return mod >= 9 * 60 && mod < 13 * 60;
  return false;
}

// Equipment actually runs: commanded on and not tripped (rare, per 2-hour block).
bool running(std::uint64_t equip_key, LocalMinute t) {
  if (!scheduled_on(equip_key, t)) return false;
  return u01(hash(equip_key, t.minutes() / 120, 5)) >= 0.01;
}

// A setpoint: its base most days, moved by a step on some days.
double setpoint_value(std::uint64_t equip_key, double base, double step, LocalMinute t) {
  const auto key = hash(equip_key, static_cast<std::uint64_t>(std::llround(base * 100)));
  const double u = u01(hash(key, t.day(), 7));
  if (u < 0.75) return base;
  if (u < 0.85) return base + step;
  if (u < 0.95) return base - step;
  return base + 2 * step;
}

// ---------------------------------------------------------------------------
// Load profiles of the meters (relative load per 15-minute slot, 0..1)

double elec_weight(int wd, int slot) {
  const double h = slot / 4.0;
  if (wd >= 5) return wd == 5 && h >= 9 && h < 13 ? 0.5 : 0.3;
  if (h < 7 || h >= 22) return 0.3;
  if (h < 8) return 0.6;
  if (h < 12) return 1.0;
  if (h < 13) return 0.85;
  if (h < 18) return 1.0;
  if (h < 20) return 0.6;
  return 0.4;
}

double gas_weight(int wd, int slot) {
  const double h = slot / 4.0;
  if (wd >= 5) return 0.1;
  if (h >= 5 && h < 9) return 1.0;  // morning boiler start
  if (h >= 9 && h < 18) return 0.5;
  return 0.1;
}

bool is_gas(Behavior b) {
  return b == Behavior::gas_volume || b == Behavior::gas_flow;
}

double slot_weight(Behavior b, std::uint64_t key, std::uint32_t day, int slot) {
  const int wd = static_cast<int>((day + 5) % 7);
  const double w = is_gas(b) ? gas_weight(wd, slot) : elec_weight(wd, slot);
  return w * (1.0 + 0.15 * sym(hash(key, day, static_cast<std::uint64_t>(slot) + 1000)));
}

// Day-level factor: season (cooling load in summer, heating in winter) and noise.
double day_factor(Behavior b, std::uint64_t key, std::uint32_t day) {
  const double s = season(LocalMinute::from_minutes(day * 1440));
  const double seasonal = is_gas(b) ? 0.2 + 1.2 * std::max(0.0, -s)
                                    : 1.0 + 0.3 * std::max(0.0, s) + 0.1 * std::max(0.0, -s);
  return seasonal * (1.0 + 0.08 * sym(hash(key, day, 9)));
}

// Energy (kWh or Nm3) of one day without slot noise normalisation:
// rate at full load * hours-equivalent of the day's profile.
double day_energy(Behavior b, std::uint64_t key, std::uint32_t day, double full_rate) {
  static const auto kWeightSums = [] {
    std::array<std::array<double, 7>, 2> sums{};
    for (int g = 0; g < 2; ++g) {
      for (int wd = 0; wd < 7; ++wd) {
        double s = 0;
        for (int slot = 0; slot < 96; ++slot) s += g ? gas_weight(wd, slot) : elec_weight(wd, slot);
        sums[static_cast<std::size_t>(g)][static_cast<std::size_t>(wd)] = s;
      }
    }
    return sums;
  }();
  const auto wd = static_cast<std::size_t>((day + 5) % 7);
  return full_rate * kWeightSums[is_gas(b) ? 1 : 0][wd] / 4.0 * day_factor(b, key, day);
}

// Fraction of the day's energy used before `minute_of_day`, and the rate (per hour)
// in the slot containing it.
struct DayPosition {
  double fraction;
  double rate;
};
DayPosition day_position(Behavior b, std::uint64_t key, std::uint32_t day, double day_total,
                         std::uint32_t minute_of_day) {
  std::array<double, 96> w{};
  double sum = 0;
  for (int s = 0; s < 96; ++s) {
    w[static_cast<std::size_t>(s)] = slot_weight(b, key, day, s);
    sum += w[static_cast<std::size_t>(s)];
  }
  const auto slot = static_cast<std::size_t>(minute_of_day / 15);
  double before = 0;
  for (std::size_t s = 0; s < slot; ++s) before += w[s];
  before += w[slot] * (minute_of_day % 15) / 15.0;
  return {before / sum, day_total * w[slot] / sum * 4.0};
}

// ---------------------------------------------------------------------------
// Point list

enum class Equip { ahu, vav, fcu, pac, elec, gas };

struct Template {
  const char* suffix;
  const char* object_type;
  const char* unit;
  bool writable;
  Behavior behavior;
  double center;
  double amplitude;
  double lo;
  double hi;
  double step;
  int decimals;
  int states;
};

using B = Behavior;
// Columns: suffix of the point name, object type, unit, writable, behavior, center,
// amplitude, lo, hi (clamp), setpoint step, decimals, multi-state count.
// clang-format off
constexpr Template kAhu[] = {
    {"SupplyAirTemp",        "AI", "°C",     false, B::supply_air_temp, 16,    0,    5,   45,    0.5, 1, 0},
    {"ReturnAirTemp",        "AI", "°C",     false, B::zone_temp,       24,    0,    10,  35,    0.5, 1, 0},
    {"MixedAirTemp",         "AI", "°C",     false, B::mixed_air_temp,  0,     0,    -20, 45,    0,   1, 0},
    {"OutdoorAirTemp",       "AI", "°C",     false, B::outdoor_temp,    0,     0,    -25, 42,    0,   1, 0},
    {"SupplyAirTempSP",      "AV", "°C",     true,  B::setpoint,        16,    0,    12,  35,    0.5, 1, 0},
    {"SupplyFanStatus",      "BI", "On/Off", false, B::binary_status,   0,     0,    0,   1,     0,   0, 0},
    {"SupplyFanCmd",         "BO", "On/Off", true,  B::binary_command,  0,     0,    0,   1,     0,   0, 0},
    {"ReturnFanStatus",      "BI", "On/Off", false, B::binary_status,   0,     0,    0,   1,     0,   0, 0},
    {"ReturnFanCmd",         "BO", "On/Off", true,  B::binary_command,  0,     0,    0,   1,     0,   0, 0},
    {"OADamper",             "AO", "%",      true,  B::running_analog,  35,    15,   0,   100,   0,   1, 0},
    {"CoolingValve",         "AO", "%",      true,  B::running_analog,  45,    35,   0,   100,   0,   1, 0},
    {"DuctStaticPressure",   "AI", "Pa",     false, B::running_analog,  250,   25,   0,   600,   0,   0, 0},
    {"DuctStaticPressureSP", "AV", "Pa",     true,  B::setpoint,        250,   0,    100, 500,   25,  0, 0},
    {"FilterDP",             "AI", "Pa",     false, B::filter_dp,       0,     0,    80,  220,   0,   0, 0},
    {"SupplyAirflow",        "AI", "m3/h",   false, B::running_analog,  12000, 2500, 0,   20000, 0,   0, 0},
    {"ReturnAirHumidity",    "AI", "%",      false, B::free_analog,     50,    12,   15,  90,    0,   1, 0},
};
constexpr Template kVav[] = {
    {"ZoneTemp",   "AI", "°C",   false, B::zone_temp,      24,  0,   10,  35,   0.5, 1, 0},
    {"ZoneTempSP", "AV", "°C",   true,  B::setpoint,       24,  0,   16,  30,   0.5, 1, 0},
    {"Airflow",    "AI", "m3/h", false, B::running_analog, 600, 250, 0,   1500, 0,   0, 0},
    {"AirflowSP",  "AV", "m3/h", true,  B::setpoint,       650, 0,   100, 1500, 50,  0, 0},
    {"DamperPos",  "AO", "%",    true,  B::running_analog, 55,  30,  0,   100,  0,   1, 0},
};
constexpr Template kFcu[] = {
    {"ZoneTemp",   "AI",  "°C",     false, B::zone_temp,      23, 0,  10, 35,  0.5, 1, 0},
    {"ZoneTempSP", "AV",  "°C",     true,  B::setpoint,       23, 0,  16, 30,  0.5, 1, 0},
    {"FanStatus",  "BI",  "On/Off", false, B::binary_status,  0,  0,  0,  1,   0,   0, 0},
    {"FanCmd",     "BO",  "On/Off", true,  B::binary_command, 0,  0,  0,  1,   0,   0, 0},
    {"FanSpeed",   "MSV", "",       true,  B::speed_state,    0,  0,  1,  3,   0,   0, 3},
    {"ValvePos",   "AO",  "%",      true,  B::running_analog, 50, 40, 0,  100, 0,   1, 0},
};
constexpr Template kPac[] = {
    {"RunStatus", "BI",  "On/Off", false, B::binary_status,  0,  0, 0,  1,  0, 0, 0},
    {"RunCmd",    "BO",  "On/Off", true,  B::binary_command, 0,  0, 0,  1,  0, 0, 0},
    {"Mode",      "MSV", "",       true,  B::mode_state,     0,  0, 1,  5,  0, 0, 5},
    {"RoomTemp",  "AI",  "°C",     false, B::zone_temp,      25, 0, 10, 35, 1, 1, 0},
    {"SetTemp",   "AV",  "°C",     true,  B::setpoint,       25, 0, 18, 30, 1, 1, 0},
    {"FanSpeed",  "MSV", "",       true,  B::speed_state,    0,  0, 1,  3,  0, 0, 3},
};
// Meter centers are filled in per meter (full-load rate).
constexpr Template kElec[] = {
    {"Elec",      "AV", "kWh", false, B::elec_energy, 0, 0, 0, 1e12, 0, 2, 0},
    {"ElecPower", "AI", "kW",  false, B::elec_power,  0, 0, 0, 1e6,  0, 2, 0},
};
constexpr Template kGas[] = {
    {"Gas",     "AV", "Nm3",   false, B::gas_volume, 0, 0, 0, 1e12, 0, 2, 0},
    {"GasFlow", "AI", "Nm3/h", false, B::gas_flow,   0, 0, 0, 1e6,  0, 2, 0},
};
// clang-format on

std::string two_digits(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

std::string building_name_of(const SimConfig& config) {
  return config.building_name.empty() ? "Sim Building " + config.building : config.building_name;
}

struct Generator {
  Generator(const SimConfig& c, int i)
      : config(c),
        index(i),
        building_name(building_name_of(c)),
        thing_prefix(two_digits(i)),
        rng_state(hash(c.seed, static_cast<std::uint64_t>(i), 0xabc)) {}

  const SimConfig& config;
  int index;
  std::string building_name;
  std::string thing_prefix;  // "01"
  std::uint64_t rng_state;
  std::vector<PointDef> out;
  int device = 0;                        // BACnet device of the current equipment
  std::array<int, 6> count_by_equip{};   // equipment numbers per kind
  std::array<int, 8> meter_instances{};  // device 0 instance counters by object type
  int zones = 0;

  double next_u01() { return u01(rng_state = mix(rng_state)); }

  std::string location(Equip e, int n) {
    static constexpr const char* kPacRooms[] = {"Server Room", "Meeting Room", "Lobby",
                                                "Security Office", "Canteen"};
    std::string floor;
    std::string room;
    switch (e) {
      case Equip::ahu:
        floor = n == 1 ? "B2" : std::to_string(((n - 2) * 4) % 12 + 1) + "F";
        room = "Machine Room";
        break;
      case Equip::vav:
      case Equip::fcu: {
        const int f = zones / 6 % 12 + 1;
        floor = std::to_string(f) + "F";
        room = (e == Equip::vav ? "Office " : "Room ") + std::to_string(f * 100 + zones % 6 + 1);
        ++zones;
        break;
      }
      case Equip::pac:
        floor = n % 3 == 1 ? "1F" : std::to_string(n % 12 + 1) + "F";
        room = kPacRooms[static_cast<std::size_t>(n - 1) % std::size(kPacRooms)];
        break;
      case Equip::elec:
        floor = n == 1 ? "B1" : std::to_string((n - 2) % 12 + 1) + "F";
        room = n == 1 ? "Electric Room" : "EPS";
        break;
      case Equip::gas:
        floor = "B1";
        room = n == 1 ? "Boiler Room" : "Kitchen Gas";
        break;
    }
    return building_name + "/" + floor + "/" + room;
  }

  void add(Equip e, std::size_t limit) {
    static constexpr const char* kTag[] = {"AHU", "VAV", "FCU", "PAC", "ELEC", "GAS"};
    const auto ei = static_cast<std::size_t>(e);
    const int n = ++count_by_equip[ei];
    const std::string code = thing_prefix + two_digits(n);  // 0103: thing 01, unit 03
    const std::string tag = kTag[ei];
    const bool meter = e == Equip::elec || e == Equip::gas;
    std::string info;
    if (meter) {
      info = "METER/" + tag + "_" + code + "/" + code + "_" + tag;
    } else {
      info = tag + "/" + tag + "_" + code + "/" + code + "_" + tag + "COMP_U";
    }
    const std::string loc = location(e, n);
    const std::uint64_t equip_key = hash(config.seed, static_cast<std::uint64_t>(index),
                                         0x1000 + ei * 0x10000 + static_cast<std::uint64_t>(n));
    double meter_rate = 0;
    if (e == Equip::elec) meter_rate = n == 1 ? 180 + 60 * next_u01() : 8 + 30 * next_u01();
    if (e == Equip::gas) meter_rate = n == 1 ? 40 + 20 * next_u01() : 3 + 6 * next_u01();
    if (!meter) ++device;

    std::span<const Template> templates;
    switch (e) {
      case Equip::ahu:
        templates = kAhu;
        break;
      case Equip::vav:
        templates = kVav;
        break;
      case Equip::fcu:
        templates = kFcu;
        break;
      case Equip::pac:
        templates = kPac;
        break;
      case Equip::elec:
        templates = kElec;
        break;
      case Equip::gas:
        templates = kGas;
        break;
    }
    std::array<int, 8> local_instances{};
    for (const auto& t : templates) {
      if (out.size() >= limit) return;
      static constexpr std::array<std::string_view, 8> kTypes = {"AI", "AO", "AV",  "BI",
                                                                 "BO", "BV", "MSV", "other"};
      const std::string_view ot = t.object_type;
      const auto ti = static_cast<std::size_t>(std::find(kTypes.begin(), kTypes.end() - 1, ot) -
                                               kTypes.begin());
      const int instance = 100 + (meter ? ++meter_instances[ti] : ++local_instances[ti]);
      PointDef p;
      p.name = code + "_";  // <code>_<suffix> for a meter, <code>_<tag><suffix> otherwise
      if (!meter) p.name += tag;
      p.name += t.suffix;
      p.point_id = thing_prefix;
      p.point_id += '.';
      p.point_id += std::to_string(meter ? 0 : device);
      p.point_id += '.';
      p.point_id += t.object_type;
      p.point_id += '-';
      p.point_id += std::to_string(instance);
      p.point_id += ':';
      p.point_id += p.name;
      p.object_type = t.object_type;
      p.equipment = info;
      p.location = loc;
      p.unit = t.unit;
      p.writable = t.writable;
      p.behavior = t.behavior;
      p.key = hash(config.seed, static_cast<std::uint64_t>(index), 0x100000000ULL + out.size());
      p.equip_key = equip_key;
      p.center = meter ? meter_rate : t.center;
      p.amplitude = t.amplitude;
      p.lo = t.lo;
      p.hi = t.hi;
      p.step = t.step;
      p.decimals = t.decimals;
      p.states = t.states;
      out.push_back(std::move(p));
    }
  }
};

// ---------------------------------------------------------------------------
// JSON writing for periodic_log (hand-written: it is the hot path of the bench)

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_number(std::string& out, double v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) {
    out += "null";
    return;
  }
  out.append(buf, ptr);
}

// Shortest text that reads back as `v` (live values may be written ones, which
// need not fit the fixed notation of the model's rounded values).
void append_shortest(std::string& out, double v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc() || !std::isfinite(v)) {
    out += "null";
    return;
  }
  out.append(buf, ptr);
}

// Points whose values are states (on/off, modes, speeds), not measurements:
// they are not interpolated or moved between minutes.
bool is_discrete(Behavior b) {
  return b == Behavior::binary_status || b == Behavior::binary_command ||
         b == Behavior::mode_state || b == Behavior::speed_state;
}
// Cumulative totals: never moved backwards, so never nudged.
bool is_meter(Behavior b) {
  return b == Behavior::elec_energy || b == Behavior::gas_volume;
}
bool is_binary_type(std::string_view t) {
  return t == "BI" || t == "BO" || t == "BV";
}
bool is_multi_state_type(std::string_view t) {
  return t == "MSI" || t == "MSO" || t == "MSV";
}

}  // namespace

// ---------------------------------------------------------------------------

std::string thing_name(std::string_view customer, std::string_view building, int index) {
  return std::string(customer) + "_" + std::string(building) + "_" + two_digits(index);
}

std::string topic_for(std::string_view thing, std::string_view point, bool legacy) {
  std::string t;
  if (legacy) {
    t = "$aws/rules/Rule_";
    t += thing;
    t += '/';
  }
  t += thing;
  t += '/';
  t += point;
  return t;
}

int weekday(LocalMinute t) {
  return static_cast<int>((t.day() + 5) % 7);
}  // 2000-01-01: Sat

LocalMinute floor_slot(LocalMinute t) {
  return LocalMinute::from_minutes(t.minutes() - t.minutes() % 15);
}

LocalMinute next_slot_after(LocalMinute t) {
  return floor_slot(t).plus_minutes(15);
}

std::vector<PointDef> make_points(const SimConfig& config, int index) {
  Generator g(config, index);
  const auto limit = static_cast<std::size_t>(std::max(0, config.points));
  g.out.reserve(limit);
  g.add(Equip::ahu, limit);
  g.add(Equip::elec, limit);
  g.add(Equip::gas, limit);
  while (g.out.size() < limit) {
    const double r = g.next_u01();
    const Equip e = r < 0.35   ? Equip::vav
                    : r < 0.63 ? Equip::fcu
                    : r < 0.78 ? Equip::pac
                    : r < 0.86 ? Equip::ahu
                    : r < 0.97 ? Equip::elec
                               : Equip::gas;
    g.add(e, limit);
  }
  return std::move(g.out);
}

std::vector<PointDef> make_replay_points(const SimConfig& config, int index) {
  const std::string bname = building_name_of(config);
  const std::string prefix = two_digits(index);
  std::vector<PointDef> out;
  const auto& cols = Replay::columns();
  int elec_instance = 100;
  int weather_instance = 100;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto& col = cols[c];
    PointDef p;
    p.name = col.point_name;
    const int instance = col.weather ? ++weather_instance : ++elec_instance;
    p.point_id = prefix + "." + (col.weather ? "91" : "90") + "." + col.object_type + "-" +
                 std::to_string(instance) + ":" + p.name;
    p.object_type = col.object_type;
    p.equipment = col.equipment;
    p.location = bname + (col.weather ? "/Roof/" : "/B1/") + col.room;
    p.unit = col.unit;
    p.behavior = Behavior::replay;
    p.key = hash(config.seed, static_cast<std::uint64_t>(index), 0x200000000ULL + c);
    p.decimals = 2;
    p.replay_column = static_cast<int>(c);
    out.push_back(std::move(p));
  }
  return out;
}

std::string init_message(const std::vector<PointDef>& points, LocalMinute time) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Init";
  j["time"] = time.to_string();
  j["point_count"] = points.size();
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    j["point_" + std::to_string(i)] = {
        {"point_id", p.point_id},    {"object_type", p.object_type}, {"name", p.name},
        {"Point_Info", p.equipment}, {"Point_Location", p.location}, {"Point_Unit", p.unit},
        {"writable", p.writable},
    };
  }
  return j.dump();
}

std::string periodic_log_message(const std::vector<PointDef>& points,
                                 const std::vector<Value>& values, LocalMinute time,
                                 int period_minutes) {
  std::string out;
  out.reserve(64 + points.size() * 128);
  out += R"({"msg_type":"Periodic_Log")";
  const std::string period = std::to_string(period_minutes);
  for (std::size_t i = 0; i < points.size(); ++i) {
    out += ",\"point_";
    out += std::to_string(i);
    out += R"(":{"msg":[{"attr_name":"M_Value","data":)";
    const Value v = i < values.size() ? values[i] : std::nullopt;
    if (v && std::isfinite(*v)) {
      append_number(out, *v);
    } else {
      out += "null";
    }
    out += R"(}],"period":)";
    out += period;
    out += R"(,"point_id":)";
    append_json_string(out, points[i].point_id);
    out += '}';
  }
  out += R"(,"point_count":)";
  out += std::to_string(points.size());
  out += R"(,"time":")";
  out += time.to_string();
  out += "\"}";
  return out;
}

std::string timestamp_last_request(std::string_view request_id) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Timestamp_Last";
  j["request_id"] = request_id;
  return j.dump();
}

std::string realtime_message(const std::vector<PointDef>& points,
                             const std::vector<std::pair<std::size_t, Value>>& values,
                             LocalMinute time) {
  std::string out;
  out.reserve(64 + values.size() * 96);
  out += R"({"msg_type":"Realtime","time":")";
  out += time.to_string();
  out += R"(","point_count":)";
  out += std::to_string(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) {
    const auto& [i, v] = values[k];
    out += ",\"point_";
    out += std::to_string(k);
    out += R"(":{"point_id":)";
    append_json_string(out, points.at(i).point_id);
    out += R"(,"msg":[{"attr_name":"M_Value","data":)";
    if (v) {
      append_shortest(out, *v);
    } else {
      out += "null";
    }
    out += "}]}";
  }
  out += '}';
  return out;
}

std::string control_result_message(std::string_view request_id, std::string_view point_id,
                                   bool accepted, Value value, std::string_view message) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Control_Result";
  j["request_id"] = request_id;
  j["point_id"] = point_id;
  j["result"] = accepted ? "accepted" : "failed";
  if (value && std::isfinite(*value)) j["value"] = *value;
  if (!message.empty()) j["message"] = message;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<Command> parse_command(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Errc::malformed, "command payload is not a JSON object");
  }
  const auto type = j.find("msg_type");
  if (type == j.end() || !type->is_string()) {
    return fail(Errc::malformed, "command payload has no string msg_type");
  }
  Command c;
  c.msg_type = type->get<std::string>();
  if (const auto id = j.find("request_id"); id != j.end() && id->is_string()) {
    c.request_id = id->get<std::string>();
  }
  if (c.msg_type == "Timestamp_Last") {
    const auto time = j.find("time");
    if (time == j.end()) return fail(Errc::malformed, "Timestamp_Last answer has no time");
    if (time->is_string()) {
      auto t = LocalMinute::parse(time->get<std::string>());
      if (!t) return std::unexpected(t.error());
      c.time = *t;
    } else if (!time->is_null()) {
      return fail(Errc::malformed, "Timestamp_Last time is neither a string nor null");
    }
    if (const auto p = j.find("period"); p != j.end() && p->is_number_integer()) {
      c.period = p->get<int>();
    }
  } else if (c.msg_type == "Subscribe" || c.msg_type == "Unsubscribe") {
    const auto ids = j.find("point_ids");
    if (ids == j.end() || !ids->is_array()) {
      return fail(Errc::malformed, c.msg_type + ": point_ids is not a list");
    }
    for (const auto& id : *ids) {
      if (!id.is_string())
        return fail(Errc::malformed, c.msg_type + ": a point id is not a string");
      c.point_ids.push_back(id.get<std::string>());
    }
    if (c.msg_type == "Subscribe") {
      const auto lease = j.find("lease");
      if (lease == j.end() || !lease->is_number_integer() || lease->get<std::int64_t>() < 1 ||
          lease->get<std::int64_t>() > 86400) {
        return fail(Errc::malformed, "Subscribe: lease is not an integer 1..86400");
      }
      c.lease_s = lease->get<std::int64_t>();
    }
  } else if (c.msg_type == "Control") {
    if (c.request_id.empty()) return fail(Errc::malformed, "Control without a request_id");
    if (const auto p = j.find("point_id"); p != j.end() && p->is_string()) {
      c.point_id = p->get<std::string>();
    }
    if (const auto v = j.find("value"); v != j.end() && v->is_number()) {
      c.value = v->get<double>();
    }
    if (const auto p = j.find("priority"); p != j.end()) {
      c.priority = p->is_number_integer() ? p->get<int>() : 0;  // 0: refused as out of range
    }
  }
  return c;
}

// ---------------------------------------------------------------------------

SimThing::SimThing(const SimConfig& config, int index, std::shared_ptr<const Replay> replay)
    : name_(thing_name(config.customer, config.building, index)),
      index_(index),
      seed_(config.seed),
      points_(make_points(config, index)),
      replay_(std::move(replay)) {
  if (replay_ && index == 1) {
    auto extra = make_replay_points(config, index);
    points_.insert(points_.end(), std::make_move_iterator(extra.begin()),
                   std::make_move_iterator(extra.end()));
  }
  meter_cache_.resize(points_.size());
  written_.resize(points_.size());
  by_id_.reserve(points_.size());
  for (std::size_t i = 0; i < points_.size(); ++i) by_id_.emplace(points_[i].point_id, i);
}

std::optional<std::size_t> SimThing::find(std::string_view point_id) const {
  const auto it = by_id_.find(std::string(point_id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

Value SimThing::live_value(std::size_t i, double minutes) const {
  if (written_.at(i)) return written_[i];
  const PointDef& p = points_[i];
  const double floor_m = std::clamp(std::floor(minutes), 0.0, 4294967294.0);
  const auto t0 = LocalMinute::from_minutes(static_cast<std::uint32_t>(floor_m));
  const Value v0 = value(i, t0);
  if (!v0 || is_discrete(p.behavior)) return v0;
  const Value v1 = value(i, t0.plus_minutes(1));
  if (!v1) return v0;
  const double f = std::clamp(minutes - floor_m, 0.0, 1.0);
  return round_to(*v0 + (*v1 - *v0) * f, p.decimals);
}

std::vector<Value> SimThing::values(LocalMinute time) const {
  std::vector<Value> out;
  out.reserve(points_.size());
  for (std::size_t i = 0; i < points_.size(); ++i) out.push_back(value(i, time));
  return out;
}

double SimThing::meter_reading(std::size_t point, LocalMinute time) const {
  const auto& p = points_[point];
  auto& cache = meter_cache_[point];
  const std::uint32_t day = time.day();
  if (!cache.valid || cache.day > day) {
    // The meter was installed before 2000 with a reading of a few years of use.
    cache.total = p.center * 24 * 365 * (1.5 + 2.0 * u01(hash(p.equip_key, 11)));
    cache.day = 0;
    cache.valid = true;
  }
  while (cache.day < day) {
    cache.total += day_energy(p.behavior, p.equip_key, cache.day, p.center);
    ++cache.day;
  }
  const double today = day_energy(p.behavior, p.equip_key, day, p.center);
  const auto pos = day_position(p.behavior, p.equip_key, day, today, time.minute_of_day());
  return cache.total + today * pos.fraction;
}

Value SimThing::value(std::size_t i, LocalMinute t) const {
  const PointDef& p = points_.at(i);
  if (written_[i]) return written_[i];
  const double m = t.minutes();
  const std::uint64_t building_key = hash(seed_, 0x0b1d);
  double v = 0;
  switch (p.behavior) {
    case Behavior::outdoor_temp:
      v = outdoor_temp(building_key, t) + 0.3 * smooth(p.key, m, 30);
      break;
    case Behavior::zone_temp: {
      const double sp = setpoint_value(p.equip_key, p.center, p.step, t);
      if (running(p.equip_key, t)) {
        v = sp + 0.6 * smooth(p.key, m, 90) + 0.25 * smooth(hash(p.key, 1), m, 20);
      } else {
        v = 0.65 * (p.center + 1.5) + 0.35 * outdoor_temp(building_key, t) +
            0.8 * smooth(p.key, m, 180);
      }
      break;
    }
    case Behavior::supply_air_temp:
      if (running(p.equip_key, t)) {
        v = setpoint_value(p.equip_key, p.center, p.step, t) + 0.5 * smooth(p.key, m, 45);
      } else {
        v = 0.5 * 23 + 0.5 * outdoor_temp(building_key, t) + 0.5 * smooth(p.key, m, 120);
      }
      break;
    case Behavior::mixed_air_temp: {
      const double ret = 23 + 0.8 * smooth(p.key, m, 120);
      const double share = running(p.equip_key, t) ? 0.3 : 0.5;
      v = (1 - share) * ret + share * outdoor_temp(building_key, t);
      break;
    }
    case Behavior::free_analog:
      v = p.center +
          p.amplitude * (0.75 * smooth(p.key, m, 240) + 0.25 * smooth(hash(p.key, 1), m, 45));
      break;
    case Behavior::running_analog:
      v = running(p.equip_key, t) ? p.center + p.amplitude * (0.7 * smooth(p.key, m, 180) +
                                                              0.3 * smooth(hash(p.key, 1), m, 30))
                                  : p.off_value;
      break;
    case Behavior::filter_dp: {
      if (!running(p.equip_key, t)) return 0.0;  // no flow, no pressure drop
      const double month_pos = (t.day() - first_day_of_month(t.day())) / 31.0;
      v = p.lo + (p.hi - p.lo) * month_pos + 4 * smooth(p.key, m, 60);
      break;
    }
    case Behavior::setpoint:
      v = setpoint_value(p.equip_key, p.center, p.step, t);
      break;
    case Behavior::binary_status:
      v = running(p.equip_key, t) ? 1 : 0;
      break;
    case Behavior::binary_command:
      v = scheduled_on(p.equip_key, t) ? 1 : 0;
      break;
    case Behavior::mode_state: {
      const int month = t.month();
      const double u = u01(hash(p.equip_key, t.day(), 21));
      if (month >= 6 && month <= 9) {
        v = u < 0.1 ? 5 : 1;  // cool, some dry days
      } else if (month == 12 || month <= 2) {
        v = 2;  // heat
      } else {
        v = u < 0.5 ? 4 : u < 0.75 ? 3 : (month >= 5 && month <= 10 ? 1 : 2);
      }
      break;
    }
    case Behavior::speed_state: {
      const int states = std::max(1, p.states);
      v = 1 + std::min(states - 1,
                       static_cast<int>(u01(hash(p.equip_key, t.minutes() / 120, 23)) * states));
      break;
    }
    case Behavior::elec_energy:
    case Behavior::gas_volume:
      v = meter_reading(i, t);
      break;
    case Behavior::elec_power:
    case Behavior::gas_flow: {
      const double today = day_energy(p.behavior, p.equip_key, t.day(), p.center);
      v = day_position(p.behavior, p.equip_key, t.day(), today, t.minute_of_day()).rate;
      break;
    }
    case Behavior::replay: {
      if (!replay_ || p.replay_column < 0) return std::nullopt;
      const auto r = replay_->value(static_cast<std::size_t>(p.replay_column), t);
      if (!r) return std::nullopt;
      return round_to(*r, p.decimals);
    }
  }
  if (p.hi > p.lo) v = std::clamp(v, p.lo, p.hi);
  return round_to(v, p.decimals);
}

// ---------------------------------------------------------------------------

LiveSession::LiveSession(SimThing& thing, std::int64_t interval_ms)
    : thing_(thing), interval_ms_(std::max<std::int64_t>(1, interval_ms)) {}

std::vector<Outgoing> LiveSession::handle(const Command& c, std::int64_t now_ms,
                                          double sim_minutes) {
  if (c.msg_type == "Subscribe") {
    for (const auto& id : c.point_ids) {
      const auto i = thing_.find(id);
      if (!i) continue;  // a point this MW does not have: nothing to stream
      auto [it, created] = streams_.try_emplace(*i);
      Stream& s = it->second;
      if (created || s.lease_until_ms <= now_ms) {
        s.next_ms = now_ms;  // a new watcher wants the value now
        s.last.reset();
      }
      s.lease_until_ms = now_ms + c.lease_s * 1000;
    }
    return {};
  }
  if (c.msg_type == "Unsubscribe") {
    for (const auto& id : c.point_ids) {
      if (const auto i = thing_.find(id)) streams_.erase(*i);
    }
    return {};
  }
  if (c.msg_type == "Control") return {control(c, now_ms, sim_minutes)};
  return {};
}

Outgoing LiveSession::control(const Command& c, std::int64_t now_ms, double sim_minutes) {
  auto failed = [&](Value present, const std::string& why) {
    return Outgoing{"control_result",
                    control_result_message(c.request_id, c.point_id, false, present, why), false};
  };
  const auto i = thing_.find(c.point_id);
  if (!i) return failed(std::nullopt, "unknown point '" + c.point_id.substr(0, 200) + "'");
  const PointDef& p = thing_.points()[*i];
  const Value present = thing_.live_value(*i, sim_minutes);
  if (!p.writable) return failed(present, "point " + p.point_id + " is not writable");
  if (!c.value || !std::isfinite(*c.value)) return failed(present, "value must be a number");
  if (c.priority < 1 || c.priority > 16) return failed(present, "priority must be 1..16");
  const double v = *c.value;
  if (is_binary_type(p.object_type) && v != 0 && v != 1) {
    return failed(present, "value out of range: a binary point takes 0 or 1");
  }
  if (is_multi_state_type(p.object_type)) {
    const int states = std::max(1, p.states);
    if (v < 1 || v > states || std::floor(v) != v) {
      return failed(present, "value out of range: states are 1.." + std::to_string(states));
    }
  }
  thing_.write(*i, v);
  // A watched point changed: stream it now, as a MW does on change of value.
  if (auto s = streams_.find(*i); s != streams_.end()) {
    s->second.next_ms = now_ms;
    s->second.last.reset();
  }
  return Outgoing{"control_result", control_result_message(c.request_id, p.point_id, true, v, ""),
                  true};
}

std::optional<std::string> LiveSession::due(std::int64_t now_ms, double sim_minutes) {
  bool any_due = false;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second.lease_until_ms <= now_ms) {  // not renewed: nbmsd is gone or lost interest
      it = streams_.erase(it);
      continue;
    }
    any_due = any_due || it->second.next_ms <= now_ms;
    ++it;
  }
  if (!any_due) return std::nullopt;
  // Points due within half an interval go along, so that streams that drifted
  // apart (a new subscriber, a write) fall back into one message per interval.
  const std::int64_t horizon = now_ms + interval_ms_ / 2;
  std::vector<std::pair<std::size_t, Value>> out;
  for (auto& [i, s] : streams_) {
    if (s.next_ms <= horizon) {
      const PointDef& p = thing_.points()[i];
      Value v = thing_.live_value(i, sim_minutes);
      if (v && s.last && *v == *s.last && !thing_.written(i) && !is_discrete(p.behavior) &&
          !is_meter(p.behavior)) {
        const double step = std::pow(10.0, -p.decimals);
        double moved = *v + step;
        if (p.hi > p.lo && moved > p.hi) moved = *v - step;
        v = round_to(moved, p.decimals);
      }
      s.last = v;
      s.next_ms = now_ms + interval_ms_;
      out.emplace_back(i, v);
    }
  }
  const double m = std::clamp(std::floor(sim_minutes), 0.0, 4294967295.0);
  return realtime_message(thing_.points(), out,
                          LocalMinute::from_minutes(static_cast<std::uint32_t>(m)));
}

std::optional<std::int64_t> LiveSession::next_due_ms() const {
  std::optional<std::int64_t> next;
  for (const auto& [i, s] : streams_) {
    const auto t = std::min(s.next_ms, s.lease_until_ms);
    if (!next || t < *next) next = t;
  }
  return next;
}

std::size_t LiveSession::streaming(std::int64_t now_ms) const {
  std::size_t n = 0;
  for (const auto& [i, s] : streams_) n += s.lease_until_ms > now_ms ? 1 : 0;
  return n;
}

}  // namespace nbms::mwsim
