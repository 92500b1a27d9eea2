#include "nbms/auth/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "nbms/core/ids.hpp"
#include "nbms/crypto/crypto.hpp"
#include "throttle.hpp"

namespace nbms::auth {
namespace {

constexpr std::string_view kAlgorithm = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, unpadded
constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::size_t kGeneratedPasswordChars = 20;
constexpr std::size_t kMaxAuditLimit = 1000;
constexpr std::int64_t kPurgeEveryMs = std::int64_t{10} * 60 * 1000;
constexpr std::string_view kAdminName = "admin";
// Who made a write that no user made (the first admin at bootstrap). Not a
// valid user name, so nobody can log in as it.
constexpr std::string_view kSystemActor = "(system)";

constexpr std::string_view kBadCredentials = "invalid user name or password";
constexpr std::string_view kBadSession = "invalid or expired session";

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = [] {
    auto existing = spdlog::get("auth");
    return existing ? existing : spdlog::default_logger()->clone("auth");
  }();
  return log;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_token_char(char c) {
  return is_alnum(c) || c == '-' || c == '_';
}

// A name as given at a failed login, safe for the audit trail and log lines:
// at most 64 printable ASCII characters (anything else becomes '?').
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 64));
  for (auto& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (text.size() > 64) out += "...";
  return out;
}

// Fixed and public: it only has to make an unknown user cost one PBKDF2 like a
// known one, not keep anything secret.
const std::string& dummy_salt() {
  static const std::string salt = crypto::sha256("nbms login dummy salt").substr(0, kSaltBytes);
  return salt;
}

// Users handed out of the service never carry their password hash, so no
// caller can serialise it by mistake.
User without_password(User user) {
  user.password = PasswordHash{};
  return user;
}

// Another customer reads as one that does not exist (docs/api.md, Authorisation).
Error not_found_customer(std::string_view customer) {
  return Error{Errc::not_found, "customer '" + std::string(customer) + "' not found"};
}

Error not_found_user(std::string_view name) {
  return Error{Errc::not_found, "user '" + printable(name) + "' not found"};
}

}  // namespace

// ---- Principal ----

bool Principal::can_read(std::string_view c) const {
  if (role == Role::admin) return true;
  return !customer.empty() && customer == c;
}

bool Principal::can_operate(std::string_view c) const {
  if (role == Role::admin) return true;
  return role == Role::manager && !customer.empty() && customer == c;
}

bool Principal::can_manage(std::string_view c) const {
  return can_operate(c);
}

Result<void> validate_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return fail(Errc::invalid_argument, "user name must be 1..64 characters");
  }
  if (!is_alnum(name.front())) {
    return fail(Errc::invalid_argument, "user name must start with a letter or digit");
  }
  for (char c : name) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '@' && c != '-') {
      return fail(Errc::invalid_argument, "user name may only contain letters, digits and . _ @ -");
    }
  }
  return {};
}

// ---- AuthService ----

// Owns the throttling state (behind throttle_mu) and nothing else: the stores
// and the clock are borrowed and must outlive the service. Used from any
// thread at once; the stores are thread-safe themselves.
struct AuthService::Impl {
  UserStore& users;
  AuditStore& audit;
  const Clock& clock;
  AuthOptions options;

  // Failed-login counters (see throttle.hpp): in memory, reset on restart.
  std::mutex throttle_mu;
  Throttle by_user;
  Throttle by_remote;

  std::atomic<std::int64_t> last_purge_ms{0};

  Impl(UserStore& u, AuditStore& a, const Clock& c, AuthOptions o)
      : users(u), audit(a), clock(c), options(o), by_user(limits(o)), by_remote(limits(o)) {}

