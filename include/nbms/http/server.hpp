#pragma once
// REST API and the realtime WebSocket over HTTP/1.1 or HTTPS (Boost.Beast).
// Owns its io_context and worker threads; every connection runs as a coroutine
// on its own strand. Reads go straight to the storage ports (RocksDB reads are
// short and thread-safe); every call is authenticated through AuthService.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nbms/alarms/service.hpp"
#include "nbms/auth/service.hpp"
#include "nbms/core/error.hpp"
#include "nbms/core/notification_ports.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/provisioning/service.hpp"
#include "nbms/realtime/hub.hpp"

namespace nbms::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (tests)
  std::size_t threads = 2;
  std::size_t body_limit = 1 << 20;  // bytes; larger bodies get 413
  std::string web_root;              // static files; empty = none served
  // HTTPS when both are set (PEM). Loaded by start(); errors are startup errors.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With HTTPS: a plain-HTTP listener that redirects to it (port 0 = none).
  std::string redirect_host;
  std::uint16_t redirect_port = 0;
  // WebSocket: a client from which nothing (no message, no pong) arrived for
  // this long is closed and its subscriptions released; a ping goes out after
  // half of it, which every live client answers by itself. Under 2 s is raised
  // to 2 s.
  std::chrono::seconds ws_idle_timeout{60};
};

// Notifications (routes_notify.cpp): users' subscriptions and endpoints, their
// delivery status, notices. The daemon owns what is behind it.
struct NotifyServices {
  SubscriptionStore& subscriptions;
  OutboxStore& outbox;
  // Fans a notice out and stores its deliveries (Dispatcher::enqueue).
  std::function<Result<std::vector<Delivery>>(const Notification&)> enqueue;
  std::string vapid_public_key;       // base64url; empty: Web Push is off
  std::vector<ChannelKind> channels;  // the channels nbmsd can deliver on
};

struct Services {
  Registry& registry;
  PointStore& points;
  SeriesStore& series;
  DeadLetterStore& dead_letters;
  const Clock& clock;
  auth::AuthService& auth;
  // The realtime hub behind /api/v1/ws; nullptr: no WebSocket (404).
  realtime::Hub* hub = nullptr;
  // Builds the body of GET /api/v1/health (state of each part, counters).
  std::function<nlohmann::json()> health;
  // When nbmsd last received a message from a thing (unix ms), if it did since start.
  std::function<std::optional<std::int64_t>(const std::string& thing)> last_seen;
  // Certificates of things and the CA (routes_provisioning.cpp); nullptr: those
  // routes answer 503.
  provisioning::Service* provisioning = nullptr;
  // The alarm console (routes_alarms.cpp) and the WebSocket alarm feed;
  // nullptr: those routes answer 503 and alarms.subscribe is unavailable.
  alarms::Service* alarms = nullptr;
  // Notifications; nullptr: the /notify routes answer 503.
  const NotifyServices* notify = nullptr;
  // Deletes a thing's data and every cache of it, serialised with ingest
  // (DELETE .../things/{t}, after its certificates were revoked); empty: that
  // route answers 503.
  std::function<Result<PurgedData>(const ThingName&)> purge_thing;
};

class Server {
 public:
  Server(ServerOptions options, Services services);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; returns the bound port. Fails if the address
  // cannot be bound or the TLS certificate/key cannot be loaded.
  Result<std::uint16_t> start();
  // The redirect listener's bound port (0 if none); valid after start().
  std::uint16_t redirect_port() const;
  // Graceful: stop accepting, let in-flight requests finish (bounded), join threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::http
