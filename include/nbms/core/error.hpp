#pragma once
// Error values shared by every module. Adapters translate library errors
// (rocksdb::Status, mqtt::exception, simdjson codes) into these at their boundary.
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
  unavailable,  // storage or broker cannot take work now (retry later)
  io,           // storage failure
  internal,
};

std::string_view to_string(Errc code);

struct Error {
  Errc code;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nbms
