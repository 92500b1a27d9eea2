#pragma once
// Users, roles, sessions and the audit trail: plain records and the storage
// ports for them. No I/O and no cryptography here (see nbms/crypto and
// nbms/auth/service.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms {

// admin: the platform operator, above all customers (User::customer is empty).
// manager: read + control + manage the users of its customer.
// viewer: read only, within its customer.
enum class Role { admin, manager, viewer };

std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

// A salted, slow password hash. `salt` and `hash` are raw bytes.
struct PasswordHash {
  std::string algorithm = "pbkdf2-sha256";
  std::uint32_t iterations = 0;
  std::string salt;
  std::string hash;
  bool operator==(const PasswordHash&) const = default;
};

struct User {
  std::string name;      // unique over the whole platform; the login name
  std::string customer;  // empty for admin
  Role role = Role::viewer;
  PasswordHash password;
  std::int64_t created_ms = 0;
  std::int64_t password_changed_ms = 0;
  bool operator==(const User&) const = default;
};

// A login session. Only the SHA-256 of the token is stored, never the token.
struct Session {
  std::string token_hash;  // lowercase hex SHA-256 of the bearer token
  std::string user;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::string remote;  // client address at login
  bool operator==(const Session&) const = default;
};

// One write made through the API or the WebSocket (or a login attempt).
struct AuditEntry {
  std::int64_t time_ms = 0;
  std::string customer;  // whose data it touched; empty for platform-wide acts
  std::string user;      // who (the name given, for a failed login)
  std::string remote;    // from where: client address
  std::string action;    // "login", "login_failed", "logout", "user.create", "control", ...
  std::string target;    // what: a user name, "C000001/B001", a thing/point ...
  std::string detail;    // free text (JSON for controls)
  bool ok = true;
  bool operator==(const AuditEntry&) const = default;
};

class UserStore {
 public:
  virtual ~UserStore() = default;
  virtual Result<void> create_user(const User& user) = 0;  // already_exists
  virtual Result<void> update_user(const User& user) = 0;  // not_found
  virtual Result<User> user(std::string_view name) = 0;    // not_found
  // All users of a customer by name; nullopt: every user of the platform; "":
  // the users without a customer (admins).
  virtual Result<std::vector<User>> users(std::optional<std::string_view> customer) = 0;
  // Deletes the user and all of its sessions; not_found.
  virtual Result<void> delete_user(std::string_view name) = 0;

  virtual Result<void> put_session(const Session& session) = 0;
  virtual Result<Session> session(std::string_view token_hash) = 0;  // not_found
  virtual Result<void> delete_session(std::string_view token_hash) = 0;
  virtual Result<void> delete_sessions_of(std::string_view user) = 0;
  // Removes sessions with expires_ms <= now_ms; returns how many.
  virtual Result<std::size_t> purge_expired_sessions(std::int64_t now_ms) = 0;
};

struct AuditQuery {
  std::optional<std::string> customer;  // nullopt: every customer (admin)
  std::int64_t from_ms = 0;             // inclusive
  std::int64_t to_ms = INT64_MAX;       // inclusive
  std::size_t limit = 100;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Durable when it returns. Entries with the same time_ms are all kept.
  virtual Result<void> append_audit(const AuditEntry& entry) = 0;
  // Newest first.
  virtual Result<std::vector<AuditEntry>> audit(const AuditQuery& query) = 0;
};

}  // namespace nbms
