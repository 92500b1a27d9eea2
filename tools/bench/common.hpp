#pragma once
// Helpers shared by the nbms-bench subcommands: /proc figures of a process,
// percentiles, the admin credentials, and registration over REST.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.hpp"

namespace nbms::bench {

// Exits with "<program>: <message>" on stderr; usage errors use code 2.
[[noreturn]] void die_as(const char* program, const std::string& message, int code = 2);

// All of `text` as a number, else die_as() naming the option.
template <class T>
T number_as(const char* program, std::string_view option, std::string_view text) {
  T v{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    die_as(program, std::string(option) + ": not a number: '" + std::string(text) + "'");
  }
  return v;
}

struct ProcStats {
  double cpu_s = 0;        // utime + stime, all threads
  double rss_mb = 0;       // VmRSS now
  double peak_rss_mb = 0;  // VmHWM (since the process started)
  bool ok = false;
};
// pid 0 or an unreadable /proc entry: ok == false. pid -1: this process.
ProcStats proc_stats(int pid);

// The value at fraction `p` (0..1) of sorted `v` (nearest rank); 0 when empty.
template <class T>
double percentile_sorted(const std::vector<T>& v, double p) {
  if (v.empty()) return 0;
  auto rank = static_cast<std::size_t>(p * static_cast<double>(v.size()));
  if (rank >= v.size()) rank = v.size() - 1;
  return static_cast<double>(v[rank]);
}

// The bench logs in as this user (default admin) with this password: --password,
// else $NBMS_BENCH_PASSWORD, else $NBMS_ADMIN_PASSWORD (what nbmsd was started
// with on its first start). Empty when none is set.
std::string default_password();

// POST `body` to `path`; a 409 (already there) is fine. Exits on any other error.
void create_or_exit(const HttpClient& http, const std::string& path, const nlohmann::json& body,
                    const char* program);

// Logs `http` in (sets its token) or exits with the reason.
void login_or_exit(HttpClient& http, std::string_view user, std::string_view password,
                   const char* program);

// Percent-encodes a path segment (point ids contain ':' and may contain spaces).
std::string encode_segment(std::string_view s);

// Load, machine and commit are printed by the run scripts; the bench prints the
// load at its own start and end so figures and load stay together.
std::string load_average();

}  // namespace nbms::bench
