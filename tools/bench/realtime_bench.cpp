// nbms-bench realtime: latency from a middleware publishing a realtime value to
// the WebSocket clients that watch the point receiving it, against a running
// nbmsd and its broker. docs/performance.md describes the method.
//
//   - logs in once (admin) and reuses the token for every client;
//   - registers the customer, building and things, publishes each thing's init;
//   - opens `clients` WebSockets, each subscribing to `points_per_client`
//     points so that every point has about `fanout` watchers, and reads them
//     from `threads` epoll threads with a lean frame reader (ws_frame.hpp):
//     the clients share the machine's cores with nbmsd, so their own cost per
//     frame is part of what the bench measures and must stay small;
//   - publishes `<thing>/realtime` messages through libmosquitto (QoS 1) at a
//     fixed total rate of point updates per second, paced by a steady clock.
//     Each value is the publish time in microseconds since the bench started
//     (exact in a double), so a client's latency is its receive time minus the
//     value: one clock, no synchronisation needed;
//   - counts, per published value of the measured window, the values every
//     watcher should receive, against what the clients did receive (nbmsd
//     coalesces the values of a slow client per point, so fewer can arrive).
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/ws_client.hpp"
#include "bench/ws_frame.hpp"
#include "common.hpp"
#include "flood.hpp"
#include "http_client.hpp"
#include "mwsim/model.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"

namespace nbms::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "nbms-bench realtime";

constexpr const char* kUsage = R"(Usage: nbms-bench realtime [options]

Latency from a MW publishing a realtime value to the WebSocket clients watching
the point receiving it, against a running nbmsd and broker. Prints a table and
a final one-line JSON summary.

Options:
  --broker URI          MQTT broker (default tcp://127.0.0.1:1883)
  --http URL            nbmsd base URL (default http://127.0.0.1:8080)
  --user NAME           log in as NAME (default admin); one token for every client
  --password P          default $NBMS_BENCH_PASSWORD, else $NBMS_ADMIN_PASSWORD
  --customer ID         customer id (default CBENCH)
  --building ID         building id (default RT01)
  --things N            MWs (default 10)
  --points N            points per MW (default 100)
  --clients N           WebSocket connections (default 1000)
  --fanout F            watchers per point (default 20): each client watches
                        round(F x things x points / clients) points
  --layout L            spread: a client's points spread over every MW (default);
                        thing: a client's points are consecutive points of one MW
                        (a dashboard page of one equipment)
  --rate N              point updates per second, all MWs together (default 5000)
  --batch N             points per realtime message (default 10)
  --warmup S            seconds of publishing before the measured window (default 3)
  --duration S          measured window in seconds (default 10)
  --drain S             seconds to wait for late values after publishing (default 2)
  --threads N           client reader (epoll) threads (default 2)
  --pid PID             nbmsd's pid: its CPU time and RSS (VmRSS / VmHWM)
  --broker-pid PID      the broker's pid: its CPU time
  --help                this text
)";

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string http = "http://127.0.0.1:8080";
  std::string user = "admin";
  std::string password = default_password();
  std::string customer = "CBENCH";
  std::string building = "RT01";
  int things = 10;
  int points = 100;
  int clients = 1000;
  double fanout = 20;
  bool spread = true;
  double rate = 5000;
  int batch = 10;
  double warmup_s = 3;
  double duration_s = 10;
  double drain_s = 2;
  int threads = 2;
  int pid = 0;
  int broker_pid = 0;
};

[[noreturn]] void die(const std::string& message, int code = 2) {
  die_as(kProgram, message, code);
}

