#pragma once
// What the route files share: JSON shapes of the domain records, request-body
// parsing, responses, the routing context and the customer-scope rule.
#include <atomic>
#include <cstddef>
#include <expected>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api.hpp"
#include "nbms/auth/service.hpp"
#include "nbms/core/model.hpp"

namespace nbms::http {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b);

// Invalid UTF-8 (device payloads, topics) becomes U+FFFD instead of throwing.
std::string dump(const json& j);
Response json_response(int status, const json& body);
// A response whose JSON text is already written (json_text.hpp).
Response json_text_response(int status, std::string body);
// The response for a domain error; 5xx are logged and their details withheld.
Response error_from(const Error& e);

json value_json(double v);  // null for NaN/Infinity
json to_json(const Customer& c);
json to_json(const Building& b);
json to_json(const Thing& t);
json to_json(const PointInfo& p);
json to_json(const DeadLetter& d);
json to_json(const User& u);  // never the password hash
json to_json(const AuditEntry& e);
json to_json(const auth::Principal& p);

template <class T>
json array_of(const std::vector<T>& items) {
  json a = json::array();
  for (const auto& item : items) a.push_back(to_json(item));
  return a;
}

bool is_json_content_type(std::string_view content_type);

// Parses a POST body as a JSON object whose members are all in `allowed`; on
// failure, the response to send (400, or 415 for a non-JSON Content-Type).
std::expected<json, Response> parse_object(const Request& req,
                                           std::initializer_list<std::string_view> allowed);

// A string member; absent is an error when `required`, otherwise nullopt.
Result<std::optional<std::string>> string_member(const json& obj, const char* name, bool required,
                                                 std::size_t min_bytes, std::size_t max_bytes);

// The cookie that carries the session token for the web UI.
inline constexpr std::string_view kSessionCookie = "nbms_session";
// The bearer token of `Authorization: Bearer ...`, else of the session cookie.
std::optional<std::string> session_token(const Request& req);

std::string_view error_code_name(int status);
// Headers every response carries (nosniff, CSP, framing, referrer).
void add_common_headers(Response& r);

// Everything a route handler gets.
struct Ctx {
  const Services& s;
  const Request& req;
  const std::vector<std::string>& params;  // decoded `{}` segments, in order
  std::string_view query;                  // still encoded
  const auth::Principal* who;              // nullptr only on open routes
  const ApiOptions& options;
  std::atomic<int>& logins_in_flight;

  auth::Origin origin() const { return auth::Origin{req.remote}; }
};

using Handler = Response (*)(const Ctx&);

enum class Access {
  open,   // no login needed (login itself, readiness)
  user,   // any logged-in user; the handler checks the customer scope
  admin,  // the platform admin only
};

struct Route {
  std::string_view method;
  std::vector<std::string_view> pattern;  // "{}" matches one non-empty segment
  Handler handler;
  Access access = Access::user;
};

// The routes of each file (routes_data.cpp, routes_auth.cpp,
// routes_provisioning.cpp), under /api/v1.
const std::vector<Route>& data_routes();
const std::vector<Route>& auth_routes();
const std::vector<Route>& provisioning_routes();
const std::vector<Route>& alarm_routes();   // routes_alarms.cpp
const std::vector<Route>& notify_routes();  // routes_notify.cpp

// Removes a deleted user's notification subscriptions and endpoints (errors
// are logged: the user is gone either way).
void forget_notify_user(const Services& s, const std::string& user);

enum class Need { read, operate, manage };

// The customer-scope rule of every route: a customer outside the caller's scope
// is not_found, worded exactly as a customer that does not exist, so ids of
// other customers cannot be probed; within scope, a role without `need` is
// forbidden. The id must already be valid.
Result<void> allow(const Ctx& x, std::string_view customer, Need need);

// 404 unless the customer (building) exists and is in the caller's scope.
Result<void> check_customer(const Ctx& x, const std::string& c, Need need = Need::read);
Result<void> check_building(const Ctx& x, const std::string& c, const std::string& b,
                            Need need = Need::read);

// Writes an audit entry for the caller; failures to write are logged, not returned
// (the write it describes has already happened).
void audit(const Ctx& x, std::string_view customer, std::string_view action,
           std::string_view target, std::string_view detail, bool ok);

}  // namespace nbms::http
