#pragma once
// Absolute http(s) URLs as the notification channels need them (push
// endpoints, webhooks). Pure functions, no I/O.
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::notify {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for an IPv6 literal
  std::uint16_t port = 0;
  std::string target;  // path and query, at least "/"
  bool tls() const { return scheme == "https"; }
  // scheme://host[:port], the port only if not the scheme's default (RFC 6454).
  std::string origin() const;
};

// invalid_argument for anything but an absolute http/https URL with a host;
// user information (user:pass@) and fragments are refused.
Result<Url> parse_url(std::string_view text);

}  // namespace nbms::notify
