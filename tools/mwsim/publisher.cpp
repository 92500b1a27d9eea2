#include "publisher.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <pthread.h>

#include <mqtt/async_client.h>

namespace nbms::mwsim {

void EventQueue::push(Event e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

std::optional<Event> EventQueue::pop_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline, [this] { return !events_.empty(); })) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void EventQueue::request_stop() {
  stop_.store(true);
  push(Event{Event::Kind::stop, {}, {}});
}

SignalThread::SignalThread(EventQueue& events, const char* program) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set, &events, program] {
    const timespec tick{0, 200'000'000};
    int received = 0;
    while (!done_.load()) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig != SIGINT && sig != SIGTERM) continue;
      if (++received > 1) {
        std::fprintf(stderr, "%s: second signal, exiting at once\n", program);
        std::_Exit(130);
      }
      std::fprintf(stderr, "%s: %s received, stopping (again to exit at once)\n", program,
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      events.request_stop();
    }
  });
}

SignalThread::~SignalThread() {
  done_.store(true);
  thread_.join();
}

Publisher::Publisher(PublisherOptions options, EventQueue& events)
    : options_(std::move(options)), events_(events) {
  const auto create = mqtt::create_options_builder()
                          .mqtt_version(MQTTVERSION_3_1_1)
                          .send_while_disconnected(true)
                          .max_buffered_messages(static_cast<int>(options_.max_inflight) + 1000)
                          .finalize();
  client_ = std::make_unique<mqtt::async_client>(options_.uri, options_.client_id, create);
  // Paho's thread: hand over and return at once.
  client_->set_connected_handler([this](const std::string& cause) {
    events_.push({Event::Kind::connected, {}, cause});
  });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    events_.push({Event::Kind::connection_lost, {}, cause});
  });
  client_->set_message_callback([this](const mqtt::const_message_ptr& m) {
    events_.push({Event::Kind::message, m->get_topic(), m->to_string()});
  });
}

Publisher::~Publisher() {
  try {
    if (!disconnected_ && client_->is_connected()) disconnect(std::chrono::seconds(1));
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; disconnecting is
                   // best effort
  }
}

bool Publisher::connect() {
  auto builder =
      mqtt::connect_options_builder()
          .mqtt_version(MQTTVERSION_3_1_1)
          .clean_session(true)
          .keep_alive_interval(std::chrono::seconds(options_.keep_alive_s))
          .connect_timeout(std::chrono::seconds(5))
          .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
          .max_inflight(static_cast<int>(std::min<std::size_t>(options_.max_inflight, 65535)));
  if (options_.uri.starts_with("ssl://")) {
    auto ssl = mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true);
    if (!options_.ca_file.empty()) ssl.trust_store(options_.ca_file);
    if (!options_.cert_file.empty()) {
      ssl.key_store(options_.cert_file).private_key(options_.key_file);
    }
    builder.ssl(ssl.finalize());
  }
  const auto opts = builder.finalize();
  auto backoff = std::chrono::seconds(1);
  while (!events_.stopping()) {
    std::string reason;
    try {
      if (client_->is_connected()) return true;
      auto token = client_->connect(opts);
      if (token->wait_for(std::chrono::seconds(8))) return true;
      reason = "no answer within 8 s";
    } catch (const mqtt::exception& e) {
      reason = e.what();
    }
    if (client_->is_connected()) return true;
    std::fprintf(stderr, "%s: cannot connect to %s (%s); retrying in %lld s\n", options_.program,
                 options_.uri.c_str(), reason.c_str(), static_cast<long long>(backoff.count()));
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (!events_.stopping() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
  return false;
}

bool Publisher::subscribe(const std::string& topic) {
  try {
    auto token = client_->subscribe(topic, 1);
    if (!token->wait_for(std::chrono::seconds(5))) {
      std::fprintf(stderr, "%s: no SUBACK for %s within 5 s\n", options_.program, topic.c_str());
      return false;
    }
    return true;
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "%s: subscribe %s failed: %s\n", options_.program, topic.c_str(),
                 e.what());
    return false;
  }
}

bool Publisher::wait_oldest(std::chrono::milliseconds timeout) {
  if (inflight_.empty()) return true;
  auto& token = inflight_.front();
  try {
    if (!token->wait_for(timeout)) return false;
    ++acknowledged_;
  } catch (const mqtt::exception& e) {
    ++failed_;
    if (!options_.quiet) {
      std::fprintf(stderr, "%s: publish failed: %s\n", options_.program, e.what());
    }
  }
  inflight_.pop_front();
  return true;
}

bool Publisher::publish(const std::string& topic, std::string payload) {
  // Throttle: wait for the oldest delivery while too many are unacknowledged. A
  // delivery that stays unacknowledged for a minute (lost across a reconnect with
  // a clean session) is given up.
  auto waited = std::chrono::milliseconds(0);
  while (inflight_.size() >= options_.max_inflight) {
    if (events_.stopping()) return false;
    if (wait_oldest(std::chrono::milliseconds(200))) {
      waited = std::chrono::milliseconds(0);
      continue;
    }
    waited += std::chrono::milliseconds(200);
    if (waited >= std::chrono::seconds(60)) {
      std::fprintf(stderr, "%s: a publish was not acknowledged within 60 s; giving it up\n",
                   options_.program);
      inflight_.pop_front();
      ++failed_;
      waited = std::chrono::milliseconds(0);
    }
  }
  try {
    auto msg = mqtt::message::create(topic, mqtt::binary_ref(std::move(payload)), 1, false);
    inflight_.push_back(client_->publish(msg));
    ++published_;
  } catch (const mqtt::exception& e) {
    ++failed_;
    std::fprintf(stderr, "%s: publish to %s not queued: %s\n", options_.program, topic.c_str(),
                 e.what());
  }
  return true;
}

bool Publisher::flush(std::chrono::milliseconds timeout, bool ignore_stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!inflight_.empty()) {
    if (!ignore_stop && events_.stopping()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    wait_oldest(std::min(left, std::chrono::milliseconds(200)));
  }
  return true;
}

void Publisher::disconnect(std::chrono::milliseconds timeout) {
  disconnected_ = true;
  try {
    auto token = client_->disconnect(static_cast<int>(timeout.count()));
    token->wait_for(timeout + std::chrono::seconds(1));
  } catch (const mqtt::exception& e) {
    if (!options_.quiet) {
      std::fprintf(stderr, "%s: disconnect: %s\n", options_.program, e.what());
    }
  }
}

}  // namespace nbms::mwsim
