#include "common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nbms::bench {

void die_as(const char* program, const std::string& message, int code) {
  std::fprintf(stderr, "%s: %s\n", program, message.c_str());
  std::exit(code);
}

ProcStats proc_stats(int pid) {
  ProcStats s;
  if (pid == 0) return s;
  const std::string dir = pid < 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  const auto paren = line.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return s;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) {
      s.peak_rss_mb = std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
    } else if (line.starts_with("VmRSS:")) {
      s.rss_mb = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    }
  }
  s.ok = true;
  return s;
}

std::string default_password() {
  for (const char* name : {"NBMS_BENCH_PASSWORD", "NBMS_ADMIN_PASSWORD"}) {
    if (const char* v = std::getenv(name); v && *v) return v;
  }
  return {};
}

void create_or_exit(const HttpClient& http, const std::string& path, const nlohmann::json& body,
                    const char* program) {
  auto r = http.post_json(path, body.dump());
  if (!r) {
    std::fprintf(stderr, "%s: POST %s: %s\n", program, path.c_str(), r.error().message.c_str());
    std::exit(1);
  }
  if (r->status == 409) return;  // already there
  if (r->status < 200 || r->status >= 300) {
    std::fprintf(stderr, "%s: POST %s: HTTP %d: %s\n", program, path.c_str(), r->status,
                 r->body.substr(0, 300).c_str());
    std::exit(1);
  }
}

void login_or_exit(HttpClient& http, std::string_view user, std::string_view password,
                   const char* program) {
  if (password.empty()) {
    std::fprintf(stderr,
                 "%s: no password: pass --password or set NBMS_BENCH_PASSWORD (or "
                 "NBMS_ADMIN_PASSWORD)\n",
                 program);
    std::exit(2);
  }
  auto token = login(http, user, password);
  if (!token) {
    std::fprintf(stderr, "%s: %s\n", program, token.error().message.c_str());
    std::exit(1);
  }
  http.set_token(std::move(*token));
}

std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace nbms::bench
