#pragma once
// Error values shared by every module. Adapters translate library errors
// (rocksdb::Status, mqtt::exception, simdjson codes) into these at their boundary.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace nbms {

enum class Errc {
  invalid_argument,  // a caller (REST, CLI, config) gave a bad value
  malformed,         // device input that does not follow the MW protocol
  not_found,
  already_exists,
  unregistered,  // a message from a thing nobody registered
  too_large,
  unavailable,      // storage or broker cannot take work now (retry later)
  unauthenticated,  // no valid credentials (login failed, token missing or expired)
  forbidden,        // authenticated, but the role does not allow it
  throttled,        // too many attempts; retry later
  io,               // storage failure
  internal,
};

std::string_view to_string(Errc code);

struct Error {
  Errc code;
  std::string message;
  std::int64_t retry_after_ms = 0;  // throttled: how long until a retry may succeed
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nbms
