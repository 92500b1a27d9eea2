// Memory of nbmsd under many idle WebSocket connections and a client that never
// reads (docs/reliability.md, Faults): measured as VmRSS from /proc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

// Under AddressSanitizer (tools/test.sh's sanitizer build, which builds nbmsd
// with the same flags as this test) nbmsd's RSS is mostly ASan's allocator:
// freed blocks wait in a quarantine (256 MB by default) before they are reused,
// every block carries redzones, and each size class keeps its own pages. The
// bounds below are for the real allocator and are checked in the g++ build;
// under ASan the tests still drive the same paths (for ASan's checks) and print
// the RSS, but do not hold it to those bounds. ThreadSanitizer's shadow memory
// (tools/test.sh --tsan) likewise makes the RSS its own.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // g++
constexpr bool kRssIsNbmsdsOwn = false;
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kRssIsNbmsdsOwn = false;
#else
constexpr bool kRssIsNbmsdsOwn = true;
#endif
#else
constexpr bool kRssIsNbmsdsOwn = true;
#endif

// VmRSS of a process in kB (0 if it cannot be read).
std::uint64_t rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// nbmsd's pid: the process whose command line names this test's data directory.
pid_t pid_of(const Nbmsd& n) {
  const std::string dir = n.data_dir().string();
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(NBMSD_PATH) == 0 && cmdline.find(" " + dir + " ") != std::string::npos) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

// A WebSocket connection that only upgrades and then stays idle: one socket,
// no event loop (WsClient's io_context would cost three more descriptors).
class IdleSocket {
 public:
  IdleSocket(std::uint16_t port, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    const std::string req = "GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " +
                            token + "\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      throw std::runtime_error("send of the upgrade request failed");
    }
    std::string head;
    char buf[512];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("no upgrade response");
      head.append(buf, static_cast<std::size_t>(n));
    }
    if (head.rfind("HTTP/1.1 101", 0) != 0) {
      throw std::runtime_error("upgrade refused: " + head.substr(0, head.find('\r')));
    }
  }
  ~IdleSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  IdleSocket(const IdleSocket&) = delete;
  IdleSocket& operator=(const IdleSocket&) = delete;

 private:
  int fd_ = -1;
};

constexpr int kIdle = 5000;
// Both ends of every connection live on this machine: the test's and nbmsd's
// descriptors (nbmsd inherits the test's limit), plus some for everything else.
constexpr rlim_t kFdsNeeded = kIdle + 1000;

class WsMemoryTest : public NbmsTest {
 protected:
  void configure(Nbmsd&) override {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
      skip_reason_ = "getrlimit failed";
      return;
    }
    if (lim.rlim_cur < kFdsNeeded) {
      lim.rlim_cur = std::min(lim.rlim_max, rlim_t{kFdsNeeded * 2});
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (lim.rlim_cur < kFdsNeeded) {
      skip_reason_ = "needs " + std::to_string(kFdsNeeded) +
                     " file descriptors (ulimit -n), the hard limit is " +
                     std::to_string(lim.rlim_max);
    }
  }
  std::uint64_t connections() {
    return nbmsd().health()["realtime"]["connections"].get<std::uint64_t>();
  }
  std::string skip_reason_;
};

Json realtime_message(int n, int points) {
  Json m{{"msg_type", "Realtime"}, {"time", "202210041000"}, {"point_count", points}};
  for (int p = 0; p < points; ++p) {
    m["point_" + std::to_string(p)] = {
        {"point_id", "AI-" + std::to_string(p)},
        {"msg", Json::array({{{"attr_name", "M_Value"}, {"data", n * 1000 + p}}})}};
  }
  return m;
}