template <class T>
T number(std::string_view option, std::string_view text) {
  return number_as<T>(kProgram, option, text);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) die(std::string(arg) + " needs a value (see --help)");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--broker") {
      o.broker = value();
    } else if (arg == "--http") {
      o.http = value();
    } else if (arg == "--user") {
      o.user = value();
    } else if (arg == "--password") {
      o.password = value();
    } else if (arg == "--customer") {
      o.customer = value();
    } else if (arg == "--building") {
      o.building = value();
    } else if (arg == "--things") {
      o.things = number<int>(arg, value());
    } else if (arg == "--points") {
      o.points = number<int>(arg, value());
    } else if (arg == "--clients") {
      o.clients = number<int>(arg, value());
    } else if (arg == "--fanout") {
      o.fanout = number<double>(arg, value());
    } else if (arg == "--layout") {
      const auto v = value();
      if (v != "spread" && v != "thing") die("--layout must be spread or thing");
      o.spread = v == "spread";
    } else if (arg == "--rate") {
      o.rate = number<double>(arg, value());
    } else if (arg == "--batch") {
      o.batch = number<int>(arg, value());
    } else if (arg == "--warmup") {
      o.warmup_s = number<double>(arg, value());
    } else if (arg == "--duration") {
      o.duration_s = number<double>(arg, value());
    } else if (arg == "--drain") {
      o.drain_s = number<double>(arg, value());
    } else if (arg == "--threads") {
      o.threads = number<int>(arg, value());
    } else if (arg == "--pid") {
      o.pid = number<int>(arg, value());
    } else if (arg == "--broker-pid") {
      o.broker_pid = number<int>(arg, value());
    } else {
      die("unknown option '" + std::string(arg) + "' (see --help)");
    }
  }
  if (auto r = validate_customer_id(o.customer); !r) die(r.error().message);
  if (auto r = validate_building_id(o.building); !r) die(r.error().message);
  if (o.things < 1 || o.things > 999) die("--things must be 1..999");
  if (o.points < 1 || o.points > 5000) die("--points must be 1..5000");
  if (o.clients < 1 || o.clients > 100000) die("--clients must be 1..100000");
  if (!(o.fanout > 0)) die("--fanout must be > 0");
  if (!(o.rate > 0)) die("--rate must be > 0");
  if (o.batch < 1 || o.batch > o.points) die("--batch must be 1..points");
  if (!(o.warmup_s >= 0) || !(o.duration_s > 0) || !(o.drain_s >= 0)) {
    die("--warmup and --drain must be >= 0, --duration > 0");
  }
  if (o.threads < 1 || o.threads > 64) die("--threads must be 1..64");
  return o;
}

// Who watches what. Points are numbered globally g = 0..things*points-1.
struct Layout {
  int points_per_client = 0;
  std::vector<std::vector<std::pair<int, int>>> watched;  // client -> (thing, point)
  std::vector<std::vector<int>> watchers;                 // [thing][point] -> clients
};

Layout make_layout(const Options& o) {
  const long total = static_cast<long>(o.things) * o.points;
  Layout l;
  const long per_client = std::lround(o.fanout * static_cast<double>(total) / o.clients);
  l.points_per_client = static_cast<int>(
      std::clamp<long>(per_client, 1, std::min<long>(o.spread ? total : o.points, 5000)));
  const int w = l.points_per_client;
  l.watched.resize(static_cast<std::size_t>(o.clients));
  l.watchers.assign(static_cast<std::size_t>(o.things),
                    std::vector<int>(static_cast<std::size_t>(o.points), 0));
  for (int c = 0; c < o.clients; ++c) {
    auto& mine = l.watched[static_cast<std::size_t>(c)];
    for (int j = 0; j < w; ++j) {
      int thing = 0, point = 0;
      if (o.spread) {
        // Consecutive global numbers per client, mapped thing-minor: a client's
        // points are spread over every MW, and each point has the same number
        // of watchers (up to rounding).
        const long g = (static_cast<long>(c) * w + j) % total;
        thing = static_cast<int>(g % o.things);
        point = static_cast<int>(g / o.things);
      } else {
        // One MW per client, a block of consecutive points of it.
        thing = c % o.things;
        const long k = static_cast<long>(c / o.things) * w + j;
        point = static_cast<int>(k % o.points);
      }
      mine.emplace_back(thing, point);
      ++l.watchers[static_cast<std::size_t>(thing)][static_cast<std::size_t>(point)];
    }
  }
  return l;
}

// One WebSocket client's results. Written by its reader thread only (by the
// main thread before the client is handed to it), read after the reader
// threads have been joined.
struct ClientStats {
  std::vector<std::uint32_t> latency_us;  // values published inside the window
  std::uint64_t in_window = 0;
  std::uint64_t values = 0;  // every value received
  std::uint64_t frames = 0;  // `values` messages
  std::uint64_t error_messages = 0;
  std::uint64_t pings = 0;  // answered with a pong
  std::string failure;      // why the client did not get ready, or ended early
  bool ready = false;
};

