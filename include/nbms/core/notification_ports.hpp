#pragma once
// Ports of the notification outbox and of users' subscriptions. RocksStore
// implements both (src/storage/notify_store.cpp); unit tests use fakes. All
// methods are thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/notification.hpp"

namespace nbms {

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  // Stores the notification and its deliveries in one atomic write; the
  // deliveries become due at their next_attempt_ms. already_exists if a
  // notification with this id was enqueued before (nothing is written), so a
  // producer that retries after a crash never doubles the deliveries.
  virtual Result<void> enqueue(const Notification& n, const std::vector<Delivery>& deliveries) = 0;
  virtual Result<Notification> notification(std::string_view id) = 0;  // not_found
  virtual Result<Delivery> delivery(std::string_view id) = 0;          // not_found
  // Unfinished deliveries (pending or in_flight) with next_attempt_ms <=
  // now_ms, earliest first, at most `limit`.
  virtual Result<std::vector<Delivery>> due_deliveries(std::int64_t now_ms, std::size_t limit) = 0;
  // The earliest next_attempt_ms of any unfinished delivery.
  virtual Result<std::optional<std::int64_t>> next_due() = 0;
  // Replaces the stored delivery (same id) and its place in the due order, in
  // one atomic write. not_found if the delivery does not exist.
  virtual Result<void> update_delivery(const Delivery& d) = 0;
  // The deliveries of one user, newest first, at most `limit`.
  virtual Result<std::vector<Delivery>> deliveries_of(std::string_view user, std::size_t limit) = 0;
  // The notifications whose id starts with `prefix`, greatest id first, at
  // most `limit` (producers that put a fixed-width time in their ids, like
  // notices, get newest first).
  virtual Result<std::vector<Notification>> notifications_with_prefix(std::string_view prefix,
                                                                      std::size_t limit) = 0;
};

class SubscriptionStore {
 public:
  virtual ~SubscriptionStore() = default;
  // Creates or replaces the subscription of (user, customer, building).
  virtual Result<void> put_subscription(const Subscription& s) = 0;
  virtual Result<void> delete_subscription(std::string_view user, std::string_view customer,
                                           std::string_view building) = 0;  // not_found
  virtual Result<std::vector<Subscription>> subscriptions_of(std::string_view user) = 0;
  virtual Result<std::vector<Subscription>> subscriptions_for(std::string_view customer) = 0;
  // Creates or replaces the endpoint (user, id).
  virtual Result<void> put_endpoint(const Endpoint& e) = 0;
  virtual Result<void> delete_endpoint(std::string_view user,
                                       std::string_view id) = 0;                      // not_found
  virtual Result<Endpoint> endpoint(std::string_view user, std::string_view id) = 0;  // not_found
  virtual Result<std::vector<Endpoint>> endpoints_of(std::string_view user) = 0;
};

}  // namespace nbms
