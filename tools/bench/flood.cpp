#include "flood.hpp"

#include <mosquitto.h>

#include <chrono>
#include <stdexcept>

namespace nbms::bench {

Flood::Flood(const std::string& uri, const std::string& client_id, int max_inflight) {
  constexpr std::string_view kScheme = "tcp://";
  if (!uri.starts_with(kScheme) || uri.find(':', kScheme.size()) == std::string::npos) {
    throw std::invalid_argument("broker must be tcp://HOST:PORT, got " + uri);
  }
  const auto colon = uri.rfind(':');
  host_ = uri.substr(kScheme.size(), colon - kScheme.size());
  port_ = std::stoi(uri.substr(colon + 1));
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.c_str(), true, this);
  if (!mosq_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_SEND_MAXIMUM, max_inflight);
  mosquitto_publish_callback_set(mosq_, &Flood::on_publish);
}

Flood::~Flood() {
  disconnect();
  mosquitto_destroy(mosq_);
  mosquitto_lib_cleanup();
}

void Flood::set_nodelay() {
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
}

std::string Flood::connect() {
  if (int rc = mosquitto_connect(mosq_, host_.c_str(), port_, 60); rc != MOSQ_ERR_SUCCESS) {
    return mosquitto_strerror(rc);
  }
  if (int rc = mosquitto_loop_start(mosq_); rc != MOSQ_ERR_SUCCESS) return mosquitto_strerror(rc);
  return {};
}

bool Flood::publish(const std::string& topic, const std::string& payload) {
  {
    std::lock_guard lock(mu_);
    ++published_;
  }
  return mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                           payload.data(), 1, false) == MOSQ_ERR_SUCCESS;
}

void Flood::on_publish(struct mosquitto*, void* self, int) {
  auto* f = static_cast<Flood*>(self);
  std::lock_guard lock(f->mu_);
  ++f->acked_;
  f->cv_.notify_all();
}

bool Flood::flush(long timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return acked_ >= published_; });
}

std::uint64_t Flood::acknowledged() {
  std::lock_guard lock(mu_);
  return acked_;
}

void Flood::disconnect() {
  if (!mosq_) return;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
}

}  // namespace nbms::bench