  static ThrottleLimits limits(const AuthOptions& o) {
    return ThrottleLimits{o.max_failures, o.lockout_ms, o.max_lockout_ms, 10'000};
  }

  Result<void> check_password_rules(std::string_view password) const {
    if (password.size() < options.min_password_length) {
      return fail(Errc::invalid_argument, "password must be at least " +
                                              std::to_string(options.min_password_length) +
                                              " characters");
    }
    if (password.size() > kMaxPasswordBytes) {
      return fail(Errc::invalid_argument,
                  "password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes");
    }
    return {};
  }

  Result<PasswordHash> hash_password(std::string_view password) const {
    auto salt = crypto::random_bytes(kSaltBytes);
    if (!salt) return std::unexpected(salt.error());
    auto hash = crypto::pbkdf2_sha256(password, *salt, options.pbkdf2_iterations, kHashBytes);
    if (!hash) return std::unexpected(hash.error());
    return PasswordHash{std::string(kAlgorithm), options.pbkdf2_iterations, std::move(*salt),
                        std::move(*hash)};
  }

  // Verifies with the parameters stored with the hash, so changing
  // `pbkdf2_iterations` keeps old passwords working.
  Result<bool> verify(const PasswordHash& stored, std::string_view password) const {
    if (stored.algorithm != kAlgorithm || stored.iterations == 0 || stored.hash.empty()) {
      return fail(Errc::internal, "stored password hash uses an unsupported algorithm");
    }
    auto derived =
        crypto::pbkdf2_sha256(password, stored.salt, stored.iterations, stored.hash.size());
    if (!derived) return std::unexpected(derived.error());
    return crypto::constant_time_equal(*derived, stored.hash);
  }

  // The cost of one verification, for callers that have no user to verify
  // against (so answers for unknown users take as long as for known ones).
  void burn_one_verification(std::string_view password) const {
    (void)crypto::pbkdf2_sha256(password, dummy_salt(), options.pbkdf2_iterations, kHashBytes);
  }

  // Appends to the audit trail. A failure is logged and returned: callers
  // decide whether the act stands without its audit entry.
  Result<void> append(AuditEntry entry) {
    auto r = audit.append_audit(entry);
    if (!r) {
      logger()->error("cannot write audit entry {} by '{}' on '{}': {}", entry.action, entry.user,
                      entry.target, r.error().message);
    }
    return r;
  }

  AuditEntry entry(std::string_view customer, std::string_view user, const Origin& from,
                   std::string_view action, std::string_view target, std::string detail = {},
                   bool ok = true) const {
    return AuditEntry{clock.now_ms(),      std::string(customer), std::string(user), from.remote,
                      std::string(action), std::string(target),   std::move(detail), ok};
  }

  // Records an attempt the caller's role did not allow. Filed under the
  // caller's customer: the other customer's managers must not learn of it.
  Error denied(const Principal& caller, const Origin& from, std::string_view action,
               std::string_view target, Error error) {
    const auto shown = printable(target);
    (void)append(entry(caller.customer, caller.user, from, action, shown,
                       std::string(to_string(error.code)) + ": " + error.message, false));
    logger()->info("{} by '{}' on '{}' refused: {}", action, caller.user, shown, error.message);
    return error;
  }

  // Throttle slots of one login or password check: taken by begin(), given
  // back exactly once (finish or cancel, the latter on scope exit).
  class Attempt {
   public:
    Attempt(Impl& impl, std::string user_key, std::string remote_key)
        : impl_(impl), user_key_(std::move(user_key)), remote_key_(std::move(remote_key)) {}
    ~Attempt() {
      if (!active_) return;
      std::lock_guard lock(impl_.throttle_mu);
      impl_.by_user.cancel(user_key_);
      impl_.by_remote.cancel(remote_key_);
    }
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;

    // 0 when the attempt may go ahead, else milliseconds to wait.
    std::int64_t begin() {
      const auto now = impl_.clock.now_ms();
      std::lock_guard lock(impl_.throttle_mu);
      if (auto wait = impl_.by_user.begin(user_key_, now); wait > 0) return wait;
      if (auto wait = impl_.by_remote.begin(remote_key_, now); wait > 0) {
        impl_.by_user.cancel(user_key_);
        return wait;
      }
      active_ = true;
      return 0;
    }
    // Ends the attempt; returns the lockout a failure started (0: none).
    std::int64_t finish(bool failed) {
      active_ = false;
      const auto now = impl_.clock.now_ms();
      std::lock_guard lock(impl_.throttle_mu);
      // A success clears the user's count but not the address's: an attacker
      // must not reset its address by logging in to an account of its own.
      const auto user_lock = impl_.by_user.finish(user_key_, failed, true, now);
      const auto remote_lock = impl_.by_remote.finish(remote_key_, failed, false, now);
      return std::max(user_lock, remote_lock);
    }

   private:
    Impl& impl_;
    std::string user_key_;
    std::string remote_key_;
    bool active_ = false;
  };

  // The stored session of a bearer token; unauthenticated when the token is not
  // shaped like ours (such tokens never reach storage) or names no session.
  Result<Session> find_session(std::string_view token) {
    if (token.size() != kTokenChars || !std::all_of(token.begin(), token.end(), is_token_char)) {
      return fail(Errc::unauthenticated, std::string(kBadSession));
    }
    auto session = users.session(crypto::to_hex(crypto::sha256(token)));
    if (!session && session.error().code == Errc::not_found) {
      return fail(Errc::unauthenticated, std::string(kBadSession));
    }
    return session;
  }

  static Error throttled(std::int64_t wait_ms) {
    const auto seconds = std::max<std::int64_t>(1, (wait_ms + 999) / 1000);
    return Error{Errc::throttled,
                 "too many failed logins; retry in " + std::to_string(seconds) + " s",
                 seconds * 1000};
  }

  // Throttle key of a name given at login: names that can never exist are
  // cut short so they cannot make the map large.
  static std::string user_key(std::string_view name) {
    if (validate_user_name(name)) return std::string(name);
    // Appended rather than `"?" + ...`: g++ 12 -O3 flags the latter with a
    // false -Wrestrict (GCC bug 105329).
    std::string key = "?";
    key += printable(name);
    return key;
  }

  void purge_sessions_now_and_then() {
    const auto now = clock.now_ms();
    auto last = last_purge_ms.load();
    if (now - last < kPurgeEveryMs) return;
    if (!last_purge_ms.compare_exchange_strong(last, now)) return;  // another thread does it
    auto purged = users.purge_expired_sessions(now);
    if (!purged) {
      logger()->warn("cannot purge expired sessions: {}", purged.error().message);
    } else if (*purged > 0) {
      logger()->debug("purged {} expired sessions", *purged);
    }
  }

  Result<User> create(std::string_view name, std::string_view password, Role role,
                      std::string_view customer) {
    auto hash = hash_password(password);
    if (!hash) return std::unexpected(hash.error());
    const auto now = clock.now_ms();
    User user{std::string(name), std::string(customer), role, std::move(*hash), now, now};
    if (auto r = users.create_user(user); !r) return std::unexpected(r.error());
    return user;
  }
};

AuthService::AuthService(UserStore& users, AuditStore& audit, const Clock& clock,
                         AuthOptions options)
    : impl_(std::make_unique<Impl>(users, audit, clock, options)) {}

AuthService::~AuthService() = default;

Result<std::optional<std::string>> AuthService::bootstrap_admin(
    std::optional<std::string> password) {
  auto& impl = *impl_;
  auto existing = impl.users.user(kAdminName);
  if (existing) return std::optional<std::string>{};
  if (existing.error().code != Errc::not_found) return std::unexpected(existing.error());

  std::optional<std::string> generated;
  if (password) {
    if (auto ok = impl.check_password_rules(*password); !ok) {
      return fail(Errc::invalid_argument, "initial admin password: " + ok.error().message);
    }
  } else {
    const std::size_t chars = std::max(kGeneratedPasswordChars, impl.options.min_password_length);
    auto bytes = crypto::random_bytes((chars + 3) / 4 * 3);
    if (!bytes) return std::unexpected(bytes.error());
    generated = crypto::base64url_encode(*bytes).substr(0, chars);
  }
  auto created = impl.create(kAdminName, password ? *password : *generated, Role::admin, "");
  if (!created) {
    // Another nbmsd sharing the store made it first: theirs stands.
    if (created.error().code == Errc::already_exists) return std::optional<std::string>{};
    return std::unexpected(created.error());
  }
  logger()->info("created the initial admin user '{}'", kAdminName);
  if (auto a = impl.append(impl.entry("", kSystemActor, Origin{}, "user.create", kAdminName,
                                      "role=admin (bootstrap)"));
      !a) {
    return std::unexpected(a.error());
  }
  if (password) return std::optional<std::string>{};
  return generated;
}

Result<LoginResult> AuthService::login(std::string_view name, std::string_view password,
                                       const Origin& from) {
  auto& impl = *impl_;
  Impl::Attempt attempt(impl, Impl::user_key(name), from.remote);
  if (auto wait = attempt.begin(); wait > 0) {
    // Not audited: a locked-out client could otherwise grow the audit trail at
    // request rate. The failure that started the lockout is audited.
    logger()->debug("login for '{}' from {} refused: locked out", printable(name), from.remote);
    return std::unexpected(Impl::throttled(wait));
  }

  std::optional<User> user;
  if (validate_user_name(name)) {
    auto found = impl.users.user(name);
    if (found) {
      user = std::move(*found);
    } else if (found.error().code != Errc::not_found) {
      return std::unexpected(found.error());  // storage trouble: no verdict, not counted
    }
  }
  bool ok = false;
  if (user) {
    auto verified = impl.verify(user->password, password);
    if (!verified) {
      logger()->error("cannot verify the password of '{}': {}", user->name,
                      verified.error().message);
      return std::unexpected(verified.error());
    }
    ok = *verified;
  } else {
    impl.burn_one_verification(password);
  }

  if (!ok) {
    const auto lockout = attempt.finish(true);
    std::string detail = user ? "wrong password" : "unknown user";
    if (lockout > 0) {
      detail += "; locked out for " + std::to_string((lockout + 999) / 1000) + " s";
      logger()->warn("failed logins for '{}' or from {}: locked out for {} ms", printable(name),
                     from.remote, lockout);
    }
    (void)impl.append(impl.entry(user ? user->customer : "", printable(name), from, "login_failed",
                                 printable(name), std::move(detail), false));
    return fail(Errc::unauthenticated, std::string(kBadCredentials));
  }
  attempt.finish(false);

  auto raw = crypto::random_bytes(kTokenBytes);
  if (!raw) return std::unexpected(raw.error());
  LoginResult result;
  result.token = crypto::base64url_encode(*raw);
  const auto now = impl.clock.now_ms();
  result.expires_ms = now + impl.options.session_ttl_ms;
  result.principal = Principal{user->name, user->customer, user->role};
  const Session session{crypto::to_hex(crypto::sha256(result.token)), user->name, now,
                        result.expires_ms, from.remote};
  if (auto r = impl.users.put_session(session); !r) return std::unexpected(r.error());
  if (auto a = impl.append(impl.entry(user->customer, user->name, from, "login", user->name)); !a) {
    // A login that cannot be audited does not happen.
    (void)impl.users.delete_session(session.token_hash);
    return std::unexpected(a.error());
  }
  impl.purge_sessions_now_and_then();
  return result;
}

Result<Principal> AuthService::authenticate(std::string_view token) {
  auto& impl = *impl_;
  auto session = impl.find_session(token);
  if (!session) return std::unexpected(session.error());
  const std::string& hash = session->token_hash;
  if (session->expires_ms <= impl.clock.now_ms()) {
    if (auto d = impl.users.delete_session(hash); !d) {
      logger()->warn("cannot delete an expired session of '{}': {}", session->user,
                     d.error().message);
    }
    return fail(Errc::unauthenticated, std::string(kBadSession));
  }
  auto user = impl.users.user(session->user);
  if (!user) {
    if (user.error().code == Errc::not_found) {
      return fail(Errc::unauthenticated, std::string(kBadSession));
    }
    return std::unexpected(user.error());
  }
  return Principal{user->name, user->customer, user->role};
}

Result<void> AuthService::logout(std::string_view token, const Origin& from) {
  auto& impl = *impl_;
  auto session = impl.find_session(token);
  if (!session) return std::unexpected(session.error());
  if (auto d = impl.users.delete_session(session->token_hash); !d) return d;
  std::string customer;
  if (auto user = impl.users.user(session->user)) customer = user->customer;
  return impl.append(impl.entry(customer, session->user, from, "logout", session->user));
}

Result<std::vector<User>> AuthService::list_users(const Principal& caller,
                                                  std::optional<std::string_view> customer) {
  auto& impl = *impl_;
  // Scope before role: another customer is not found, whatever the role.
  if (customer && !caller.can_read(*customer)) {
    return std::unexpected(not_found_customer(*customer));
  }
  if (caller.role == Role::viewer) return fail(Errc::forbidden, "viewers cannot list users");
  if (caller.role == Role::manager) customer = caller.customer;
  auto list = impl.users.users(customer);
  if (!list) return std::unexpected(list.error());
  for (auto& u : *list) u = without_password(std::move(u));
  return list;
}

Result<User> AuthService::create_user(const Principal& caller, std::string_view name,
                                      std::string_view password, Role role,
                                      std::string_view customer, const Origin& from) {
  auto& impl = *impl_;
  constexpr std::string_view kAction = "user.create";
  // Authorisation first, from the request alone: the answer must not depend on
  // data the caller may not see. Scope before role: another customer is not found.
  if (!caller.is_admin() && role == Role::admin) {
    return std::unexpected(impl.denied(caller, from, kAction, name,
                                       {Errc::forbidden, "only the admin creates admins"}));
  }
  if (!caller.is_admin() && customer != caller.customer) {
    return std::unexpected(impl.denied(caller, from, kAction, name, not_found_customer(customer)));
  }
  if (caller.role == Role::viewer) {
    return std::unexpected(
        impl.denied(caller, from, kAction, name, {Errc::forbidden, "viewers cannot create users"}));
  }
  if (auto ok = validate_user_name(name); !ok) return std::unexpected(ok.error());
  if (role == Role::admin) {
    if (!customer.empty()) return fail(Errc::invalid_argument, "an admin has no customer");
  } else if (auto ok = validate_customer_id(customer); !ok) {
    return fail(Errc::invalid_argument,
                std::string(to_string(role)) + " needs a customer: " + ok.error().message);
  }
  if (auto ok = impl.check_password_rules(password); !ok) return std::unexpected(ok.error());

  auto user = impl.create(name, password, role, customer);
  if (!user) return std::unexpected(user.error());
  logger()->info("user '{}' ({}, customer '{}') created by '{}'", user->name, to_string(role),
                 user->customer, caller.user);
  if (auto a = impl.append(impl.entry(user->customer, caller.user, from, kAction, user->name,
                                      "role=" + std::string(to_string(role))));
      !a) {
    return std::unexpected(a.error());
  }
  return without_password(std::move(*user));
}

Result<void> AuthService::delete_user(const Principal& caller, std::string_view name,
                                      const Origin& from) {
  auto& impl = *impl_;
  constexpr std::string_view kAction = "user.delete";
  if (name == caller.user) {
    return std::unexpected(
        impl.denied(caller, from, kAction, name, {Errc::forbidden, "nobody can delete itself"}));
  }
  if (name == kAdminName) {
    return std::unexpected(impl.denied(caller, from, kAction, name,
                                       {Errc::forbidden, "the user 'admin' cannot be deleted"}));
  }
  auto target = impl.users.user(name);
  if (!target && target.error().code != Errc::not_found) return std::unexpected(target.error());
  if (!target || !caller.can_read(target->customer)) {
    // A user of another customer gets the same answer, and the same audit
    // entry, as a user that does not exist.
    return std::unexpected(impl.denied(caller, from, kAction, name, not_found_user(name)));
  }
  if (!caller.can_manage(target->customer)) {
    return std::unexpected(
        impl.denied(caller, from, kAction, name, {Errc::forbidden, "viewers cannot delete users"}));
  }
  if (auto d = impl.users.delete_user(name); !d) return d;
  logger()->info("user '{}' deleted by '{}'", target->name, caller.user);
  return impl.append(impl.entry(target->customer, caller.user, from, kAction, target->name,
                                "role=" + std::string(to_string(target->role))));
}

Result<void> AuthService::set_password(const Principal& caller, std::string_view name,
                                       std::optional<std::string_view> current_password,
                                       std::string_view new_password, const Origin& from) {
  auto& impl = *impl_;
  constexpr std::string_view kAction = "user.password";
  const bool self = name == caller.user;
  if (self && !current_password) {
    return fail(Errc::invalid_argument, "the current password is required");
  }
  auto target = impl.users.user(name);
  if (!target && target.error().code != Errc::not_found) return std::unexpected(target.error());
  if (!target || (!self && !caller.can_read(target->customer))) {
    return std::unexpected(impl.denied(caller, from, kAction, name, not_found_user(name)));
  }
  if (!self && !caller.can_manage(target->customer)) {
    return std::unexpected(
        impl.denied(caller, from, kAction, name,
                    {Errc::forbidden, "viewers can only change their own password"}));
  }
  if (auto ok = impl.check_password_rules(new_password); !ok) return std::unexpected(ok.error());

  if (self) {
    // A stolen session must not become an unthrottled password oracle: the
    // current password is checked under the same limits as a login.
    Impl::Attempt attempt(impl, target->name, from.remote);
    if (auto wait = attempt.begin(); wait > 0) return std::unexpected(Impl::throttled(wait));
    auto verified = impl.verify(target->password, *current_password);
    if (!verified) return std::unexpected(verified.error());
    attempt.finish(!*verified);
    if (!*verified) {
      return std::unexpected(impl.denied(caller, from, kAction, name,
                                         {Errc::forbidden, "the current password is wrong"}));
    }
  }

  auto hash = impl.hash_password(new_password);
  if (!hash) return std::unexpected(hash.error());
  User updated = *target;
  updated.password = std::move(*hash);
  updated.password_changed_ms = impl.clock.now_ms();
  if (auto u = impl.users.update_user(updated); !u) return u;
  // Whoever knew the old password may hold a session made with it.
  if (auto d = impl.users.delete_sessions_of(name); !d) return d;
  logger()->info("password of '{}' changed by '{}'", target->name, caller.user);
  return impl.append(impl.entry(target->customer, caller.user, from, kAction, target->name,
                                self ? "changed by the user" : "reset"));
}

Result<void> AuthService::record(const Principal& caller, std::string_view customer,
                                 std::string_view action, std::string_view target,
                                 std::string_view detail, bool ok, const Origin& from) {
  auto& impl = *impl_;
  return impl.append(
      impl.entry(customer, caller.user, from, action, target, std::string(detail), ok));
}

Result<std::vector<AuditEntry>> AuthService::audit_log(const Principal& caller, AuditQuery query) {
  auto& impl = *impl_;
  if (query.customer && !caller.can_read(*query.customer)) {
    return std::unexpected(not_found_customer(*query.customer));
  }
  if (caller.role == Role::viewer) {
    return fail(Errc::forbidden, "viewers cannot read the audit log");
  }
  if (caller.role == Role::manager) query.customer = caller.customer;
  query.limit = std::min(query.limit, kMaxAuditLimit);
  return impl.audit.audit(query);
}

}  // namespace nbms::auth
