#pragma once
// The ingest pipeline: one worker thread that owns the Router and handles
// messages strictly in arrival order (which keeps each building's data in
// order). Producers (the MQTT bridge, on Paho's thread) hand a message over a
// bounded queue and wait until it is durably stored or rejected: that wait is
// the backpressure that keeps unprocessed messages in the broker. A message
// storage cannot take (disk full, I/O error) is retried with backoff, so it is
// never dropped.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "nbms/ingest/router.hpp"

namespace nbms::ingest {

struct PipelineOptions {
  std::size_t capacity = 256;  // queued messages before producers block
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
  // How often the worker runs maintenance (sealing late rows) when asked to.
  std::chrono::milliseconds maintenance_every{std::chrono::minutes(10)};
  // Messages held back by the per-thing limits are handled at their thing's
  // rate between arriving messages, and all at once after this long without one.
  std::chrono::milliseconds idle_gap{5};
};

class Pipeline {
 public:
  Pipeline(Router& router, PipelineOptions options, std::function<void()> maintenance = {});
  ~Pipeline();  // stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Enqueues the message and blocks until it is handled. Returns false if the
  // pipeline stopped before the message was durably handled. The views need
  // only live for the call (the worker is done with them when it returns), so
  // the MQTT payload is never copied.
  bool submit_and_wait(std::string_view topic, std::string_view payload);
  // Runs `task` on the worker between two messages, after every message
  // queued before it, and blocks until it ran: whatever it does is serialised
  // with ingest (nbmsd purges a thing this way). False if the pipeline stopped
  // before it ran. The task must not call into the pipeline.
  bool run_exclusive(std::function<void()> task);
  // Enqueues without waiting (tests, tools); false if stopped or full.
  bool try_submit(std::string topic, std::string payload);

  // Finishes what is queued (each retried until stored or until `drain_deadline`
  // passes), then joins the worker. Idempotent.
  void stop(std::chrono::milliseconds drain_deadline = std::chrono::seconds(10));

  // True while a message is being retried because storage refuses it.
  bool stalled() const { return stalled_.load(); }
  // Why storage refused the message being retried ("" when not stalled).
  std::string stall_reason() const;
  // Storage failures that made the pipeline retry a message.
  std::uint64_t retries() const { return retries_.load(); }
  std::size_t queued() const;

 private:
  struct Item {
    std::string_view topic;
    std::string_view payload;
    std::promise<bool> done;  // set when stored/rejected (true) or abandoned (false)
    // try_submit's copies; submit_and_wait's caller keeps its own data alive.
    std::shared_ptr<const std::pair<std::string, std::string>> owned;
    std::function<void()> task;  // run_exclusive's: run instead of a message
  };

  void run();
  bool process(Item& item);
  void release_held(bool idle);
  bool enqueue(Item&& item, bool block);

  Router& router_;
  PipelineOptions options_;
  std::function<void()> maintenance_;

  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_until_{};
  std::atomic<bool> stalled_{false};
  std::string stall_reason_;  // under mu_
  // The worker's own: when it last took a message, and when it may try held
  // messages again after storage refused one.
  std::chrono::steady_clock::time_point last_item_{};
  std::chrono::steady_clock::time_point release_pause_until_{};
  bool release_failing_ = false;
  std::atomic<std::uint64_t> retries_{0};
  std::thread worker_;
};

}  // namespace nbms::ingest