struct Shared {
  Clock::time_point t0;
  sockaddr_storage addr{};  // nbmsd's HTTP address
  socklen_t addr_len = 0;
  std::string host;  // Host header
  std::string token;
  std::atomic<std::int64_t> window_from_us{-1};  // published-at range that counts
  std::atomic<std::int64_t> window_to_us{-1};
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::atomic<bool> stopping{false};
};

std::int64_t now_us(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

// Every "value": number of a `values` message (of all its updates; nbmsd
// writes the members exactly like this).
template <class F>
void for_each_value(std::string_view text, F&& f) {
  constexpr std::string_view kKey = "\"value\":";
  for (auto pos = text.find(kKey); pos != std::string_view::npos; pos = text.find(kKey, pos)) {
    pos += kKey.size();
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), v);
    if (ec == std::errc()) f(v);
  }
}

// One client connection. The main thread connects it, sends its subscribes
// and handles what came with the upgrade answer, then hands it to one reader
// thread (epoll_ctl), which alone uses it from then on.
struct Client {
  WsConnection ws;
  std::size_t subscribes = 0;  // `subscribed` answers to wait for
  std::size_t acknowledged = 0;
};

// Closes the client; `why` is its failure unless the bench is stopping it.
void end_client(Shared& sh, Client& c, ClientStats& me, std::string why) {
  c.ws = WsConnection{};  // closes the socket, which leaves the epoll set
  if (!me.ready) {
    me.failure = std::move(why);
    sh.failed.fetch_add(1);
  } else if (!sh.stopping.load()) {
    me.failure = "connection ended early: " + why;
  }
}

// A text message received at `now`. False when it ended the client.
bool on_text(Shared& sh, Client& c, ClientStats& me, std::string_view text, std::int64_t now) {
  if (!me.ready) {
    if (text.find("\"type\":\"subscribed\"") != std::string_view::npos) {
      if (++c.acknowledged == c.subscribes) {
        me.ready = true;
        sh.ready.fetch_add(1);
      }
    } else if (text.find("\"type\":\"error\"") != std::string_view::npos) {
      end_client(sh, c, me, "subscribe refused: " + std::string(text.substr(0, 300)));
      return false;
    }
    return true;
  }
  if (text.find("\"type\":\"values\"") == std::string_view::npos) {
    if (text.find("\"type\":\"error\"") != std::string_view::npos) ++me.error_messages;
    return true;
  }
  ++me.frames;
  const auto from = sh.window_from_us.load(std::memory_order_relaxed);
  const auto to = sh.window_to_us.load(std::memory_order_relaxed);
  for_each_value(text, [&](double v) {
    ++me.values;
    const auto published = static_cast<std::int64_t>(v);
    if (from < 0 || published < from || published >= to) return;
    ++me.in_window;
    me.latency_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - published)));
  });
  return true;
}

// Handles every whole message in the client's buffer, received at `now`.
// Anything but text, ping and pong ends the client, loudly: a close frame, a
// binary message, a malformed frame.
void handle_buffered(Shared& sh, Client& c, ClientStats& me, std::int64_t now) {
  for (;;) {
    auto m = c.ws.reader.next();
    if (!m) return end_client(sh, c, me, "malformed stream from nbmsd: " + m.error().message);
    if (!*m) return;
    const WsMessage msg = **m;
    switch (msg.opcode) {
      case WsOpcode::text:
        if (!on_text(sh, c, me, msg.payload, now)) return;
        break;
      case WsOpcode::ping:
        // nbmsd pings a connection it has heard nothing from for half its idle
        // timeout.
        if (auto r = ws_send(c.ws.fd, WsOpcode::pong, msg.payload); !r) {
          return end_client(sh, c, me, "pong: " + r.error().message);
        }
        ++me.pings;
        break;
      case WsOpcode::pong:
        break;
      case WsOpcode::close:
        return end_client(sh, c, me, "closed by nbmsd: " + describe_close(msg.payload));
      default:
        return end_client(sh, c, me, "unexpected binary message");
    }
  }
}

