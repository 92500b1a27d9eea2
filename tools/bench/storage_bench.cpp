// nbms-bench storage: the on-disk cost of the periodic history and the speed of
// its two hot reads, measured on RocksStore directly (no broker, no HTTP).
// Writes `days` of 15-minute logs of one simulated MW (the simulator's value
// model, so values look like a building's), seals and compacts, then reports
// live SST bytes per stored sample and read latencies.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mwsim/model.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_with(const std::string& message) {
  std::fprintf(stderr, "nbms-bench storage: %s\n", message.c_str());
  std::exit(2);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) fail_with(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}
void must(Result<void> r, const char* what) {
  if (!r) fail_with(std::string(what) + ": " + r.error().message);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

constexpr const char* kUsage =
    R"(Usage: nbms-bench storage [--points N] [--days N] [--seed N] [--dir DIR]

Writes DAYS (default 31) of 15-minute periodic logs of one simulated middleware
with POINTS points (default 883) into a fresh RocksStore in DIR (default a new
folder under /tmp, removed afterwards), seals and compacts it, and reports
on-disk bytes per stored sample and the latency of the two hot reads: one
point's history over the whole period, and the latest value of every point.
)";

}  // namespace

int storage_bench(int argc, char** argv) {
  int points = 883, days = 31;
  std::uint64_t seed = 1;
  std::string dir;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail_with(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--points") {
      points = std::stoi(value());
    } else if (arg == "--days") {
      days = std::stoi(value());
    } else if (arg == "--seed") {
      seed = std::stoull(value());
    } else if (arg == "--dir") {
      dir = value();
    } else {
      fail_with("unknown option '" + std::string(arg) + "'");
    }
  }
  if (points < 1 || points > 20000 || days < 1 || days > 366)
    fail_with("points 1..20000, days 1..366");
  const bool temporary = dir.empty();
  if (temporary) {
    char tmpl[] = "/tmp/nbms-storage-bench-XXXXXX";
    if (!mkdtemp(tmpl)) fail_with("cannot create a temporary folder");
    dir = tmpl;
  }

  SystemClock clock;
  auto store = must(storage::RocksStore::open({.path = dir + "/db"}, clock), "open");
  mwsim::SimConfig sim;
  sim.customer = "CBENCH";
  sim.building = "B001";
  sim.points = points;
  sim.seed = seed;
  mwsim::SimThing thing(sim, 1);
  const auto name = must(ThingName::parse(thing.name()), "thing name");
  must(store->create_customer({sim.customer, "bench", 0}), "customer");
  must(store->create_building({sim.customer, sim.building, "bench", "", 0}), "building");
  must(store->create_thing({name, 0}), "thing");

  const auto start = LocalMinute::from_civil(2024, 1, 1, 0, 0);
  const int logs = days * 96;
  std::uint64_t samples = 0;
  const auto t0 = Clock::now();
  for (int l = 0; l < logs; ++l) {
    const auto time = start.plus_minutes(15LL * l);
    PeriodicLog log{name, time, 15, {}, 0};
    const auto values = thing.values(time);
    for (std::size_t p = 0; p < values.size(); ++p) {
      if (values[p]) log.values.push_back({thing.points()[p].point_id, *values[p]});
    }
    samples += must(store->append(log), "append").samples;
  }
  const double write_s = std::chrono::duration<double>(Clock::now() - t0).count();
  must(store->seal(), "seal");
  must(store->compact(), "compact");
  const auto bytes = store->live_bytes();

  // Reads: one point over the whole period; latest of every point.
  const auto end = start.plus_minutes(15LL * (logs - 1));
  const auto& ids = thing.points();
  std::vector<double> history_ms, latest_ms;
  std::size_t history_samples = 0;
  for (int i = 0; i < 200; ++i) {
    const auto& id = ids[static_cast<std::size_t>(i * 7919) % ids.size()].point_id;
    const auto a = Clock::now();
    history_samples =
        must(store->history(sim.customer, sim.building, id, start, end), "history").size();
    history_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    const auto b = Clock::now();
    must(store->latest(sim.customer, sim.building), "latest");
    latest_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - b).count());
  }
  store.reset();
  if (temporary) std::filesystem::remove_all(dir);

  std::printf("nbms-bench storage: 1 thing x %d points x %d days at 15 min = %llu samples\n",
              points, days, static_cast<unsigned long long>(samples));
  std::printf("  write: %.2f s in-process (%.0f samples/s, appends + daily seals)\n", write_s,
              static_cast<double>(samples) / write_s);
  std::printf("  disk after seal + compaction: %.2f MB live SST = %.2f bytes/sample\n",
              static_cast<double>(bytes) / 1e6,
              static_cast<double>(bytes) / static_cast<double>(samples));
  std::printf("  history of one point over %d days (%zu samples): p50 %.3f ms, p99 %.3f ms\n", days,
              history_samples, percentile(history_ms, 0.5), percentile(history_ms, 0.99));
  std::printf("  latest of %d points: p50 %.3f ms, p99 %.3f ms\n", points,
              percentile(latest_ms, 0.5), percentile(latest_ms, 0.99));
  std::printf(
      "{\"bench\":\"storage\",\"points\":%d,\"days\":%d,\"samples\":%llu,\"bytes\":%llu,"
      "\"bytes_per_sample\":%.3f,\"history_p50_ms\":%.3f,\"latest_p50_ms\":%.3f}\n",
      points, days, static_cast<unsigned long long>(samples),
      static_cast<unsigned long long>(bytes),
      static_cast<double>(bytes) / static_cast<double>(samples), percentile(history_ms, 0.5),
      percentile(latest_ms, 0.5));
  return 0;
}

}  // namespace nbms::bench
