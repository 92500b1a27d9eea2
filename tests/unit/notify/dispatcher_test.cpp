// The dispatcher's outbox logic against in-memory stores, a settable clock and
// scripted senders: states, retries, backoff, Retry-After, expiry, recovery.
#include "nbms/notify/dispatcher.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

namespace nbms::notify {
namespace {

class FakeClock final : public Clock {
 public:
  std::int64_t now = 1'000'000;
  std::int64_t now_ms() const override { return now; }
};

class MemOutbox final : public OutboxStore {
 public:
  std::map<std::string, Notification> notifications;
  std::map<std::string, Delivery> deliveries;
  int fail_updates_after_claims = -1;  // >= 0: updates of outcomes fail (a "crash")

  Result<void> enqueue(const Notification& n, const std::vector<Delivery>& ds) override {
    if (notifications.contains(n.id)) return fail(Errc::already_exists, "dup");
    notifications[n.id] = n;
    for (const auto& d : ds) deliveries[d.id] = d;
    return {};
  }
  Result<Notification> notification(std::string_view id) override {
    auto it = notifications.find(std::string(id));
    if (it == notifications.end()) return fail(Errc::not_found, "no");
    return it->second;
  }
  Result<Delivery> delivery(std::string_view id) override {
    auto it = deliveries.find(std::string(id));
    if (it == deliveries.end()) return fail(Errc::not_found, "no");
    return it->second;
  }
  Result<std::vector<Delivery>> due_deliveries(std::int64_t now, std::size_t limit) override {
    std::vector<Delivery> out;
    for (const auto& [id, d] : deliveries) {
      if (!finished(d.state) && d.next_attempt_ms <= now) out.push_back(d);
    }
    std::stable_sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) {
      return a.next_attempt_ms < b.next_attempt_ms;
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  Result<std::optional<std::int64_t>> next_due() override {
    std::optional<std::int64_t> at;
    for (const auto& [id, d] : deliveries) {
      if (!finished(d.state) && (!at || d.next_attempt_ms < *at)) at = d.next_attempt_ms;
    }
    return at;
  }
  Result<void> update_delivery(const Delivery& d) override {
    if (!deliveries.contains(d.id)) return fail(Errc::not_found, "no");
    if (fail_updates_after_claims >= 0 && d.state != DeliveryState::in_flight) {
      return fail(Errc::io, "simulated crash");
    }
    deliveries[d.id] = d;
    return {};
  }
  Result<std::vector<Delivery>> deliveries_of(std::string_view, std::size_t) override {
    return std::vector<Delivery>{};
  }
  Result<std::vector<Notification>> notifications_with_prefix(std::string_view,
                                                              std::size_t) override {
    return std::vector<Notification>{};
  }
};

class MemSubs final : public SubscriptionStore {
 public:
  std::vector<Subscription> subs;
  std::map<std::pair<std::string, std::string>, Endpoint> endpoints;

  Result<void> put_subscription(const Subscription& s) override {
    subs.push_back(s);
    return {};
  }
  Result<void> delete_subscription(std::string_view, std::string_view, std::string_view) override {
    return {};
  }
  Result<std::vector<Subscription>> subscriptions_of(std::string_view) override { return subs; }
  Result<std::vector<Subscription>> subscriptions_for(std::string_view) override { return subs; }
  Result<void> put_endpoint(const Endpoint& e) override {
    endpoints[{e.user, e.id}] = e;
    return {};
  }
  Result<void> delete_endpoint(std::string_view u, std::string_view id) override {
    endpoints.erase({std::string(u), std::string(id)});
    return {};
  }
  Result<Endpoint> endpoint(std::string_view u, std::string_view id) override {
    auto it = endpoints.find({std::string(u), std::string(id)});
    if (it == endpoints.end()) return fail(Errc::not_found, "no");
    return it->second;
  }
  Result<std::vector<Endpoint>> endpoints_of(std::string_view u) override {
    std::vector<Endpoint> out;
    for (const auto& [k, e] : endpoints) {
      if (k.first == u) out.push_back(e);
    }
    return out;
  }
};

// Answers from a script (then `fallback`), recording what it was asked to send.
class ScriptedSender final : public ChannelSender {
 public:
  std::deque<SendResult> script;
  SendResult fallback{SendOutcome::delivered, ""};
  std::vector<std::string> sent;  // delivery ids, in order
  std::mutex mu;
  std::condition_variable cv;
  std::size_t count = 0;  // under mu; for waiting on the worker thread
  SendResult send(const Notification&, const Delivery& d, const Endpoint&) override {
    {
      std::lock_guard lock(mu);
      ++count;
    }
    cv.notify_all();
    sent.push_back(d.id);
    if (script.empty()) return fallback;
    auto r = script.front();
    script.pop_front();
    return r;
  }
};

class DispatcherTest : public ::testing::Test {
 protected:
  FakeClock clock;
  MemOutbox outbox;
  MemSubs subs;
  ScriptedSender hooks;
  DispatcherOptions options;

