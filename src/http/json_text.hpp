#pragma once
// JSON text written straight into a string, for the hot paths (latest values,
// history, realtime frames) where building an nlohmann tree and dumping it cost
// more than the storage read behind them. Strings come out as dump() writes
// them; numbers in the shortest form that reads back exactly (dump() sometimes
// writes one more digit or an exponent: the same value).
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/time.hpp"

namespace nbms::http {

// A quoted, escaped string; invalid UTF-8 becomes U+FFFD, as in dump().
void append_json_string(std::string& out, std::string_view s);
// A number that reads back exactly, integral values as "21.0"; null for NaN/Infinity.
void append_json_number(std::string& out, double v);
// Times as quoted `YYYYMMDDhhmm` strings. Remembers the digits of the last
// day written, so a series (96 samples a day) works out each calendar date once.
class JsonMinutes {
 public:
  void append(std::string& out, LocalMinute t);

 private:
  std::uint32_t day_ = UINT32_MAX;
  char digits_[12] = {};
};

}  // namespace nbms::http