TEST_F(WsMemoryTest, FiveThousandIdleConnectionsCostLittleMemory) {
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  const pid_t pid = pid_of(nbmsd());
  ASSERT_GT(pid, 0) << "nbmsd's pid not found";
  {
    // Warm up: thread stacks, allocator arenas and buffers that the first
    // connections create once.
    std::vector<std::unique_ptr<IdleSocket>> warm;
    for (int i = 0; i < 100; ++i) {
      warm.push_back(std::make_unique<IdleSocket>(nbmsd().http_port(), nbmsd().admin_token()));
    }
  }
  ASSERT_TRUE(wait_until([&] { return connections() == 0; }));
  const auto before = rss_kb(pid);

  std::vector<std::unique_ptr<IdleSocket>> clients;
  clients.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    clients.push_back(std::make_unique<IdleSocket>(nbmsd().http_port(), nbmsd().admin_token()));
  }
  ASSERT_TRUE(wait_until([&] { return connections() == static_cast<std::uint64_t>(kIdle); }))
      << connections() << " connections";
  const auto open = rss_kb(pid);
  const double per_connection_kb = static_cast<double>(open - before) / kIdle;
  std::cout << "[ info     ] nbmsd VmRSS " << before << " kB -> " << open << " kB with " << kIdle
            << " idle WebSockets: " << per_connection_kb << " kB each\n";
  // Beast's stream, two coroutine frames, the channel and its hub entry.
  if (kRssIsNbmsdsOwn) {
    EXPECT_LT(per_connection_kb, 64.0);
  }
  // Still serving while they are open.
  EXPECT_EQ(nbmsd().get("/api/v1/health").status, 200);

  clients.clear();  // closes every socket (no close handshake: as a vanished browser)
  ASSERT_TRUE(wait_until([&] { return connections() == 0; })) << connections() << " left";
  const auto closed = rss_kb(pid);
  std::cout << "[ info     ] after closing them: " << closed << " kB\n";
  // Closed connections leave nothing behind that grows: a second round of the
  // same size ends where the first did (the allocator keeps freed pages, so
  // the RSS does not drop, but it must not grow again either).
  for (int i = 0; i < kIdle; ++i) {
    clients.push_back(std::make_unique<IdleSocket>(nbmsd().http_port(), nbmsd().admin_token()));
  }
  ASSERT_TRUE(wait_until([&] { return connections() == static_cast<std::uint64_t>(kIdle); }));
  const auto again = rss_kb(pid);
  std::cout << "[ info     ] second round of " << kIdle << ": " << again << " kB\n";
  if (kRssIsNbmsdsOwn) {
    EXPECT_LT(again, open + (open - before) / 4) << "memory grew by a second round";
  } else {
    std::cout << "[ info     ] AddressSanitizer build: RSS bounds not checked\n";
  }
  clients.clear();
}

TEST_F(WsMemoryTest, AClientThatNeverReadsKeepsItsQueueBoundedAndBlocksNobody) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  constexpr int kPoints = 200;
  std::vector<PointDecl> decl;
  std::vector<std::string> ids;
  for (int p = 0; p < kPoints; ++p) {
    ids.push_back("AI-" + std::to_string(p));
    decl.push_back({ids.back(), "AI", "Temp " + std::to_string(p), "AHU/1", "", "degC", false});
  }
  publish(topic_of(kThing, "init"), init_message("202210040000", decl));
  ASSERT_TRUE(messages_reach(1));

  auto watch = [&](WsClient& ws) {
    ws.send(Json{{"type", "subscribe"}, {"thing", kThing}, {"point_ids", ids}});
    return ws.receive_until([](const Json& m) { return m.value("type", "") == "subscribed"; });
  };
  WsClient stuck(nbmsd().http_port(), nbmsd().admin_token());
  ASSERT_TRUE(watch(stuck));  // and from now on never reads
  WsClient reader(nbmsd().http_port(), nbmsd().admin_token());
  ASSERT_TRUE(watch(reader));

  const pid_t pid = pid_of(nbmsd());
  ASSERT_GT(pid, 0) << "nbmsd's pid not found";
  const auto before = rss_kb(pid);
  // Every value of every point changes 2,000 times: 400,000 values, about
  // 20 MB of frames for each watcher if nothing were coalesced.
  constexpr int kRounds = 2000;
  for (int n = 0; n < kRounds; ++n) {
    publish(topic_of(kThing, "realtime"), realtime_message(n, kPoints));
  }
  // The reader gets the newest value of every point (it reads all along).
  const double last = (kRounds - 1) * 1000.0;
  auto newest = [&](const Json& m) {
    if (m.value("type", "") != "values") return false;
    for (const auto& u : m["updates"]) {
      for (const auto& v : u["values"]) {
        if (v["point_id"] == "AI-0" && v["value"].get<double>() == last) return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(reader.receive_until(newest, 30s)) << "the reader did not get the last value";
  const auto after = rss_kb(pid);
  std::cout << "[ info     ] nbmsd VmRSS " << before << " kB -> " << after
            << " kB after 400,000 values to a client that never reads\n";
  if (kRssIsNbmsdsOwn) {
    EXPECT_LT(after, before + 16 * 1024) << "memory grew with the unread values";
  } else {
    std::cout << "[ info     ] AddressSanitizer build: RSS bound not checked\n";
  }
  const Json h = nbmsd().health();
  EXPECT_EQ(h["realtime"]["connections"], 2) << h.dump();
  EXPECT_EQ(h["ingest"]["realtime"], kRounds) << h.dump();
}

}  // namespace
}  // namespace nbms::it
