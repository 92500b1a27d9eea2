#include "nbms/broker/runtime.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "nbms/broker/kick.hpp"
#include "nbms/process/child.hpp"

namespace nbms::broker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto existing = spdlog::get("broker");
    return existing ? existing : spdlog::default_logger()->clone("broker");
  }();
  return log;
}

constexpr std::int64_t kMsPerSecond = 1000;
// A certificate nbmsd made for the broker or itself is replaced at start when
// less than this is left.
constexpr std::int64_t kRenewBeforeS = 30 * pki::kSecondsPerDay;
// A broker that ran this long before exiting starts a new failure series.
constexpr auto kStableRun = 60s;
constexpr std::size_t kKeptLogLines = 20;
// How long a SIGHUP may go without Mosquitto's "Reloading config." line
// before the supervisor stops waiting for it (and sends the next one).
constexpr auto kReloadConfirmTimeout = 3s;
// After a confirmed reload, before the next SIGHUP (see Impl::resend).
constexpr auto kReloadSettle = 200ms;
// One takeover CONNECT on the control socket, CONNACK included.
constexpr auto kKickTimeout = 2000ms;
// sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t kMaxUnixSocketPath = 107;

// True if a TCP connection to host:port is accepted now.
bool port_accepts(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  bool ok = false;
  for (addrinfo* a = res; a && !ok; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return ok;
}

// Where nbmsd dials its own broker: loopback for a wildcard listener.
std::string dial_host(const std::string& bind) {
  if (bind == "0.0.0.0" || bind.empty()) return "127.0.0.1";
  if (bind == "::") return "::1";
  return bind;
}

std::string uri_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::io, "cannot create '" + dir.string() + "': " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return fail(Errc::io, "cannot chmod 0700 '" + dir.string() + "'");
  }
  return {};
}

