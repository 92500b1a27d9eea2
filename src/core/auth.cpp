#include "nbms/core/auth.hpp"

namespace nbms {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::manager:
      return "manager";
    case Role::viewer:
      return "viewer";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "admin") return Role::admin;
  if (text == "manager") return Role::manager;
  if (text == "viewer") return Role::viewer;
  return std::nullopt;
}

}  // namespace nbms
