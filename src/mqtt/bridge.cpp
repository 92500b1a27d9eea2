#include "nbms/mqtt/bridge.hpp"

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace nbms::mqtt {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto existing = spdlog::get("mqtt");
    return existing ? existing : spdlog::default_logger()->clone("mqtt");
  }();
  return log;
}

constexpr int kQos = 1;

}  // namespace

struct Bridge::Impl {
  BridgeOptions options;
  Handler handler;
  std::unique_ptr<::mqtt::async_client> client;
  std::thread supervisor;
  // Commands wait here for the sender thread. Paho's publish takes a library
  // lock that its receive thread holds while our message callback runs, and
  // that callback waits for the ingest worker: the worker must never call
  // Paho itself, or both wait forever.
  std::thread sender;
  std::deque<::mqtt::message_ptr> outbox;
  std::condition_variable outbox_cv;
  bool sender_stopping = false;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  bool lost = false;

  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> connects{0}, losses{0}, received{0}, published{0}, publish_failures{0};

  Impl(BridgeOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    auto create = ::mqtt::create_options_builder()
                      .mqtt_version(MQTTVERSION_3_1_1)
                      .send_while_disconnected(true)
                      .max_buffered_messages(options.max_buffered)
                      .finalize();
    // No client-side persistence: the broker's persistent session keeps what
    // we have not received, and nbmsd's own store is the durable side.
    client =
        std::make_unique<::mqtt::async_client>(options.uri, options.client_id, create, nullptr);
    client->set_message_callback([this](const ::mqtt::const_message_ptr& msg) {
      ++received;
      // Runs on Paho's thread; the handler blocks until the message is durable.
      handler(msg->get_topic(), msg->get_payload_str());
    });
    client->set_connection_lost_handler([this](const std::string& cause) {
      connected = false;
      ++losses;
      logger()->warn("connection to {} lost{}{}", options.uri, cause.empty() ? "" : ": ", cause);
      std::lock_guard lock(mu);
      lost = true;
      cv.notify_all();
    });
  }

  ::mqtt::connect_options connect_options() const {
    auto b = ::mqtt::connect_options_builder()
                 .clean_session(false)
                 .keep_alive_interval(std::chrono::seconds(options.keepalive_s))
                 .connect_timeout(std::chrono::seconds(options.connect_timeout_s))
                 .mqtt_version(MQTTVERSION_3_1_1)
                 .automatic_reconnect(false);
    if (!options.username.empty()) b.user_name(options.username);
    if (!options.password.empty()) b.password(options.password);
    if (options.uri.starts_with("ssl://")) {
      auto ssl = ::mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true);
      if (!options.tls_ca_file.empty()) ssl.trust_store(options.tls_ca_file);
      if (!options.tls_cert_file.empty()) {
        ssl.key_store(options.tls_cert_file).private_key(options.tls_key_file);
      }
      // Paho reports TLS failures only as "TCP connect completion failure";
      // OpenSSL's reason goes to the log.
      ssl.error_handler([](const std::string& msg) { logger()->warn("TLS: {}", msg); });
      b.ssl(ssl.finalize());
    }
    return b.finalize();
  }

  // One connect + subscribe attempt; throws mqtt::exception or runtime_error.
  void connect_once() {
    const auto timeout = std::chrono::seconds(options.connect_timeout_s + 1);
    auto tok = client->connect(connect_options());
    if (!tok->wait_for(timeout)) throw std::runtime_error("connect timed out");
    const bool session_present = tok->get_connect_response().is_session_present();
    // Subscribe every time: cheap, idempotent, and covers a broker that lost the session.
    auto topics = std::make_shared<::mqtt::string_collection>();
    std::vector<int> qos;
    for (const char* t : kIngestTopics) {
      topics->push_back(t);
      qos.push_back(kQos);
    }
    auto sub = client->subscribe(topics, qos);
    if (!sub->wait_for(timeout)) throw std::runtime_error("subscribe timed out");
    const auto response = sub->get_subscribe_response();
    for (int granted : response.get_reason_codes()) {
      if (granted >= 0x80) throw std::runtime_error("broker refused the ingest subscription");
    }
    connected = true;
    ++connects;
    logger()->info("connected to {} as '{}' (session {})", options.uri, options.client_id,
                   session_present ? "resumed" : "new");
  }

  void send_loop() {
    for (;;) {
      ::mqtt::message_ptr msg;
      {
        std::unique_lock lock(mu);
        outbox_cv.wait(lock, [&] { return sender_stopping || !outbox.empty(); });
        if (outbox.empty()) return;
        msg = std::move(outbox.front());
        outbox.pop_front();
      }
      try {
        client->publish(msg);  // the token is not awaited: never block here
        ++published;
      } catch (const ::mqtt::exception& e) {
        ++publish_failures;
        logger()->warn("cannot publish to '{}': {}", msg->get_topic(), e.what());
      }
    }
  }

  void run() {
    auto delay = options.reconnect_min;
    std::uint64_t failures = 0;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
        lost = false;
      }
      if (!client->is_connected()) {
        try {
          connect_once();
          delay = options.reconnect_min;
          failures = 0;
        } catch (const std::exception& e) {
          connected = false;
          // First failure and then every tenth at warn, the rest at debug.
          if (failures++ % 10 == 0) {
            logger()->warn("cannot connect to {}: {} (retrying, next in {} ms)", options.uri,
                           e.what(), delay.count());
          } else {
            logger()->debug("cannot connect to {}: {}", options.uri, e.what());
          }
          try {
            if (client->is_connected()) client->disconnect()->wait_for(std::chrono::seconds(1));
          } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): best effort before the
                                             // retry, whose failure is logged above
          }
          std::unique_lock lock(mu);
          cv.wait_for(lock, delay, [&] { return stopping; });
          delay = std::min(delay * 2, options.reconnect_max);
          continue;
        }
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || lost; });
    }
  }
};

