#pragma once
// The notification dispatcher: turns a Notification into durable deliveries
// (fan-out over the subscriptions, one atomic outbox write) and works the
// outbox: picks due deliveries, sends each through its channel, records the
// outcome, retries with exponential backoff and jitter, gives up after a limit.
//
// Delivery is at-least-once with stable ids (docs/notifications.md): an
// attempt is recorded (state in_flight, attempts + 1) before it is sent, and
// its outcome after; a crash between the two leaves it in_flight, and the next
// start() (or the lease running out) sends it again with the same delivery id,
// which receivers use to drop the repeat.
//
// Owns one worker thread (start/stop); all sending happens there, one delivery
// at a time. enqueue() and wake() may be called from any thread. The stores,
// clock and senders are not owned and must outlive the dispatcher.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "nbms/core/notification_ports.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/notify/channel.hpp"

namespace nbms::notify {

struct DispatcherOptions {
  int max_attempts = 10;                         // then the delivery is failed
  std::int64_t initial_backoff_ms = 30'000;      // before the 2nd attempt; doubles each time
  std::int64_t max_backoff_ms = 3'600'000;       // cap of one wait
  std::int64_t max_retry_after_ms = 21'600'000;  // a receiver's Retry-After is honoured up to this
  // An attempt that never recorded an outcome (crash, hang) is due again after this.
  std::int64_t lease_ms = 300'000;
  std::size_t batch = 64;              // deliveries taken per pass
  std::int64_t idle_poll_ms = 60'000;  // longest sleep when nothing is due
  std::uint64_t jitter_seed = 0;       // 0: from std::random_device
};

// The outbox as health shows it: finished outcomes since this dispatcher was
// created, and the unfinished deliveries now.
struct DispatcherStats {
  std::uint64_t delivered = 0;  // sent since start
  std::uint64_t failed = 0;     // failed since start (rejected, or retries exhausted)
  std::uint64_t expired = 0;    // expired since start (endpoint gone or removed)
  std::size_t queued = 0;  // unfinished deliveries (pending or in_flight), counted up to a limit
  bool queued_capped = false;                     // more than the limit: queued is that limit
  std::size_t retrying = 0;                       // of those, pending after at least one attempt
  std::optional<std::int64_t> oldest_pending_ms;  // created_ms of the oldest unfinished one
};

class Dispatcher {
 public:
  Dispatcher(OutboxStore& outbox, SubscriptionStore& subscriptions, const Clock& clock,
             DispatcherOptions options = {});
  ~Dispatcher();  // stops
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The sender of one channel (not owned). Set before start(). A delivery on a
  // channel without a sender fails ("channel not configured").
  void set_sender(ChannelKind channel, ChannelSender* sender);

  // Fans `n` out over its customer's subscriptions and stores the deliveries
  // atomically, then wakes the worker. Returns the deliveries (possibly none).
  // already_exists if `n.id` was enqueued before: nothing is sent twice.
  Result<std::vector<Delivery>> enqueue(const Notification& n);

  // Makes every in_flight delivery left by an earlier run due now (a restart:
  // their attempt's outcome is unknown). start() calls it.
  Result<std::size_t> recover();
  // One pass on the calling thread: attempts every delivery due at the clock's
  // now (up to options.batch) and records each outcome. Returns how many were
  // attempted. The worker loops over this; tests call it directly.
  Result<std::size_t> run_once();

  void start();  // recover() and start the worker thread
  void stop();   // let the current send finish (bounded by the channel's timeout), then join
  void wake();   // something may be due now

  // How long the attempt that just failed for the `attempts`-th time waits
  // before the next one: min(max, initial * 2^(attempts-1)), the upper half
  // jittered (between 50 % and 100 % of it).
  std::int64_t backoff_ms(int attempts);

  // Counters plus one bounded scan of the unfinished deliveries (at most
  // `limit` are read). Any thread.
  Result<DispatcherStats> stats(std::size_t limit = 10000) const;

 private:
  void attempt(Delivery d);
  void loop();

  OutboxStore& outbox_;
  SubscriptionStore& subscriptions_;
  const Clock& clock_;
  DispatcherOptions options_;
  std::map<ChannelKind, ChannelSender*> senders_;
  std::mt19937_64 rng_;  // worker thread only (or the run_once caller)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // under mu_
  bool woken_ = false;     // under mu_
  std::thread worker_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> expired_{0};
};

}  // namespace nbms::notify
