#include "nbms/core/control.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

namespace nbms {
namespace {

// Object types by the value kind their present value holds. Besides the BACnet
// standard MSI/MSO/MSV, some MWs name multi-state objects MI/MO/MV
// (docs/mw-protocol.md, init).
bool is_binary(std::string_view t) {
  return t == "BI" || t == "BO" || t == "BV";
}
bool is_multi_state(std::string_view t) {
  return t == "MSI" || t == "MSO" || t == "MSV" || t == "MI" || t == "MO" || t == "MV";
}

// The largest finite BACnet REAL (IEEE 754 single), rounded down: an analog
// value beyond it cannot be written to the device.
constexpr double kMaxReal = 3.4e38;
// Multi-state present values are BACnet Unsigned (32 bits).
constexpr double kMaxState = 4294967295.0;

std::string describe(const PointInfo& p) {
  return "point " + p.point_id + " (" + (p.object_type.empty() ? "?" : p.object_type) + ")";
}

std::string number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

}  // namespace

Result<void> validate_control(const PointInfo& point, double value, int priority) {
  if (!point.writable) {
    return fail(Errc::invalid_argument, "point " + point.point_id + " is not writable");
  }
  if (!std::isfinite(value)) {
    return fail(Errc::invalid_argument, "value must be a finite number");
  }
  if (is_binary(point.object_type)) {
    if (value != 0 && value != 1) {
      return fail(Errc::invalid_argument,
                  describe(point) + " is binary: value must be 0 or 1, not " + number(value));
    }
  } else if (is_multi_state(point.object_type)) {
    if (value < 1 || value > kMaxState || std::trunc(value) != value) {
      return fail(Errc::invalid_argument, describe(point) +
                                              " is multi-state: value must be an integer state "
                                              "1..4294967295, not " +
                                              number(value));
    }
  } else if (std::abs(value) > kMaxReal) {
    return fail(Errc::invalid_argument,
                describe(point) + ": value " + number(value) +
                    " is outside the range of a BACnet REAL (|value| <= 3.4e38)");
  }
  if (priority < 1 || priority > 16) {
    return fail(Errc::invalid_argument,
                "priority must be an integer 1..16, not " + std::to_string(priority));
  }
  if (priority == 1 || priority == 2) {
    return fail(Errc::invalid_argument, "priority " + std::to_string(priority) +
                                            " is reserved for life safety (BACnet); use 3..16 "
                                            "without 6");
  }
  if (priority == 6) {
    return fail(Errc::invalid_argument,
                "priority 6 is reserved for minimum on/off (BACnet); use 3..16 without 6");
  }
  return {};
}

}  // namespace nbms
