#include "api.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>

#include <nlohmann/json.hpp>

#include "log.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"
#include "static_files.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxAddressBytes = 500;
constexpr std::uint32_t kMaxHistoryDays = 400;
constexpr std::size_t kDefaultDeadLetterLimit = 100;
constexpr std::size_t kMaxDeadLetterLimit = 1000;
// Static files are read whole into memory; anything bigger is not a web asset.
constexpr std::uintmax_t kMaxStaticFileBytes = 64ull << 20;

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

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
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

// Invalid UTF-8 (device payloads, topics) becomes U+FFFD instead of throwing.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void add_common_headers(Response& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = dump(body);
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

json to_json(const LatestValue& v) {
  return {{"point_id", v.point_id}, {"time", v.time.to_string()}, {"value", value_json(v.value)}};
}

json to_json(const Sample& s) {
  return {{"time", s.time.to_string()}, {"value", value_json(s.value)}};
}

json to_json(const DeadLetter& d) {
  return {{"received_ms", d.received_ms},
          {"topic", d.topic},
          {"reason", d.reason},
          {"payload", d.payload}};
}

template <class T>
json array_of(const std::vector<T>& items) {
  json a = json::array();
  for (const auto& item : items) a.push_back(to_json(item));
  return a;
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

// Parses a POST body as a JSON object whose members are all in `allowed`; on
// failure, the response to send (400, or 415 for a non-JSON Content-Type).
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

// A string member; absent is an error when `required`, otherwise nullopt.
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

// ---- routing -----------------------------------------------------------------

struct Ctx {
  const Services& s;
  const Request& req;
  const std::vector<std::string>& params;  // decoded `{}` segments, in order
  std::string_view query;                  // still encoded
};

using Handler = Response (*)(const Ctx&);

struct Route {
  std::string_view method;
  std::vector<std::string_view> pattern;  // "{}" matches one non-empty segment
  Handler handler;
};

Result<void> check_customer(Registry& r, const std::string& c) {
  if (auto v = validate_customer_id(c); !v) return v;
  if (auto got = r.customer(c); !got) {
    if (got.error().code == Errc::not_found) {
      return fail(Errc::not_found, "customer '" + c + "' not found");
    }
    return std::unexpected(got.error());
  }
  return {};
}

Result<void> check_building(Registry& r, const std::string& c, const std::string& b) {
  if (auto v = validate_customer_id(c); !v) return v;
  if (auto v = validate_building_id(b); !v) return v;
  if (auto got = r.building(c, b); !got) {
    if (got.error().code == Errc::not_found) {
      return fail(Errc::not_found, "building '" + c + "/" + b + "' not found");
    }
    return std::unexpected(got.error());
  }
  return {};
}

Response get_health(const Ctx& x) {
  if (!x.s.health) return json_response(200, {{"status", "ok"}});
  return json_response(200, x.s.health());
}

Response list_customers(const Ctx& x) {
  auto all = x.s.registry.customers();
  if (!all) return error_from(all.error());
  return json_response(200, {{"customers", array_of(*all)}});
}

Response create_customer(const Ctx& x) {
  auto body = parse_object(x.req, {"id", "name"});
  if (!body) return std::move(body.error());
  auto id = string_member(*body, "id", true, 0, SIZE_MAX);
  if (!id) return error_from(id.error());
  if (auto v = validate_customer_id(**id); !v) return error_from(v.error());
  auto name = string_member(*body, "name", true, 1, kMaxNameBytes);
  if (!name) return error_from(name.error());
  const Customer c{**id, **name, x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_customer(c); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "customer '" + c.id + "' already exists");
    }
    return error_from(r.error());
  }
  auto res = json_response(201, to_json(c));
  res.headers.emplace_back("Location", "/api/v1/customers/" + percent_encode(c.id));
  return res;
}

Response get_customer(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  auto got = x.s.registry.customer(c);
  if (!got) {
    if (got.error().code == Errc::not_found) {
      return error_response(404, "customer '" + c + "' not found");
    }
    return error_from(got.error());
  }
  return json_response(200, to_json(*got));
}

Response list_buildings(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = check_customer(x.s.registry, c); !v) return error_from(v.error());
  auto all = x.s.registry.buildings(c);
  if (!all) return error_from(all.error());
  return json_response(200, {{"buildings", array_of(*all)}});
}

Response create_building(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  auto body = parse_object(x.req, {"id", "name", "address"});
  if (!body) return std::move(body.error());
  auto id = string_member(*body, "id", true, 0, SIZE_MAX);
  if (!id) return error_from(id.error());
  if (auto v = validate_building_id(**id); !v) return error_from(v.error());
  auto name = string_member(*body, "name", true, 1, kMaxNameBytes);
  if (!name) return error_from(name.error());
  auto address = string_member(*body, "address", false, 0, kMaxAddressBytes);
  if (!address) return error_from(address.error());
  if (auto v = check_customer(x.s.registry, c); !v) return error_from(v.error());
  const Building b{c, **id, **name, address->value_or(""), x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_building(b); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "building '" + c + "/" + b.id + "' already exists");
    }
    return error_from(r.error());
  }
  auto res = json_response(201, to_json(b));
  res.headers.emplace_back(
      "Location", "/api/v1/customers/" + percent_encode(c) + "/buildings/" + percent_encode(b.id));
  return res;
}