Bridge::Bridge(BridgeOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Bridge::~Bridge() {
  stop();
}

void Bridge::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return;
  impl_->started = true;
  impl_->supervisor = std::thread([this] { impl_->run(); });
  impl_->sender = std::thread([this] { impl_->send_loop(); });
}

void Bridge::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  {
    // Hand Paho what is queued (it sends it before disconnecting), then stop.
    std::lock_guard lock(impl_->mu);
    impl_->sender_stopping = true;
    impl_->outbox_cv.notify_all();
  }
  if (impl_->sender.joinable()) impl_->sender.join();
  try {
    if (impl_->client->is_connected()) {
      impl_->client->disconnect(std::chrono::seconds(2))->wait_for(std::chrono::seconds(5));
    }
  } catch (const std::exception& e) {
    logger()->warn("disconnect from {}: {}", impl_->options.uri, e.what());
  }
  impl_->connected = false;
}

Result<void> Bridge::publish(const std::string& topic, std::string payload) {
  std::lock_guard lock(impl_->mu);
  if (impl_->sender_stopping || !impl_->started) {
    ++impl_->publish_failures;
    return fail(Errc::unavailable, "cannot publish to '" + topic + "': the bridge is not running");
  }
  if (impl_->outbox.size() >= static_cast<std::size_t>(impl_->options.max_buffered)) {
    ++impl_->publish_failures;
    return fail(Errc::unavailable, "cannot publish to '" + topic +
                                       "': " + std::to_string(impl_->outbox.size()) +
                                       " commands already wait for the broker");
  }
  impl_->outbox.push_back(::mqtt::make_message(topic, std::move(payload), kQos, false));
  impl_->outbox_cv.notify_one();
  return {};
}

BridgeStats Bridge::stats() const {
  return BridgeStats{impl_->connected.load(), impl_->connects.load(),
                     impl_->losses.load(),    impl_->received.load(),
                     impl_->published.load(), impl_->publish_failures.load()};
}

const std::string& Bridge::uri() const {
  return impl_->options.uri;
}

}  // namespace nbms::mqtt