// Mosquitto 2.0's line for a SIGHUP, logged in its main loop right before
// it re-reads the configuration, ACL and CRL: "<unix time>: Reloading config."
// The whole line is compared: a client id in another line cannot fake it.
bool is_reload_line(std::string_view line) {
  constexpr std::string_view kText = ": Reloading config.";
  if (line.size() <= kText.size() || !line.ends_with(kText)) return false;
  const auto stamp = line.substr(0, line.size() - kText.size());
  return std::all_of(stamp.begin(), stamp.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string read_small(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

BrokerFiles BrokerFiles::in(const fs::path& dir) {
  return {.conf = dir / "mosquitto.conf",
          .acl = dir / "acl",
          .loopback_acl = dir / "loopback.acl",
          .crl = dir / "crl.pem",
          .ca = dir / "ca.pem",
          .server_cert = dir / "server.pem",
          .server_key = dir / "server.key",
          .client_cert = dir / "nbmsd.pem",
          .client_key = dir / "nbmsd.key",
          .persistence = dir / "persistence",
          .control_socket = dir / "control.sock",
          .control_acl = dir / "control.acl"};
}

struct Runtime::Impl {
  RuntimeOptions options;
  pki::CertificateAuthority ca;
  RuntimeSources sources;
  std::function<std::int64_t()> now_ms;
  BrokerFiles files;

  std::mutex files_mu;  // one writer of the files (and reload) at a time

  mutable std::mutex mu;  // everything below
  std::condition_variable cv;
  bool stopping = false;
  bool running = false;
  long pid = 0;
  std::uint64_t hup_wanted = 0;
  std::uint64_t hup_sent = 0;
  // Reload confirmation (managed). Mosquitto handles a SIGHUP in its single
  // main loop: it logs "Reloading config.", re-reads the files and only then
  // reads sockets again, so a CONNECT sent once that line was seen meets the
  // new CRL and ACL. The supervisor keeps at most one SIGHUP unconfirmed
  // (awaiting_line), so the next such line belongs to it; hup_applied is the
  // last hup_wanted value a seen line (or a fresh start) covers.
  std::uint64_t hup_applied = 0;
  bool awaiting_line = false;
  std::uint64_t awaiting_serial = 0;
  std::chrono::steady_clock::time_point awaiting_since;
  // Mosquitto clears its reload flag after a reload: a SIGHUP that arrives
  // while it still applies the previous one is lost. So the next signal waits
  // a little after a confirmation, and an unconfirmed one is sent again.
  std::chrono::steady_clock::time_point confirmed_at;
  bool resend = false;
  bool control_listener = false;  // managed and the socket path fits
  RuntimeStats stats;
  std::deque<std::string> last_lines;
  std::optional<Result<void>> first_start;  // set once by the supervisor
  std::thread supervisor;

  Impl(RuntimeOptions o, pki::CertificateAuthority c, RuntimeSources s,
       std::function<std::int64_t()> n)
      : options(std::move(o)),
        ca(std::move(c)),
        sources(std::move(s)),
        now_ms(std::move(n)),
        files(BrokerFiles::in(options.dir)) {}

  std::vector<std::string> server_names() const {
    std::vector<std::string> names = options.server_names;
    for (const char* n : {"localhost", "127.0.0.1", "::1"}) names.emplace_back(n);
    if (options.bind_address != "0.0.0.0" && options.bind_address != "::") {
      names.push_back(options.bind_address);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  // Keeps `cert` if the current CA issued it for `cn`, with `stamp` (what it
  // was made for) unchanged and more than kRenewBeforeS left; else issues a
  // new one with `issue`.
  Result<void> ensure_cert(const fs::path& cert, const fs::path& key, const std::string& cn,
                           const std::string& stamp, unsigned key_mode,
                           const std::function<Result<pki::IssuedCertificate>()>& issue) {
    const fs::path stamp_file = fs::path(cert).concat(".for");
    std::error_code ec;
    if (fs::exists(cert, ec) && fs::exists(key, ec) && read_small(stamp_file) == stamp) {
      auto info = pki::inspect_certificate(read_small(cert));
      const std::int64_t now_s = now_ms() / kMsPerSecond;
      if (info && info->issuer == ca.subject() && info->common_name == cn &&
          info->not_after_s - now_s > kRenewBeforeS) {
        return {};
      }
    }
    auto issued = issue();
    if (!issued) return std::unexpected(issued.error());
    if (auto ok = pki::write_file(key, issued->key_pem, key_mode, true); !ok) return ok;
    if (auto ok = pki::write_file(cert, issued->cert_pem, 0644, true); !ok) return ok;
    if (auto ok = pki::write_file(stamp_file, stamp, 0644, true); !ok) return ok;
    logger()->info("issued {} (serial {}, valid until {})", cert.string(), issued->serial,
                   issued->not_after_s);
    return {};
  }

  Result<void> write_permissions() {
    auto acl = sources.acl();
    if (!acl) return std::unexpected(acl.error());
    auto crl = sources.crl();
    if (!crl) return std::unexpected(crl.error());
    // The ACL is not secret but says which things exist: readable by the
    // broker only (and its group for an external one).
    const unsigned mode = options.mode == Mode::managed ? 0600 : 0640;
    if (auto ok = pki::write_file(files.acl, *acl, mode, true); !ok) return ok;
    if (auto ok = pki::write_file(files.crl, *crl, 0644, true); !ok) return ok;
    std::lock_guard lock(mu);
    stats.crl_written_ms = now_ms();
    return {};
  }

  Result<void> write_all() {
    std::lock_guard files_lock(files_mu);
    if (auto ok = make_dir(options.dir); !ok) return ok;
    if (auto ok = make_dir(files.persistence); !ok) return ok;
    if (auto ok = pki::write_file(files.ca, ca.chain_pem(), 0644, true); !ok) return ok;
    const std::int64_t now_s = now_ms() / kMsPerSecond;
    const pki::IssueOptions io{.validity_days = options.cert_validity_days, .now_s = now_s};
    const auto names = server_names();
    std::string stamp;
    for (const auto& n : names) stamp += n + "\n";
    // An external broker runs as another user: its key is group-readable
    // (give the directory that user's group, setgid; docs/provisioning.md).
    const unsigned server_key_mode = options.mode == Mode::managed ? 0600 : 0640;
    auto server = ensure_cert(files.server_cert, files.server_key, "nbms broker", stamp,
                              server_key_mode, [&]() {
                                pki::ServerCertRequest req{.common_name = "nbms broker"};
                                for (const auto& n : names) {
                                  (is_ip(n) ? req.ip_addresses : req.dns_names).push_back(n);
                                }
                                return ca.issue_server(req, io);
                              });
    if (!server) return server;
    auto client = ensure_cert(files.client_cert, files.client_key, options.client_id,
                              options.client_id + "\n", 0600,
                              [&]() { return ca.issue_service_client(options.client_id, io); });
    if (!client) return client;
    if (auto ok = write_permissions(); !ok) return ok;
    ManagedBrokerOptions mo{.bind_address = options.bind_address,
                            .tls_port = options.tls_port,
                            .ca_file = files.ca.string(),
                            .cert_file = files.server_cert.string(),
                            .key_file = files.server_key.string(),
                            .crl_file = files.crl.string(),
                            .acl_file = files.acl.string(),
                            .persistence_dir = files.persistence.string(),
                            .loopback_port = options.loopback_port,
                            .loopback_acl_file = files.loopback_acl.string(),
                            .run_as_user = options.run_as_user};
    control_listener =
        options.mode == Mode::managed && files.control_socket.string().size() <= kMaxUnixSocketPath;
    if (options.mode == Mode::managed && !control_listener) {
      logger()->warn(
          "broker directory path too long for a unix socket ({} > {} characters): no control "
          "listener, revoked things keep their live connections",
          files.control_socket.string().size(), kMaxUnixSocketPath);
    }
    if (control_listener) {
      mo.control_socket = files.control_socket.string();
      mo.control_acl_file = files.control_acl.string();
      if (auto ok = pki::write_file(files.control_acl, control_acl_file(), 0600, true); !ok) {
        return ok;
      }
    }
    auto conf = mosquitto_conf(mo);
    if (!conf) return std::unexpected(conf.error());
    if (options.loopback_port) {
      if (auto ok = pki::write_file(files.loopback_acl, loopback_acl_file(options.loopback_access),
                                    0600, true);
          !ok) {
        return ok;
      }
    }
    return pki::write_file(files.conf, *conf, 0644, true);
  }

  // ---- managed ----------------------------------------------------------------

  void on_line(const std::string& line) {
    logger()->info("mosquitto: {}", line);
    std::lock_guard lock(mu);
    if (awaiting_line && is_reload_line(line)) {
      hup_applied = std::max(hup_applied, awaiting_serial);
      awaiting_line = false;
      confirmed_at = std::chrono::steady_clock::now();
      cv.notify_all();
    }
    last_lines.push_back(line);
    if (last_lines.size() > kKeptLogLines) last_lines.pop_front();
  }

  std::string recent_output() const {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& l : last_lines) out += "\n  " + l;
    return out.empty() ? " (no output)" : out;
  }

  // Sends a pending SIGHUP to the running child; supervisor thread only.
  void serve_reloads(process::ChildProcess& child) {
    std::lock_guard lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (awaiting_line) {
      if (now - awaiting_since < kReloadConfirmTimeout) return;
      logger()->warn(
          "mosquitto did not log the reload within {} ms: signalling it again",
          std::chrono::duration_cast<std::chrono::milliseconds>(kReloadConfirmTimeout).count());
      awaiting_line = false;
      resend = true;
    }
    if (hup_sent == hup_wanted && !resend) return;
    if (now - confirmed_at < kReloadSettle) return;
    if (auto ok = child.signal(SIGHUP); ok) {
      ++stats.reloads;
      awaiting_line = true;
      awaiting_serial = hup_wanted;
      awaiting_since = now;
      resend = false;
    } else {
      ++stats.reload_failures;
      logger()->warn("cannot reload mosquitto: {}", ok.error().message);
    }
    hup_sent = hup_wanted;
    cv.notify_all();
  }

  void report_first(Result<void> r) {
    std::lock_guard lock(mu);
    if (!first_start) first_start = std::move(r);
    cv.notify_all();
  }

  bool stop_requested() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void supervise() {
    process::Backoff backoff(options.restart_min, options.restart_max, kStableRun);
    const std::string host = dial_host(options.bind_address);
    bool first = true;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        hup_sent = hup_wanted;  // a new broker reads the current files anyway
        hup_applied = hup_wanted;
        awaiting_line = false;
        resend = false;
        cv.notify_all();
      }
      const auto began = std::chrono::steady_clock::now();
      auto child = process::ChildProcess::spawn({options.mosquitto_path, "-c", files.conf.string()},
                                                [this](const std::string& l) { on_line(l); });
      bool ready = false;
      if (child) {
        std::lock_guard lock(mu);
        ++stats.starts;
        if (!first) ++stats.restarts;
        pid = child->pid();
      } else {
        logger()->error("cannot start mosquitto: {}", child.error().message);
      }
      // Until it listens (or exits, or the first start takes too long).
      while (child && !child->poll(20ms) && !stop_requested()) {
        serve_reloads(*child);
        if (port_accepts(host, options.tls_port)) {
          ready = true;
          break;
        }
        if (first && std::chrono::steady_clock::now() - began > options.ready_timeout) break;
      }
      if (first) {
        first = false;
        if (!ready) {
          std::string why = !child             ? child.error().message
                            : child->status()  ? process::describe_status(*child->status())
                            : stop_requested() ? std::string("stopped")
                                               : std::string("its TLS port never accepted");
          if (child) child->terminate(2s);
          report_first(fail(Errc::unavailable, "mosquitto (" + options.mosquitto_path + " -c " +
                                                   files.conf.string() + ") did not start: " + why +
                                                   "; its last output:" + recent_output()));
          std::lock_guard lock(mu);
          pid = 0;
          return;
        }
        report_first({});
      }
      if (ready) {
        std::lock_guard lock(mu);
        running = true;
        logger()->info("mosquitto running (pid {}, TLS port {})", pid, options.tls_port);
      }
      while (child && !child->poll(50ms)) {
        if (stop_requested()) break;
        serve_reloads(*child);
      }
      if (stop_requested()) {
        if (child && child->running()) {
          const int status = child->terminate(5s);
          logger()->info("mosquitto stopped ({})", process::describe_status(status));
        }
        break;
      }
      const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - began);
      const auto delay = backoff.next(ran);
      {
        std::unique_lock lock(mu);
        running = false;
        pid = 0;
        const std::string status =
            child && child->status() ? process::describe_status(*child->status()) : "not started";
        stats.last_exit = status;
        logger()->warn("mosquitto exited ({}) after {} ms; restart {} in {} ms", status,
                       ran.count(), backoff.failures(), delay.count());
        cv.wait_for(lock, delay, [this] { return stopping; });
      }
    }
    std::lock_guard lock(mu);
    running = false;
    pid = 0;
    cv.notify_all();
  }

  // `applied`: managed, also wait until Mosquitto has re-read the files.
  Result<void> reload(bool applied) {
    if (options.mode == Mode::external) return reload_external();
    std::unique_lock lock(mu);
    const std::uint64_t mine = ++hup_wanted;
    // The supervisor polls every 50 ms; when no broker runs, the next one
    // reads the new files (hup_sent catches up at its start).
    if (!cv.wait_for(lock, 5s, [&] { return hup_sent >= mine || stopping; })) {
      return fail(Errc::unavailable, "the broker supervisor did not send the reload in time");
    }
    if (!applied) return {};
    if (!cv.wait_for(lock, kReloadConfirmTimeout + 1s,
                     [&] { return hup_applied >= mine || stopping; })) {
      return fail(Errc::unavailable,
                  "mosquitto did not confirm the reload (no \"Reloading config.\" line)");
    }
    return {};
  }

  // Closes each thing's live connection (takeover on the control listener);
  // call once the reload that revoked them is applied.
  Result<void> kick(const std::vector<std::string>& things) {
    std::string failed;
    for (const auto& thing : things) {
      auto ok = control_listener
                    ? kick_client(files.control_socket, thing, kKickTimeout)
                    : Result<void>(fail(Errc::unavailable, "the broker has no control listener"));
      std::lock_guard lock(mu);
      if (ok) {
        ++stats.kicks;
        logger()->info("closed the broker connection of {} (if it had one)", thing);
        continue;
      }
      if (!running) {
        // No broker, no connection to close: the next one reads the new CRL.
        logger()->info("broker not running: no connection of {} to close", thing);
        continue;
      }
      ++stats.kick_failures;
      failed += (failed.empty() ? "" : "; ") + thing + ": " + ok.error().message;
    }
    if (!failed.empty()) {
      return fail(Errc::unavailable, "live connection not closed (" + failed + ")");
    }
    return {};
  }

  Result<void> reload_external() {
    bool failed = false;
    std::string why;
    if (!options.pid_file.empty()) {
      const std::string text = read_small(options.pid_file);
      long p = 0;
      try {
        p = std::stol(text);
      } catch (const std::exception&) {
        p = 0;
      }
      if (p <= 1) {
        failed = true;
        why = "no pid in " + options.pid_file;
      } else if (::kill(static_cast<pid_t>(p), SIGHUP) != 0) {
        failed = true;
        why = "SIGHUP to pid " + std::to_string(p) +
              " failed: " + std::generic_category().message(errno);
      }
    }
    if (!options.reload_command.empty()) {
      std::string output;
      auto child = process::ChildProcess::spawn(
          {"/bin/sh", "-c", options.reload_command},
          [&output](const std::string& l) { output += (output.empty() ? "" : "; ") + l; });
      if (!child) {
        failed = true;
        why = child.error().message;
      } else {
        const auto deadline = std::chrono::steady_clock::now() + options.reload_timeout;
        while (!child->poll(20ms) && std::chrono::steady_clock::now() < deadline) {
        }
        const int status = child->status() ? *child->status() : child->terminate(1s);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          failed = true;
          why = "reload command '" + options.reload_command + "' failed (" +
                process::describe_status(status) + ")" + (output.empty() ? "" : ": " + output);
        }
      }
    }
    std::lock_guard lock(mu);
    if (failed) {
      ++stats.reload_failures;
      return fail(Errc::unavailable, why);
    }
    ++stats.reloads;
    return {};
  }
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Runtime>> Runtime::start(RuntimeOptions options,
                                                pki::CertificateAuthority ca,
                                                RuntimeSources sources,
                                                std::function<std::int64_t()> now_ms) {
  if (!options.dir.is_absolute()) {
    return fail(Errc::invalid_argument,
                "broker directory must be an absolute path, got '" + options.dir.string() + "'");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(ca), std::move(sources),
                                     std::move(now_ms));
  if (auto ok = impl->write_all(); !ok) {
    return fail(ok.error().code,
                "broker files in " + impl->options.dir.string() + ": " + ok.error().message);
  }
  std::unique_ptr<Runtime> rt(new Runtime(std::move(impl)));
  auto& d = *rt->impl_;
  if (d.options.mode == Mode::external) {
    if (auto ok = d.reload_external(); !ok) {
      // The broker may not run yet (it is started after nbmsd): not fatal.
      logger()->warn("external broker not reloaded: {}", ok.error().message);
    }
    return rt;
  }
  d.supervisor = std::thread([&d] { d.supervise(); });
  std::unique_lock lock(d.mu);
  d.cv.wait(lock, [&d] { return d.first_start.has_value(); });
  if (!*d.first_start) {
    auto error = d.first_start->error();
    lock.unlock();
    rt->stop();
    return std::unexpected(error);
  }
  return rt;
}

Runtime::~Runtime() {
  stop();
}

void Runtime::stop() {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mu);
    d.stopping = true;
    d.cv.notify_all();
  }
  if (d.supervisor.joinable()) d.supervisor.join();
}

