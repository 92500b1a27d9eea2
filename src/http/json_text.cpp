#include "json_text.hpp"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace nbms::http {

void append_json_string(std::string& out, std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    // Escapes and non-ASCII are rare in ids and names: the library handles them.
    if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
      out += nlohmann::json(std::string(s))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  // Integral doubles as "21.0", as dump() writes them: a reader sees a float.
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void JsonMinutes::append(std::string& out, LocalMinute t) {
  if (t.day() != day_) {
    day_ = t.day();
    t.write_digits(digits_);
  } else {
    const auto two = [](char* at, unsigned v) {
      at[0] = static_cast<char>('0' + v / 10);
      at[1] = static_cast<char>('0' + v % 10);
    };
    two(digits_ + 8, t.minute_of_day() / 60);
    two(digits_ + 10, t.minute_of_day() % 60);
  }
  out += '"';
  out.append(digits_, sizeof digits_);
  out += '"';
}

}  // namespace nbms::http
