// nbms-bench: benchmarks of a running nbmsd. Not a test: it measures.
//
//   nbms-bench ingest: registers a customer, building and things over REST, sends
//   each thing's init, then floods pre-built periodic_logs (QoS 1, one libmosquitto
//   connection, bounded in flight) and polls GET /api/v1/health until nbmsd reports every
//   sample durably stored. docs/performance.md describes the method.
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "flood.hpp"
#include "http_client.hpp"
#include "mwsim/model.hpp"
#include "mwsim/publisher.hpp"
#include "nbms/core/ids.hpp"

namespace {

using nbms::LocalMinute;
using nbms::bench::die_as;
using nbms::bench::HttpClient;
using nbms::bench::number_as;
using nbms::bench::proc_stats;
using nbms::bench::ProcStats;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "nbms-bench";

constexpr const char* kUsage = R"(Usage: nbms-bench ingest [options]
       nbms-bench storage [options]    (nbms-bench storage --help)
       nbms-bench realtime [options]   (nbms-bench realtime --help)
       nbms-bench api [options]        (nbms-bench api --help)

Ingest benchmark against a running nbmsd: registers a customer, building and
things over REST, publishes each thing's init, then floods pre-built periodic_logs
at QoS 1 through one libmosquitto connection (round-robin over the things, bounded in flight) and
polls GET /api/v1/health every 50 ms until ingest.samples has grown by
things x logs x points. Prints a report and a final one-line JSON summary.

Options:
  --broker URI        MQTT broker (default tcp://127.0.0.1:1883)
  --http URL          nbmsd REST base URL (default http://127.0.0.1:8080)
  --user NAME         log in as NAME (default admin; health is admin-only)
  --password P        its password (default $NBMS_BENCH_PASSWORD, else
                      $NBMS_ADMIN_PASSWORD)
  --customer ID       customer id (default CBENCH)
  --building ID       building id (default B001)
  --things N          things, <customer>_<building>_01.. (default 10)
  --points N          points per thing and periodic_log (default 883, ~100 KB)
  --logs N            periodic_logs per thing (default 200)
  --start TIME        time of the first log, YYYYMMDDhhmm (default 202401010000)
  --seed N            value seed (default 1)
  --max-inflight N    QoS 1 publishes not yet acknowledged (default 1000)
  --timeout S         give up S seconds after the first publish (default 600)
  --pid PID           nbmsd's pid: report its CPU time and peak RSS (VmHWM)
  --broker-pid PID    the broker's pid: report its CPU time
  --no-http           skip REST and health (measures only the publish side, e.g.
                      against a bare broker)
  --help              this text
)";

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string http = "http://127.0.0.1:8080";
  std::string user = "admin";
  std::string password = nbms::bench::default_password();
  std::string customer = "CBENCH";
  std::string building = "B001";
  int things = 10;
  int points = 883;
  int logs = 200;
  LocalMinute start = LocalMinute::from_civil(2024, 1, 1, 0, 0);
  std::uint64_t seed = 1;
  std::size_t max_inflight = 1000;
  double timeout_s = 600;
  int pid = 0;
  int broker_pid = 0;
  bool no_http = false;
};

[[noreturn]] void die(const std::string& message, int code = 2) {
  die_as(kProgram, message, code);
}

template <class T>
T parse_number(std::string_view option, std::string_view text) {
  return number_as<T>(kProgram, option, text);
}

Options parse_args(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    std::exit(argc < 2 ? 2 : 0);
  }
  if (std::string_view(argv[1]) != "ingest") {
    die("unknown subcommand '" + std::string(argv[1]) + "' (ingest, storage, realtime or api)");
  }
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
      o.things = parse_number<int>(arg, value());
    } else if (arg == "--points") {
      o.points = parse_number<int>(arg, value());
    } else if (arg == "--logs") {
      o.logs = parse_number<int>(arg, value());
    } else if (arg == "--start") {
      auto t = LocalMinute::parse(value());
      if (!t) die("--start: " + t.error().message);
      o.start = *t;
    } else if (arg == "--seed") {
      o.seed = parse_number<std::uint64_t>(arg, value());
    } else if (arg == "--max-inflight") {
      o.max_inflight = parse_number<std::size_t>(arg, value());
    } else if (arg == "--timeout") {
      o.timeout_s = parse_number<double>(arg, value());
    } else if (arg == "--pid") {
      o.pid = parse_number<int>(arg, value());
    } else if (arg == "--broker-pid") {
      o.broker_pid = parse_number<int>(arg, value());
    } else if (arg == "--no-http") {
      o.no_http = true;
    } else {
      die("unknown option '" + std::string(arg) + "' (see --help)");
    }
  }
  if (auto r = nbms::validate_customer_id(o.customer); !r) die(r.error().message);
  if (auto r = nbms::validate_building_id(o.building); !r) die(r.error().message);
  if (o.things < 1 || o.things > 9999) die("--things must be 1..9999");
  if (o.points < 1 || o.points > 19000) die("--points must be 1..19000");
  if (o.logs < 1) die("--logs must be >= 1");
  if (o.max_inflight < 1 || o.max_inflight > 65535) die("--max-inflight must be 1..65535");
  if (!(o.timeout_s > 0)) die("--timeout must be > 0");
  return o;
}