Result<void> Runtime::permissions_changed(const std::vector<std::string>& disconnect) {
  auto& d = *impl_;
  {
    std::lock_guard files_lock(d.files_mu);
    if (auto ok = d.write_permissions(); !ok) return ok;
  }
  const bool kick = !disconnect.empty() && d.options.mode == Mode::managed;
  auto reloaded = d.reload(kick);
  if (!kick) return reloaded;
  if (!reloaded) {
    std::string names;
    for (const auto& t : disconnect) names += (names.empty() ? "" : ", ") + t;
    {
      // No broker, no connection to close: the next one reads the new CRL.
      std::lock_guard lock(d.mu);
      if (d.running) d.stats.kick_failures += disconnect.size();
    }
    return fail(reloaded.error().code,
                reloaded.error().message + "; live connection not closed: " + names);
  }
  return d.kick(disconnect);
}

Result<void> Runtime::refresh_crl() {
  return permissions_changed({});
}

ClientFiles Runtime::client() const {
  const auto& d = *impl_;
  return {.uri = "ssl://" + uri_host(dial_host(d.options.bind_address)) + ":" +
                 std::to_string(d.options.tls_port),
          .ca_file = d.files.ca.string(),
          .cert_file = d.files.client_cert.string(),
          .key_file = d.files.client_key.string()};
}

RuntimeStats Runtime::stats() const {
  const auto& d = *impl_;
  std::lock_guard lock(d.mu);
  RuntimeStats s = d.stats;
  s.running = d.running;
  s.pid = d.pid;
  return s;
}

const BrokerFiles& Runtime::files() const {
  return impl_->files;
}

}  // namespace nbms::broker
