#include "nbms/core/ids.hpp"

#include <array>

namespace nbms {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Result<void> validate_simple_id(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > 32) {
    return fail(Errc::invalid_argument, std::string(what) + " id must be 1..32 characters");
  }
  for (char c : id) {
    if (!is_alnum(c) && c != '-') {
      return fail(Errc::invalid_argument,
                  std::string(what) + " id may only contain letters, digits and '-'");
    }
  }
  return {};
}

}  // namespace

Result<void> validate_customer_id(std::string_view id) {
  return validate_simple_id("customer", id);
}
Result<void> validate_building_id(std::string_view id) {
  return validate_simple_id("building", id);
}

// Characters allowed in point ids: printable ASCII except / + # " and backslash.
// A table: this runs for every point of every periodic log.
constexpr auto kPointIdChars = [] {
  std::array<bool, 256> ok{};
  for (int c = 0x21; c <= 0x7e; ++c) ok[static_cast<std::size_t>(c)] = true;
  for (unsigned char c : {'/', '+', '#', '"', '\\'}) ok[c] = false;
  return ok;
}();

Result<void> validate_point_id(std::string_view id) {
  if (id.empty() || id.size() > 200) {
    return fail(Errc::malformed, "point_id must be 1..200 bytes");
  }
  for (unsigned char c : id) {
    if (!kPointIdChars[c]) {
      return fail(Errc::malformed, "point_id '" + std::string(id.substr(0, 60)) +
                                       "' contains a character outside printable ASCII or one of "
                                       "/ + # \" \\");
    }
  }
  return {};
}

Result<ThingName> ThingName::parse(std::string_view name) {
  const auto first = name.find('_');
  const auto last = name.rfind('_');
  if (first == std::string_view::npos || first == last) {
    return fail(Errc::invalid_argument, "thing name '" + std::string(name.substr(0, 80)) +
                                            "' is not <customer>_<building>_<index>");
  }
  ThingName t{std::string(name.substr(0, first)),
              std::string(name.substr(first + 1, last - first - 1)),
              std::string(name.substr(last + 1))};
  for (auto r : {validate_customer_id(t.customer), validate_building_id(t.building)}) {
    if (!r) {
      return fail(Errc::invalid_argument,
                  "thing name '" + std::string(name.substr(0, 80)) + "': " + r.error().message);
    }
  }
  if (t.index.empty() || t.index.size() > 8 ||
      t.index.find_first_not_of("0123456789") != std::string::npos) {
    return fail(Errc::invalid_argument,
                "thing name '" + std::string(name) + "': index must be 1..8 digits");
  }
  return t;
}

}  // namespace nbms