Response get_building(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = validate_building_id(b); !v) return error_from(v.error());
  auto got = x.s.registry.building(c, b);
  if (!got) {
    if (got.error().code == Errc::not_found) {
      return error_response(404, "building '" + c + "/" + b + "' not found");
    }
    return error_from(got.error());
  }
  return json_response(200, to_json(*got));
}

// GET of a list that belongs to one building: 404 unless the building exists,
// then {"<member>": [...]} from `read(customer, building)`.
template <class Read>
Response building_list(const Ctx& x, const char* member, Read&& read) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = check_building(x.s.registry, c, b); !v) return error_from(v.error());
  auto all = read(c, b);
  if (!all) return error_from(all.error());
  return json_response(200, {{member, array_of(*all)}});
}

Response list_things(const Ctx& x) {
  return building_list(x, "things",
                       [&](const auto& c, const auto& b) { return x.s.registry.things(c, b); });
}

Response create_thing(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = validate_building_id(b); !v) return error_from(v.error());
  auto body = parse_object(x.req, {"name"});
  if (!body) return std::move(body.error());
  auto name = string_member(*body, "name", true, 0, SIZE_MAX);
  if (!name) return error_from(name.error());
  auto parsed = ThingName::parse(**name);
  if (!parsed) return error_response(400, parsed.error().message);
  if (parsed->customer != c || parsed->building != b) {
    return error_response(400, "thing '" + **name + "' belongs to building '" + parsed->customer +
                                   "/" + parsed->building + "', not '" + c + "/" + b + "'");
  }
  if (auto v = check_building(x.s.registry, c, b); !v) return error_from(v.error());
  const Thing t{*parsed, x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_thing(t); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "thing '" + t.name.full() + "' already exists");
    }
    return error_from(r.error());
  }
  return json_response(201, to_json(t));
}

Response list_points(const Ctx& x) {
  return building_list(x, "points",
                       [&](const auto& c, const auto& b) { return x.s.points.points(c, b); });
}

Response latest(const Ctx& x) {
  return building_list(x, "points",
                       [&](const auto& c, const auto& b) { return x.s.series.latest(c, b); });
}

Result<LocalMinute> time_param(const Query& q, const char* name) {
  const auto text = q.get(name);
  if (!text) {
    return fail(Errc::invalid_argument,
                std::string("query parameter '") + name + "' (YYYYMMDDhhmm) is required");
  }
  auto t = LocalMinute::parse(*text);
  if (!t) return fail(Errc::invalid_argument, std::string(name) + ": " + t.error().message);
  return t;
}

Response history(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  const auto& point = x.params[2];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = validate_building_id(b); !v) return error_from(v.error());
  if (auto v = validate_point_id(point); !v) return error_response(400, v.error().message);
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  auto from = time_param(*q, "from");
  if (!from) return error_from(from.error());
  auto to = time_param(*q, "to");
  if (!to) return error_from(to.error());
  if (*from > *to) return error_response(400, "'from' must not be after 'to'");
  if (to->minutes() - from->minutes() > kMaxHistoryDays * 1440) {
    return error_response(
        400, "range from..to must be at most " + std::to_string(kMaxHistoryDays) + " days");
  }
  if (auto v = check_building(x.s.registry, c, b); !v) return error_from(v.error());
  auto samples = x.s.series.history(c, b, point, *from, *to);
  if (!samples) return error_from(samples.error());
  return json_response(200, {{"point_id", point},
                             {"from", from->to_string()},
                             {"to", to->to_string()},
                             {"samples", array_of(*samples)}});
}

Response dead_letters(const Ctx& x) {
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  std::size_t limit = kDefaultDeadLetterLimit;
  if (const auto text = q->get("limit")) {
    std::size_t n = 0;
    const auto* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, n);
    if (text->empty() || ec != std::errc() || ptr != end || n < 1 || n > kMaxDeadLetterLimit) {
      return error_response(400,
                            "'limit' must be an integer 1.." + std::to_string(kMaxDeadLetterLimit));
    }
    limit = n;
  }
  auto all = x.s.dead_letters.dead_letters(limit);
  if (!all) return error_from(all.error());
  return json_response(200, {{"dead_letters", array_of(*all)}});
}

