// nbms-bench api: latency of the two hot REST reads of the dashboard against a
// running nbmsd over HTTP, with a bearer token, under concurrent keep-alive
// clients:
//   latest:  GET /api/v1/customers/{c}/buildings/{b}/latest (every point's newest value)
//   history: GET .../points/{p}/history?from=&to= (one point over a range)
// The data must be there already (run-api.sh seeds one month of one MW with
// `nbms-bench ingest`). docs/performance.md describes the method.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "http_client.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"

namespace nbms::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "nbms-bench api";

constexpr const char* kUsage = R"(Usage: nbms-bench api [options]

Latency of GET .../latest (every point of a building) and GET .../history (one
point over a range) against a running nbmsd with data, over HTTP keep-alive
connections with a bearer token: first one client alone, then --clients
concurrent clients. Prints a table and a final one-line JSON summary.

Options:
  --http URL          nbmsd base URL (default http://127.0.0.1:8080)
  --user NAME         log in as NAME (default admin)
  --password P        default $NBMS_BENCH_PASSWORD, else $NBMS_ADMIN_PASSWORD
  --customer ID       customer id (default CBENCH)
  --building ID       building id (default B001)
  --from TIME         history range start, YYYYMMDDhhmm (default 202401010000)
  --to TIME           history range end (default 202401312345: 31 days, 2,976
                      samples of a 15-minute point)
  --point ID          history of this point only (default: cycle over every point
                      of the building, one per request)
  --clients N         concurrent clients of the loaded runs (default 8)
  --requests N        timed requests per client and run (default 500)
  --warmup N          untimed requests per client before each run (default 20)
  --only WHAT         latest or history (default both)
  --pid PID           nbmsd's pid: its CPU time during each run and its RSS
  --help              this text
)";

struct Options {
  std::string http = "http://127.0.0.1:8080";
  std::string user = "admin";
  std::string password = default_password();
  std::string customer = "CBENCH";
  std::string building = "B001";
  LocalMinute from = LocalMinute::from_civil(2024, 1, 1, 0, 0);
  LocalMinute to = LocalMinute::from_civil(2024, 1, 31, 23, 45);
  std::string point;
  int clients = 8;
  int requests = 500;
  int warmup = 20;
  bool latest = true;
  bool history = true;
  int pid = 0;
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
    } else if (arg == "--from" || arg == "--to") {
      auto t = LocalMinute::parse(value());
      if (!t) die(std::string(arg) + ": " + t.error().message);
      (arg == "--from" ? o.from : o.to) = *t;
    } else if (arg == "--point") {
      o.point = value();
    } else if (arg == "--clients") {
      o.clients = number<int>(arg, value());
    } else if (arg == "--requests") {
      o.requests = number<int>(arg, value());
    } else if (arg == "--warmup") {
      o.warmup = number<int>(arg, value());
    } else if (arg == "--only") {
      const auto v = value();
      if (v != "latest" && v != "history") die("--only must be latest or history");
      o.latest = v == "latest";
      o.history = v == "history";
    } else if (arg == "--pid") {
      o.pid = number<int>(arg, value());
    } else {
      die("unknown option '" + std::string(arg) + "' (see --help)");
    }
  }
  if (auto r = validate_customer_id(o.customer); !r) die(r.error().message);
  if (auto r = validate_building_id(o.building); !r) die(r.error().message);
  if (o.from > o.to) die("--from must not be after --to");
  if (o.clients < 1 || o.clients > 256) die("--clients must be 1..256");
  if (o.requests < 1) die("--requests must be >= 1");
  if (o.warmup < 0) die("--warmup must be >= 0");
  return o;
}

struct RunResult {
  std::string what;
  int clients = 0;
  std::vector<double> latency_ms;  // sorted
  double wall_s = 0;
  double mean_bytes = 0;
  double nbmsd_cpu_s = 0;
  std::uint64_t errors = 0;
  std::string first_error;
};

// One keep-alive connection that sends GETs and reads the whole response.
class Conn {
 public:
  Conn(tcp::endpoint endpoint, std::string host, std::string token)
      : socket_(ioc_),
        endpoint_(std::move(endpoint)),
        host_(std::move(host)),
        token_(std::move(token)) {}

  // The response's status and body size, or the error text.
  std::optional<std::string> get(const std::string& target, int& status, std::size_t& bytes) {
    beast::error_code ec;
    if (!socket_.is_open()) {
      socket_.connect(endpoint_, ec);
      if (ec) return "connect: " + ec.message();
      socket_.set_option(tcp::no_delay(true), ec);
      buffer_.clear();
    }
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::authorization, "Bearer " + token_);
    req.set(bhttp::field::user_agent, "nbms-bench");
    req.keep_alive(true);
    bhttp::write(socket_, req, ec);
    if (ec) return reset("write: " + ec.message());
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256u << 20);
    bhttp::read(socket_, buffer_, parser, ec);
    if (ec) return reset("read: " + ec.message());
    status = static_cast<int>(parser.get().result_int());
    bytes = parser.get().body().size();
    if (!parser.get().keep_alive()) reset({});
    return std::nullopt;
  }

 private:
  std::optional<std::string> reset(std::string why) {
    beast::error_code ignored;
    socket_.close(ignored);
    if (why.empty()) return std::nullopt;
    return why;
  }

  net::io_context ioc_;
  tcp::socket socket_;
  tcp::endpoint endpoint_;
  std::string host_;
  std::string token_;
  beast::flat_buffer buffer_;
};

