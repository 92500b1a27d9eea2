#include "nbms/notify/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

namespace nbms::notify {

Dispatcher::Dispatcher(OutboxStore& outbox, SubscriptionStore& subscriptions, const Clock& clock,
                       DispatcherOptions options)
    : outbox_(outbox),
      subscriptions_(subscriptions),
      clock_(clock),
      options_(options),
      rng_(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::set_sender(ChannelKind channel, ChannelSender* sender) {
  senders_[channel] = sender;
}

Result<std::vector<Delivery>> Dispatcher::enqueue(const Notification& n) {
  if (auto ok = validate(n); !ok) return std::unexpected(ok.error());
  auto subs = subscriptions_.subscriptions_for(n.customer);
  if (!subs) return std::unexpected(subs.error());
  std::vector<Endpoint> endpoints;
  std::set<std::string> users;
  for (const auto& s : *subs) {
    if (!users.insert(s.user).second) continue;
    auto eps = subscriptions_.endpoints_of(s.user);
    if (!eps) return std::unexpected(eps.error());
    endpoints.insert(endpoints.end(), eps->begin(), eps->end());
  }
  auto deliveries = fan_out(n, *subs, endpoints, clock_.now_ms());
  if (auto w = outbox_.enqueue(n, deliveries); !w) return std::unexpected(w.error());
  if (!deliveries.empty()) wake();
  return deliveries;
}

Result<std::size_t> Dispatcher::recover() {
  // A claim makes a delivery due at most lease_ms later, so every in_flight one
  // is within that horizon. One pass over it (the dispatcher sends one at a
  // time, so few are ever in flight, but pending ones share the range).
  const auto now = clock_.now_ms();
  auto due =
      outbox_.due_deliveries(now + options_.lease_ms, std::numeric_limits<std::size_t>::max());
  if (!due) return std::unexpected(due.error());
  std::size_t n = 0;
  for (auto& d : *due) {
    if (d.state != DeliveryState::in_flight) continue;
    d.state = DeliveryState::pending;
    d.next_attempt_ms = now;
    d.updated_ms = now;
    d.last_error = "interrupted by a restart; outcome unknown";
    if (auto w = outbox_.update_delivery(d); !w) return std::unexpected(w.error());
    ++n;
  }
  if (n > 0) spdlog::info("notify: {} interrupted deliveries will be sent again", n);
  return n;
}

std::int64_t Dispatcher::backoff_ms(int attempts) {
  std::int64_t delay = options_.initial_backoff_ms;
  for (int i = 1; i < attempts && delay < options_.max_backoff_ms; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff_ms);
  std::uniform_int_distribution<std::int64_t> half(0, delay / 2);
  return delay - delay / 2 + half(rng_);
}

Result<DispatcherStats> Dispatcher::stats(std::size_t limit) const {
  DispatcherStats s;
  s.delivered = delivered_.load();
  s.failed = failed_.load();
  s.expired = expired_.load();
  // Every unfinished delivery is in the due index; a far-future `now` lists
  // them all. One more than the limit tells whether there are more.
  auto open = outbox_.due_deliveries(std::numeric_limits<std::int64_t>::max(), limit + 1);
  if (!open) return std::unexpected(open.error());
  if (open->size() > limit) {
    open->resize(limit);
    s.queued_capped = true;
  }
  s.queued = open->size();
  for (const auto& d : *open) {
    if (d.state == DeliveryState::pending && d.attempts > 0) ++s.retrying;
    if (!s.oldest_pending_ms || d.created_ms < *s.oldest_pending_ms)
      s.oldest_pending_ms = d.created_ms;
  }
  return s;
}

Result<std::size_t> Dispatcher::run_once() {
  auto due = outbox_.due_deliveries(clock_.now_ms(), options_.batch);
  if (!due) return std::unexpected(due.error());
  for (auto& d : *due) attempt(std::move(d));
  return due->size();
}

void Dispatcher::attempt(Delivery d) {
  const auto finish = [&](DeliveryState state, std::string error) {
    if (state == DeliveryState::sent) ++delivered_;
    if (state == DeliveryState::failed) ++failed_;
    if (state == DeliveryState::expired) ++expired_;
    d.state = state;
    d.updated_ms = clock_.now_ms();
    d.last_error = std::move(error);
    if (auto w = outbox_.update_delivery(d); !w) {
      // Stays in_flight: it is sent again after the lease (at-least-once).
      spdlog::error("notify: cannot record delivery {}: {}", d.id, w.error().message);
    }
  };
  auto n = outbox_.notification(d.notification_id);
  if (!n) {
    if (n.error().code == Errc::not_found) finish(DeliveryState::failed, "notification missing");
    return;
  }
  auto e = subscriptions_.endpoint(d.user, d.endpoint_id);
  if (!e) {
    if (e.error().code == Errc::not_found) finish(DeliveryState::expired, "endpoint removed");
    return;
  }
  if (e->expired_ms != 0) {
    finish(DeliveryState::expired, "endpoint expired");
    return;
  }
  auto sender = senders_.find(d.channel);
  if (sender == senders_.end() || sender->second == nullptr) {
    finish(DeliveryState::failed,
           "channel " + std::string(to_string(d.channel)) + " not configured");
    return;
  }
  // Record the attempt before sending, so a crash during it is known at restart.
  const auto now = clock_.now_ms();
  d.state = DeliveryState::in_flight;
  d.attempts += 1;
  d.next_attempt_ms = now + options_.lease_ms;
  d.updated_ms = now;
  if (auto w = outbox_.update_delivery(d); !w) {
    spdlog::error("notify: cannot claim delivery {}: {}", d.id, w.error().message);
    return;  // not sent; due again later
  }
  const SendResult r = sender->second->send(*n, d, *e);
  switch (r.outcome) {
    case SendOutcome::delivered:
      finish(DeliveryState::sent, "");
      return;
    case SendOutcome::gone: {
      auto expired = *e;
      expired.expired_ms = clock_.now_ms();
      if (auto w = subscriptions_.put_endpoint(expired); !w) {
        spdlog::warn("notify: cannot expire endpoint {}/{}: {}", d.user, d.endpoint_id,
                     w.error().message);
      }
      spdlog::info("notify: endpoint {}/{} is gone ({}); expired", d.user, d.endpoint_id, r.detail);
      finish(DeliveryState::expired, r.detail);
      return;
    }
    case SendOutcome::rejected:
      spdlog::warn("notify: delivery {} rejected: {}", d.id, r.detail);
      finish(DeliveryState::failed, r.detail);
      return;
    case SendOutcome::retry:
      break;
  }
  if (d.attempts >= options_.max_attempts) {
    spdlog::warn("notify: delivery {} failed after {} attempts: {}", d.id, d.attempts, r.detail);
    finish(DeliveryState::failed,
           r.detail + " (gave up after " + std::to_string(d.attempts) + " attempts)");
    return;
  }
  std::int64_t wait = backoff_ms(d.attempts);
  if (r.retry_after_ms >= 0)
    wait = std::max(wait, std::min(r.retry_after_ms, options_.max_retry_after_ms));
  d.next_attempt_ms = clock_.now_ms() + wait;
  finish(DeliveryState::pending, r.detail);
}

void Dispatcher::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] { loop(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::loop() {
  if (auto r = recover(); !r) spdlog::error("notify: recovery failed: {}", r.error().message);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    auto done = run_once();
    if (!done) spdlog::error("notify: outbox pass failed: {}", done.error().message);
    std::int64_t wait_ms = options_.idle_poll_ms;
    if (done && *done >= options_.batch) {
      wait_ms = 0;  // more may be due right now
    } else if (auto next = outbox_.next_due(); next && *next) {
      const auto until = **next - clock_.now_ms();
      // Still due right after a pass: it came due meanwhile, or the store
      // failed on it; either way do not spin, look again shortly.
      wait_ms = until > 0 ? std::min(until, options_.idle_poll_ms)
                          : std::min<std::int64_t>(1000, options_.idle_poll_ms);
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_ || woken_; });
    if (stopping_) return;
  }
}

}  // namespace nbms::notify
