#pragma once
// A Paho test client over TLS with a client certificate (or plain), shared by
// the broker tests (broker_tls_test, managed_broker_test). Header-only: each
// test file keeps its own few clients (Paho's later clients in one process
// take ~2 s each to connect, paho.mqtt.c #1430).
#include <mqtt/async_client.h>

#include <optional>
#include <string>
#include <vector>

#include "integration/harness.hpp"

namespace nbms::it {

// Client certificate and key files of one identity.
struct Identity {
  fs::path cert;
  fs::path key;
};

// One Paho client (MQTT 3.1.1, clean session): over TLS with a client
// certificate, or plain (empty `ca`) with an optional user name.
class TlsClient {
 public:
  TlsClient(const std::string& uri, const std::string& client_id, const fs::path& ca,
            std::optional<Identity> identity, std::string user_name = {},
            std::optional<mqtt::will_options> will = std::nullopt)
      : client_(uri, client_id,
                mqtt::create_options_builder().mqtt_version(MQTTVERSION_3_1_1).finalize(), nullptr),
        ca_(ca),
        identity_(std::move(identity)),
        user_name_(std::move(user_name)),
        will_(std::move(will)) {
    client_.start_consuming();
  }
  ~TlsClient() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(5s);
    } catch (const std::exception&) {
    }
    client_.stop_consuming();
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // True if the broker accepted the connection; the failure text otherwise in `error`.
  bool connect(std::string* error = nullptr) {
    auto builder = mqtt::connect_options_builder()
                       .clean_session(true)
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .keep_alive_interval(30s)
                       .connect_timeout(5s);
    if (!ca_.empty()) {
      auto ssl = mqtt::ssl_options_builder()
                     .trust_store(ca_.string())
                     .enable_server_cert_auth(true)
                     .verify(true);
      if (identity_) ssl.key_store(identity_->cert.string()).private_key(identity_->key.string());
      builder.ssl(ssl.finalize());
    }
    if (!user_name_.empty()) builder.user_name(user_name_);
    if (will_) builder.will(*will_);
    const auto options = builder.finalize();
    try {
      if (!client_.connect(options)->wait_for(10s)) {
        if (error) *error = "connect timed out";
        return false;
      }
      return true;
    } catch (const mqtt::exception& e) {
      if (error) *error = e.what();
      return false;
    }
  }
  bool connected() { return client_.is_connected(); }

  // QoS 1; returns once PUBACKed. Mosquitto acknowledges a publish its ACL
  // denies too (and drops it), so success here says nothing about delivery.
  void publish(const std::string& topic, const std::string& payload) {
    auto tok = client_.publish(mqtt::make_message(topic, payload, 1, false));
    if (!tok->wait_for(10s)) throw std::runtime_error("no PUBACK for " + topic);
  }
  // Returns the granted QoS codes (3.1.1: 0..2, or 0x80 failure).
  std::vector<int> subscribe(const std::vector<std::string>& filters) {
    auto topics = std::make_shared<mqtt::string_collection>();
    std::vector<int> qos;
    for (const auto& f : filters) {
      topics->push_back(f);
      qos.push_back(1);
    }
    auto tok = client_.subscribe(topics, qos);
    if (!tok->wait_for(10s)) throw std::runtime_error("no SUBACK");
    const auto codes = tok->get_subscribe_response().get_reason_codes();
    return std::vector<int>(codes.begin(), codes.end());
  }
  // Waits for Paho's "connection lost" marker (messages before it are
  // dropped): true once the broker closed the connection, false on timeout.
  bool wait_connection_lost(std::chrono::milliseconds timeout = kEventTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      mqtt::const_message_ptr msg;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!client_.try_consume_message_for(&msg, left)) return false;
      if (!msg) return true;
    }
    return false;
  }
  std::optional<MqttMessage> receive(std::chrono::milliseconds timeout = kEventTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      mqtt::const_message_ptr msg;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!client_.try_consume_message_for(&msg, left)) return std::nullopt;
      if (msg) return MqttMessage{msg->get_topic(), msg->to_string()};
      // A null message is Paho's "connection lost" marker: keep waiting.
    }
    return std::nullopt;
  }

 private:
  mqtt::async_client client_;
  fs::path ca_;
  std::optional<Identity> identity_;
  std::string user_name_;
  std::optional<mqtt::will_options> will_;
};

}  // namespace nbms::it