RunResult run(const Options& o, const std::string& what, int clients,
              const std::vector<std::string>& targets, const tcp::endpoint& endpoint,
              const std::string& host, const std::string& token) {
  RunResult r;
  r.what = what;
  r.clients = clients;
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
  std::vector<std::uint64_t> bytes(static_cast<std::size_t>(clients), 0);
  std::vector<std::uint64_t> errors(static_cast<std::size_t>(clients), 0);
  std::vector<std::string> first_error(static_cast<std::size_t>(clients));
  std::barrier ready(clients + 1);
  std::barrier done(clients + 1);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const auto ci = static_cast<std::size_t>(c);
      Conn conn(endpoint, host, token);
      // Each client walks the targets from its own offset.
      std::size_t next = ci * 7919;
      auto one = [&](bool timed) {
        const auto& target = targets[next++ % targets.size()];
        int status = 0;
        std::size_t n = 0;
        const auto a = Clock::now();
        auto err = conn.get(target, status, n);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - a).count();
        if (err || status != 200) {
          ++errors[ci];
          if (first_error[ci].empty()) {
            first_error[ci] = err ? *err : "HTTP " + std::to_string(status) + " for " + target;
          }
          return;
        }
        if (timed) {
          lat[ci].push_back(ms);
          bytes[ci] += n;
        }
      };
      for (int i = 0; i < o.warmup; ++i) one(false);
      lat[ci].reserve(static_cast<std::size_t>(o.requests));
      ready.arrive_and_wait();
      for (int i = 0; i < o.requests; ++i) one(true);
      done.arrive_and_wait();
    });
  }
  ready.arrive_and_wait();
  const ProcStats cpu0 = proc_stats(o.pid);
  const auto t0 = Clock::now();
  done.arrive_and_wait();
  r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const ProcStats cpu1 = proc_stats(o.pid);
  for (auto& t : threads) t.join();
  if (cpu0.ok && cpu1.ok) r.nbmsd_cpu_s = cpu1.cpu_s - cpu0.cpu_s;
  std::uint64_t total_bytes = 0;
  for (std::size_t c = 0; c < lat.size(); ++c) {
    r.latency_ms.insert(r.latency_ms.end(), lat[c].begin(), lat[c].end());
    total_bytes += bytes[c];
    r.errors += errors[c];
    if (r.first_error.empty()) r.first_error = first_error[c];
  }
  std::sort(r.latency_ms.begin(), r.latency_ms.end());
  if (!r.latency_ms.empty()) {
    r.mean_bytes = static_cast<double>(total_bytes) / static_cast<double>(r.latency_ms.size());
  }
  return r;
}

}  // namespace

