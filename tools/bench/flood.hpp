#pragma once
// The benchmark's load generator: floods QoS 1 publishes through libmosquitto.
// Paho C was measured here to stall as a *sender* of ~100 KB messages (a
// partial socket write waits until an incoming packet wakes its thread), which
// made the benchmark measure the generator instead of nbmsd; libmosquitto
// keeps its socket written while there is room. nbmsd itself uses Paho.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

struct mosquitto;

namespace nbms::bench {

class Flood {
 public:
  // host/port from a tcp://HOST:PORT uri.
  Flood(const std::string& uri, const std::string& client_id, int max_inflight);
  ~Flood();
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;

  // Sends every packet at once (TCP_NODELAY) instead of letting Nagle's
  // algorithm batch small ones; for latency measurements. Before connect().
  void set_nodelay();
  // Connects and starts libmosquitto's network thread; the error text on failure.
  std::string connect();
  // Queues a QoS 1 publish (libmosquitto keeps at most max_inflight unacknowledged
  // and queues the rest). False if libmosquitto refused it.
  bool publish(const std::string& topic, const std::string& payload);
  // Waits until every publish is acknowledged or `timeout_ms` passes.
  bool flush(long timeout_ms);
  std::uint64_t acknowledged();
  void disconnect();

 private:
  static void on_publish(struct mosquitto*, void* self, int mid);
  std::string host_;
  int port_ = 1883;
  mosquitto* mosq_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t published_ = 0;
  std::uint64_t acked_ = 0;
};

}  // namespace nbms::bench
