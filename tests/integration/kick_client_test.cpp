// broker::kick_client() against a stand-in control socket that misbehaves:
// every failure is a precise error, never a hang or a crash. Against the real
// Mosquitto: managed_broker_test.cpp.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "integration/harness.hpp"
#include "nbms/broker/kick.hpp"

namespace nbms::it {
namespace {

// A unix socket server that accepts one connection and hands it to `serve`.
class FakeControlSocket {
 public:
  FakeControlSocket(const fs::path& path, std::function<void(int)> serve) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.string().size());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 4) != 0) {
      throw std::runtime_error("cannot listen on " + path.string());
    }
    thread_ = std::thread([this, serve = std::move(serve)] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      serve(c);
      ::close(c);
    });
  }
  ~FakeControlSocket() {
    ::shutdown(fd_, SHUT_RDWR);  // ends a pending accept()
    thread_.join();
    ::close(fd_);
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::thread thread_;
};

std::string read_exactly(int fd, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    char buf[256];
    const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
  }
  return out;
}

void send_bytes(int fd, const std::string& b) {
  (void)::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
}

class KickClient : public ::testing::Test {
 protected:
  fs::path sock() const { return tmp.path() / "control.sock"; }
  std::size_t connect_size() const { return broker::connect_packet("thing_1")->size(); }
  TempDir tmp;
};

TEST_F(KickClient, SendsConnectThenDisconnectAfterTheConnack) {
  std::string got;
  {
    FakeControlSocket server(sock(), [&](int c) {
      got = read_exactly(c, connect_size());
      send_bytes(c, std::string("\x20\x02\x00\x00", 4));
      got += read_exactly(c, 2);
    });
    auto ok = broker::kick_client(sock(), "thing_1", 5s);
    EXPECT_TRUE(ok) << ok.error().message;
  }
  EXPECT_EQ(got, *broker::connect_packet("thing_1") + broker::disconnect_packet());
}

TEST_F(KickClient, ConnackCutShortIsAnIoError) {
  FakeControlSocket server(sock(), [&](int c) {
    read_exactly(c, connect_size());
    send_bytes(c, std::string("\x20\x02", 2));
  });
  auto r = broker::kick_client(sock(), "thing_1", 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("closed the control connection after 2 of 4 CONNACK bytes"),
            std::string::npos)
      << r.error().message;
}

TEST_F(KickClient, SilentBrokerTimesOut) {
  FakeControlSocket server(sock(), [&](int c) {
    read_exactly(c, connect_size());
    read_exactly(c, 1);  // until the client gives up and closes
  });
  const auto began = std::chrono::steady_clock::now();
  auto r = broker::kick_client(sock(), "thing_1", 300ms);
  ASSERT_FALSE(r);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("no CONNACK from the broker within 300 ms (0 of 4 bytes)"),
            std::string::npos)
      << r.error().message;
}

TEST_F(KickClient, RefusalAndGarbageAreMalformed) {
  {
    FakeControlSocket server(sock(), [&](int c) {
      read_exactly(c, connect_size());
      send_bytes(c, std::string("\x20\x02\x00\x05", 4));
    });
    auto r = broker::kick_client(sock(), "thing_1", 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().message.find("return code 5 (not authorized)"), std::string::npos);
  }
  fs::remove(sock());
  {
    FakeControlSocket server(sock(), [&](int c) {
      read_exactly(c, connect_size());
      send_bytes(c, "HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    auto r = broker::kick_client(sock(), "thing_1", 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().message.find("got packet byte 0x48"), std::string::npos)
        << r.error().message;
  }
}

TEST_F(KickClient, NoSocketOrABadPathOrClientIdIsRefusedWithoutIo) {
  auto missing = broker::kick_client(sock(), "thing_1", 1s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::unavailable);
  EXPECT_NE(missing.error().message.find("cannot connect to the broker's control socket"),
            std::string::npos);
  auto too_long = broker::kick_client("/" + std::string(200, 'x'), "thing_1", 1s);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, Errc::invalid_argument);
  auto bad_id = broker::kick_client(sock(), "two words", 1s);
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace nbms::it