int api_bench(int argc, char** argv) {
  const Options o = parse(argc, argv);
  auto h = HttpClient::from_url(o.http);
  if (!h) die(h.error().message);
  HttpClient http = std::move(*h);
  login_or_exit(http, o.user, o.password, kProgram);
  const std::string base = "/api/v1/customers/" + encode_segment(o.customer) + "/buildings/" +
                           encode_segment(o.building);

  // What is there: the latest values (point list) and one history, checked once.
  auto latest = http.request("GET", base + "/latest", {}, std::chrono::seconds(30));
  if (!latest || latest->status != 200) {
    die("GET " + base + "/latest: " +
            (latest ? "HTTP " + std::to_string(latest->status) + ": " + latest->body.substr(0, 300)
                    : latest.error().message),
        1);
  }
  const auto lj = nlohmann::json::parse(latest->body, nullptr, false);
  if (lj.is_discarded() || !lj.contains("points") || lj["points"].empty()) {
    die("the building has no latest values: seed it first (run-api.sh does)", 1);
  }
  std::vector<std::string> ids;
  for (const auto& p : lj["points"]) ids.push_back(p.value("point_id", ""));
  const std::string range = "?from=" + o.from.to_string() + "&to=" + o.to.to_string();
  std::vector<std::string> history_targets;
  if (!o.point.empty()) {
    history_targets.push_back(base + "/points/" + encode_segment(o.point) + "/history" + range);
  } else {
    for (const auto& id : ids) {
      std::string target = base;
      target += "/points/";
      target += encode_segment(id);
      target += "/history";
      target += range;
      history_targets.push_back(std::move(target));
    }
  }
  auto hist = http.request("GET", history_targets.front(), {}, std::chrono::seconds(30));
  if (!hist || hist->status != 200) die("GET " + history_targets.front() + " failed", 1);
  const auto hj = nlohmann::json::parse(hist->body, nullptr, false);
  const std::size_t samples =
      hj.is_discarded() ? 0 : hj.value("samples", nlohmann::json::array()).size();
  std::printf(
      "%s/%s: latest has %zu points (%zu bytes); history %s..%s of one point has %zu "
      "samples (%zu bytes)\n",
      o.customer.c_str(), o.building.c_str(), ids.size(), latest->body.size(),
      o.from.to_string().c_str(), o.to.to_string().c_str(), samples, hist->body.size());

  tcp::endpoint endpoint;
  {
    net::io_context ctx;
    tcp::resolver resolver(ctx);
    beast::error_code ec;
    const auto found = resolver.resolve(http.host(), http.port(), ec);
    if (ec || found.empty()) die("cannot resolve " + http.host() + ": " + ec.message(), 1);
    endpoint = found.begin()->endpoint();
  }
  const std::string host = http.host() + ":" + http.port();
  const std::vector<std::string> latest_targets{base + "/latest"};

  std::vector<RunResult> results;
  std::vector<int> levels{1};
  if (o.clients > 1) levels.push_back(o.clients);
  for (const bool is_latest : {true, false}) {
    if (is_latest ? !o.latest : !o.history) continue;
    for (const int c : levels) {
      results.push_back(run(o, is_latest ? "latest" : "history", c,
                            is_latest ? latest_targets : history_targets, endpoint, host,
                            http.token()));
      const auto& r = results.back();
      std::printf(
          "  %-7s %d client(s): %zu requests in %.2f s%s\n", r.what.c_str(), c, r.latency_ms.size(),
          r.wall_s,
          r.errors ? (", " + std::to_string(r.errors) + " errors: " + r.first_error).c_str() : "");
    }
  }

  std::printf(
      "\n| request | response | clients | requests | p50 ms | p90 ms | p99 ms | max ms "
      "| req/s | nbmsd CPU | nbmsd CPU ms/req |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  nlohmann::ordered_json j;
  j["bench"] = "api";
  j["points"] = ids.size();
  j["history_samples"] = samples;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  int failed = 0;
  for (const auto& r : results) {
    const double p50 = percentile_sorted(r.latency_ms, 0.50);
    const double p90 = percentile_sorted(r.latency_ms, 0.90);
    const double p99 = percentile_sorted(r.latency_ms, 0.99);
    const double pmax = r.latency_ms.empty() ? 0.0 : r.latency_ms.back();
    const double rps = static_cast<double>(r.latency_ms.size()) / r.wall_s;
    const std::string shape = r.what == "latest" ? std::to_string(ids.size()) + " points"
                                                 : std::to_string(samples) + " samples";
    const double cpu_per_request =
        r.latency_ms.empty() ? 0.0
                             : 1000 * r.nbmsd_cpu_s / static_cast<double>(r.latency_ms.size());
    char cpu_ms[32] = "-";
    if (o.pid > 0) std::snprintf(cpu_ms, sizeof cpu_ms, "%.2f", cpu_per_request);
    std::printf("| %s | %s, %.0f KB | %d | %zu | %.2f | %.2f | %.2f | %.2f | %.0f | %s | %s |\n",
                r.what.c_str(), shape.c_str(), r.mean_bytes / 1000, r.clients, r.latency_ms.size(),
                p50, p90, p99, pmax, rps,
                o.pid > 0
                    ? (std::to_string(std::lround(100 * r.nbmsd_cpu_s / r.wall_s)) + " %").c_str()
                    : "-",
                cpu_ms);
    nlohmann::ordered_json x;
    x["request"] = r.what;
    x["clients"] = r.clients;
    x["requests"] = r.latency_ms.size();
    x["errors"] = r.errors;
    x["p50_ms"] = std::round(p50 * 1000) / 1000;
    x["p90_ms"] = std::round(p90 * 1000) / 1000;
    x["p99_ms"] = std::round(p99 * 1000) / 1000;
    x["max_ms"] = std::round(pmax * 1000) / 1000;
    x["requests_per_s"] = std::round(rps);
    if (o.pid > 0) {
      x["nbmsd_cpu_cores"] = std::round(100 * r.nbmsd_cpu_s / r.wall_s) / 100;
      x["nbmsd_cpu_ms_per_request"] = std::round(cpu_per_request * 100) / 100;
    }
    runs.push_back(std::move(x));
    if (r.errors) ++failed;
  }
  const ProcStats nbmsd = proc_stats(o.pid);
  if (nbmsd.ok) {
    std::printf("\n  nbmsd (pid %d): RSS %.1f MB (peak %.1f MB)\n", o.pid, nbmsd.rss_mb,
                nbmsd.peak_rss_mb);
    j["nbmsd_rss_mb"] = std::round(nbmsd.rss_mb * 10) / 10;
  }
  std::printf("  load average now %s\n", load_average().c_str());
  j["runs"] = std::move(runs);
  std::printf("%s\n", j.dump().c_str());
  return failed ? 1 : 0;
}

}  // namespace nbms::bench
