#include "bench/ws_client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "nbms/crypto/crypto.hpp"

namespace nbms::bench {
namespace {

std::string errno_text(const char* step) {
  return std::string(step) + ": " + std::strerror(errno);
}

// Masks need only be unpredictable to a browser's script (RFC 6455 10.3);
// the bench has none, a seeded generator per thread is enough.
std::array<std::uint8_t, 4> random_mask() {
  thread_local std::mt19937 gen{std::random_device{}()};
  const std::uint32_t r = gen();
  return {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(r >> 8),
          static_cast<std::uint8_t>(r >> 16), static_cast<std::uint8_t>(r >> 24)};
}

}  // namespace

WsConnection& WsConnection::operator=(WsConnection&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    fd = o.fd;
    o.fd = -1;
    reader = std::move(o.reader);
  }
  return *this;
}

WsConnection::~WsConnection() {
  if (fd >= 0) ::close(fd);
}

Result<WsConnection> ws_connect(const sockaddr* addr, socklen_t addr_len, std::string_view host,
                                std::string_view target, std::string_view token,
                                std::chrono::milliseconds timeout) {
  WsConnection c;
  c.fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail(Errc::io, errno_text("socket"));
  // Linux applies SO_SNDTIMEO to a blocking connect() too.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(c.fd, addr, addr_len) != 0) return fail(Errc::io, errno_text("connect"));
  const int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  auto raw_key = crypto::random_bytes(16);
  if (!raw_key) return std::unexpected(raw_key.error());
  const std::string key = crypto::base64_encode(*raw_key);
  const std::string request = ws_upgrade_request(host, target, token, key);
  for (std::size_t sent = 0; sent < request.size();) {
    const auto n = ::send(c.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, errno_text("sending the upgrade request"));
    }
    sent += static_cast<std::size_t>(n);
  }

  // Read up to the end of the head; what follows it is the first frames.
  constexpr std::size_t kMaxHead = std::size_t{16} * 1024;
  std::string in;
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    if (in.size() >= kMaxHead) return fail(Errc::malformed, "upgrade answer head over 16 KiB");
    char buf[4096];
    const auto n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fail(Errc::unavailable, "no upgrade answer within the timeout");
      }
      return fail(Errc::io, errno_text("reading the upgrade answer"));
    }
    if (n == 0) {
      return fail(Errc::io, "connection closed during the upgrade (read '" +
                                in.substr(0, in.find("\r\n")) + "')");
    }
    // Search only where the new bytes can complete the blank line.
    const std::size_t from = in.size() < 3 ? 0 : in.size() - 3;
    in.append(buf, static_cast<std::size_t>(n));
    if (const auto p = in.find("\r\n\r\n", from); p != std::string::npos) head_end = p + 4;
  }
  if (auto ok = check_upgrade_response(std::string_view(in).substr(0, head_end), key); !ok) {
    return std::unexpected(ok.error());
  }
  c.reader.append(std::string_view(in).substr(head_end));
  return c;
}

Result<void> ws_send(int fd, WsOpcode opcode, std::string_view payload) {
  const std::string frame = client_frame(opcode, payload, random_mask());
  for (std::size_t sent = 0; sent < frame.size();) {
    const auto n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fail(Errc::unavailable, "send buffer full after " + std::to_string(sent) + " of " +
                                           std::to_string(frame.size()) + " bytes of a frame");
      }
      return fail(Errc::io, errno_text("send"));
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace nbms::bench