// ---------------------------------------------------------------------------
// REST

struct Health {
  std::uint64_t samples = 0;
  std::uint64_t messages = 0;
};

std::optional<std::uint64_t> counter(const nlohmann::json& j, const char* group, const char* name) {
  if (const auto g = j.find(group); g != j.end() && g->is_object()) {
    if (const auto v = g->find(name); v != g->end() && v->is_number()) {
      return v->get<std::uint64_t>();
    }
  }
  if (const auto v = j.find(std::string(group) + "." + name); v != j.end() && v->is_number()) {
    return v->get<std::uint64_t>();
  }
  return std::nullopt;
}

nbms::Result<Health> health(const HttpClient& http) {
  auto r = http.request("GET", "/api/v1/health", {}, std::chrono::seconds(2));
  if (!r) return std::unexpected(r.error());
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    return nbms::fail(nbms::Errc::malformed,
                      "GET /api/v1/health: HTTP " + std::to_string(r->status) + ", not JSON");
  }
  const auto samples = counter(j, "ingest", "samples");
  if (!samples) {
    return nbms::fail(nbms::Errc::malformed,
                      "GET /api/v1/health has no ingest.samples: " + r->body.substr(0, 300));
  }
  return Health{*samples, counter(j, "ingest", "messages").value_or(0)};
}

void create(const HttpClient& http, const std::string& path, const nlohmann::json& body) {
  nbms::bench::create_or_exit(http, path, body, kProgram);
}

// ---------------------------------------------------------------------------

