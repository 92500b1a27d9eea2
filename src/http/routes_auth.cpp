// Routes of authentication, users and the audit log, plus the open readiness probe.
#include <atomic>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "api_common.hpp"
#include "log.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::size_t kDefaultAuditLimit = 100;
constexpr std::size_t kMaxAuditLimit = 1000;

std::string session_cookie(std::string_view token, std::int64_t max_age_s, bool secure) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(token) +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (secure) c += "; Secure";
  return c;
}

Response ready(const Ctx&) {
  return json_response(200, {{"status", "ok"}});
}

// Logins run a deliberately slow KDF on an HTTP worker; bound how many run at
// once so that a burst of logins cannot stall every other request.
class LoginSlot {
 public:
  LoginSlot(std::atomic<int>& in_flight, int max) : in_flight_(in_flight) {
    acquired_ = in_flight_.fetch_add(1) < max;
    if (!acquired_) in_flight_.fetch_sub(1);
  }
  ~LoginSlot() {
    if (acquired_) in_flight_.fetch_sub(1);
  }
  LoginSlot(const LoginSlot&) = delete;
  LoginSlot& operator=(const LoginSlot&) = delete;
  bool acquired() const { return acquired_; }

 private:
  std::atomic<int>& in_flight_;
  bool acquired_ = false;
};

Response with_retry_after(Response r, std::string_view seconds) {
  r.headers.emplace_back("Retry-After", std::string(seconds));
  return r;
}

Response login(const Ctx& x) {
  auto body = parse_object(x.req, {"user", "password"});
  if (!body) return std::move(body.error());
  auto user = string_member(*body, "user", true, 1, 64);
  if (!user) return error_from(user.error());
  auto password = string_member(*body, "password", true, 1, kMaxPasswordBytes);
  if (!password) return error_from(password.error());
  LoginSlot slot(x.logins_in_flight, x.options.max_concurrent_logins);
  if (!slot.acquired()) {
    return with_retry_after(error_response(429, "too many logins in progress; retry shortly"), "1");
  }
  auto r = x.s.auth.login(**user, **password, x.origin());
  if (!r) {
    if (r.error().code == Errc::throttled) {
      return with_retry_after(error_response(429, r.error().message),
                              std::to_string((r.error().retry_after_ms + 999) / 1000));
    }
    return error_from(r.error());
  }
  const std::int64_t max_age_s = (r->expires_ms - x.s.clock.now_ms()) / 1000;
  auto res = json_response(
      200, {{"token", r->token}, {"expires_ms", r->expires_ms}, {"user", to_json(r->principal)}});
  res.headers.emplace_back("Set-Cookie", session_cookie(r->token, max_age_s, x.req.secure));
  return res;
}

Response logout(const Ctx& x) {
  const auto token = session_token(x.req);
  // Logging out with a session that already ended is not an error: the cookie
  // is cleared either way.
  if (token) {
    auto r = x.s.auth.logout(*token, x.origin());
    if (!r && r.error().code != Errc::unauthenticated) return error_from(r.error());
  }
  Response res;
  res.status = 204;
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("Set-Cookie", session_cookie("", 0, x.req.secure));
  return res;
}

Response me(const Ctx& x) {
  return json_response(200, to_json(*x.who));
}

Response list_users(const Ctx& x) {
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  const auto customer = q->get("customer");
  auto users = x.s.auth.list_users(
      *x.who, customer ? std::optional<std::string_view>(*customer) : std::nullopt);
  if (!users) return error_from(users.error());
  return json_response(200, {{"users", array_of(*users)}});
}

