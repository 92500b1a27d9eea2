#include <gtest/gtest.h>

#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"

namespace nbms {
namespace {

TEST(LocalMinute, ParsesAndFormatsRoundTrip) {
  auto t = LocalMinute::parse("202210040945");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to_string(), "202210040945");
  EXPECT_EQ(t->to_iso(), "2022-10-04T09:45");
  EXPECT_EQ(t->yyyymm(), 202210u);
  EXPECT_EQ(t->minute_of_day(), 9u * 60 + 45);
  EXPECT_EQ(LocalMinute::parse("200001010000")->minutes(), 0u);
  EXPECT_EQ(LocalMinute::parse("219912312359")->to_string(), "219912312359");
}

TEST(LocalMinute, OrdersLikeTime) {
  EXPECT_LT(*LocalMinute::parse("202212312359"), *LocalMinute::parse("202301010000"));
  EXPECT_EQ(
      LocalMinute::parse("202301010000")->minutes() - LocalMinute::parse("202212312345")->minutes(),
      15u);
}

TEST(LocalMinute, LeapYears) {
  EXPECT_TRUE(LocalMinute::parse("202402291200"));
  EXPECT_TRUE(LocalMinute::parse("200002291200"));  // divisible by 400
  EXPECT_FALSE(LocalMinute::parse("202302291200"));
  EXPECT_FALSE(LocalMinute::parse("210002291200"));  // divisible by 100, not 400
}

TEST(LocalMinute, RejectsImpossibleTimesWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const auto& c :
       {Case{"20221004094", "12 digits"}, Case{"2022100409450", "12 digits"},
        Case{"2022-10-04T0", "12 digits"}, Case{"199912312359", "year"},
        Case{"202213010000", "month"}, Case{"202200010000", "month"},
        Case{"202204310000", "day does not exist"}, Case{"202210000000", "day does not exist"},
        Case{"202210042400", "hour"}, Case{"202210040960", "minute"}}) {
    auto t = LocalMinute::parse(c.text);
    ASSERT_FALSE(t) << c.text;
    EXPECT_EQ(t.error().code, Errc::malformed);
    EXPECT_NE(t.error().message.find(c.reason), std::string::npos)
        << c.text << ": " << t.error().message;
  }
}

TEST(LocalMinute, MonthStart) {
  const auto t = *LocalMinute::parse("202403151200");
  EXPECT_EQ(first_day_of_month(t.day()), LocalMinute::parse("202403010000")->day());
}

TEST(ThingName, ParsesCustomerBuildingIndex) {
  auto t = ThingName::parse("C000003_B001_01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->customer, "C000003");
  EXPECT_EQ(t->building, "B001");
  EXPECT_EQ(t->index, "01");
  EXPECT_EQ(t->full(), "C000003_B001_01");
}

TEST(ThingName, RejectsMalformedNames) {
  for (const char* bad : {"", "C000003", "C000003_B001", "C000003__01", "_B001_01", "C000003_B001_",
                          "C000003_B001_x1", "C0/3_B001_01", "C000003_B0 1_01",
                          "C000003_B001_123456789", "C000003_B001_02_03"}) {
    EXPECT_FALSE(ThingName::parse(bad)) << bad;
  }
}

TEST(Ids, PointIdValidation) {
  EXPECT_TRUE(validate_point_id("39.BI-300:1628_AHUReturnFan_01"));
  EXPECT_TRUE(validate_point_id("01.0.AV-101:01_Elec"));
  EXPECT_FALSE(validate_point_id(""));
  EXPECT_FALSE(validate_point_id(std::string(201, 'a')));
  for (const char* bad : {"a/b", "a+b", "a#b", "a b", "a\"b", "a\\b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(validate_point_id(bad)) << bad;
  }
}

TEST(Ids, CustomerAndBuildingIds) {
  EXPECT_TRUE(validate_customer_id("C000003"));
  EXPECT_TRUE(validate_building_id("B-001"));
  EXPECT_FALSE(validate_customer_id("C_1"));
  EXPECT_FALSE(validate_building_id(""));
  EXPECT_FALSE(validate_building_id(std::string(33, 'B')));
}

}  // namespace
}  // namespace nbms
