// Replay of the LBNL Building 59 CSVs onto the simulated clock (in-memory CSVs).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "mwsim/model.hpp"
#include "mwsim/replay.hpp"

namespace nbms::mwsim {
namespace {

LocalMinute at(int y, int mo, int d, int h, int mi) {
  return LocalMinute::from_civil(y, mo, d, h, mi);
}

// Same shape as the real files: unnamed timestamp column, CRLF, empty cells.
const char* kElectric =
    ",mels_S,lig_S,lig_N,mels_N,hvac_N,hvac_S\r\n"
    "2018-01-01 00:00:00+00:00,,,,,36.0,22.5\r\n"
    "2018-01-01 00:30:00+00:00,1.25,0.20000000298023224,,7.15,37.7,19.2\r\n"
    "2018-01-01 08:00:00+00:00,2.5,1.0,,9.0,40.0,20.0\r\n"
    "2018-03-01 12:00:00+00:00,3.0,2.0,4.0,10.0,50.0,30.0\r\n"
    "2018-12-31 23:30:00+00:00,9.0,9.0,9.0,9.0,9.0,9.0\r\n";
const char* kWeather =
    ",air_temp_set_1,air_temp_set_2,dew_point_temperature_set_1d,relative_humidity_set_1,"
    "solar_radiation_set_1\r\n"
    "2018-01-01 00:00:00+00:00,11.565000000000001,11.465,8.12,79.585,66.29\r\n"
    "2018-01-01 00:30:00+00:00,11.515,11.46,,80.06,36.525\r\n";

Replay parse(int offset) {
  std::istringstream e(kElectric);
  std::istringstream w(kWeather);
  auto r = Replay::parse(e, w, offset);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return std::move(*r);
}

std::size_t column(const char* csv_name) {
  const auto& cols = Replay::columns();
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].csv_column == csv_name) return i;
  }
  ADD_FAILURE() << csv_name;
  return 0;
}

TEST(MwsimReplay, ColumnsAreTheBrief) {
  const auto& cols = Replay::columns();
  ASSERT_EQ(cols.size(), 10u);
  for (const char* c : {"mels_S", "lig_S", "lig_N", "mels_N", "hvac_N", "hvac_S"}) {
    EXPECT_EQ(cols[column(c)].unit, "kW");
  }
  EXPECT_EQ(cols[column("air_temp_set_1")].unit, "°C");
  EXPECT_EQ(cols[column("relative_humidity_set_1")].unit, "%");
  EXPECT_EQ(cols[column("solar_radiation_set_1")].unit, "W/m²");
  EXPECT_EQ(cols[column("dew_point_temperature_set_1d")].unit, "°C");
}

TEST(MwsimReplay, UtcRowsMapBySameDayOfYearAndTime) {
  const Replay r = parse(0);
  EXPECT_EQ(r.rows(), 7u);
  const auto hvac_n = column("hvac_N");
  // Each 30-minute row serves two 15-minute logs, any simulated year.
  for (int year : {2018, 2025, 2031}) {
    EXPECT_EQ(r.value(hvac_n, at(year, 1, 1, 0, 0)), 36.0);
    EXPECT_EQ(r.value(hvac_n, at(year, 1, 1, 0, 15)), 36.0);
    EXPECT_NEAR(*r.value(hvac_n, at(year, 1, 1, 0, 30)), 37.7, 1e-5);
    EXPECT_NEAR(*r.value(hvac_n, at(year, 1, 1, 0, 45)), 37.7, 1e-5);
  }
  // Day of year 60 is 1 March in 2018 and 2025, 29 February in 2024.
  EXPECT_EQ(r.value(column("lig_N"), at(2025, 3, 1, 12, 15)), 4.0);
  EXPECT_EQ(r.value(column("lig_N"), at(2024, 2, 29, 12, 0)), 4.0);
  // Day 366 of a leap year reads day 365.
  EXPECT_EQ(r.value(hvac_n, at(2024, 12, 31, 23, 45)), 9.0);
  EXPECT_EQ(r.value(hvac_n, at(2025, 12, 31, 23, 30)), 9.0);
  // Empty cells and rows that are not in the file: no value.
  EXPECT_FALSE(r.value(column("mels_S"), at(2025, 1, 1, 0, 0)).has_value());
  EXPECT_FALSE(r.value(column("lig_N"), at(2025, 1, 1, 0, 30)).has_value());
  EXPECT_FALSE(r.value(hvac_n, at(2025, 6, 1, 12, 0)).has_value());
  EXPECT_NEAR(*r.value(column("air_temp_set_1"), at(2025, 1, 1, 0, 0)), 11.565, 1e-5);
  EXPECT_FALSE(r.value(column("dew_point_temperature_set_1d"), at(2025, 1, 1, 0, 30)).has_value());
}