int ingest(const Options& o) {
  const std::uint64_t total_logs =
      static_cast<std::uint64_t>(o.things) * static_cast<std::uint64_t>(o.logs);
  const std::uint64_t expected = total_logs * static_cast<std::uint64_t>(o.points);

  std::optional<HttpClient> http;
  Health base;
  if (!o.no_http) {
    auto h = HttpClient::from_url(o.http);
    if (!h) die(h.error().message);
    http = std::move(*h);
    nbms::bench::login_or_exit(*http, o.user, o.password, kProgram);
    auto first = health(*http);
    if (!first) die("nbmsd not answering at " + o.http + ": " + first.error().message, 1);
    create(*http, "/api/v1/customers", {{"id", o.customer}, {"name", "Bench " + o.customer}});
    create(*http, "/api/v1/customers/" + o.customer + "/buildings",
           {{"id", o.building}, {"name", "Bench building " + o.building}});
    for (int i = 1; i <= o.things; ++i) {
      create(*http, "/api/v1/customers/" + o.customer + "/buildings/" + o.building + "/things",
             {{"name", nbms::mwsim::thing_name(o.customer, o.building, i)}});
    }
    std::printf("registered %s/%s and %d thing(s) at %s\n", o.customer.c_str(), o.building.c_str(),
                o.things, o.http.c_str());
  }

  nbms::mwsim::SimConfig sim;
  sim.customer = o.customer;
  sim.building = o.building;
  sim.points = o.points;
  sim.seed = o.seed;
  std::vector<nbms::mwsim::SimThing> things;
  for (int i = 1; i <= o.things; ++i) things.emplace_back(sim, i);

  nbms::mwsim::EventQueue events;
  nbms::mwsim::SignalThread signals(events, kProgram);
  nbms::mwsim::Publisher pub({o.broker, std::string(kProgram) + "-" + std::to_string(getpid()),
                              o.max_inflight, 60, false, kProgram},
                             events);
  if (!pub.connect()) return 130;

  // init: announce the points and let nbmsd take them before the clock starts.
  // If nbmsd has not counted them within 5 s (e.g. its subscription was not in
  // place yet), send them again: a repeated init changes nothing.
  for (int attempt = 1; attempt <= 3 && !events.stopping(); ++attempt) {
    std::optional<Health> before_init;
    if (http) {
      if (auto h = health(*http)) before_init = *h;
    }
    for (const auto& t : things) {
      pub.publish(t.name() + "/init", t.init(o.start));
    }
    if (!pub.flush(std::chrono::seconds(30))) die("init publishes not acknowledged", 1);
    if (!before_init) break;
    bool counted = false;
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (!counted && Clock::now() < until && !events.stopping()) {
      auto h = health(*http);
      counted = h && h->messages >= before_init->messages + static_cast<std::uint64_t>(o.things);
      if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (counted) break;
    std::fprintf(stderr, "%s: nbmsd has not counted the %d init message(s) after 5 s%s\n", kProgram,
                 o.things, attempt < 3 ? "; sending them again" : "; going on");
  }

  // Pre-build every payload (values vary per log; successive 15-minute times).
  const auto build_start = Clock::now();
  struct Item {
    std::string topic;
    std::string payload;
  };
  std::vector<Item> items;
  items.reserve(total_logs);
  std::uint64_t payload_bytes = 0;
  for (int k = 0; k < o.logs; ++k) {
    const auto time = o.start.plus_minutes(15LL * k);
    for (const auto& t : things) {
      items.push_back({t.name() + "/periodic_log", t.periodic_log(time)});
      payload_bytes += items.back().payload.size();
    }
    if (events.stopping()) return 130;
  }
  const double build_s = std::chrono::duration<double>(Clock::now() - build_start).count();
  std::printf("built %llu periodic_logs of %d points: %.1f MB (%.1f KB each) in %.2f s\n",
              static_cast<unsigned long long>(total_logs), o.points, payload_bytes / 1e6,
              payload_bytes / 1e3 / static_cast<double>(total_logs), build_s);

  if (http) {
    auto h = health(*http);
    if (!h) die(h.error().message, 1);
    base = *h;
  }
  const ProcStats cpu0 = proc_stats(o.pid);
  const ProcStats broker0 = proc_stats(o.broker_pid);
  if (o.pid > 0 && !cpu0.ok) die("cannot read /proc/" + std::to_string(o.pid), 1);

  // The flood goes through its own connection (see flood.hpp).
  nbms::bench::Flood flood(o.broker, std::string(kProgram) + "-flood-" + std::to_string(getpid()),
                           static_cast<int>(o.max_inflight));
  if (auto err = flood.connect(); !err.empty())
    die("cannot connect the flood publisher: " + err, 1);

  // Poller: every 50 ms, until every sample is stored, the timeout, or a stop.
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> stored{0};
  std::atomic<bool> poll_stop{false};
  std::optional<Clock::time_point> done_at;
  std::string poll_error;
  const auto t0 = Clock::now();
  const auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_s));
  std::thread poller;
  if (http) {
    poller = std::thread([&] {
      auto next_report = t0 + std::chrono::seconds(1);
      int errors = 0;
      while (!poll_stop.load() && !events.stopping()) {
        const auto now = Clock::now();
        if (now > deadline) break;
        if (auto h = health(*http)) {
          errors = 0;
          stored = h->samples - base.samples;
          if (stored.load() >= expected) {
            done_at = Clock::now();
            break;
          }
        } else if (++errors >= 100) {
          poll_error = h.error().message;
          break;
        }
        if (now >= next_report) {
          std::printf("  %5.1f s: published %llu/%llu, stored %llu/%llu samples\n",
                      std::chrono::duration<double>(now - t0).count(),
                      static_cast<unsigned long long>(published.load()),
                      static_cast<unsigned long long>(total_logs),
                      static_cast<unsigned long long>(stored.load()),
                      static_cast<unsigned long long>(expected));
          std::fflush(stdout);
          next_report += std::chrono::seconds(1);
        }
        std::this_thread::sleep_until(now + std::chrono::milliseconds(50));
      }
    });
  }

  // Flood.
  for (auto& item : items) {
    if (Clock::now() > deadline || events.stopping()) break;
    if (!flood.publish(item.topic, item.payload)) break;
    item.payload = std::string();  // libmosquitto has its own copy
    ++published;
  }
  const double publish_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const bool acked = flood.flush(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::max(Clock::duration::zero(), deadline - Clock::now()))
                                     .count());
  const double acked_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!http && !acked) std::fprintf(stderr, "%s: not every publish was acknowledged\n", kProgram);
  if (poller.joinable()) poller.join();
  poll_stop = true;
  const auto end = done_at.value_or(Clock::now());
  const double wall_s = http ? std::chrono::duration<double>(end - t0).count() : acked_s;
  const ProcStats cpu1 = proc_stats(o.pid);
  const ProcStats broker1 = proc_stats(o.broker_pid);
  const bool complete = http ? done_at.has_value() : (acked && published == total_logs);

  const std::uint64_t samples =
      http ? stored.load() : published.load() * static_cast<std::uint64_t>(o.points);
  const double mb = static_cast<double>(payload_bytes) / 1e6 *
                    static_cast<double>(published.load()) / static_cast<double>(total_logs);

  // Report.
  std::printf(
      "\nnbms-bench ingest: %d thing(s) x %d log(s) x %d points = %llu samples in %llu "
      "messages, %.1f MB payload\n",
      o.things, o.logs, o.points, static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(total_logs), payload_bytes / 1e6);
  if (acked) {
    std::printf(
        "  publish: %llu messages queued in %.2f s, all acknowledged by the broker after "
        "%.2f s (%.0f msg/s, %.1f MB/s)\n",
        static_cast<unsigned long long>(published.load()), publish_s, acked_s,
        static_cast<double>(published.load()) / acked_s, mb / acked_s);
  } else {
    std::printf(
        "  publish: %llu messages queued in %.2f s, %zu not acknowledged by the broker "
        "after %.2f s\n",
        static_cast<unsigned long long>(published.load()), publish_s,
        static_cast<std::size_t>(published.load() - flood.acknowledged()), acked_s);
  }
  if (http) {
    if (complete) {
      std::printf(
          "  durable: %llu samples stored in %.2f s: %.0f samples/s, %.1f msg/s, %.1f MB/s\n",
          static_cast<unsigned long long>(samples), wall_s, static_cast<double>(samples) / wall_s,
          static_cast<double>(total_logs) / wall_s, mb / wall_s);
    } else {
      std::printf("  INCOMPLETE: %llu of %llu samples stored after %.2f s%s%s\n",
                  static_cast<unsigned long long>(samples),
                  static_cast<unsigned long long>(expected), wall_s, poll_error.empty() ? "" : ": ",
                  poll_error.c_str());
    }
  }
  double cpu_s = 0;
  if (o.pid > 0 && cpu1.ok) {
    cpu_s = cpu1.cpu_s - cpu0.cpu_s;
    std::printf(
        "  nbmsd (pid %d): %.2f CPU s during the run (%.0f%% of one core), peak RSS "
        "(VmHWM, since start) %.1f MB\n",
        o.pid, cpu_s, 100.0 * cpu_s / wall_s, cpu1.peak_rss_mb);
  }
  double broker_cpu_s = 0;
  if (o.broker_pid > 0 && broker1.ok) {
    broker_cpu_s = broker1.cpu_s - broker0.cpu_s;
    std::printf("  broker (pid %d): %.2f CPU s during the run (%.0f%% of one core)\n", o.broker_pid,
                broker_cpu_s, 100.0 * broker_cpu_s / wall_s);
  }

  nlohmann::ordered_json j;
  j["bench"] = "ingest";
  j["complete"] = complete;
  j["things"] = o.things;
  j["points"] = o.points;
  j["logs_per_thing"] = o.logs;
  j["messages"] = published.load();
  j["samples"] = samples;
  j["samples_expected"] = expected;
  j["payload_mb"] = std::round(mb * 100) / 100;
  j["publish_seconds"] = std::round(acked_s * 1000) / 1000;
  j["wall_seconds"] = std::round(wall_s * 1000) / 1000;
  j["samples_per_second"] =
      static_cast<std::uint64_t>(std::llround(static_cast<double>(samples) / wall_s));
  j["messages_per_second"] = std::round(static_cast<double>(published.load()) / wall_s * 10) / 10;
  j["mb_per_second"] = std::round(mb / wall_s * 100) / 100;
  j["max_inflight"] = o.max_inflight;
  j["durable"] = static_cast<bool>(http);
  if (o.pid > 0 && cpu1.ok) {
    j["nbmsd_cpu_seconds"] = std::round(cpu_s * 100) / 100;
    j["nbmsd_peak_rss_mb"] = std::round(cpu1.peak_rss_mb * 10) / 10;
  }
  if (o.broker_pid > 0 && broker1.ok)
    j["broker_cpu_seconds"] = std::round(broker_cpu_s * 100) / 100;
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  pub.disconnect(complete ? std::chrono::seconds(5) : std::chrono::seconds(1));
  return complete ? 0 : 1;
}

}  // namespace

namespace nbms::bench {
int storage_bench(int argc, char** argv);
int realtime_bench(int argc, char** argv);
int api_bench(int argc, char** argv);
}  // namespace nbms::bench

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "storage") {
    return nbms::bench::storage_bench(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "realtime") {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return nbms::bench::realtime_bench(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "api") {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return nbms::bench::api_bench(argc, argv);
  }
  const Options o = parse_args(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return ingest(o);
}
