#include "replay.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <string_view>

namespace nbms::mwsim {
namespace {

constexpr std::int64_t kMinutesPerYear = std::int64_t{Replay::kDays} * 1440;

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

bool parse_int(std::string_view s, int& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// `YYYY-MM-DD HH:MM[:SS][+HH:MM|-HH:MM|Z]` -> minutes since 2018-01-01 00:00 UTC.
std::optional<std::int64_t> parse_timestamp(std::string_view s) {
  if (s.size() < 16 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':') {
    return std::nullopt;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) ||
      !parse_int(s.substr(8, 2), d) || !parse_int(s.substr(11, 2), h) ||
      !parse_int(s.substr(14, 2), mi)) {
    return std::nullopt;
  }
  std::size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') pos += 3;  // seconds (ignored)
  int offset = 0;                                 // minutes east of UTC
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (s.size() < pos + 6 || !parse_int(s.substr(pos + 1, 2), oh) ||
        !parse_int(s.substr(pos + 4, 2), om)) {
      return std::nullopt;
    }
    offset = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
  }
  if (y < LocalMinute::kFirstYear || y > LocalMinute::kLastYear || mo < 1 || mo > 12 || d < 1 ||
      d > 31 || h > 23 || mi > 59) {
    return std::nullopt;
  }
  const auto t = LocalMinute::from_civil(y, mo, d, h, mi);
  const auto base = LocalMinute::from_civil(2018, 1, 1, 0, 0);
  return static_cast<std::int64_t>(t.minutes()) - static_cast<std::int64_t>(base.minutes()) -
         offset;
}

}  // namespace

const std::vector<ReplayColumn>& Replay::columns() {
  static const std::vector<ReplayColumn> kColumns = {
      {"mels_S", "B59_MELS_S_Power", "AI", "kW", "METER/ELEC_B59/B59_MELS_S", "Electric Room",
       false},
      {"lig_S", "B59_LIG_S_Power", "AI", "kW", "METER/ELEC_B59/B59_LIG_S", "Electric Room", false},
      {"lig_N", "B59_LIG_N_Power", "AI", "kW", "METER/ELEC_B59/B59_LIG_N", "Electric Room", false},
      {"mels_N", "B59_MELS_N_Power", "AI", "kW", "METER/ELEC_B59/B59_MELS_N", "Electric Room",
       false},
      {"hvac_N", "B59_HVAC_N_Power", "AI", "kW", "METER/ELEC_B59/B59_HVAC_N", "Electric Room",
       false},
      {"hvac_S", "B59_HVAC_S_Power", "AI", "kW", "METER/ELEC_B59/B59_HVAC_S", "Electric Room",
       false},
      {"air_temp_set_1", "B59_OutdoorAirTemp", "AI", "°C", "WEATHER/SITE_B59/B59_WEATHER",
       "Weather Station", true},
      {"relative_humidity_set_1", "B59_OutdoorHumidity", "AI", "%", "WEATHER/SITE_B59/B59_WEATHER",
       "Weather Station", true},
      {"solar_radiation_set_1", "B59_SolarRadiation", "AI", "W/m²", "WEATHER/SITE_B59/B59_WEATHER",
       "Weather Station", true},
      {"dew_point_temperature_set_1d", "B59_DewPoint", "AI", "°C", "WEATHER/SITE_B59/B59_WEATHER",
       "Weather Station", true},
  };
  return kColumns;
}

Replay::Replay()
    : table_(static_cast<std::size_t>(kDays * kSlotsPerDay) * columns().size(),
             std::numeric_limits<double>::quiet_NaN()) {}

Result<Replay> Replay::load(const std::filesystem::path& dir, int utc_offset_hours) {
  std::ifstream electric(dir / kElectricFile);
  if (!electric) {
    return fail(Errc::not_found, "cannot open " + (dir / kElectricFile).string());
  }
  std::ifstream weather(dir / kWeatherFile);
  if (!weather) {
    return fail(Errc::not_found, "cannot open " + (dir / kWeatherFile).string());
  }
  return parse(electric, weather, utc_offset_hours);
}

Result<Replay> Replay::parse(std::istream& electric, std::istream& weather, int utc_offset_hours) {
  if (utc_offset_hours < -14 || utc_offset_hours > 14) {
    return fail(Errc::invalid_argument, "replay UTC offset must be -14..14 hours");
  }
  Replay replay;
  if (auto r = replay.read_csv(electric, kElectricFile, utc_offset_hours); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = replay.read_csv(weather, kWeatherFile, utc_offset_hours); !r) {
    return std::unexpected(r.error());
  }
  return replay;
}

Result<void> Replay::read_csv(std::istream& in, const char* what, int utc_offset_hours) {
  const auto& cols = columns();
  std::string line;
  if (!std::getline(in, line)) return fail(Errc::malformed, std::string(what) + ": empty file");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // Which CSV field feeds which replay column.
  std::vector<std::pair<std::size_t, std::size_t>> wanted;  // (field, column)
  const auto header = split(line);
  for (std::size_t f = 1; f < header.size(); ++f) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (header[f] == cols[c].csv_column) wanted.emplace_back(f, c);
    }
  }
  if (wanted.empty()) {
    return fail(Errc::malformed, std::string(what) + ": no known column in the header");
  }
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split(line);
    const auto minute = parse_timestamp(fields[0]);
    if (!minute) {
      return fail(Errc::malformed, std::string(what) + ":" + std::to_string(line_no) +
                                       ": bad timestamp '" + std::string(fields[0]) + "'");
    }
    if (*minute < 0 || *minute >= kMinutesPerYear) continue;  // not a row of 2018
    std::int64_t local = (*minute + std::int64_t{utc_offset_hours} * 60) % kMinutesPerYear;
    if (local < 0) local += kMinutesPerYear;
    const auto slot = static_cast<std::size_t>(local / 30);
    for (const auto& [field, column] : wanted) {
      if (field >= fields.size() || fields[field].empty()) continue;
      const auto text = fields[field];
      double v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) {
        return fail(Errc::malformed, std::string(what) + ":" + std::to_string(line_no) +
                                         ": bad number '" + std::string(text) + "'");
      }
      table_[slot * cols.size() + column] = v;
    }
    ++rows_;
  }
  return {};
}

std::size_t Replay::slot_of(LocalMinute time) {
  const auto year_start = LocalMinute::from_civil(time.year(), 1, 1, 0, 0);
  std::uint32_t doy = time.day() - year_start.day();  // 0-based
  if (doy >= static_cast<std::uint32_t>(kDays)) doy = kDays - 1;
  return static_cast<std::size_t>(doy) * kSlotsPerDay + time.minute_of_day() / 30;
}

std::optional<double> Replay::value(std::size_t column, LocalMinute time) const {
  const auto& cols = columns();
  if (column >= cols.size()) return std::nullopt;
  const double v = table_[slot_of(time) * cols.size() + column];
  if (std::isnan(v)) return std::nullopt;
  return v;
}

}  // namespace nbms::mwsim
