#include "api_common.hpp"

#include <cmath>

#include "log.hpp"
#include "nbms/core/ids.hpp"

namespace nbms::http {
namespace {
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view error_code_name(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "throttled";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response json_response(int status, const json& body) {
  return json_text_response(status, dump(body));
}

Response json_text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response error_from(const Error& e) {
  const int status = status_for(e.code);
  if (status >= 500 && status != 503) {
    logger().error("internal error ({}): {}", to_string(e.code), e.message);
    return error_response(status, "internal error");
  }
  return error_response(status, e.message);
}

// ---- JSON shapes -------------------------------------------------------------

json value_json(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json to_json(const Customer& c) {
  return {{"id", c.id}, {"name", c.name}, {"created_ms", c.created_ms}};
}

json to_json(const Building& b) {
  return {{"customer", b.customer},
          {"id", b.id},
          {"name", b.name},
          {"address", b.address},
          {"created_ms", b.created_ms}};
}

json to_json(const Thing& t) {
  return {{"name", t.name.full()},
          {"customer", t.name.customer},
          {"building", t.name.building},
          {"index", t.name.index},
          {"created_ms", t.created_ms}};
}

json to_json(const PointInfo& p) {
  return {{"point_id", p.point_id}, {"thing", p.thing},         {"object_type", p.object_type},
          {"name", p.name},         {"equipment", p.equipment}, {"location", p.location},
          {"unit", p.unit},         {"writable", p.writable},   {"declared", p.declared}};
}

json to_json(const DeadLetter& d) {
  return {{"received_ms", d.received_ms},
          {"topic", d.topic},
          {"reason", d.reason},
          {"payload", d.payload}};
}

// ---- request bodies ----------------------------------------------------------

bool is_json_content_type(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  if (media.empty()) return true;
  if (iequals(media, "application/json")) return true;
  // application/<vendor>+json
  return media.size() > 17 && iequals(media.substr(0, 12), "application/") &&
         iequals(media.substr(media.size() - 5), "+json");
}

std::expected<json, Response> parse_object(const Request& req,
                                           std::initializer_list<std::string_view> allowed) {
  if (!is_json_content_type(req.content_type)) {
    return std::unexpected(error_response(415, "Content-Type must be application/json, got '" +
                                                   req.content_type.substr(0, 100) + "'"));
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    return std::unexpected(error_response(400, "request body is not valid JSON"));
  }
  if (!body.is_object()) {
    return std::unexpected(error_response(400, "request body must be a JSON object"));
  }
  for (const auto& [key, _] : body.items()) {
    bool known = false;
    for (const auto name : allowed) known = known || key == name;
    if (!known) {
      return std::unexpected(
          error_response(400, "unknown member '" + key.substr(0, 100) + "' in request body"));
    }
  }
  return body;
}

Result<std::optional<std::string>> string_member(const json& obj, const char* name, bool required,
                                                 std::size_t min_bytes, std::size_t max_bytes) {
  const auto it = obj.find(name);
  if (it == obj.end()) {
    if (required) return fail(Errc::invalid_argument, std::string("'") + name + "' is required");
    return std::optional<std::string>{};
  }
  if (!it->is_string()) {
    return fail(Errc::invalid_argument, std::string("'") + name + "' must be a string");
  }
  auto s = it->get<std::string>();
  if (s.size() < min_bytes || s.size() > max_bytes) {
    return fail(Errc::invalid_argument, std::string("'") + name + "' must be " +
                                            std::to_string(min_bytes) + ".." +
                                            std::to_string(max_bytes) + " bytes");
  }
  return std::optional<std::string>(std::move(s));
}

json to_json(const User& u) {
  return {{"name", u.name},
          {"customer", u.customer},
          {"role", to_string(u.role)},
          {"created_ms", u.created_ms}};
}

json to_json(const AuditEntry& e) {
  return {
      {"time_ms", e.time_ms}, {"customer", e.customer}, {"user", e.user},     {"remote", e.remote},
      {"action", e.action},   {"target", e.target},     {"detail", e.detail}, {"ok", e.ok}};
}

json to_json(const auth::Principal& p) {
  return {{"name", p.user}, {"customer", p.customer}, {"role", to_string(p.role)}};
}

Result<void> allow(const Ctx& x, std::string_view customer, Need need) {
  if (!x.who || !x.who->can_read(customer)) {
    return fail(Errc::not_found, "customer '" + std::string(customer) + "' not found");
  }
  if (need == Need::operate && !x.who->can_operate(customer)) {
    return fail(Errc::forbidden, "role '" + std::string(to_string(x.who->role)) +
                                     "' may not change customer '" + std::string(customer) + "'");
  }
  if (need == Need::manage && !x.who->can_manage(customer)) {
    return fail(Errc::forbidden, "role '" + std::string(to_string(x.who->role)) +
                                     "' may not manage customer '" + std::string(customer) + "'");
  }
  return {};
}

Result<void> check_customer(const Ctx& x, const std::string& c, Need need) {
  if (auto v = validate_customer_id(c); !v) return v;
  if (auto a = allow(x, c, need); !a) return a;
  if (auto got = x.s.registry.customer(c); !got) {
    if (got.error().code == Errc::not_found) {
      return fail(Errc::not_found, "customer '" + c + "' not found");
    }
    return std::unexpected(got.error());
  }
  return {};
}

Result<void> check_building(const Ctx& x, const std::string& c, const std::string& b, Need need) {
  if (auto v = validate_customer_id(c); !v) return v;
  if (auto v = validate_building_id(b); !v) return v;
  if (auto a = allow(x, c, need); !a) return a;
  if (auto got = x.s.registry.building(c, b); !got) {
    if (got.error().code == Errc::not_found) {
      return fail(Errc::not_found, "building '" + c + "/" + b + "' not found");
    }
    return std::unexpected(got.error());
  }
  return {};
}

void audit(const Ctx& x, std::string_view customer, std::string_view action,
           std::string_view target, std::string_view detail, bool ok) {
  if (!x.who) return;
  if (auto r = x.s.auth.record(*x.who, customer, action, target, detail, ok, x.origin()); !r) {
    logger().error("audit entry for {} {} not written: {}", action, target, r.error().message);
  }
}

}  // namespace nbms::http
