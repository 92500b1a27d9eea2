// json_text writes what nlohmann's dump() writes: the same strings, numbers
// that read back to the same double.
#include "http/json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

namespace nbms::http {
namespace {

using nlohmann::json;

std::string dumped(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string number(double v) {
  std::string out;
  append_json_number(out, v);
  return out;
}

std::string string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonText, NumbersReadBackExactly) {
  const double cases[] = {0.0,
                          -0.0,
                          1.0,
                          21.0,
                          -3.5,
                          0.1,
                          1.0 / 3.0,
                          1e21,
                          1e-7,
                          123456789012345680.0,
                          std::numeric_limits<double>::max(),
                          std::numeric_limits<double>::min(),
                          std::numeric_limits<double>::denorm_min(),
                          -std::numeric_limits<double>::max()};
  for (const double v : cases) {
    const auto text = number(v);
    const auto back = json::parse(text);
    ASSERT_TRUE(back.is_number_float()) << text;
    EXPECT_EQ(back.get<double>(), v) << text;
    EXPECT_EQ(std::signbit(back.get<double>()), std::signbit(v)) << text;
    EXPECT_LE(text.size(), dumped(json(v)).size() + 2) << text;  // "+2": the ".0"
  }
  EXPECT_EQ(number(21.0), "21.0");
  EXPECT_EQ(number(-3.5), "-3.5");
  EXPECT_EQ(number(0.1), "0.1");
}

TEST(JsonText, RandomNumbersReadBackExactlyAndAreNoLongerThanDump) {
  std::mt19937_64 rng(59);
  std::uniform_real_distribution<double> mantissa(-1000.0, 1000.0);
  std::uniform_int_distribution<int> exponent(-30, 30);
  for (int i = 0; i < 20000; ++i) {
    const double v = std::ldexp(mantissa(rng), exponent(rng));
    const auto text = number(v);
    ASSERT_EQ(json::parse(text).get<double>(), v) << text;
    ASSERT_LE(text.size(), dumped(json(v)).size() + 2) << text;
  }
}

TEST(JsonText, NonFiniteIsNull) {
  EXPECT_EQ(number(std::nan("")), "null");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonText, StringsMatchDump) {
  const std::string cases[] = {"",
                               "AHU-1:ai-3",
                               "say \"hi\"",
                               "back\\slash",
                               "tab\there",
                               std::string("nul\0inside", 10),
                               "\x7f",
                               "급기온도",
                               "bad \xff\xfe utf-8",
                               "truncated \xe2\x82"};
  for (const auto& s : cases) EXPECT_EQ(string(s), dumped(json(s))) << s;
}

TEST(JsonText, MinuteIsQuotedDigits) {
  std::string out;
  JsonMinutes minutes;
  minutes.append(out, LocalMinute::from_civil(2018, 2, 28, 23, 45));
  EXPECT_EQ(out, "\"201802282345\"");
  out.clear();
  minutes.append(out, LocalMinute::from_civil(2199, 12, 31, 0, 5));
  EXPECT_EQ(out, "\"219912310005\"");
}

// The remembered date digits: every 15-minute slot of two years (month and
// year ends, a leap day), then jumps back and forth between days.
TEST(JsonText, MinutesInASeriesMatchTheirOwnDigits) {
  JsonMinutes minutes;
  const auto check = [&](LocalMinute t) {
    std::string out;
    minutes.append(out, t);
    ASSERT_EQ(out, "\"" + t.to_string() + "\"");
  };
  const auto first = LocalMinute::from_civil(2023, 12, 31, 0, 0);
  for (std::uint32_t m = 0; m < 2 * 366 * 1440; m += 15) check(first.plus_minutes(m));
  for (int i = 0; i < 50; ++i) {
    check(first.plus_minutes(i * 1439));
    check(first.plus_minutes(i * 7));
  }
}

}  // namespace
}  // namespace nbms::http
