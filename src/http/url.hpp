#pragma once
// Pieces of a request target (RFC 3986): splitting the path into segments,
// percent-decoding each one, and parsing the query string. Pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms::http {

// Decodes `%XX` escapes. A `%` not followed by two hex digits and an escaped NUL
// (`%00`) are invalid_argument. With `plus_is_space` (query strings, HTML forms)
// `+` decodes to a space; in path segments it stays a `+`.
Result<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// Encodes everything outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view text);

struct Target {
  std::string_view path;   // starts with '/', still percent-encoded
  std::string_view query;  // after '?', without it; empty if none
};

// Splits an origin-form target (`/a/b?x=1`); a '#' fragment is dropped.
Target split_target(std::string_view target);

// Splits an encoded path into its segments without decoding them, so that an
// encoded `%2F` stays inside its segment. "/a/b" -> {"a","b"}; "/" -> {};
// "/a/" -> {"a",""}.
std::vector<std::string_view> split_path(std::string_view path);

// Decoded query parameters in order of appearance. `a=1&b&c=` gives
// {a:"1"}, {b:""}, {c:""}; empty pieces (`a=1&&b=2`) are skipped.
class Query {
 public:
  static Result<Query> parse(std::string_view query);
  // The first value of `name`, if present.
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace nbms::http
