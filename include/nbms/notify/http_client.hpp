#pragma once
// A minimal HTTP/1.1 client for the notification channels: one POST on a fresh
// connection, http or https (peer certificate verified against the system
// trust store plus an optional CA file, host name checked, SNI sent), bounded
// by a timeout. Boost.Beast + OpenSSL behind a small interface.
//
// HttpClient owns a TLS client context. post() is synchronous: it runs its own
// io_context on the calling thread (the dispatcher's), so it is thread-safe
// and never touches another thread's executor.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms::notify {

struct HttpClientOptions {
  std::string ca_file;  // extra trusted CAs (PEM); the system store is always trusted
  // Webhook and push URLs come from users: by default a URL whose host
  // resolves to a loopback, private, link-local, unspecified or multicast
  // address is refused (no requests into nbmsd's own network). Tests and
  // installations with an internal webhook receiver turn this on.
  bool allow_private_addresses = false;
};

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string body;         // first 64 KiB
  std::string retry_after;  // the Retry-After header, if any
};

class HttpClient {
 public:
  // invalid_argument if the CA file cannot be loaded.
  static Result<std::unique_ptr<HttpClient>> create(const HttpClientOptions& options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // invalid_argument for a bad URL or a refused (private) address; unavailable
  // for anything on the way
  // (resolve, connect, TLS, timeout, a broken answer): worth a retry.
  Result<HttpResponse> post(const HttpRequest& request, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for loopback, RFC 1918 / unique-local, link-local, CGNAT, unspecified,
// multicast and broadcast addresses (IPv4-mapped IPv6 judged as IPv4).
bool is_private_address(std::string_view ip);

// A Retry-After value (delta-seconds or an IMF-fixdate) as milliseconds from
// `now_ms`; nullopt if absent or unparsable, 0 for a date in the past.
std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);

}  // namespace nbms::notify
