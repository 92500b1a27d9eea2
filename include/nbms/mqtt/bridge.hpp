#pragma once
// The MQTT bridge (Eclipse Paho MQTT C++): keeps one persistent-session
// connection to the broker (clean session off, stable client id, QoS 1),
// subscribes to the MW ingest topics, hands every message to a handler, and
// publishes commands to MWs. Owns the Paho client and a supervisor thread that
// connects, reconnects with exponential backoff and resubscribes. The handler
// runs on Paho's callback thread and may block (backpressure) but must never
// wait on a Paho token.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "nbms/core/ports.hpp"

namespace nbms::mqtt {

struct BridgeOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  std::string client_id = "nbmsd";
  std::string username;
  std::string password;
  int keepalive_s = 30;
  int connect_timeout_s = 10;
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{30000};
  int max_buffered = 10000;  // commands queued while disconnected
  // ssl:// only: the CA file the broker's certificate must chain to (empty:
  // the system's trust store), and the client certificate and key to present
  // (both or neither). The broker's name (host of `uri`) is verified.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The ingest subscriptions: `<thing>/<point>` and the AWS basic-ingest form.
inline constexpr const char* kIngestTopics[] = {"+/+", "$aws/rules/+/+/+"};

struct BridgeStats {
  bool connected = false;
  std::uint64_t connects = 0;
  std::uint64_t connection_losses = 0;
  std::uint64_t received = 0;
  std::uint64_t published = 0;
  std::uint64_t publish_failures = 0;
};

class Bridge final : public CommandPublisher {
 public:
  // Called on Paho's thread for every message; the views live for the call only.
  using Handler = std::function<void(std::string_view topic, std::string_view payload)>;

  Bridge(BridgeOptions options, Handler handler);
  ~Bridge() override;  // stop()
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Starts connecting in the background (retrying until it succeeds).
  void start();
  // Stops intake and disconnects explicitly (bounded wait). Idempotent.
  void stop();

  Result<void> publish(const std::string& topic, std::string payload) override;
  BridgeStats stats() const;
  const std::string& uri() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::mqtt
