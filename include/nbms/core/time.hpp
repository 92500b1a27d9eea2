#pragma once
// Building-local wall-clock time at minute resolution, as the MW sends it
// (`YYYYMMDDhhmm`). Stored as minutes since 2000-01-01 00:00 so it orders and
// subtracts as an integer; no time zone is applied (the MW's clock is the building's).
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms {

class LocalMinute {
 public:
  static constexpr std::int32_t kFirstYear = 2000;
  static constexpr std::int32_t kLastYear = 2199;

  constexpr LocalMinute() = default;
  static constexpr LocalMinute from_minutes(std::uint32_t m) { return LocalMinute(m); }
  // Parses exactly 12 digits `YYYYMMDDhhmm` and checks the calendar (leap years,
  // days per month, hours < 24, minutes < 60, years 2000..2199).
  static Result<LocalMinute> parse(std::string_view text);
  static LocalMinute from_civil(int year, int month, int day, int hour, int minute);

  constexpr std::uint32_t minutes() const { return minutes_; }
  constexpr std::uint32_t day() const { return minutes_ / 1440; }  // days since 2000-01-01
  constexpr std::uint32_t minute_of_day() const { return minutes_ % 1440; }
  int year() const;
  int month() const;
  // Calendar month as YYYYMM (e.g. 202210), the old system's table partition.
  std::uint32_t yyyymm() const;
  std::string to_string() const;  // `YYYYMMDDhhmm`
  // Writes the 12 digits of to_string() to out[0..11] (no terminator).
  void write_digits(char* out) const;
  // ISO 8601 without zone: `YYYY-MM-DDThh:mm`.
  std::string to_iso() const;

  LocalMinute plus_minutes(std::int64_t delta) const;
  constexpr auto operator<=>(const LocalMinute&) const = default;

 private:
  constexpr explicit LocalMinute(std::uint32_t m) : minutes_(m) {}
  std::uint32_t minutes_ = 0;
};

// Day number (days since 2000-01-01) of the first day of the month containing `day`.
std::uint32_t first_day_of_month(std::uint32_t day);

}  // namespace nbms
