#include "nbms/notify/url.hpp"

#include <algorithm>
#include <charconv>

namespace nbms::notify {

std::string Url::origin() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) out.append(":").append(std::to_string(port));  // see parse_url
  return out;
}

Result<Url> parse_url(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, "URL '" + std::string(text) + "': " + std::string(why));
  };
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return bad("contains spaces or control characters");
  }
  Url url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("not absolute");
  url.scheme = std::string(text.substr(0, sep));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "http" && url.scheme != "https") return bad("scheme must be http or https");
  auto rest = text.substr(sep + 3);
  const auto path_at = rest.find_first_of("/?#");
  auto authority = rest.substr(0, path_at);
  auto target = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) return bad("user information is not allowed");
  if (target.find('#') != std::string_view::npos) return bad("fragments are not allowed");
  // Built by appending: g++ 12 at -O2 warns falsely (-Wrestrict) on "lit" + std::string.
  url.target =
      target.empty() || target[0] != '/' ? std::string("/").append(target) : std::string(target);
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    url.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  url.port = url.tls() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("bad port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace nbms::notify
