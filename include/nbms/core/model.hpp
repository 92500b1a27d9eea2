#pragma once
// Domain records: what nbms knows about customers, buildings, things, points
// and their samples. Plain values, no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"

namespace nbms {

struct Customer {
  std::string id;
  std::string name;
  std::int64_t created_ms = 0;  // unix epoch milliseconds
};

struct Building {
  std::string customer;
  std::string id;
  std::string name;
  std::string address;
  std::int64_t created_ms = 0;
};

struct Thing {
  ThingName name;
  std::int64_t created_ms = 0;
};

// One BACnet-style point of a building as announced by its MW's `init`.
// Point ids are unique within a building (as in the old per-customer point table).
struct PointInfo {
  std::string point_id;
  std::string thing;        // full thing name of the MW that reports it
  std::string object_type;  // AI, AO, AV, BI, BO, BV, MSI, MSO, MSV, ...
  std::string name;
  std::string equipment;  // Point_Info: equipment path, e.g. AHU/AHU_0001/0001_AHUCOMP_U
  std::string location;   // Point_Location
  std::string unit;       // Point_Unit
  bool writable = false;
  // False for a point whose samples arrived before any `init` announced it.
  bool declared = true;
  bool operator==(const PointInfo&) const = default;
};

// One point's value in one periodic_log (attribute M_Value).
struct PointValue {
  std::string point_id;
  double value = 0;
};

struct PeriodicLog {
  ThingName thing;
  LocalMinute time;
  int period_minutes = 15;
  std::vector<PointValue> values;
  // Entries whose M_Value was null or absent (the MW could not read the point).
  std::size_t missing = 0;
};

struct Sample {
  LocalMinute time;
  double value = 0;
  bool operator==(const Sample&) const = default;
};

struct LatestValue {
  std::string point_id;
  LocalMinute time;
  double value = 0;
};

// Realtime values a MW streams for subscribed points (`<thing>/realtime`).
struct RealtimeUpdate {
  ThingName thing;
  std::int64_t received_ms = 0;  // when nbmsd received it
  std::vector<PointValue> values;
};

// The MW's answer to a control (`<thing>/control_result`).
struct ControlResult {
  ThingName thing;
  std::string request_id;
  std::string point_id;
  bool accepted = false;
  std::optional<double> value;  // the point's present value after the write, if the MW read it
  std::string message;          // the MW's reason when not accepted
};

// A message the router refused, kept with its raw payload for diagnosis.
struct DeadLetter {
  std::int64_t received_ms = 0;
  std::string topic;
  std::string reason;
  std::string payload;  // truncated to a bounded size by the store
};

}  // namespace nbms
