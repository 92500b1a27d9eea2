#include "http_client.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include <nlohmann/json.hpp>

namespace nbms::bench {
namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Result<HttpClient> HttpClient::from_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return fail(Errc::invalid_argument,
                "only http:// URLs are supported: '" + std::string(url) + "'");
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return fail(Errc::invalid_argument, "URL needs host:port: '" + std::string(url) + "'");
  }
  return HttpClient(std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1)));
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view path,
                                         std::string_view body,
                                         std::chrono::milliseconds timeout) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found); rc != 0) {
    return fail(Errc::unavailable, "cannot resolve " + host_ + ": " + ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  int fd = -1;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    last_error = std::generic_category().message(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return fail(Errc::unavailable, "cannot connect to " + host_ + ":" + port_ + ": " + last_error);
  }
  Socket sock(fd);

  std::string req;
  req.reserve(256 + body.size());
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  req.append("Host: ").append(host_).append(":").append(port_).append("\r\n");
  req.append("User-Agent: nbms-bench\r\nAccept: application/json\r\nConnection: close\r\n");
  if (!token_.empty()) req.append("Authorization: Bearer ").append(token_).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  }
  req.append("\r\n").append(body);
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(sock.fd(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return fail(Errc::unavailable,
                  std::string("send failed: ") + std::generic_category().message(errno));
    }
    sent += static_cast<std::size_t>(n);
  }

  std::string raw;
  char buf[16384];
  while (true) {
    const auto n = ::recv(sock.fd(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::unavailable,
                  std::string("no complete answer: ") + std::generic_category().message(errno));
    }
    raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > (64u << 20)) return fail(Errc::too_large, "answer over 64 MiB");
  }

  const auto header_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/") || header_end == std::string::npos) {
    return fail(Errc::malformed, "not an HTTP answer");
  }
  HttpResponse resp;
  const auto space = raw.find(' ');
  if (space == std::string::npos || space + 4 > raw.size()) {
    return fail(Errc::malformed, "bad status line");
  }
  std::from_chars(raw.data() + space + 1, raw.data() + space + 4, resp.status);
  const std::string headers = lower(std::string_view(raw).substr(0, header_end));
  std::string_view payload = std::string_view(raw).substr(header_end + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    auto decoded = decode_chunked(payload);
    if (!decoded) return std::unexpected(decoded.error());
    resp.body = std::move(*decoded);
  } else {
    resp.body = std::string(payload);
  }
  return resp;
}

Result<std::string> login(const HttpClient& http, std::string_view user,
                          std::string_view password) {
  const nlohmann::json body{{"user", user}, {"password", password}};
  auto r = http.request("POST", "/api/v1/auth/login", body.dump(), std::chrono::seconds(30));
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) {
    return fail(Errc::unauthenticated, "login as '" + std::string(user) + "': HTTP " +
                                           std::to_string(r->status) + ": " +
                                           r->body.substr(0, 300));
  }
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("token") || !j["token"].is_string()) {
    return fail(Errc::malformed, "login answer has no token: " + r->body.substr(0, 300));
  }
  return j["token"].get<std::string>();
}

Result<std::string> decode_chunked(std::string_view body) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return fail(Errc::malformed, "truncated chunk header");
    std::size_t size = 0;
    const auto [ptr, ec] = std::from_chars(body.data() + pos, body.data() + eol, size, 16);
    if (ec != std::errc() || ptr == body.data() + pos) {
      return fail(Errc::malformed, "bad chunk size");
    }
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size + 2 > body.size()) return fail(Errc::malformed, "truncated chunk");
    out.append(body.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace nbms::bench