const std::vector<Route>& routes() {
  static const std::vector<Route> kRoutes{
      {"GET", {"health"}, get_health},
      {"GET", {"customers"}, list_customers},
      {"POST", {"customers"}, create_customer},
      {"GET", {"customers", "{}"}, get_customer},
      {"GET", {"customers", "{}", "buildings"}, list_buildings},
      {"POST", {"customers", "{}", "buildings"}, create_building},
      {"GET", {"customers", "{}", "buildings", "{}"}, get_building},
      {"GET", {"customers", "{}", "buildings", "{}", "things"}, list_things},
      {"POST", {"customers", "{}", "buildings", "{}", "things"}, create_thing},
      {"GET", {"customers", "{}", "buildings", "{}", "points"}, list_points},
      {"GET", {"customers", "{}", "buildings", "{}", "latest"}, latest},
      {"GET", {"customers", "{}", "buildings", "{}", "points", "{}", "history"}, history},
      {"GET", {"dead-letters"}, dead_letters},
  };
  return kRoutes;
}

bool matches(const Route& r, const std::vector<std::string_view>& segments) {
  if (r.pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (r.pattern[i] == "{}") {
      if (segments[i].empty()) return false;
    } else if (r.pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

Response method_not_allowed(std::vector<std::string_view> allowed) {
  bool has_get = false;
  for (const auto m : allowed) has_get = has_get || m == "GET";
  if (has_get) allowed.emplace_back("HEAD");
  std::string allow;
  for (const auto m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  auto r = error_response(405, "method not allowed; use " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

const std::string* Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::malformed:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::already_exists:
      return 409;
    case Errc::too_large:
      return 413;
    case Errc::unavailable:
      return 503;
    case Errc::unregistered:
    case Errc::io:
    case Errc::internal:
      return 500;
  }
  return 500;
}

Response error_response(int status, std::string_view message) {
  Response r = json_response(
      status, {{"error", {{"code", error_code_name(status)}, {"message", std::string(message)}}}});
  add_common_headers(r);
  return r;
}

Api::Api(Services services, ApiOptions options)
    : services_(std::move(services)), options_(std::move(options)) {}

Response Api::handle(const Request& request) const {
  Response r;
  try {
    r = route(request);
  } catch (const std::exception& e) {
    logger().error("{} {}: unhandled exception: {}", request.method, request.target, e.what());
    r = error_response(500, "internal error");
  } catch (...) {
    logger().error("{} {}: unhandled exception", request.method, request.target);
    r = error_response(500, "internal error");
  }
  if (!r.header("X-Content-Type-Options")) add_common_headers(r);
  return r;
}

Response Api::route(const Request& request) const {
  if (request.body.size() > options_.body_limit) {
    return error_response(413,
                          "request body exceeds " + std::to_string(options_.body_limit) + " bytes");
  }
  const auto target = split_target(request.target);
  if (target.path.empty() || target.path.front() != '/') {
    return error_response(400, "request target must be an absolute path");
  }
  const auto segments = split_path(target.path);
  const bool is_api = !segments.empty() && segments[0] == "api";
  if (!is_api) return serve_static(request, target.path);

  if (segments.size() < 2 || segments[1] != "v1") {
    return error_response(404, "no such route: " + std::string(target.path.substr(0, 200)));
  }
  const std::vector<std::string_view> rest(segments.begin() + 2, segments.end());
  const std::string_view method =
      request.method == "HEAD" ? std::string_view("GET") : std::string_view(request.method);
  std::vector<std::string_view> allowed;
  for (const auto& route : routes()) {
    if (!matches(route, rest)) continue;
    allowed.push_back(route.method);
    if (route.method != method) continue;
    std::vector<std::string> params;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (route.pattern[i] != "{}") continue;
      auto decoded = percent_decode(rest[i]);
      if (!decoded) return error_from(decoded.error());
      params.push_back(std::move(*decoded));
    }
    Response r = route.handler(Ctx{services_, request, params, target.query});
    if (r.status >= 500) {
      logger().error("{} {} -> {}", request.method, request.target.substr(0, 300), r.status);
    }
    return r;
  }
  if (!allowed.empty()) return method_not_allowed(std::move(allowed));
  return error_response(404, "no such route: " + std::string(target.path.substr(0, 200)));
}

Response Api::serve_static(const Request& request, std::string_view path) const {
  if (options_.web_root.empty()) {
    return error_response(404, "no such route: " + std::string(path.substr(0, 200)));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return method_not_allowed({"GET"});
  }
  auto rel = static_relative_path(path);
  if (!rel) return error_from(rel.error());
  namespace fs = std::filesystem;
  const fs::path file = fs::path(options_.web_root) / *rel;
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::is_regular_file(status)) return error_response(404, "no such file");
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxStaticFileBytes) return error_response(404, "no such file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return error_response(404, "no such file");
  Response r;
  r.content_type = std::string(content_type_for(*rel));
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    logger().error("cannot read {}", file.string());
    return error_response(500, "internal error");
  }
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace nbms::http
