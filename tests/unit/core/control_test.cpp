// Control validation: which values and priorities may be written to a point.
#include "nbms/core/control.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace nbms {
namespace {

PointInfo point(const char* type, bool writable = true) {
  PointInfo p;
  p.point_id = std::string("01.1.") + type + "-101:p";
  p.thing = "C000003_B001_01";
  p.object_type = type;
  p.writable = writable;
  return p;
}

// Expects invalid_argument whose message contains `needle`.
void expect_refused(const PointInfo& p, double value, int priority, const std::string& needle) {
  auto r = validate_control(p, value, priority);
  ASSERT_FALSE(r) << p.object_type << " " << value << " @" << priority;
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << "\nexpected to contain: " << needle;
}

TEST(Control, NotWritable) {
  expect_refused(point("AV", false), 21.5, 8, "point 01.1.AV-101:p is not writable");
  // Checked before anything else: the value does not matter.
  expect_refused(point("BO", false), 7, 1, "is not writable");
}

TEST(Control, ValueMustBeFinite) {
  for (const char* type : {"AV", "BO", "MSV"}) {
    expect_refused(point(type), std::nan(""), 8, "value must be a finite number");
    expect_refused(point(type), HUGE_VAL, 8, "value must be a finite number");
    expect_refused(point(type), -HUGE_VAL, 8, "value must be a finite number");
  }
}

TEST(Control, BinaryTakesZeroOrOne) {
  for (const char* type : {"BO", "BV", "BI"}) {
    EXPECT_TRUE(validate_control(point(type), 0, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), 1, 8)) << type;
    expect_refused(point(type), 2, 8,
                   std::string("point 01.1.") + type + "-101:p (" + type +
                       ") is binary: value must be 0 or 1, not 2");
    expect_refused(point(type), 0.5, 8, "value must be 0 or 1, not 0.5");
    expect_refused(point(type), -1, 8, "value must be 0 or 1, not -1");
  }
}

TEST(Control, MultiStateTakesAStateNumber) {
  for (const char* type : {"MSO", "MSV", "MSI", "MO", "MV", "MI"}) {
    EXPECT_TRUE(validate_control(point(type), 1, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), 3, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), 4294967295.0, 8)) << type;
    expect_refused(point(type), 0, 8, "is multi-state: value must be an integer state");
    expect_refused(point(type), -2, 8, "not -2");
    expect_refused(point(type), 2.5, 8, "not 2.5");
    expect_refused(point(type), 4294967296.0, 8, "1..4294967295");
  }
}

TEST(Control, AnalogTakesAnyRealWithinFloatRange) {
  for (const char* type : {"AO", "AV", "AI", "CV"}) {
    EXPECT_TRUE(validate_control(point(type), 21.5, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), -40, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), 0, 16)) << type;
    EXPECT_TRUE(validate_control(point(type), 3.4e38, 8)) << type;
    EXPECT_TRUE(validate_control(point(type), -3.4e38, 8)) << type;
    expect_refused(point(type), 3.5e38, 8, "outside the range of a BACnet REAL");
    expect_refused(point(type), -1e300, 8, "outside the range of a BACnet REAL");
  }
}

TEST(Control, Priorities) {
  const auto p = point("AV");
  for (int prio : {3, 4, 5, 7, 8, 9, 10, 15, 16}) {
    EXPECT_TRUE(validate_control(p, 20, prio)) << prio;
  }
  expect_refused(p, 20, 0, "priority must be an integer 1..16, not 0");
  expect_refused(p, 20, 17, "priority must be an integer 1..16, not 17");
  expect_refused(p, 20, -8, "priority must be an integer 1..16, not -8");
  expect_refused(p, 20, 1, "priority 1 is reserved for life safety");
  expect_refused(p, 20, 2, "priority 2 is reserved for life safety");
  expect_refused(p, 20, 6, "priority 6 is reserved for minimum on/off");
}

TEST(Control, ValueIsCheckedBeforePriority) {
  expect_refused(point("BO"), 5, 6, "is binary");
}

}  // namespace
}  // namespace nbms
