#pragma once
// Authentication and authorisation: logins, sessions, users and the audit
// trail, over the UserStore and AuditStore ports. The rules of who may do what
// to which customer live here (Principal), so the HTTP and WebSocket layers
// only ask.
//
// Thread-safety: every method may be called from any thread at once. Password
// hashing is deliberately slow (PBKDF2, `pbkdf2_iterations`), so login,
// create_user and set_password take tens to hundreds of milliseconds.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/auth.hpp"
#include "nbms/core/error.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::auth {

// Who is calling, once authenticated.
struct Principal {
  std::string user;
  std::string customer;  // empty for admin
  Role role = Role::viewer;

  // Read data of `customer` (its buildings, points, values, history).
  bool can_read(std::string_view customer) const;
  // Write points (control) and register buildings/things of `customer`.
  bool can_operate(std::string_view customer) const;
  // Create/delete users of `customer`, reset their passwords, read its audit log.
  bool can_manage(std::string_view customer) const;
  bool is_admin() const { return role == Role::admin; }
};

struct AuthOptions {
  std::uint32_t pbkdf2_iterations = 600'000;  // OWASP 2023 for PBKDF2-HMAC-SHA256
  std::int64_t session_ttl_ms = 12LL * 3600 * 1000;
  // Throttling of failed logins, per user name and per client address: after
  // `max_failures` consecutive failures, further attempts are refused for
  // `lockout_ms`, doubling with each further failure up to `max_lockout_ms`.
  std::uint32_t max_failures = 5;
  std::int64_t lockout_ms = 30'000;
  std::int64_t max_lockout_ms = 15LL * 60 * 1000;
  std::size_t min_password_length = 10;
};

struct LoginResult {
  std::string token;  // random, 256 bits, base64url; shown once, stored hashed
  std::int64_t expires_ms = 0;
  Principal principal;
};

// Where a request came from, for the audit trail and throttling.
struct Origin {
  std::string remote;  // client address, e.g. "127.0.0.1"
};

class AuthService {
 public:
  AuthService(UserStore& users, AuditStore& audit, const Clock& clock, AuthOptions options = {});
  ~AuthService();
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // First start: if no user named "admin" exists, creates it (role admin) with
  // `password`, or with a random one-time password that is returned (to be
  // printed once). Returns nullopt when admin exists or `password` was used.
  Result<std::optional<std::string>> bootstrap_admin(std::optional<std::string> password);

  // unauthenticated for an unknown user or wrong password (same message for
  // both); throttled (with the wait in the message) when locked out. Audited,
  // except attempts refused while locked out. Throttling state is in memory
  // and resets when the process restarts.
  Result<LoginResult> login(std::string_view name, std::string_view password, const Origin& from);
  // unauthenticated when the token is unknown, malformed or expired, or its user is gone.
  Result<Principal> authenticate(std::string_view token);
  Result<void> logout(std::string_view token, const Origin& from);

  // Users the caller may see: admin all (nullopt) or those of `customer` (""
  // lists the admins), manager its customer's. The users carry no password
  // hash. forbidden for viewers of their own customer.
  //
  // Scoping rule of this service (as of the whole API): scope before role. A
  // request about another customer (list, create in, audit log of) is
  // not_found, worded as for a customer that does not exist, whatever the
  // caller's role; a request naming a user of another customer gets not_found
  // exactly as for a user that does not exist, so user names cannot be probed.
  // Within scope, a role that lacks the right is forbidden. (create_user still
  // says already_exists for a name taken in any customer: login names are
  // unique over the platform.)
  Result<std::vector<User>> list_users(const Principal& caller,
                                       std::optional<std::string_view> customer);
  // Admin creates any user; a manager creates managers/viewers of its own customer.
  // invalid_argument for a bad name, weak password, or a role/customer that does
  // not fit; not_found (another customer); forbidden; already_exists. Audited.
  // The returned user carries no password hash. The customer's existence is
  // not checked here (no Registry): the HTTP route checks it.
  Result<User> create_user(const Principal& caller, std::string_view name,
                           std::string_view password, Role role, std::string_view customer,
                           const Origin& from);
  // Deletes the user and ends its sessions; nobody deletes itself or "admin". Audited.
  Result<void> delete_user(const Principal& caller, std::string_view name, const Origin& from);
  // A manager resets passwords of its customer's users, admin anyone's, and a
  // user its own (then `current_password` must be right, checked under the
  // login throttle; forbidden when wrong). Ends all of the user's sessions, the
  // caller's own too when it changes its own password (log in again). Audited.
  Result<void> set_password(const Principal& caller, std::string_view name,
                            std::optional<std::string_view> current_password,
                            std::string_view new_password, const Origin& from);

  // Records a write made elsewhere (a control, a registration) for `caller`.
  Result<void> record(const Principal& caller, std::string_view customer, std::string_view action,
                      std::string_view target, std::string_view detail, bool ok,
                      const Origin& from);
  // The audit trail the caller may read (managers: its customer, not_found for
  // another; admin: any; viewers: forbidden). `limit` is capped at 1000.
  Result<std::vector<AuditEntry>> audit_log(const Principal& caller, AuditQuery query);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A user name: 1..64 of [A-Za-z0-9._@-], starting with a letter or digit.
Result<void> validate_user_name(std::string_view name);

}  // namespace nbms::auth
