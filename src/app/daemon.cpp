#include "nbms/app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include "nbms/alarms/service.hpp"
#include "nbms/auth/service.hpp"
#include "nbms/broker/runtime.hpp"
#include "nbms/http/server.hpp"
#include "nbms/ingest/pipeline.hpp"
#include "nbms/ingest/router.hpp"
#include "nbms/mqtt/bridge.hpp"
#include "nbms/pki/pki.hpp"
#include "nbms/provisioning/service.hpp"
#include "nbms/realtime/hub.hpp"
#include "nbms/storage/rocks_store.hpp"
#include "notifications.hpp"

namespace nbms::app {
namespace {

constexpr const char* kVersion = NBMS_VERSION;
constexpr const char* kLoggers[] = {"nbmsd", "mqtt", "ingest",   "storage",
                                    "http",  "auth", "realtime", "broker"};

std::shared_ptr<spdlog::logger> logger() {
  return spdlog::get("nbmsd");
}

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  for (const char* name : kLoggers) {
    if (spdlog::get(name)) continue;
    spdlog::register_logger(std::make_shared<spdlog::logger>(name, sink));
  }
  spdlog::set_default_logger(spdlog::get("nbmsd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

// When each registered thing last sent a message (unix ms), since start: the
// overview's online/offline state. Only registered things are kept, so its size
// is bounded by the registry. Written on the ingest worker only (the router
// notes a message after finding its thing registered; a purge forgets the
// thing there too), so a purged name's "last seen" cannot come back; read by
// the HTTP threads.
class Activity final : public ActivitySink {
 public:
  void on_activity(const std::string& thing, std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    last_[thing] = at_ms;
  }
  void forget(const std::string& thing) {
    std::lock_guard lock(mu_);
    last_.erase(thing);
  }
  std::optional<std::int64_t> last_seen(const std::string& thing) const {
    std::lock_guard lock(mu_);
    const auto it = last_.find(thing);
    if (it == last_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> last_;
};

// Calls `work` every `period` on its own thread until destroyed.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds period, std::function<void()> work)
      : thread_([this, period, work = std::move(work)] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
            lock.unlock();
            work();
            lock.lock();
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

struct Daemon::Impl {
  config::Config config;
  SystemClock clock;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<alarms::Service> alarms;
  std::unique_ptr<Notifications> notify;
  std::unique_ptr<mqtt::Bridge> bridge;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<realtime::Hub> hub;
  std::unique_ptr<Ticker> ticker;
  std::uint64_t ticks = 0;  // on the ticker's thread only
  Activity activity;
  std::unique_ptr<ingest::Router> router;
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<provisioning::Service> provisioner;
  std::unique_ptr<broker::Runtime> broker;  // broker.mode managed or external
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  bool stopped = false;

  // Records the shelves that expired, in every building (maintenance: the
  // console shows an expired shelve as unshelved at once anyway).
  void expire_shelves() {
    auto customers = store->customers();
    if (!customers) return;
    for (const auto& c : *customers) {
      auto buildings = store->buildings(c.id);
      if (!buildings) continue;
      for (const auto& b : *buildings) {
        if (auto n = alarms->expire_shelves(c.id, b.id); !n) {
          logger()->warn("expiring shelves of {}/{} failed: {}", c.id, b.id, n.error().message);
        }
      }
    }
  }

  // DELETE .../things/{t} after the certificates were revoked: the thing's
  // records and every cache of it, on the ingest worker, so that no message
  // of the thing is half-handled meanwhile and a held-back one cannot come
  // back. Messages of the thing still queued behind it meet an unregistered
  // thing (rejected as such); a thing registered again under the name starts
  // clean: store caches, the limiter's bucket and backlog, liveness, realtime
  // watches and the overview's "last seen" are all forgotten.
  Result<PurgedData> purge_thing(const ThingName& thing) {
    Result<PurgedData> out = fail(Errc::unavailable, "nbmsd is stopping");
    const bool ran = pipeline->run_exclusive([&] {
      out = alarms->purge_thing(thing, *store);
      if (!out) return;
      const std::string name = thing.full();
      router->forget_thing(name);
      hub->forget_thing(name);
      activity.forget(name);
    });
    if (!ran) return fail(Errc::unavailable, "nbmsd is stopping: thing not purged");
    return out;
  }

  // First start: the admin user, with NBMS_ADMIN_PASSWORD, the configured
  // password file, or a one-time password printed once.
  Result<void> bootstrap_admin() {
    std::optional<std::string> password;
    if (const char* env = std::getenv("NBMS_ADMIN_PASSWORD"); env && *env) {
      password = env;
    } else if (!config.auth.admin_password_file.empty()) {
      auto secret = config::read_secret(config.auth.admin_password_file);
      if (!secret) return std::unexpected(secret.error());
      password = std::move(*secret);
    }
    auto created = auth->bootstrap_admin(password);
    if (!created) {
      return fail(created.error().code, "cannot create the admin user: " + created.error().message);
    }
    if (*created) {
      // Deliberately not through the logger (which may be shipped elsewhere):
      // once, to the console of the operator who started nbmsd.
      std::fprintf(stderr,
                   "\n  nbmsd: created user 'admin' with the one-time password: %s\n"
                   "  Log in and change it (POST /api/v1/users/admin/password).\n\n",
                   (*created)->c_str());
    } else if (password) {
      logger()->info("admin user ready");
    }
    return {};
  }

  // The CA per pki.*: loaded, or created when both files are missing and
  // pki.create_ca allows it. Never replaces a file (pki::load_or_create_ca).
  Result<pki::CertificateAuthority> load_ca() const {
    const pki::CaPaths paths{config::ca_cert_path(config), config::ca_key_path(config)};
    const auto where = "CA certificate " + paths.cert.string() + ", key " + paths.key.string();
    std::error_code ec;
    const bool cert_exists = std::filesystem::exists(paths.cert, ec);
    const bool key_exists = std::filesystem::exists(paths.key, ec);
    if (!cert_exists && !key_exists && !config.pki.create_ca) {
      return fail(Errc::not_found, where +
                                       ": neither exists and pki.create_ca is false (create them "
                                       "with `nbmsctl ca init` or set pki.create_ca)");
    }
    bool created = false;
    const pki::CaOptions options{.validity_days = config.pki.ca_validity_days,
                                 .now_s = clock.now_ms() / 1000};
    auto ca = pki::load_or_create_ca(paths, options, &created);
    if (!ca) return fail(ca.error().code, "certificate authority: " + ca.error().message);
    if (created) {
      logger()->warn(
          "created a new certificate authority ({}): back up {}, it signs every "
          "middleware's certificate",
          where, paths.key.string());
    } else {
      logger()->info("certificate authority {} (SHA-256 {}) loaded from {}", ca->subject(),
                     ca->fingerprint(), paths.cert.string());
    }
    return ca;
  }

  // broker.mode managed or external: the files, and the managed Mosquitto.
  Result<void> start_broker(const pki::CertificateAuthority& ca) {
    const auto& b = config.broker;
    broker::RuntimeOptions ro;
    ro.mode = b.mode == "managed" ? broker::Mode::managed : broker::Mode::external;
    ro.dir = std::filesystem::absolute(config::broker_dir(config));
    ro.mosquitto_path = b.mosquitto_path;
    ro.bind_address = b.listen_host;
    ro.tls_port = b.listen_port;
    if (b.loopback_port != 0) ro.loopback_port = b.loopback_port;
    ro.loopback_access = b.loopback_access == "full" ? broker::LoopbackAccess::full
                                                     : broker::LoopbackAccess::read_only;
    // Started as root, Mosquitto would switch to user "mosquitto" and then not
    // read nbmsd's 0600 key: keep it root unless told otherwise.
    ro.run_as_user = !b.run_as_user.empty() ? b.run_as_user : (::geteuid() == 0 ? "root" : "");
    ro.server_names = {config.provisioning.broker_host};
    ro.client_id = config.mqtt.client_id;
    ro.restart_min = std::chrono::milliseconds(b.restart_min_ms);
    ro.restart_max = std::chrono::milliseconds(b.restart_max_ms);
    ro.reload_command = b.reload_command;
    ro.pid_file = b.pid_file;
    auto rt = broker::Runtime::start(std::move(ro), ca,
                                     {.acl = [this] { return provisioner->acl(); },
                                      .crl = [this] { return provisioner->crl_pem(); }},
                                     [this] { return clock.now_ms(); });
    if (!rt) return fail(rt.error().code, "broker: " + rt.error().message);
    broker = std::move(*rt);
    logger()->info("broker ({}) files in {}", b.mode, broker->files().conf.parent_path().string());
    return {};
  }

  // The CRL carries nextUpdate (pki.crl_validity_days): rewritten daily so
  // the broker never holds an expired one (it would refuse every client).
  void refresh_crl_if_due() {
    if (!broker) return;
    constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
    if (clock.now_ms() - broker->stats().crl_written_ms < kDayMs) return;
    if (auto ok = broker->refresh_crl(); !ok) {
      logger()->error("daily CRL rewrite failed: {}", ok.error().message);
    } else {
      logger()->info("CRL rewritten (daily)");
    }
  }

  nlohmann::json health() const {
    const auto mq = bridge->stats();
    const auto& c = router->counters();
    nlohmann::json reasons = nlohmann::json::object();
    for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
      reasons[std::string(ingest::to_string(static_cast<ingest::Reject>(i)))] =
          c.by_reason[i].load();
    }
    const bool stalled = pipeline->stalled();
    const auto live = hub->stats();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started_at);
    nlohmann::json broker_json = {{"mode", config.broker.mode}};
    bool broker_ok = true;
    if (broker) {
      const auto b = broker->stats();
      if (config.broker.mode == "managed") {
        broker_ok = b.running;
        broker_json["running"] = b.running;
        broker_json["pid"] = b.pid;
        broker_json["starts"] = b.starts;
        broker_json["restarts"] = b.restarts;
        broker_json["last_exit"] = b.last_exit;
      }
      broker_json["reloads"] = b.reloads;
      broker_json["reload_failures"] = b.reload_failures;
      if (config.broker.mode == "managed") {
        broker_json["kicks"] = b.kicks;
        broker_json["kick_failures"] = b.kick_failures;
      }
      broker_json["crl_written_ms"] = b.crl_written_ms;
    }
    return {
        {"status", mq.connected && !stalled && broker_ok ? "ok" : "degraded"},
        {"version", kVersion},
        {"uptime_s", uptime.count()},
        {"mqtt",
         {{"connected", mq.connected},
          {"uri", bridge->uri()},
          {"client_id", config.mqtt.client_id},
          {"connects", mq.connects},
          {"connection_losses", mq.connection_losses},
          {"commands_published", mq.published},
          {"command_failures", mq.publish_failures}}},
        {"storage",
         {{"ok", !stalled},
          {"error", stalled ? nlohmann::json(pipeline->stall_reason()) : nlohmann::json()},
          {"data_dir", config.storage.data_dir},
          {"retries", pipeline->retries()}}},
        {"ingest",
         {{"messages", c.messages.load()},
          {"samples", c.samples.load()},
          {"rejected", c.rejected.load()},
          {"point_conflicts", c.point_conflicts.load()},
          {"missing_values", c.missing.load()},
          {"realtime", c.realtime.load()},
          {"control_results", c.control_results.load()},
          {"alarms", c.alarms.load()},
          {"disconnects", c.disconnects.load()},
          {"alarms_ignored", c.alarms_ignored.load()},
          {"deferred", c.deferred.load()},
          {"held", c.held.load()},
          {"queued", pipeline->queued()},
          {"rejected_by_reason", reasons}}},
        {"realtime",
         {{"connections", live.connections},
          {"subscriptions", live.subscriptions},
          {"pending_controls", live.pending_controls},
          {"values_in", live.values_in},
          {"values_out", live.values_out},
          {"unwatched_values", live.unwatched_in},
          {"unknown_control_results", live.results_unknown}}},
        {"broker", broker_json},
        {"notify", notify->health()},
    };
  }
};

Daemon::Daemon(config::Config config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

Daemon::~Daemon() {
  stop();
}

Result<void> Daemon::start() {
  auto& d = *impl_;
  const auto& cfg = d.config;

  std::error_code ec;
  std::filesystem::create_directories(cfg.storage.data_dir, ec);
  if (ec) {
    return fail(Errc::io,
                "cannot create data directory '" + cfg.storage.data_dir + "': " + ec.message());
  }
  auto ca = d.load_ca();
  if (!ca) return std::unexpected(ca.error());

  storage::StoreOptions so;
  so.path = (std::filesystem::path(cfg.storage.data_dir) / "db").string();
  so.sync_writes = cfg.storage.sync_writes;
  so.dead_letter_limit = cfg.storage.dead_letter_limit;
  so.block_cache_bytes = cfg.storage.block_cache_mb << 20;
  auto store = storage::RocksStore::open(so, d.clock);
  if (!store) return std::unexpected(store.error());
  d.store = std::move(*store);

  provisioning::ServiceOptions po_prov;
  po_prov.broker_host = cfg.provisioning.broker_host;
  po_prov.broker_port = cfg.provisioning.broker_port;
  po_prov.cert_validity_days = cfg.pki.cert_validity_days;
  po_prov.crl_validity_days = cfg.pki.crl_validity_days;
  po_prov.full_access = {cfg.mqtt.client_id};
  d.provisioner =
      std::make_unique<provisioning::Service>(*d.store, *d.store, d.clock, *ca, po_prov);
  if (cfg.broker.mode != "none") {
    auto rt = d.start_broker(*ca);
    if (!rt) return std::unexpected(rt.error());
  }
  // After every register/reissue/remove: the broker's ACL and CRL files are
  // rewritten and it reloads them (SIGHUP keeps the other connections).
  d.provisioner->set_permissions_hook([&d](const provisioning::PermissionChange& change) {
    logger()->info("broker permissions of {} changed{}", change.thing,
                   change.revoked ? " (certificate revoked: CRL changed)" : "");
    if (!d.broker) return;
    // A revoked certificate's live connection is closed too (managed mode):
    // Mosquitto checks certificates at the handshake only.
    std::vector<std::string> disconnect;
    if (change.revoked) disconnect.push_back(change.thing);
    if (auto ok = d.broker->permissions_changed(disconnect); !ok) {
      logger()->error("broker not updated after the change of {}: {}", change.thing,
                      ok.error().message);
    }
  });

  auto password = config::read_secret(cfg.mqtt.password_file);
  if (!password) return std::unexpected(password.error());
  mqtt::BridgeOptions bo;
  bo.uri = cfg.mqtt.uri;
  bo.client_id = cfg.mqtt.client_id;
  bo.username = cfg.mqtt.username;
  bo.password = *password;
  bo.keepalive_s = cfg.mqtt.keepalive_s;
  bo.connect_timeout_s = cfg.mqtt.connect_timeout_s;
  bo.reconnect_min = std::chrono::milliseconds(cfg.mqtt.reconnect_min_ms);
  bo.reconnect_max = std::chrono::milliseconds(cfg.mqtt.reconnect_max_ms);
  if (cfg.broker.mode == "managed") {
    // nbmsd's own identity on its own broker; mqtt.uri and the password are not used.
    const auto files = d.broker->client();
    bo.uri = files.uri;
    bo.username.clear();
    bo.password.clear();
    bo.tls_ca_file = files.ca_file;
    bo.tls_cert_file = files.cert_file;
    bo.tls_key_file = files.key_file;
  } else if (cfg.broker.mode == "external" && cfg.mqtt.uri.starts_with("ssl://")) {
    const auto files = d.broker->client();
    bo.tls_ca_file = files.ca_file;
    bo.tls_cert_file = files.cert_file;
    bo.tls_key_file = files.key_file;
  }
  // The bridge delivers into the pipeline, which exists before the bridge starts.
  d.bridge =
      std::make_unique<mqtt::Bridge>(bo, [&d](std::string_view topic, std::string_view payload) {
        if (!d.pipeline->submit_and_wait(topic, payload)) {
          // Only when stopping while storage refuses writes. Paho has acknowledged
          // the message already, so say which one was not stored.
          logger()->error(
              "message on '{}' ({} bytes) was not stored: stopping while storage "
              "refuses writes",
              topic, payload.size());
        }
      });

  auth::AuthOptions ao;
  ao.pbkdf2_iterations = cfg.auth.pbkdf2_iterations;
  ao.session_ttl_ms = cfg.auth.session_ttl_s * 1000;
  ao.max_failures = cfg.auth.max_failed_logins;
  d.auth = std::make_unique<auth::AuthService>(*d.store, *d.store, d.clock, ao);
  if (auto r = d.bootstrap_admin(); !r) return r;

  realtime::HubOptions hub_options;
  hub_options.control_timeout_ms = std::int64_t{cfg.realtime.control_timeout_s} * 1000;
  d.hub = std::make_unique<realtime::Hub>(*d.bridge, d.clock, hub_options);

  d.alarms = std::make_unique<alarms::Service>(*d.store, d.clock, d.store.get());
  auto notify = Notifications::create(cfg, *d.store, d.clock);
  if (!notify) return std::unexpected(notify.error());
  d.notify = std::move(*notify);
  d.alarms->add_listener(d.notify->listener());
  d.notify->start();
  ingest::Router::Ports ports{*d.store,  *d.store, *d.store,   *d.store,
                              *d.bridge, d.clock,  d.hub.get()};
  ports.alarms = d.alarms.get();
  ports.spool = d.store.get();
  ports.activity = &d.activity;
  ingest::RouterOptions ro;
  ro.max_message_bytes = cfg.mqtt.max_message_bytes;
  ro.thing_rate = static_cast<double>(cfg.mqtt.thing_rate);
  ro.thing_burst = static_cast<double>(cfg.mqtt.thing_burst);
  ro.thing_backlog_bytes = cfg.mqtt.thing_backlog_bytes;
  d.router = std::make_unique<ingest::Router>(ports, ro);
  if (auto held = d.router->load_backlog(); !held) return std::unexpected(held.error());
  ingest::PipelineOptions po;
  po.capacity = cfg.mqtt.queue_capacity;
  d.pipeline = std::make_unique<ingest::Pipeline>(*d.router, po, [&d] {
    if (auto sealed = d.store->seal(); !sealed) {
      logger()->warn("sealing late rows failed: {}", sealed.error().message);
    }
    d.expire_shelves();
  });

  http::ServerOptions ho;
  ho.host = cfg.http.host;
  ho.port = cfg.http.port;
  ho.threads = cfg.http.threads;
  ho.body_limit = cfg.http.body_limit_bytes;
  ho.web_root = cfg.http.web_root;
  ho.tls_cert_file = cfg.http.tls_cert_file;
  ho.tls_key_file = cfg.http.tls_key_file;
  ho.redirect_host = cfg.http.redirect_host;
  ho.redirect_port = cfg.http.redirect_port;
  ho.ws_idle_timeout = std::chrono::seconds(cfg.http.ws_idle_timeout_s);
  http::Services services{*d.store,
                          *d.store,
                          *d.store,
                          *d.store,
                          d.clock,
                          *d.auth,
                          d.hub.get(),
                          [&d] { return d.health(); },
                          [&d](const std::string& thing) { return d.activity.last_seen(thing); },
                          d.provisioner.get(),
                          d.alarms.get()};
  services.notify = &d.notify->services();
  services.purge_thing = [&d](const ThingName& thing) { return d.purge_thing(thing); };
  d.server = std::make_unique<http::Server>(ho, std::move(services));
  auto port = d.server->start();
  if (!port) {
    d.pipeline->stop();
    return std::unexpected(port.error());
  }
  d.port = *port;
  d.ticker = std::make_unique<Ticker>(std::chrono::seconds(1), [&d] {
    d.hub->tick();
    // Liveness once a minute: `$stale` for a MW without periodic_log for two periods.
    if (++d.ticks % 60 == 0) {
      if (auto r = d.alarms->check_liveness(); !r) {
        logger()->warn("liveness check failed: {}", r.error().message);
      }
      d.refresh_crl_if_due();
    }
  });
  d.bridge->start();
  logger()->info("nbmsd {} ready: {}://{}:{} data {} broker {} ({})", kVersion,
                 cfg.http.tls() ? "https" : "http", cfg.http.host, d.port, cfg.storage.data_dir,
                 d.bridge->uri(), cfg.broker.mode);
  return {};
}

void Daemon::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  // Order matters: no new messages, then finish what is in flight, then the
  // readers, then the database.
  if (d.bridge) d.bridge->stop();
  if (d.pipeline) d.pipeline->stop();
  if (d.server) d.server->stop();
  d.ticker.reset();
  if (d.notify) d.notify->stop();  // after every producer of alarms and notices
  d.server.reset();
  d.provisioner.reset();
  d.pipeline.reset();
  d.router.reset();
  d.hub.reset();
  d.auth.reset();
  d.bridge.reset();
  if (d.broker) d.broker->stop();  // after the bridge: it disconnects cleanly first
  d.broker.reset();
  d.alarms.reset();
  d.notify.reset();
  d.store.reset();
  logger()->info("nbmsd stopped cleanly");
}

std::uint16_t Daemon::http_port() const {
  return impl_->port;
}

namespace {

constexpr const char* kUsage = R"(Usage: nbmsd [options]
  --config FILE          JSON config file (see config/nbmsd.example.json)
  --check-config         validate the configuration, print it and exit
  --data-dir DIR         where the database lives (storage.data_dir)
  --http-listen HOST:PORT  REST listener (http.listen; default 127.0.0.1:8080)
  --mqtt-uri URI         broker, tcp://HOST:PORT or ssl://HOST:PORT (mqtt.uri)
  --log-level LEVEL      trace debug info warn error critical off (log.level)
  --version              print the version and exit
  --help                 this text
)";

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> config_path, data_dir, http_listen, mqtt_uri, log_level;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::optional<std::string>& out) {
      if (i + 1 >= argc) {
        std::cerr << "nbmsd: " << arg << " needs a value\n" << kUsage;
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "nbmsd " << kVersion << "\n";
      return 0;
    } else if (arg == "--check-config") {
      check = true;
    } else if (arg == "--config") {
      if (!value(config_path)) return 2;
    } else if (arg == "--data-dir") {
      if (!value(data_dir)) return 2;
    } else if (arg == "--http-listen") {
      if (!value(http_listen)) return 2;
    } else if (arg == "--mqtt-uri") {
      if (!value(mqtt_uri)) return 2;
    } else if (arg == "--log-level") {
      if (!value(log_level)) return 2;
    } else {
      std::cerr << "nbmsd: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    }
  }

  Result<config::Config> cfg = config::Config{};
  if (config_path) cfg = config::load_file(*config_path);
  auto apply = [&](Result<void> r) {
    if (cfg && !r) cfg = std::unexpected(r.error());
  };
  if (cfg && data_dir) apply(config::apply_data_dir(*cfg, *data_dir));
  if (cfg && http_listen) apply(config::apply_http_listen(*cfg, *http_listen));
  if (cfg && mqtt_uri) apply(config::apply_mqtt_uri(*cfg, *mqtt_uri));
  if (cfg && log_level) cfg->log.level = *log_level;
  if (cfg) apply(config::validate(*cfg));
  if (!cfg) {
    std::cerr << "nbmsd: invalid configuration: " << cfg.error().message << "\n";
    return 2;
  }
  if (check) {
    if (auto secret = config::read_secret(cfg->mqtt.password_file); !secret) {
      std::cerr << "nbmsd: invalid configuration: " << secret.error().message << "\n";
      return 2;
    }
    if (auto secret = config::read_private_secret(cfg->notify.smtp_password_file); !secret) {
      std::cerr << "nbmsd: invalid configuration: notify.smtp_password_file: "
                << secret.error().message << "\n";
      return 2;
    }
    std::cout << config::to_json(*cfg) << "\n";
    return 0;
  }

  setup_logging(cfg->log.level);
  // Signals are taken synchronously by this thread; every thread started from
  // here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Daemon daemon(*cfg);
  if (auto started = daemon.start(); !started) {
    logger()->critical("cannot start: {}", started.error().message);
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  logger()->info("{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  daemon.stop();
  spdlog::shutdown();
  return 0;
}

}  // namespace nbms::app