  void SetUp() override {
    options.initial_backoff_ms = 1000;
    options.max_backoff_ms = 8000;
    options.max_attempts = 4;
    options.lease_ms = 60'000;
    options.jitter_seed = 42;
    Subscription s;
    s.user = "ann";
    s.customer = "acme";
    s.channels = {ChannelKind::webhook};
    subs.subs.push_back(s);
    Endpoint e;
    e.user = "ann";
    e.id = "hook";
    e.kind = ChannelKind::webhook;
    e.address = "http://127.0.0.1:1/";
    e.secret = std::string(16, 's');
    subs.endpoints[{"ann", "hook"}] = e;
  }

  std::unique_ptr<Dispatcher> make() {
    auto d = std::make_unique<Dispatcher>(outbox, subs, clock, options);
    d->set_sender(ChannelKind::webhook, &hooks);
    return d;
  }

  Notification notice(std::string id) {
    Notification n;
    n.id = std::move(id);
    n.customer = "acme";
    n.title = "Hello";
    n.created_ms = clock.now;
    return n;
  }
};

TEST_F(DispatcherTest, EnqueueFansOutOnceAndRunSends) {
  auto d = make();
  auto ds = d->enqueue(notice("n1"));
  ASSERT_TRUE(ds);
  ASSERT_EQ(ds->size(), 1u);
  EXPECT_EQ(d->enqueue(notice("n1")).error().code, Errc::already_exists);
  EXPECT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(hooks.sent, (std::vector<std::string>{"n1.0"}));
  const auto& rec = outbox.deliveries.at("n1.0");
  EXPECT_EQ(rec.state, DeliveryState::sent);
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(*d->run_once(), 0u);  // nothing left
}

TEST_F(DispatcherTest, RetriesWithGrowingJitteredBackoffThenFails) {
  hooks.fallback = {SendOutcome::retry, "HTTP 503"};
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  std::int64_t previous_wait = 0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_EQ(*d->run_once(), 1u);
    const auto rec = outbox.deliveries.at("n1.0");
    EXPECT_EQ(rec.state, DeliveryState::pending);
    EXPECT_EQ(rec.attempts, attempt);
    EXPECT_EQ(rec.last_error, "HTTP 503");
    const auto wait = rec.next_attempt_ms - clock.now;
    const std::int64_t nominal = 1000LL << (attempt - 1);
    EXPECT_GE(wait, nominal / 2);
    EXPECT_LE(wait, nominal);
    EXPECT_GT(wait, previous_wait / 2);
    previous_wait = wait;
    EXPECT_EQ(*d->run_once(), 0u);  // not due yet
    clock.now = rec.next_attempt_ms;
  }
  ASSERT_EQ(*d->run_once(), 1u);
  const auto rec = outbox.deliveries.at("n1.0");
  EXPECT_EQ(rec.state, DeliveryState::failed);
  EXPECT_EQ(rec.attempts, 4);
  EXPECT_NE(rec.last_error.find("gave up after 4 attempts"), std::string::npos);
  EXPECT_EQ(hooks.sent.size(), 4u);
}

TEST_F(DispatcherTest, StatsCountOutcomesAndTheUnfinishedOnes) {
  auto d = make();
  auto empty = d->stats();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->queued, 0u);
  EXPECT_FALSE(empty->oldest_pending_ms.has_value());