TEST(MwsimReplay, OffsetShiftsToLocalTime) {
  const Replay r = parse(-8);
  const auto hvac_n = column("hvac_N");
  // 08:00 UTC on 1 January is midnight in Berkeley (UTC-8).
  EXPECT_EQ(r.value(hvac_n, at(2025, 1, 1, 0, 0)), 40.0);
  // 00:00 UTC on 1 January is 16:00 on 31 December, folded onto the same year.
  EXPECT_EQ(r.value(hvac_n, at(2025, 12, 31, 16, 0)), 36.0);
  EXPECT_EQ(r.value(hvac_n, at(2025, 3, 1, 4, 0)), 50.0);
}

TEST(MwsimReplay, SlotOf) {
  EXPECT_EQ(Replay::slot_of(at(2025, 1, 1, 0, 0)), 0u);
  EXPECT_EQ(Replay::slot_of(at(2025, 1, 1, 0, 29)), 0u);
  EXPECT_EQ(Replay::slot_of(at(2025, 1, 2, 0, 30)), 49u);
  EXPECT_EQ(Replay::slot_of(at(2025, 12, 31, 23, 45)), 365u * 48 - 1);
  EXPECT_EQ(Replay::slot_of(at(2024, 12, 31, 23, 45)), 365u * 48 - 1);
}

TEST(MwsimReplay, BadInput) {
  {
    std::istringstream e(",foo,bar\n2018-01-01 00:00:00+00:00,1,2\n");
    std::istringstream w(kWeather);
    EXPECT_FALSE(Replay::parse(e, w).has_value());  // no known column
  }
  {
    std::istringstream e(",mels_S\n2018-01-01 00:00:00+00:00,abc\n");
    std::istringstream w(kWeather);
    auto r = Replay::parse(e, w);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find(":2:"), std::string::npos) << r.error().message;
  }
  {
    std::istringstream e(",mels_S\nyesterday,1\n");
    std::istringstream w(kWeather);
    EXPECT_FALSE(Replay::parse(e, w).has_value());
  }
  {
    std::istringstream e(kElectric);
    std::istringstream w(kWeather);
    EXPECT_FALSE(Replay::parse(e, w, 20).has_value());
  }
}

TEST(MwsimReplay, ReplayPointsOnTheFirstThingOnly) {
  auto replay = std::make_shared<const Replay>(parse(0));
  SimConfig c;
  c.points = 30;
  const SimThing first(c, 1, replay);
  const SimThing second(c, 2, replay);
  ASSERT_EQ(first.points().size(), 30u + Replay::columns().size());
  ASSERT_EQ(second.points().size(), 30u);
  const auto j = nlohmann::json::parse(first.periodic_log(at(2025, 1, 1, 0, 15)));
  EXPECT_EQ(j.at("point_count"), 40);
  const auto data = [&](const char* csv) {
    return j.at("point_" + std::to_string(30 + column(csv))).at("msg")[0].at("data");
  };
  EXPECT_EQ(data("hvac_N"), 36.0);
  EXPECT_EQ(data("hvac_S"), 22.5);
  EXPECT_TRUE(data("mels_S").is_null());     // the MW could not read it
  EXPECT_EQ(data("air_temp_set_1"), 11.57);  // rounded to 2 decimals
  const auto& p = first.points()[30 + column("mels_S")];
  EXPECT_EQ(p.point_id, "01.90.AI-101:B59_MELS_S_Power");
  EXPECT_EQ(p.unit, "kW");
  EXPECT_EQ(p.location, "Sim Building B001/B1/Electric Room");
}

}  // namespace
}  // namespace nbms::mwsim
