#include "nbms/ingest/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace nbms::ingest {

Pipeline::Pipeline(Router& router, PipelineOptions options, std::function<void()> maintenance)
    : router_(router), options_(options), maintenance_(std::move(maintenance)) {
  worker_ = std::thread([this] { run(); });
}

Pipeline::~Pipeline() {
  stop();
}

bool Pipeline::enqueue(Item&& item, bool block) {
  std::unique_lock lock(mu_);
  if (block) {
    not_full_.wait(lock, [&] { return stopping_ || queue_.size() < options_.capacity; });
  }
  if (stopping_ || queue_.size() >= options_.capacity) return false;
  queue_.push_back(std::move(item));
  not_empty_.notify_one();
  return true;
}

bool Pipeline::submit_and_wait(std::string_view topic, std::string_view payload) {
  Item item{topic, payload, {}, nullptr, {}};
  auto done = item.done.get_future();
  if (!enqueue(std::move(item), true)) return false;
  return done.get();
}

bool Pipeline::run_exclusive(std::function<void()> task) {
  Item item{{}, {}, {}, nullptr, std::move(task)};
  auto done = item.done.get_future();
  if (!enqueue(std::move(item), true)) return false;
  return done.get();
}

bool Pipeline::try_submit(std::string topic, std::string payload) {
  auto owned = std::make_shared<const std::pair<std::string, std::string>>(std::move(topic),
                                                                           std::move(payload));
  return enqueue(Item{owned->first, owned->second, {}, owned, {}}, false);
}

std::string Pipeline::stall_reason() const {
  std::lock_guard lock(mu_);
  return stall_reason_;
}

std::size_t Pipeline::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Pipeline::stop(std::chrono::milliseconds drain_deadline) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !worker_.joinable()) return;
    if (!stopping_) {
      stopping_ = true;
      drain_until_ = std::chrono::steady_clock::now() + drain_deadline;
    }
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// Handles one item, retrying storage failures with backoff. Returns false if
// the pipeline is stopping and the drain deadline passed before it was stored.
bool Pipeline::process(Item& item) {
  if (item.task) {
    item.task();
    return true;
  }
  auto delay = options_.retry_min;
  for (;;) {
    auto outcome = router_.handle(item.topic, item.payload);
    if (outcome) {
      if (stalled_.exchange(false)) {
        spdlog::info("ingest: storage accepts writes again; intake resumed after {} retries",
                     retries_.load());
        std::lock_guard lock(mu_);
        stall_reason_.clear();
      }
      return true;
    }
    ++retries_;
    {
      // The reason first: whoever sees stalled() sees why.
      std::lock_guard lock(mu_);
      stall_reason_ = outcome.error().message;
    }
    if (!stalled_.exchange(true)) {
      spdlog::error("ingest: storage refused a message ({}); holding intake and retrying",
                    outcome.error().message);
    }
    std::unique_lock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + delay;
    not_empty_.wait_until(
        lock, until, [&] { return stopping_ && std::chrono::steady_clock::now() >= drain_until_; });
    if (stopping_ && std::chrono::steady_clock::now() >= drain_until_) return false;
    delay = std::min(delay * 2, options_.retry_max);
  }
}

// One held-back message (Router::release_one). A storage failure pauses the
// held messages for a while; arriving messages meet the same failure in
// process(), which holds intake and reports it.
void Pipeline::release_held(bool idle) {
  const auto now = std::chrono::steady_clock::now();
  if (!router_.has_backlog() || now < release_pause_until_) return;
  auto released = router_.release_one(idle);
  if (!released) {
    if (!release_failing_) {
      spdlog::warn("ingest: cannot handle a held-back message ({}); retrying",
                   released.error().message);
    }
    release_failing_ = true;
    release_pause_until_ = now + options_.retry_max;
    return;
  }
  release_failing_ = false;
  // Nothing was eligible although some are held: look again a little later.
  if (!*released) release_pause_until_ = now + options_.idle_gap;
}

void Pipeline::run() {
  using SteadyClock = std::chrono::steady_clock;
  auto next_maintenance = SteadyClock::now() + options_.maintenance_every;
  last_item_ = SteadyClock::now();
  for (;;) {
    if (SteadyClock::now() >= next_maintenance) {
      if (maintenance_) maintenance_();
      next_maintenance = SteadyClock::now() + options_.maintenance_every;
    }
    Item item;
    bool have = false;
    {
      std::unique_lock lock(mu_);
      auto until = next_maintenance;
      if (router_.has_backlog()) {
        until = std::min(until, std::max(release_pause_until_, last_item_ + options_.idle_gap));
      }
      not_empty_.wait_until(lock, until, [&] { return stopping_ || !queue_.empty(); });
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
        not_full_.notify_one();
        have = true;
      } else if (stopping_) {
        return;  // held-back messages stay in the spool for the next start
      }
    }
    if (!have) {
      if (SteadyClock::now() >= last_item_ + options_.idle_gap) release_held(true);
      continue;
    }
    const bool stored = process(item);
    item.done.set_value(stored);
    if (!stored) {
      // Stopping with storage still refusing: give the rest back unprocessed.
      std::lock_guard lock(mu_);
      for (auto& rest : queue_) rest.done.set_value(false);
      queue_.clear();
      return;
    }
    last_item_ = SteadyClock::now();
    // Held-back messages of things with tokens go on between arriving ones.
    release_held(false);
  }
}

}  // namespace nbms::ingest
