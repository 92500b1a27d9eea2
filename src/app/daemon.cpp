#include "nbms/app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include "nbms/http/server.hpp"
#include "nbms/ingest/pipeline.hpp"
#include "nbms/ingest/router.hpp"
#include "nbms/mqtt/bridge.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::app {
namespace {

constexpr const char* kVersion = NBMS_VERSION;
constexpr const char* kLoggers[] = {"nbmsd", "mqtt", "ingest", "storage", "http"};

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

struct Daemon::Impl {
  config::Config config;
  SystemClock clock;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<mqtt::Bridge> bridge;
  std::unique_ptr<ingest::Router> router;
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  bool stopped = false;

  nlohmann::json health() const {
    const auto mq = bridge->stats();
    const auto& c = router->counters();
    nlohmann::json reasons = nlohmann::json::object();
    for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
      reasons[std::string(ingest::to_string(static_cast<ingest::Reject>(i)))] =
          c.by_reason[i].load();
    }
    const bool stalled = pipeline->stalled();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started_at);
    return {
        {"status", mq.connected && !stalled ? "ok" : "degraded"},
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
          {"data_dir", config.storage.data_dir},
          {"retries", pipeline->retries()}}},
        {"ingest",
         {{"messages", c.messages.load()},
          {"samples", c.samples.load()},
          {"rejected", c.rejected.load()},
          {"missing_values", c.missing.load()},
          {"queued", pipeline->queued()},
          {"rejected_by_reason", reasons}}},
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
  storage::StoreOptions so;
  so.path = (std::filesystem::path(cfg.storage.data_dir) / "db").string();
  so.sync_writes = cfg.storage.sync_writes;
  so.dead_letter_limit = cfg.storage.dead_letter_limit;
  so.block_cache_bytes = cfg.storage.block_cache_mb << 20;
  auto store = storage::RocksStore::open(so, d.clock);
  if (!store) return std::unexpected(store.error());
  d.store = std::move(*store);

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

  d.router = std::make_unique<ingest::Router>(
      ingest::Router::Ports{*d.store, *d.store, *d.store, *d.store, *d.bridge, d.clock},
      ingest::RouterOptions{cfg.mqtt.max_message_bytes});
  ingest::PipelineOptions po;
  po.capacity = cfg.mqtt.queue_capacity;
  d.pipeline = std::make_unique<ingest::Pipeline>(*d.router, po, [&d] {
    if (auto sealed = d.store->seal(); !sealed) {
      logger()->warn("sealing late rows failed: {}", sealed.error().message);
    }
  });

  http::ServerOptions ho;
  ho.host = cfg.http.host;
  ho.port = cfg.http.port;
  ho.threads = cfg.http.threads;
  ho.body_limit = cfg.http.body_limit_bytes;
  ho.web_root = cfg.http.web_root;
  d.server = std::make_unique<http::Server>(
      ho,
      http::Services{*d.store, *d.store, *d.store, *d.store, d.clock, [&d] { return d.health(); }});
  auto port = d.server->start();
  if (!port) {
    d.pipeline->stop();
    return std::unexpected(port.error());
  }
  d.port = *port;
  d.bridge->start();
  logger()->info("nbmsd {} ready: http://{}:{} data {} broker {}", kVersion, cfg.http.host, d.port,
                 cfg.storage.data_dir, cfg.mqtt.uri);
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
  d.server.reset();
  d.pipeline.reset();
  d.router.reset();
  d.bridge.reset();
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
