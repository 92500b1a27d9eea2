#pragma once
// The REST router: a plain function from a request to a response over simple
// structs, so routes are unit-tested with fake ports and no sockets. It knows
// nothing of Beast; server.cpp translates to and from the wire. All JSON in and
// out of the API is built here.
//
// Thread-safety: Api is immutable after construction (but for a counter of
// logins in progress) and handle() may run on any number of threads at once
// (the ports and AuthService are thread-safe).
#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/http/server.hpp"

namespace nbms::http {

struct Request {
  std::string method;        // as sent: "GET", "POST", "HEAD", ...
  std::string target;        // origin-form, still percent-encoded: "/api/v1/x?y=1"
  std::string content_type;  // value of the Content-Type header, empty if absent
  std::string body;
  std::string authorization;  // Authorization header, empty if absent
  std::string cookie;         // Cookie header(s), joined with "; "
  std::string remote;         // client address, for the audit log and throttling
  bool secure = false;        // arrived over HTTPS
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Headers besides Content-Type and Content-Length (e.g. Allow, Location).
  std::vector<std::pair<std::string, std::string>> headers;

  // Value of a header set in `headers` (case-insensitive name), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct ApiOptions {
  std::string web_root;  // empty: no static files
  std::size_t body_limit = 1 << 20;
  int max_concurrent_logins = 1;  // more at once get 429 (each runs the slow KDF)
};

// HTTP status for a domain error code (invalid_argument -> 400, ...).
int status_for(Errc code);

// `{"error":{"code":...,"message":...}}` with the code name of `status`
// (bad_request, not_found, ...) and the common headers.
Response error_response(int status, std::string_view message);

class Api {
 public:
  Api(Services services, ApiOptions options);

  // Routes one request. Never throws: failures become error responses (5xx are
  // logged). A HEAD request is answered as the GET it mirrors, body included;
  // the transport drops the body.
  Response handle(const Request& request) const;

  // The caller of a request by its bearer token or session cookie (for the
  // WebSocket upgrade, which does not go through handle()).
  Result<auth::Principal> authenticate(const Request& request) const;

 private:
  Response route(const Request& request) const;
  Response serve_static(const Request& request, std::string_view path) const;

  Services services_;
  ApiOptions options_;
  mutable std::atomic<int> logins_in_flight_{0};
};

}  // namespace nbms::http