Response create_user(const Ctx& x) {
  auto body = parse_object(x.req, {"name", "password", "role", "customer"});
  if (!body) return std::move(body.error());
  auto name = string_member(*body, "name", true, 1, 64);
  if (!name) return error_from(name.error());
  auto password = string_member(*body, "password", true, 0, kMaxPasswordBytes);
  if (!password) return error_from(password.error());
  auto role_text = string_member(*body, "role", true, 1, 16);
  if (!role_text) return error_from(role_text.error());
  const auto role = parse_role(**role_text);
  if (!role) return error_response(400, "'role' must be admin, manager or viewer");
  auto customer = string_member(*body, "customer", false, 0, 64);
  if (!customer) return error_from(customer.error());
  // A manager may leave out its own customer. A customer must exist (and be in
  // the caller's scope: another one is not found).
  const std::string c = customer->value_or(x.who->is_admin() ? "" : x.who->customer);
  if (!c.empty()) {
    if (auto ok = check_customer(x, c); !ok) return error_from(ok.error());
  }
  auto user = x.s.auth.create_user(*x.who, **name, **password, *role, c, x.origin());
  if (!user) return error_from(user.error());
  auto res = json_response(201, to_json(*user));
  res.headers.emplace_back("Location", "/api/v1/users/" + percent_encode(user->name));
  return res;
}

Response no_content() {
  Response res;
  res.status = 204;
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

Response delete_user(const Ctx& x) {
  if (auto r = x.s.auth.delete_user(*x.who, x.params[0], x.origin()); !r) {
    return error_from(r.error());
  }
  forget_notify_user(x.s, x.params[0]);
  return no_content();
}

Response set_password(const Ctx& x) {
  auto body = parse_object(x.req, {"password", "current_password"});
  if (!body) return std::move(body.error());
  auto password = string_member(*body, "password", true, 0, kMaxPasswordBytes);
  if (!password) return error_from(password.error());
  auto current = string_member(*body, "current_password", false, 0, kMaxPasswordBytes);
  if (!current) return error_from(current.error());
  const auto current_view =
      *current ? std::optional<std::string_view>(**current) : std::optional<std::string_view>();
  if (auto r = x.s.auth.set_password(*x.who, x.params[0], current_view, **password, x.origin());
      !r) {
    return error_from(r.error());
  }
  return no_content();
}

Result<std::int64_t> int_param(const Query& q, const char* name, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
  const auto text = q.get(name);
  if (!text) return fallback;
  std::int64_t n = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, n);
  if (text->empty() || ec != std::errc() || ptr != end || n < min || n > max) {
    return fail(Errc::invalid_argument, std::string("'") + name + "' must be an integer " +
                                            std::to_string(min) + ".." + std::to_string(max));
  }
  return n;
}

Response audit_log(const Ctx& x) {
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  AuditQuery query;
  if (auto c = q->get("customer")) query.customer = *c;
  auto from = int_param(*q, "from_ms", 0, 0, INT64_MAX);
  if (!from) return error_from(from.error());
  auto to = int_param(*q, "to_ms", INT64_MAX, 0, INT64_MAX);
  if (!to) return error_from(to.error());
  auto limit = int_param(*q, "limit", kDefaultAuditLimit, 1, kMaxAuditLimit);
  if (!limit) return error_from(limit.error());
  query.from_ms = *from;
  query.to_ms = *to;
  query.limit = static_cast<std::size_t>(*limit);
  auto entries = x.s.auth.audit_log(*x.who, std::move(query));
  if (!entries) return error_from(entries.error());
  return json_response(200, {{"entries", array_of(*entries)}});
}

}  // namespace

const std::vector<Route>& auth_routes() {
  static const std::vector<Route> kRoutes{
      {"GET", {"ready"}, ready, Access::open},
      {"POST", {"auth", "login"}, login, Access::open},
      {"POST", {"auth", "logout"}, logout, Access::open},
      {"GET", {"auth", "me"}, me},
      {"GET", {"users"}, list_users},
      {"POST", {"users"}, create_user},
      {"DELETE", {"users", "{}"}, delete_user},
      {"POST", {"users", "{}", "password"}, set_password},
      {"GET", {"audit"}, audit_log},
  };
  return kRoutes;
}

}  // namespace nbms::http
