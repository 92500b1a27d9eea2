#pragma once
// Rules for writing a point (a Control): which values a point of a given BACnet
// object type can take and which priorities an operator may use. Pure; the hub
// publishes only what passed here.
#include "nbms/core/error.hpp"
#include "nbms/core/model.hpp"

namespace nbms {

// invalid_argument with a precise message when `point` is not writable, `value`
// does not fit its object type (binary: 0 or 1; multi-state: an integer state
// >= 1; analog: finite, within a BACnet REAL) or `priority` is not one an
// operator may use (1..16 without 1, 2 and 6, which BACnet reserves for life
// safety and minimum on/off).
Result<void> validate_control(const PointInfo& point, double value, int priority);

}  // namespace nbms
