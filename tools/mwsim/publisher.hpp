#pragma once
// One Paho async client (MQTT 3.1.1, QoS 1) shared by everything a tool publishes,
// with a bounded number of publishes in flight. Paho's callbacks only hand events
// to an EventQueue; the tool's own thread does all waiting (dependencies.md: never
// block or wait on tokens on Paho's thread).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace mqtt {
class async_client;
class delivery_token;
}  // namespace mqtt

namespace nbms::mwsim {

struct Event {
  enum class Kind { message, connected, connection_lost, stop };
  Kind kind = Kind::message;
  std::string topic;
  std::string payload;  // message payload, or the reason of connection_lost
};

// Events from Paho's thread (and from the signal thread) to the tool's thread.
class EventQueue {
 public:
  void push(Event e);
  // Waits until an event is queued or `deadline`; nullopt on timeout.
  std::optional<Event> pop_until(std::chrono::steady_clock::time_point deadline);
  // Sets the stop flag and wakes the waiter with a stop event.
  void request_stop();
  bool stopping() const { return stop_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::atomic<bool> stop_{false};
};

// Turns SIGINT and SIGTERM into EventQueue::request_stop(). Construct it before
// any other thread (Paho's included) so that they all inherit the blocked mask.
class SignalThread {
 public:
  explicit SignalThread(EventQueue& events, const char* program);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

struct PublisherOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  std::string client_id;
  std::size_t max_inflight = 100;  // QoS 1 publishes not yet acknowledged
  int keep_alive_s = 30;
  bool quiet = false;
  const char* program = "nbms";  // prefix of messages on stderr
  // ssl:// URIs: the CA file the broker's certificate must chain to, and the
  // client certificate and key (a provisioned thing's, from its bundle).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class Publisher {
 public:
  Publisher(PublisherOptions options, EventQueue& events);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Connects, retrying with backoff (1 s doubling to 30 s) and a message on stderr
  // until connected or a stop is requested. Afterwards Paho reconnects by itself.
  // False if stopped first.
  bool connect();
  // Subscribes at QoS 1 and waits (bounded) for the broker's answer.
  bool subscribe(const std::string& topic);
  // Queues a QoS 1 publish. While max_inflight publishes are unacknowledged, waits
  // for the oldest (on the caller's thread). False if a stop was requested meanwhile.
  bool publish(const std::string& topic, std::string payload);
  // Waits until every publish is acknowledged, a stop is requested, or `timeout`.
  // True if nothing is left in flight.
  bool flush(std::chrono::milliseconds timeout, bool ignore_stop = false);
  // Clean MQTT disconnect, bounded by `timeout`.
  void disconnect(std::chrono::milliseconds timeout);

  std::uint64_t published() const { return published_; }
  std::uint64_t acknowledged() const { return acknowledged_; }
  std::uint64_t failed() const { return failed_; }
  std::size_t in_flight() const { return inflight_.size(); }

 private:
  // Waits for the oldest in-flight token; false if it did not complete in `timeout`.
  bool wait_oldest(std::chrono::milliseconds timeout);

  PublisherOptions options_;
  EventQueue& events_;
  std::unique_ptr<mqtt::async_client> client_;
  std::deque<std::shared_ptr<mqtt::delivery_token>> inflight_;
  std::uint64_t published_ = 0;
  std::uint64_t acknowledged_ = 0;
  std::uint64_t failed_ = 0;
  bool disconnected_ = false;
};

}  // namespace nbms::mwsim