// A reader thread: its own epoll set (level-triggered), one recv per ready
// client and wake-up, the receive time taken once per recv. Runs until the
// bench stops.
void read_clients(Shared& sh, int epfd, std::vector<Client>& clients,
                  std::vector<ClientStats>& stats) {
  std::array<epoll_event, 256> events{};
  while (!sh.stopping.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(std::string("epoll_wait: ") + std::strerror(errno), 1);
    }
    for (int i = 0; i < n; ++i) {
      const auto k = events[static_cast<std::size_t>(i)].data.u32;
      Client& c = clients[k];
      ClientStats& me = stats[k];
      if (c.ws.fd < 0) continue;
      const auto room = c.ws.reader.writable(8192);
      const auto got = ::recv(c.ws.fd, room.data(), room.size(), 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        end_client(sh, c, me, std::string("recv: ") + std::strerror(errno));
        continue;
      }
      if (got == 0) {
        end_client(sh, c, me, "connection closed by nbmsd without a close frame");
        continue;
      }
      const std::int64_t now = now_us(sh.t0);
      c.ws.reader.commit(static_cast<std::size_t>(got));
      handle_buffered(sh, c, me, now);
    }
  }
}

struct HealthCounts {
  std::uint64_t realtime = 0;               // ingest.realtime: realtime messages passed to the hub
  std::uint64_t rejected = 0;               // ingest.rejected
  std::optional<std::uint64_t> values_out;  // realtime.values_out: values handed to connections
  std::optional<std::uint64_t> unwatched;   // realtime.unwatched_values
};

std::optional<HealthCounts> health(const HttpClient& http) {
  auto r = http.request("GET", "/api/v1/health", {}, std::chrono::seconds(5));
  if (!r || r->status != 200) return std::nullopt;
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("ingest")) return std::nullopt;
  const auto& in = j["ingest"];
  HealthCounts h;
  h.realtime = in.value("realtime", std::uint64_t{0});
  h.rejected = in.value("rejected", std::uint64_t{0});
  if (const auto rt = j.find("realtime"); rt != j.end() && rt->is_object()) {
    if (rt->contains("values_out")) h.values_out = rt->value("values_out", std::uint64_t{0});
    if (rt->contains("unwatched_values")) {
      h.unwatched = rt->value("unwatched_values", std::uint64_t{0});
    }
  }
  return h;
}

LocalMinute local_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return LocalMinute::from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min);
}

double ms(double us) {
  return us / 1000.0;
}

}  // namespace

