#include "nbms/core/time.hpp"

#include <array>
#include <cstdio>

namespace nbms {
namespace {

constexpr bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr int days_in_month(int y, int m) {
  constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Days from 1970-01-01 to the civil date (proleptic Gregorian), H. Hinnant's algorithm.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  int y;
  int m;
  int d;
};

constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

constexpr std::int64_t kEpochDays = days_from_civil(LocalMinute::kFirstYear, 1, 1);

Civil civil_of(std::uint32_t day) {
  return civil_from_days(kEpochDays + day);
}

}  // namespace

Result<LocalMinute> LocalMinute::parse(std::string_view text) {
  if (text.size() != 12) {
    return fail(Errc::malformed, "time must be 12 digits YYYYMMDDhhmm, got '" +
                                     std::string(text.substr(0, 40)) + "'");
  }
  std::array<int, 12> dg{};
  for (std::size_t i = 0; i < 12; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return fail(Errc::malformed,
                  "time must be 12 digits YYYYMMDDhhmm, got '" + std::string(text) + "'");
    }
    dg[i] = text[i] - '0';
  }
  const int y = dg[0] * 1000 + dg[1] * 100 + dg[2] * 10 + dg[3];
  const int mo = dg[4] * 10 + dg[5];
  const int d = dg[6] * 10 + dg[7];
  const int h = dg[8] * 10 + dg[9];
  const int mi = dg[10] * 10 + dg[11];
  const std::string t(text);
  if (y < kFirstYear || y > kLastYear) {
    return fail(Errc::malformed, "time '" + t + "': year outside 2000..2199");
  }
  if (mo < 1 || mo > 12) return fail(Errc::malformed, "time '" + t + "': month is not 01..12");
  if (d < 1 || d > days_in_month(y, mo)) {
    return fail(Errc::malformed, "time '" + t + "': day does not exist in that month");
  }
  if (h > 23) return fail(Errc::malformed, "time '" + t + "': hour is not 00..23");
  if (mi > 59) return fail(Errc::malformed, "time '" + t + "': minute is not 00..59");
  return from_civil(y, mo, d, h, mi);
}

LocalMinute LocalMinute::from_civil(int year, int month, int day, int hour, int minute) {
  const auto days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) - kEpochDays;
  return LocalMinute(static_cast<std::uint32_t>(days * 1440 + std::int64_t{hour} * 60 + minute));
}

int LocalMinute::year() const {
  return civil_of(day()).y;
}
int LocalMinute::month() const {
  return civil_of(day()).m;
}

std::uint32_t LocalMinute::yyyymm() const {
  const Civil c = civil_of(day());
  return static_cast<std::uint32_t>(c.y * 100 + c.m);
}

void LocalMinute::write_digits(char* out) const {
  const Civil c = civil_of(day());
  const auto two = [&out](unsigned v) {
    *out++ = static_cast<char>('0' + v / 10);
    *out++ = static_cast<char>('0' + v % 10);
  };
  two(static_cast<unsigned>(c.y) / 100);  // years 2000..2199
  two(static_cast<unsigned>(c.y) % 100);
  two(static_cast<unsigned>(c.m));
  two(static_cast<unsigned>(c.d));
  two(minute_of_day() / 60);
  two(minute_of_day() % 60);
}

std::string LocalMinute::to_string() const {
  std::string s(12, '0');
  write_digits(s.data());
  return s;
}

std::string LocalMinute::to_iso() const {
  const Civil c = civil_of(day());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02u:%02u", c.y, c.m, c.d, minute_of_day() / 60,
                minute_of_day() % 60);
  return buf;
}

LocalMinute LocalMinute::plus_minutes(std::int64_t delta) const {
  std::int64_t m = static_cast<std::int64_t>(minutes_) + delta;
  if (m < 0) m = 0;
  if (m > UINT32_MAX) m = UINT32_MAX;
  return LocalMinute(static_cast<std::uint32_t>(m));
}

std::uint32_t first_day_of_month(std::uint32_t day) {
  const Civil c = civil_of(day);
  return day - static_cast<std::uint32_t>(c.d - 1);
}

}  // namespace nbms
