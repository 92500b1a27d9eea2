#pragma once
// Identifiers of customers, buildings, things and points, and their validation.
// A thing (one middleware box) is named `<customer>_<building>_<index>`,
// e.g. `C000003_B001_01`: the name alone says which building it belongs to.
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms {

// Customer and building ids: 1..32 of [A-Za-z0-9-] (no `_`, which separates
// the parts of a thing name).
Result<void> validate_customer_id(std::string_view id);
Result<void> validate_building_id(std::string_view id);

// Point ids as the MW sends them (`39.BI-300:1628_AHUReturnFan_01`): 1..200 bytes
// of printable ASCII other than `/`, `+`, `#` and `"`/`\\`.
Result<void> validate_point_id(std::string_view id);

struct ThingName {
  std::string customer;
  std::string building;
  std::string index;  // 1..8 digits
  std::string full() const { return customer + "_" + building + "_" + index; }
  // Parses `<customer>_<building>_<index>`.
  static Result<ThingName> parse(std::string_view name);
  bool operator==(const ThingName&) const = default;
};

}  // namespace nbms
