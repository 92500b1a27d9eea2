#include "api.hpp"

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "api_common.hpp"
#include "log.hpp"
#include "static_files.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

// Static files are read whole into memory; anything bigger is not a web asset.
constexpr std::uintmax_t kMaxStaticFileBytes = 64ull << 20;

const std::vector<const std::vector<Route>*>& route_tables() {
  static const std::vector<const std::vector<Route>*> kTables{
      &auth_routes(), &data_routes(), &provisioning_routes(), &alarm_routes(), &notify_routes()};
  return kTables;
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

Response unauthenticated(std::string_view message) {
  auto r = error_response(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2").
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    auto pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> session_token(const Request& req) {
  std::string_view auth = req.authorization;
  if (auth.size() > 7 && iequals(auth.substr(0, 7), "Bearer ")) {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    return std::string(auth);
  }
  if (auto v = cookie_value(req.cookie, kSessionCookie); v && !v->empty()) {
    return std::string(*v);
  }
  return std::nullopt;
}

void add_common_headers(Response& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                         "base-uri 'none'; form-action 'self'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

Result<auth::Principal> Api::authenticate(const Request& request) const {
  const auto token = session_token(request);
  if (!token) return fail(Errc::unauthenticated, "log in first (no session token)");
  return services_.auth.authenticate(*token);
}

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
    case Errc::unauthenticated:
      return 401;
    case Errc::forbidden:
      return 403;
    case Errc::throttled:
      return 429;
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
  for (const auto* table : route_tables()) {
    for (const auto& route : *table) {
      if (!matches(route, rest)) continue;
      allowed.push_back(route.method);
      if (route.method != method) continue;
      std::optional<auth::Principal> who;
      if (route.access != Access::open) {
        auto p = authenticate(request);
        if (!p) return unauthenticated(p.error().message);
        if (route.access == Access::admin && !p->is_admin()) {
          return error_response(403, "only the platform admin may do this");
        }
        who = std::move(*p);
      }
      std::vector<std::string> params;
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (route.pattern[i] != "{}") continue;
        auto decoded = percent_decode(rest[i]);
        if (!decoded) return error_from(decoded.error());
        params.push_back(std::move(*decoded));
      }
      Response r = route.handler(Ctx{services_, request, params, target.query,
                                     who ? &*who : nullptr, options_, logins_in_flight_});
      if (r.status >= 500) {
        logger().error("{} {} -> {}", request.method, request.target.substr(0, 300), r.status);
      }
      return r;
    }
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
