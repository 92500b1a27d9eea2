#pragma once
// A bare MQTT 3.1.1 connection over a unix stream socket, for the tests of
// the managed broker's control listener (Paho dials no unix sockets): blocking
// reads with a receive timeout, packets written by the test. Header-only.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "integration/harness.hpp"

namespace nbms::it {

class RawMqtt {
 public:
  explicit RawMqtt(const fs::path& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = socket_path.string();
    if (p.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
    std::memcpy(addr.sun_path, p.data(), p.size());
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to " + p);
    }
    const auto t = std::chrono::duration_cast<std::chrono::microseconds>(kEventTimeout).count();
    timeval tv{.tv_sec = static_cast<time_t>(t / 1000000),
               .tv_usec = static_cast<suseconds_t>(t % 1000000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawMqtt() { ::close(fd_); }
  RawMqtt(const RawMqtt&) = delete;
  RawMqtt& operator=(const RawMqtt&) = delete;

  void send(const std::string& bytes) {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes.size())) {
      throw std::runtime_error("send failed");
    }
  }
  // Exactly n bytes (fewer if the peer closed or the timeout passed).
  std::string read(std::size_t n) {
    std::string out;
    while (out.size() < n) {
      char buf[256];
      const ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }

  // Packets (MQTT 3.1.1).
  // Packet id 1, QoS 0; a filter shorter than 100 bytes.
  static std::string subscribe(const std::string& filter) {
    std::string body = std::string("\x00\x01", 2) + len16(filter) + filter + std::string(1, '\0');
    return std::string(1, '\x82') + static_cast<char>(body.size()) + body;
  }
  static std::string publish_qos0(const std::string& topic, const std::string& payload) {
    const std::string body = len16(topic) + topic + payload;
    std::string out(1, '\x30');
    std::size_t n = body.size();
    do {  // remaining length, 7 bits per byte
      unsigned char byte = n % 128;
      n /= 128;
      if (n > 0) byte |= 0x80;
      out += static_cast<char>(byte);
    } while (n > 0);
    return out + body;
  }
  static std::string pingreq() { return std::string("\xc0\x00", 2); }
  static std::string pingresp() { return std::string("\xd0\x00", 2); }

 private:
  static std::string len16(const std::string& s) {
    return std::string{static_cast<char>(s.size() >> 8), static_cast<char>(s.size() & 0xff)};
  }
  int fd_ = -1;
};

}  // namespace nbms::it
