// The takeover CONNECT and its CONNACK, written by hand: three small packets
// over a local stream socket did not justify a second Paho client (Paho C++
// 1.2 dials tcp/ssl/ws URIs only).
#include "nbms/broker/kick.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace nbms::broker {
namespace {

constexpr std::size_t kMaxClientId = 256;
constexpr unsigned char kConnack = 0x20;
constexpr unsigned char kConnackLength = 0x02;
constexpr std::uint16_t kKeepaliveS = 10;

std::string errno_text(int e) {
  return std::generic_category().message(e);
}

const char* refusal(unsigned code) {
  switch (code) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized";
    default:
      return "unknown return code";
  }
}

// Closes the descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using Clock = std::chrono::steady_clock;

// Milliseconds left, rounded up (poll() takes whole milliseconds).
int left_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits until `fd` is ready for `events`; false once the deadline passed.
Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int n = ::poll(&p, 1, left_ms(deadline));
    if (n > 0) return true;
    if (n == 0 && Clock::now() >= deadline) return false;
    if (n < 0 && errno != EINTR) return fail(Errc::io, "poll: " + errno_text(errno));
  }
}

Result<void> send_all(int fd, std::string_view bytes, Clock::time_point deadline,
                      const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto ready = wait_for(fd, POLLOUT, deadline);
      if (!ready) return std::unexpected(ready.error());
      if (!*ready) return fail(Errc::io, "timed out sending " + what);
      continue;
    }
    return fail(Errc::io, "cannot send " + what + ": " + errno_text(errno));
  }
  return {};
}

}  // namespace

Result<std::string> connect_packet(std::string_view client_id) {
  if (client_id.empty() || client_id.size() > kMaxClientId) {
    return fail(Errc::invalid_argument, "client id must be 1.." + std::to_string(kMaxClientId) +
                                            " characters, got " + std::to_string(client_id.size()));
  }
  for (unsigned char c : client_id) {
    if (c <= 0x20 || c >= 0x7f) {
      return fail(Errc::invalid_argument, "client id '" + std::string(client_id) +
                                              "' may only contain printable ASCII without spaces");
    }
  }
  std::string body;
  // Variable header: protocol name "MQTT", level 4 (3.1.1), flags 0x02
  // (clean session only), keepalive.
  body += std::string("\x00\x04MQTT\x04\x02", 8);
  body += static_cast<char>(kKeepaliveS >> 8);
  body += static_cast<char>(kKeepaliveS & 0xff);
  body += static_cast<char>(client_id.size() >> 8);
  body += static_cast<char>(client_id.size() & 0xff);
  body += client_id;
  std::string packet(1, '\x10');
  // Remaining length, 7 bits per byte (at most 12 + 256 here: two bytes).
  std::size_t len = body.size();
  do {
    unsigned char b = len % 128;
    len /= 128;
    if (len > 0) b |= 0x80;
    packet += static_cast<char>(b);
  } while (len > 0);
  return packet + body;
}

std::string disconnect_packet() {
  return std::string("\xe0\x00", 2);
}

Result<ConnackReader::State> ConnackReader::feed(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (received_ == sizeof bytes_) {
      return fail(Errc::malformed, "the broker sent more than a CONNACK before our DISCONNECT");
    }
    bytes_[received_++] = c;
    if (received_ == 1 && c != kConnack) {
      return fail(Errc::malformed, "expected a CONNACK (0x20), got packet byte 0x" +
                                       std::string(1, "0123456789abcdef"[c >> 4]) +
                                       std::string(1, "0123456789abcdef"[c & 0xf]));
    }
    if (received_ == 2 && c != kConnackLength) {
      return fail(Errc::malformed, "CONNACK remaining length must be 2, got " + std::to_string(c));
    }
    if (received_ == 3 && (c & 0xfe) != 0) {
      return fail(Errc::malformed, "CONNACK flags must be 0 or 1, got " + std::to_string(c));
    }
    if (received_ == 4 && c != 0) {
      return fail(Errc::malformed, "the broker refused the CONNECT: return code " +
                                       std::to_string(c) + " (" + refusal(c) + ")");
    }
  }
  return received_ == sizeof bytes_ ? State::accepted : State::need_more;
}

Result<void> kick_client(const std::filesystem::path& socket, std::string_view client_id,
                         std::chrono::milliseconds timeout) {
  auto connect = connect_packet(client_id);
  if (!connect) return std::unexpected(connect.error());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return fail(Errc::invalid_argument, "control socket path '" + path + "' must be 1.." +
                                            std::to_string(sizeof addr.sun_path - 1) +
                                            " characters");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const auto deadline = Clock::now() + timeout;

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return fail(Errc::io, "socket: " + errno_text(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // A unix stream connect completes at once or fails (EAGAIN: backlog full).
    return fail(Errc::unavailable,
                "cannot connect to the broker's control socket " + path + ": " + errno_text(errno));
  }
  if (auto ok = send_all(fd.get(), *connect, deadline, "the CONNECT"); !ok) return ok;

  ConnackReader reader;
  for (;;) {
    auto ready = wait_for(fd.get(), POLLIN, deadline);
    if (!ready) return std::unexpected(ready.error());
    if (!*ready) {
      return fail(Errc::io, "no CONNACK from the broker within " + std::to_string(timeout.count()) +
                                " ms (" + std::to_string(reader.received()) + " of 4 bytes)");
    }
    char buf[16];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return fail(Errc::io, "cannot read the CONNACK: " + errno_text(errno));
    if (n == 0) {
      return fail(Errc::io, "the broker closed the control connection after " +
                                std::to_string(reader.received()) + " of 4 CONNACK bytes");
    }
    auto state = reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!state) return std::unexpected(state.error());
    if (*state == ConnackReader::State::accepted) break;
  }
  // The takeover happened when the broker accepted the CONNECT; DISCONNECT
  // ends our session cleanly (no will: it had none).
  return send_all(fd.get(), disconnect_packet(), deadline, "the DISCONNECT");
}

}  // namespace nbms::broker