  hooks.script = {{SendOutcome::delivered, ""},
                  {SendOutcome::retry, "HTTP 503"},
                  {SendOutcome::rejected, "HTTP 400"}};
  const auto first = clock.now;
  for (const char* id : {"n1", "n2", "n3"}) ASSERT_TRUE(d->enqueue(notice(id)));
  clock.now += 10;
  ASSERT_TRUE(d->enqueue(notice("n4")));
  // Before any attempt: four queued, none retrying, the oldest created first.
  auto s = d->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->queued, 4u);
  EXPECT_EQ(s->retrying, 0u);
  EXPECT_EQ(s->oldest_pending_ms, first);
  options.batch = 3;
  auto limited = std::make_unique<Dispatcher>(outbox, subs, clock, options);
  limited->set_sender(ChannelKind::webhook, &hooks);
  ASSERT_EQ(*limited->run_once(), 3u);  // n1 sent, n2 to retry, n3 failed
  s = limited->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->delivered, 1u);
  EXPECT_EQ(s->failed, 1u);
  EXPECT_EQ(s->expired, 0u);
  EXPECT_EQ(s->queued, 2u);  // n2 (waiting to retry) and n4 (not tried)
  EXPECT_EQ(s->retrying, 1u);
  EXPECT_EQ(s->oldest_pending_ms, first);  // n2 was created first
  EXPECT_FALSE(s->queued_capped);
  // The scan is bounded: past the limit, queued says the limit and capped.
  s = limited->stats(1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->queued, 1u);
  EXPECT_TRUE(s->queued_capped);
  // Counters belong to the dispatcher that sent.
  EXPECT_EQ(d->stats()->delivered, 0u);
}

TEST_F(DispatcherTest, BackoffIsCapped) {
  auto d = make();
  for (int i = 0; i < 50; ++i) {
    const auto w = d->backoff_ms(20);
    EXPECT_GE(w, 4000);
    EXPECT_LE(w, 8000);
  }
}

TEST_F(DispatcherTest, HonoursRetryAfter) {
  hooks.script.push_back({SendOutcome::retry, "HTTP 429", 5000});
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").next_attempt_ms, clock.now + 5000);
  clock.now += 4999;
  EXPECT_EQ(*d->run_once(), 0u);
  clock.now += 1;
  EXPECT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::sent);
}

TEST_F(DispatcherTest, GoneExpiresTheEndpointAndLaterNotificationsSkipIt) {
  hooks.script.push_back({SendOutcome::gone, "HTTP 410"});
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::expired);
  EXPECT_EQ(subs.endpoints.at({"ann", "hook"}).expired_ms, clock.now);
  auto next = d->enqueue(notice("n2"));
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->empty());
}

TEST_F(DispatcherTest, RejectedFailsAtOnce) {
  hooks.script.push_back({SendOutcome::rejected, "HTTP 400"});
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::failed);
  EXPECT_EQ(outbox.deliveries.at("n1.0").last_error, "HTTP 400");
}

TEST_F(DispatcherTest, RemovedEndpointOrMissingChannelNeverSends) {
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  subs.endpoints.clear();
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::expired);
  EXPECT_TRUE(hooks.sent.empty());

  SetUp();  // endpoint back
  Dispatcher without(outbox, subs, clock, options);
  ASSERT_TRUE(without.enqueue(notice("n2")));
  ASSERT_EQ(*without.run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n2.0").state, DeliveryState::failed);
  EXPECT_EQ(outbox.deliveries.at("n2.0").last_error, "channel webhook not configured");
}

TEST_F(DispatcherTest, CrashAfterSendIsResentWithTheSameIdAfterRecover) {
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  outbox.fail_updates_after_claims = 0;  // the outcome is never recorded
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::in_flight);
  EXPECT_EQ(*d->run_once(), 0u);  // leased: not due again yet
  d.reset();                      // "restart"
  outbox.fail_updates_after_claims = -1;
  auto again = make();
  EXPECT_EQ(*again->recover(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::pending);
  ASSERT_EQ(*again->run_once(), 1u);
  EXPECT_EQ(hooks.sent, (std::vector<std::string>{"n1.0", "n1.0"}));
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::sent);
  EXPECT_EQ(outbox.deliveries.at("n1.0").attempts, 2);
}

TEST_F(DispatcherTest, LeaseExpiryAlsoResends) {
  auto d = make();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  outbox.fail_updates_after_claims = 0;
  ASSERT_EQ(*d->run_once(), 1u);
  outbox.fail_updates_after_claims = -1;
  clock.now += options.lease_ms;
  ASSERT_EQ(*d->run_once(), 1u);
  EXPECT_EQ(outbox.deliveries.at("n1.0").state, DeliveryState::sent);
}

TEST_F(DispatcherTest, WorkerThreadDeliversAfterStart) {
  auto d = make();
  d->start();
  ASSERT_TRUE(d->enqueue(notice("n1")));
  {
    std::unique_lock lock(hooks.mu);
    ASSERT_TRUE(hooks.cv.wait_for(lock, std::chrono::seconds(10), [&] { return hooks.count > 0; }));
  }
  d->stop();  // joins: the worker's writes are visible from here
  EXPECT_EQ(hooks.sent, (std::vector<std::string>{"n1.0"}));
}

}  // namespace
}  // namespace nbms::notify
