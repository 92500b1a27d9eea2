#include "nbms/ingest/pipeline.hpp"

#include <spdlog/spdlog.h>

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
  Item item{topic, payload, {}, nullptr};
  auto done = item.done.get_future();
  if (!enqueue(std::move(item), true)) return false;
  return done.get();
}

bool Pipeline::try_submit(std::string topic, std::string payload) {
  auto owned = std::make_shared<const std::pair<std::string, std::string>>(std::move(topic),
                                                                           std::move(payload));
  return enqueue(Item{owned->first, owned->second, {}, owned}, false);
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
  auto delay = options_.retry_min;
  for (;;) {
    auto outcome = router_.handle(item.topic, item.payload);
    if (outcome) {
      if (stalled_.exchange(false)) spdlog::info("ingest: storage accepts writes again");
      return true;
    }
    ++retries_;
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

void Pipeline::run() {
  auto next_maintenance = std::chrono::steady_clock::now() + options_.maintenance_every;
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_maintenance) {
      if (maintenance_) maintenance_();
      next_maintenance = std::chrono::steady_clock::now() + options_.maintenance_every;
    }
    Item item;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait_until(lock, next_maintenance, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
      not_full_.notify_one();
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
  }
}

}  // namespace nbms::ingest