int realtime_bench(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Shared sh;
  sh.t0 = Clock::now();

  // REST: log in, register, check the health counters.
  auto h = HttpClient::from_url(o.http);
  if (!h) die(h.error().message);
  HttpClient http = std::move(*h);
  login_or_exit(http, o.user, o.password, kProgram);
  sh.token = http.token();
  sh.host = http.host() + ":" + http.port();
  create_or_exit(http, "/api/v1/customers", {{"id", o.customer}, {"name", "Bench " + o.customer}},
                 kProgram);
  create_or_exit(http, "/api/v1/customers/" + o.customer + "/buildings",
                 {{"id", o.building}, {"name", "Bench building " + o.building}}, kProgram);
  mwsim::SimConfig sim;
  sim.customer = o.customer;
  sim.building = o.building;
  sim.points = o.points;
  std::vector<mwsim::SimThing> things;
  for (int i = 1; i <= o.things; ++i) {
    things.emplace_back(sim, i);
    create_or_exit(http, "/api/v1/customers/" + o.customer + "/buildings/" + o.building + "/things",
                   {{"name", things.back().name()}}, kProgram);
  }
  {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(http.host().c_str(), http.port().c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
      die("cannot resolve " + http.host() + ": " + ::gai_strerror(rc), 1);
    }
    std::memcpy(&sh.addr, found->ai_addr, found->ai_addrlen);
    sh.addr_len = found->ai_addrlen;
    ::freeaddrinfo(found);
  }

  // The MW side: one libmosquitto connection for every thing (as flood.hpp).
  Flood mw(o.broker, "nbms-bench-rt-" + std::to_string(getpid()), 1000);
  mw.set_nodelay();
  if (auto err = mw.connect(); !err.empty()) die("cannot connect to the broker: " + err, 1);
  const LocalMinute start_time = local_now();
  for (const auto& t : things) mw.publish(t.name() + "/init", t.init(start_time));
  if (!mw.flush(30'000)) die("init messages not acknowledged by the broker", 1);

  // Who watches what.
  const Layout layout = make_layout(o);
  int min_w = o.clients, max_w = 0;
  long sum_w = 0;
  for (const auto& per_thing : layout.watchers) {
    for (int w : per_thing) {
      min_w = std::min(min_w, w);
      max_w = std::max(max_w, w);
      sum_w += w;
    }
  }
  const double avg_w = static_cast<double>(sum_w) / (static_cast<double>(o.things) * o.points);
  std::printf(
      "%d clients x %d watched points (layout %s): fan-out %.2f "
      "watchers per point "
      "(min %d, max %d)\n",
      o.clients, layout.points_per_client, o.spread ? "spread" : "thing", avg_w, min_w, max_w);

  // Clients: connected and subscribed one after the other by this thread, then
  // read by the reader threads (client k by thread k % threads).
  std::vector<ClientStats> stats(static_cast<std::size_t>(o.clients));
  std::vector<Client> clients(static_cast<std::size_t>(o.clients));
  std::vector<int> epfds;
  for (int i = 0; i < o.threads; ++i) {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) die(std::string("epoll_create1: ") + std::strerror(errno), 1);
    epfds.push_back(fd);
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(o.threads));
  for (const int epfd : epfds) {
    pool.emplace_back([&sh, epfd, &clients, &stats] { read_clients(sh, epfd, clients, stats); });
  }
  auto stop_clients = [&] {
    sh.stopping = true;
    for (auto& t : pool) t.join();
    pool.clear();
    clients.clear();  // closes the sockets
    for (const int fd : epfds) ::close(fd);
    epfds.clear();
  };
  const auto setup_start = Clock::now();
  for (int c = 0; c < o.clients; ++c) {
    std::vector<std::vector<std::string>> per_thing(static_cast<std::size_t>(o.things));
    for (const auto& [t, p] : layout.watched[static_cast<std::size_t>(c)]) {
      per_thing[static_cast<std::size_t>(t)].push_back(
          things[static_cast<std::size_t>(t)].points()[static_cast<std::size_t>(p)].point_id);
    }
    std::vector<std::string> subscribes;
    for (int t = 0; t < o.things; ++t) {
      auto& ids = per_thing[static_cast<std::size_t>(t)];
      if (ids.empty()) continue;
      subscribes.push_back(nlohmann::json{
          {"type", "subscribe"},
          {"thing", things[static_cast<std::size_t>(t)].name()},
          {"point_ids", ids}}.dump());
    }
    Client& cl = clients[static_cast<std::size_t>(c)];
    ClientStats& me = stats[static_cast<std::size_t>(c)];
    auto ws = ws_connect(reinterpret_cast<const sockaddr*>(&sh.addr), sh.addr_len, sh.host,
                         "/api/v1/ws", sh.token, std::chrono::seconds(60));
    if (!ws) {
      me.failure = "connect and upgrade: " + ws.error().message;
      sh.failed.fetch_add(1);
      continue;
    }
    cl.ws = std::move(*ws);
    cl.subscribes = subscribes.size();
    for (const auto& s : subscribes) {
      if (auto r = ws_send(cl.ws.fd, WsOpcode::text, s); !r) {
        end_client(sh, cl, me, "subscribe: " + r.error().message);
        break;
      }
    }
    // What came with the upgrade answer (the hello), before a reader thread
    // takes over: its epoll set would not report bytes already read.
    if (cl.ws.fd >= 0) handle_buffered(sh, cl, me, now_us(sh.t0));
    if (cl.ws.fd < 0) continue;
    const int flags = ::fcntl(cl.ws.fd, F_GETFL);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(c);
    if (flags < 0 || ::fcntl(cl.ws.fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        ::epoll_ctl(epfds[static_cast<std::size_t>(c % o.threads)], EPOLL_CTL_ADD, cl.ws.fd, &ev) !=
            0) {
      die(std::string("cannot hand a client to its reader: ") + std::strerror(errno), 1);
    }
  }
  const auto setup_deadline = Clock::now() + std::chrono::seconds(120);
  while (sh.ready.load() + sh.failed.load() < o.clients && Clock::now() < setup_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  if (sh.ready.load() < o.clients) {
    stop_clients();
    int shown = 0;
    for (const auto& s : stats) {
      if (!s.ready && shown++ < 5) {
        std::fprintf(stderr, "%s: client not ready: %s\n", kProgram,
                     s.failure.empty() ? "timed out" : s.failure.c_str());
      }
    }
    die(std::to_string(o.clients - sh.ready.load()) + " of " + std::to_string(o.clients) +
            " clients did not get ready",
        1);
  }
  std::printf("%d WebSocket clients connected and subscribed in %.2f s\n", o.clients, setup_s);
  // Let nbmsd's Subscribe commands settle before the clock starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // The publisher's point order: per thing, a stride coprime with the point
  // count, so that a message's points are spread over the thing and every point
  // is updated equally often.
  int stride = std::max(1, o.points / o.batch + 1);
  while (std::gcd(stride, o.points) != 1) ++stride;
  std::vector<int> cursor(static_cast<std::size_t>(o.things), 0);

  const double messages_per_s = o.rate / o.batch;
  const auto interval = std::chrono::duration<double>(1.0 / messages_per_s);
  const auto health0 = health(http);

  const auto pub_start = Clock::now();
  const std::int64_t pub_start_us = now_us(sh.t0);
  sh.window_from_us = pub_start_us + static_cast<std::int64_t>(o.warmup_s * 1e6);
  sh.window_to_us = sh.window_from_us.load() + static_cast<std::int64_t>(o.duration_s * 1e6);
  const auto pub_end = pub_start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o.warmup_s + o.duration_s));
  std::uint64_t messages = 0, updates = 0, window_updates = 0, expected = 0, publish_failures = 0;
  std::uint64_t expected_all = 0;     // over the whole run, warm-up included
  std::vector<std::uint32_t> lag_us;  // how late each message left against its schedule
  std::optional<ProcStats> nbmsd_w0, broker_w0, self_w0;
  Clock::time_point window_started{};
  std::vector<std::pair<std::size_t, mwsim::Value>> values;
  for (std::uint64_t k = 0;; ++k) {
    const auto due = pub_start + std::chrono::duration_cast<Clock::duration>(interval * k);
    if (due >= pub_end) break;
    std::this_thread::sleep_until(due);
    const auto t = static_cast<std::size_t>(k % static_cast<std::uint64_t>(o.things));
    values.clear();
    const std::int64_t at = now_us(sh.t0);
    if (!nbmsd_w0 && at >= sh.window_from_us.load()) {
      nbmsd_w0 = proc_stats(o.pid);
      broker_w0 = proc_stats(o.broker_pid);
      self_w0 = proc_stats(-1);
      window_started = Clock::now();
    }
    const bool counted = at >= sh.window_from_us.load() && at < sh.window_to_us.load();
    for (int i = 0; i < o.batch; ++i) {
      const int p = static_cast<int>((static_cast<long>(cursor[t] + i) * stride) % o.points);
      values.emplace_back(static_cast<std::size_t>(p), static_cast<double>(at));
      expected_all += static_cast<std::uint64_t>(layout.watchers[t][static_cast<std::size_t>(p)]);
      if (counted) {
        expected += static_cast<std::uint64_t>(layout.watchers[t][static_cast<std::size_t>(p)]);
        ++window_updates;
      }
    }
    cursor[t] = (cursor[t] + o.batch) % o.points;
    if (!mw.publish(things[t].name() + "/realtime",
                    mwsim::realtime_message(things[t].points(), values, start_time))) {
      ++publish_failures;
    }
    ++messages;
    updates += static_cast<std::uint64_t>(o.batch);
    lag_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due).count())));
  }
  const auto window_ended = Clock::now();
  const ProcStats nbmsd1 = proc_stats(o.pid);  // with every client connected, before the drain
  const ProcStats broker1 = proc_stats(o.broker_pid);
  const ProcStats self1 = proc_stats(-1);
  const double publish_s = std::chrono::duration<double>(window_ended - pub_start).count();
  mw.flush(static_cast<long>(o.drain_s * 1000) + 5000);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.drain_s));
  const auto health1 = health(http);
  stop_clients();
  mw.disconnect();

  // Results.
  std::vector<std::uint32_t> lat;
  std::uint64_t received = 0, frames = 0, all_values = 0, error_messages = 0, pings = 0;
  int ended_early = 0;
  for (auto& s : stats) {
    received += s.in_window;
    frames += s.frames;
    all_values += s.values;
    error_messages += s.error_messages;
    pings += s.pings;
    if (!s.failure.empty() && ended_early++ < 5) {
      std::fprintf(stderr, "%s: client ended early: %s\n", kProgram, s.failure.c_str());
    }
    lat.insert(lat.end(), s.latency_us.begin(), s.latency_us.end());
    s.latency_us = {};
  }
  std::sort(lat.begin(), lat.end());
  std::sort(lag_us.begin(), lag_us.end());
  const double window_s = o.duration_s;
  const double cpu_window_s = std::chrono::duration<double>(window_ended - window_started).count();
  const double missing = expected > received ? static_cast<double>(expected - received) : 0.0;
  const double nbmsd_cpu =
      nbmsd_w0 && nbmsd1.ok ? (nbmsd1.cpu_s - nbmsd_w0->cpu_s) / cpu_window_s : 0.0;
  const double broker_cpu =
      broker_w0 && broker1.ok ? (broker1.cpu_s - broker_w0->cpu_s) / cpu_window_s : 0.0;
  const double self_cpu = self_w0 && self1.ok ? (self1.cpu_s - self_w0->cpu_s) / cpu_window_s : 0.0;

  const double p50 = ms(percentile_sorted(lat, 0.50));
  const double p90 = ms(percentile_sorted(lat, 0.90));
  const double p99 = ms(percentile_sorted(lat, 0.99));
  const double p999 = ms(percentile_sorted(lat, 0.999));
  const double pmax = lat.empty() ? 0.0 : ms(lat.back());
  const double mean =
      lat.empty()
          ? 0.0
          : ms(std::accumulate(lat.begin(), lat.end(), 0.0) / static_cast<double>(lat.size()));

  std::printf(
      "\nnbms-bench realtime: %d things x %d points, %d clients, "
      "fan-out %.2f, %.0f updates/s "
      "in messages of %d points (%.0f msg/s), %.1f s warm-up + %.1f s "
      "measured; clients read by %d epoll threads\n",
      o.things, o.points, o.clients, avg_w, o.rate, o.batch, messages_per_s, o.warmup_s,
      o.duration_s, o.threads);
  std::printf(
      "  published: %llu messages, %llu point updates in %.2f s (%llu refused "
      "by "
      "libmosquitto); publisher lag behind schedule p99 %.2f ms, max %.2f ms\n",
      static_cast<unsigned long long>(messages), static_cast<unsigned long long>(updates),
      publish_s, static_cast<unsigned long long>(publish_failures),
      ms(percentile_sorted(lag_us, 0.99)), lag_us.empty() ? 0.0 : ms(lag_us.back()));
  if (health0 && health1) {
    std::printf(
        "  nbmsd counted %llu realtime messages (%llu rejected) during the "
        "run\n",
        static_cast<unsigned long long>(health1->realtime - health0->realtime),
        static_cast<unsigned long long>(health1->rejected - health0->rejected));
    if (health0->values_out && health1->values_out) {
      const auto handed = *health1->values_out - *health0->values_out;
      std::printf(
          "  whole run (warm-up and drain included): %llu values due to "
          "watchers, the hub "
          "handed %llu to connections (%llu unwatched), clients received %llu: "
          "%lld "
          "coalesced in the connections' send queues\n",
          static_cast<unsigned long long>(expected_all), static_cast<unsigned long long>(handed),
          static_cast<unsigned long long>(health1->unwatched.value_or(0) -
                                          health0->unwatched.value_or(0)),
          static_cast<unsigned long long>(all_values),
          static_cast<long long>(handed) - static_cast<long long>(all_values));
    }
  }
  std::printf(
      "  measured window: %llu updates published -> %llu values "
      "expected at clients, "
      "%llu received (%.2f%%), %.0f coalesced or lost; %llu values "
      "frames, %llu values "
      "in all, %llu error messages, %llu pings answered, %d clients ended early\n",
      static_cast<unsigned long long>(window_updates), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(received),
      expected ? 100.0 * static_cast<double>(received) / static_cast<double>(expected) : 0.0,
      missing, static_cast<unsigned long long>(frames), static_cast<unsigned long long>(all_values),
      static_cast<unsigned long long>(error_messages), static_cast<unsigned long long>(pings),
      ended_early);
  std::printf(
      "\n| connections | fan-out | updates/s in | values/s delivered | "
      "received/expected "
      "| p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | nbmsd RSS MB | "
      "nbmsd CPU |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf(
      "| %d | %.1f | %.0f | %.0f | %.2f %% | %.2f | %.2f | %.2f | %.2f | %.2f "
      "| %s | %s |\n",
      o.clients, avg_w, static_cast<double>(window_updates) / window_s,
      static_cast<double>(received) / window_s,
      expected ? 100.0 * static_cast<double>(received) / static_cast<double>(expected) : 0.0, p50,
      p90, p99, p999, pmax, nbmsd1.ok ? std::to_string(std::lround(nbmsd1.rss_mb)).c_str() : "-",
      nbmsd_w0 ? (std::to_string(std::lround(nbmsd_cpu * 100)) + " %").c_str() : "-");
  std::printf("\n  latency mean %.2f ms over %zu values; %.2f values per frame\n", mean, lat.size(),
              frames ? static_cast<double>(all_values) / static_cast<double>(frames) : 0.0);
  if (nbmsd1.ok) {
    std::printf(
        "  nbmsd (pid %d): RSS %.1f MB at the end of the window (peak %.1f "
        "MB), %.0f%% "
        "of one core during the window, %.1f CPU us per delivered value\n",
        o.pid, nbmsd1.rss_mb, nbmsd1.peak_rss_mb, nbmsd_cpu * 100,
        received ? nbmsd_cpu * cpu_window_s * 1e6 / static_cast<double>(received) : 0.0);
  }
  if (broker1.ok)
    std::printf("  broker (pid %d): %.0f%% of one core\n", o.broker_pid, broker_cpu * 100);
  std::printf("  this bench: %.0f%% of one core; load average now %s\n", self_cpu * 100,
              load_average().c_str());

  nlohmann::ordered_json j;
  j["bench"] = "realtime";
  j["things"] = o.things;
  j["points_per_thing"] = o.points;
  j["clients"] = o.clients;
  j["points_per_client"] = layout.points_per_client;
  j["layout"] = o.spread ? "spread" : "thing";
  j["fanout"] = std::round(avg_w * 100) / 100;
  j["rate"] = o.rate;
  j["batch"] = o.batch;
  j["client_threads"] = o.threads;
  j["window_s"] = o.duration_s;
  j["updates"] = window_updates;
  j["expected"] = expected;
  j["received"] = received;
  j["delivered_per_s"] = std::llround(static_cast<double>(received) / window_s);
  j["p50_ms"] = std::round(p50 * 1000) / 1000;
  j["p90_ms"] = std::round(p90 * 1000) / 1000;
  j["p99_ms"] = std::round(p99 * 1000) / 1000;
  j["p999_ms"] = std::round(p999 * 1000) / 1000;
  j["max_ms"] = std::round(pmax * 1000) / 1000;
  if (nbmsd1.ok) {
    j["nbmsd_rss_mb"] = std::round(nbmsd1.rss_mb * 10) / 10;
    j["nbmsd_cpu_cores"] = std::round(nbmsd_cpu * 100) / 100;
  }
  if (broker1.ok) j["broker_cpu_cores"] = std::round(broker_cpu * 100) / 100;
  j["bench_cpu_cores"] = std::round(self_cpu * 100) / 100;
  j["clients_ended_early"] = ended_early;
  std::printf("%s\n", j.dump().c_str());
  return ended_early == 0 && received > 0 ? 0 : 1;
}

}  // namespace nbms::bench
