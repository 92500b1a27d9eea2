#pragma once
// Replay of the LBNL Building 59 CSVs (tools/data/lbnl_bldg59/README.md): 30-minute
// rows of calendar year 2018, electric end-use power (kW) and site weather.
//
// Mapping: the CSV timestamps (UTC) are shifted by `utc_offset_hours` (default -8,
// Berkeley standard time) and folded onto one 365-day year. A simulated time then
// reads the row of the same day of year (1..365; day 366 of a leap year reads day
// 365) and the same half hour, so every 30-minute row serves two 15-minute logs.
// Empty cells (real outages) read as no value, published as `"data": null`.
#include <cstddef>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/time.hpp"

namespace nbms::mwsim {

struct ReplayColumn {
  std::string csv_column;  // header name in the CSV, e.g. mels_S
  std::string point_name;  // short name used in the point id, e.g. B59_Elec_mels_S
  std::string object_type;
  std::string unit;
  std::string equipment;  // Point_Info
  std::string room;       // last part of Point_Location
  bool weather = false;
};

class Replay {
 public:
  static constexpr int kSlotsPerDay = 48;
  static constexpr int kDays = 365;
  static constexpr const char* kElectricFile = "lbnl_bldg59_ele_30min_2018.csv";
  static constexpr const char* kWeatherFile = "lbnl_bldg59_site_weather_30min_2018.csv";

  // The replayed columns, in point order: six electric end uses, then weather.
  static const std::vector<ReplayColumn>& columns();

  // Reads both CSVs from `dir`.
  static Result<Replay> load(const std::filesystem::path& dir, int utc_offset_hours = -8);
  // Parses the two CSVs from streams (tests).
  static Result<Replay> parse(std::istream& electric, std::istream& weather,
                              int utc_offset_hours = -8);

  // Value of column `column` at simulated time `time`; nullopt for an empty cell.
  std::optional<double> value(std::size_t column, LocalMinute time) const;
  // The 30-minute slot (0 .. 365*48-1) a simulated time reads.
  static std::size_t slot_of(LocalMinute time);

  std::size_t rows() const { return rows_; }  // CSV rows read (both files)

 private:
  Replay();
  Result<void> read_csv(std::istream& in, const char* what, int utc_offset_hours);

  std::vector<double> table_;  // slot * columns + column; NaN = empty
  std::size_t rows_ = 0;
};

}  // namespace nbms::mwsim
