// Fuzz target: the HTTP request path without sockets: the request target's
// percent-decoding, path splitting and query parsing (src/http/url.hpp), then
// Api::handle over the unit tests' fakes (tests/fuzz/world.hpp).
//
// Input (text, so the corpus stays readable):
//   line 1: `<caller> <METHOD> <target>`; caller is admin, mgr, viewer (a valid
//           bearer token of that user), cookie (the admin's token as a session
//           cookie), bogus (a bearer token nobody has) or anything else (none)
//   line 2: the Content-Type header
//   rest:   the body
//
// Invariants:
// - url: a rejected percent-decoding has a message; percent_encode(decode(x))
//   decodes back to decode(x); split_path's segments rejoin to the path;
// - the status is 200..599 and never 500 (the fakes never fail, so a 500 can
//   only be bad input that escaped validation);
// - every response carries the common security headers; a JSON body parses;
//   a 204 has no body; a 4xx body is {"error":{"code":<string>,"message":<non-empty string>}};
// - HEAD answers with the status of the GET it mirrors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/api.hpp"
#include "http/url.hpp"
#include "world.hpp"

namespace {

using namespace nbms;
using fuzz::check;
using nlohmann::json;

std::string_view next_line(std::string_view& input) {
  const auto nl = input.find('\n');
  const auto line = input.substr(0, nl);
  input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  return line;
}

void check_url(std::string_view target) {
  const auto t = http::split_target(target);
  check(t.path.size() + t.query.size() <= target.size(), "split_target grew the target");
  const auto segments = http::split_path(t.path);
  std::string rejoined;
  for (const auto s : segments) {
    rejoined += '/';
    rejoined += s;
  }
  std::string_view path = t.path;
  if (!path.empty() && path.front() != '/') rejoined.erase(0, 1);  // "a/b" splits like "/a/b"
  check(rejoined == path || (rejoined.empty() && path == "/"), "split_path does not rejoin",
        std::string(path) + " vs " + rejoined);
  for (const bool plus : {false, true}) {
    const auto decoded = http::percent_decode(t.path, plus);
    if (!decoded) {
      check(!decoded.error().message.empty(), "percent_decode rejection without a message");
      continue;
    }
    check(decoded->find('\0') == std::string::npos || t.path.find('\0') != std::string_view::npos,
          "percent_decode produced a NUL from an escape");
    // A NUL is encoded as %00, which decoding refuses on purpose; a raw NUL
    // never reaches here from the wire (Beast rejects it in a target).
    if (decoded->find('\0') != std::string::npos) continue;
    const auto again = http::percent_decode(http::percent_encode(*decoded), plus);
    check(again && *again == *decoded, "percent_encode does not round-trip", *decoded);
  }
  const auto query = http::Query::parse(t.query);
  if (!query) {
    check(!query.error().message.empty(), "Query::parse rejection without a message");
  } else {
    for (const auto& [name, value] : query->items()) {
      check(query->get(name).has_value(), "Query::get misses an item", name);
    }
  }
}

void check_response(const http::Request& req, const http::Response& r) {
  const std::string where = req.method + " " + req.target.substr(0, 300) + " -> " +
                            std::to_string(r.status) + " " + r.body.substr(0, 300);
  check(r.status >= 200 && r.status <= 599, "status out of range", where);
  check(r.status != 500, "500 for a request (bad input must be a 4xx)", where);
  const auto* nosniff = r.header("X-Content-Type-Options");
  check(nosniff && *nosniff == "nosniff", "no X-Content-Type-Options", where);
  check(r.header("Content-Security-Policy") != nullptr, "no Content-Security-Policy", where);
  if (r.status == 204 || r.status == 304) {
    check(r.body.empty(), "a body with a 204 or 304", where);
  } else if (r.content_type.starts_with("application/json")) {
    const json j = json::parse(r.body, nullptr, false);
    check(!j.is_discarded(), "JSON response is not JSON", where);
    if (r.status >= 400) {
      check(j.is_object() && j.contains("error") && j["error"].is_object(), "4xx without error",
            where);
      const auto& e = j["error"];
      check(e.contains("code") && e["code"].is_string(), "error without a code", where);
      check(e.contains("message") && e["message"].is_string() &&
                !e["message"].get<std::string>().empty(),
            "error without a message", where);
    }
  } else {
    check(r.status < 400, "an error that is not JSON", where);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  nbms::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view first = next_line(input);
  const std::string_view content_type = next_line(input);

  const auto sp1 = first.find(' ');
  const std::string_view caller = first.substr(0, sp1);
  first = sp1 == std::string_view::npos ? std::string_view() : first.substr(sp1 + 1);
  const auto sp2 = first.find(' ');
  const std::string_view method = first.substr(0, sp2);
  const std::string_view target =
      sp2 == std::string_view::npos ? std::string_view() : first.substr(sp2 + 1);

  check_url(target);

  fuzz::World world;
  http::Request req;
  req.method = std::string(method);
  req.target = std::string(target);
  req.content_type = std::string(content_type);
  req.body = std::string(input);
  req.remote = "127.0.0.1";
  if (caller == "admin" || caller == "mgr" || caller == "viewer") {
    req.authorization = "Bearer " + world.tokens[std::string(caller)];
  } else if (caller == "cookie") {
    req.cookie = "theme=dark; nbms_session=" + world.tokens["admin"];
  } else if (caller == "bogus") {
    req.authorization = "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  }

  const http::Services services{world.registry,
                                world.points,
                                world.series,
                                world.dead,
                                world.clock,
                                world.auth,
                                nullptr,
                                [] {
                                  return json{{"status", "ok"}};
                                },
                                {}};
  const http::Api api(services, http::ApiOptions{.body_limit = 64 * 1024});
  const auto r = api.handle(req);
  check_response(req, r);
  if (req.method == "HEAD") {
    // A HEAD changes nothing, so the GET it mirrors sees the same world.
    req.method = "GET";
    const auto get = api.handle(req);
    check(get.status == r.status, "HEAD and GET differ", req.target.substr(0, 300));
  }
  return 0;
}
