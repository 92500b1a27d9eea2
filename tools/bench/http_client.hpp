#pragma once
// A minimal blocking HTTP/1.1 client for the bench: one request per connection
// (Connection: close), plain TCP, http:// only. Enough for the REST calls and the
// health polls of nbms-bench; not a general client (the timed requests of
// `nbms-bench api` use keep-alive Beast connections instead).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `url`: http://host:port (a trailing path is ignored).
  static Result<HttpClient> from_url(std::string_view url);

  Result<HttpResponse> request(std::string_view method, std::string_view path,
                               std::string_view body = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  Result<HttpResponse> get(std::string_view path) const { return request("GET", path); }
  Result<HttpResponse> post_json(std::string_view path, std::string_view body) const {
    return request("POST", path, body);
  }

  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }

  // Sent as `Authorization: Bearer <token>` on every request once set.
  void set_token(std::string token) { token_ = std::move(token); }
  const std::string& token() const { return token_; }

 private:
  HttpClient(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}
  std::string host_;
  std::string port_;
  std::string token_;
};

// POST /api/v1/auth/login: the session token of `user`.
Result<std::string> login(const HttpClient& http, std::string_view user, std::string_view password);

// Decodes a `Transfer-Encoding: chunked` body.
Result<std::string> decode_chunked(std::string_view body);

}  // namespace nbms::bench
