#pragma once
// Notifications and their delivery: what is sent (Notification), to whom and
// where (Subscription, Endpoint), and the durable record of each send
// (Delivery). Plain values and pure functions, no I/O. The channels that
// deliver them are in src/notify; the store is a port (notification_ports.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms {

enum class NotificationKind { alarm, notice };
std::string_view to_string(NotificationKind kind);
Result<NotificationKind> parse_notification_kind(std::string_view text);

// Ordered: a subscription's minimum priority lets through everything at or
// above it. The alarm module maps its own priority levels onto these four.
enum class NotificationPriority { low = 1, medium = 2, high = 3, urgent = 4 };
std::string_view to_string(NotificationPriority priority);
Result<NotificationPriority> parse_notification_priority(std::string_view text);

struct Notification {
  // Chosen by the producer and stable for the same event (for example the alarm
  // id and transition), so that enqueuing it twice is detected. 1..100
  // characters of [A-Za-z0-9._-].
  std::string id;
  std::string customer;
  std::string building;  // empty: concerns the whole customer (notices)
  NotificationKind kind = NotificationKind::notice;
  NotificationPriority priority = NotificationPriority::medium;
  std::string title;
  std::string body;
  std::int64_t created_ms = 0;
  std::string link;  // a path or URL of the dashboard to open; may be empty
  // Who wrote it: the user name of the manager who posted a notice; empty for
  // nbmsd's own notifications (alarms). At most 64 bytes.
  std::string author;
  bool operator==(const Notification&) const = default;
};

// invalid_argument naming the first bad field.
Result<void> validate(const Notification& n);

enum class ChannelKind { web_push, webhook, email };
std::string_view to_string(ChannelKind kind);
Result<ChannelKind> parse_channel_kind(std::string_view text);

// A place one user receives notifications: a browser's push subscription, a
// webhook or an e-mail address. Endpoints belong to the user, not to a
// building; subscriptions pick which kinds of them to use.
struct Endpoint {
  std::string user;
  std::string id;  // unique per user; [A-Za-z0-9._-], 1..64 characters
  ChannelKind kind = ChannelKind::email;
  // web_push: the push service URL; webhook: the URL to POST to; email: the address.
  std::string address;
  std::string
      p256dh;        // web_push: the browser's public key, base64url (as PushSubscription gives it)
  std::string auth;  // web_push: the browser's auth secret, base64url
  std::string secret;  // webhook: the HMAC key; a secret, never shown back
  std::int64_t created_ms = 0;
  // Set when the push service answered 404/410: the browser dropped the
  // subscription. Expired endpoints get no deliveries.
  std::int64_t expired_ms = 0;
  bool operator==(const Endpoint&) const = default;
};

Result<void> validate(const Endpoint& e);

// What one user wants to hear about one building (or, with an empty building,
// every building of the customer) and over which kinds of endpoint.
struct Subscription {
  std::string user;
  std::string customer;
  std::string building;  // empty: every building of the customer
  bool alarms = true;
  bool notices = true;
  NotificationPriority min_priority = NotificationPriority::low;
  std::vector<ChannelKind> channels;
  bool operator==(const Subscription&) const = default;
};

Result<void> validate(const Subscription& s);

enum class DeliveryState {
  pending,    // waiting for its first or next attempt (next_attempt_ms)
  in_flight,  // claimed by the dispatcher; retried after a lease if it never finished
  sent,       // the receiver accepted it
  failed,     // permanent error, or retries exhausted
  expired,    // the endpoint is gone (push subscription expired, endpoint deleted)
};
std::string_view to_string(DeliveryState state);
Result<DeliveryState> parse_delivery_state(std::string_view text);
inline bool finished(DeliveryState s) {
  return s == DeliveryState::sent || s == DeliveryState::failed || s == DeliveryState::expired;
}

// One notification to one endpoint of one user: the unit of sending, retrying
// and status. Its id is stable across retries and restarts and is what
// receivers de-duplicate on.
struct Delivery {
  std::string id;  // "<notification id>.<n>"
  std::string notification_id;
  std::string user;
  std::string endpoint_id;
  ChannelKind channel = ChannelKind::email;
  DeliveryState state = DeliveryState::pending;
  int attempts = 0;  // attempts started
  std::int64_t created_ms = 0;
  std::int64_t next_attempt_ms = 0;  // meaningful while not finished
  std::int64_t updated_ms = 0;
  std::string last_error;
  bool operator==(const Delivery&) const = default;
};

// The deliveries of `n`, all pending and due at `now_ms`. One subscription
// speaks for each user of n's customer:
// - n has a building: the user's subscription for that building, else the
//   user's customer-wide one (so a user can silence one building);
// - n is customer-wide (a notice without building): the user's customer-wide
//   subscription, else the first building subscription that wants n.
// It must have n's kind (alarms/notices) on and a minimum priority at or below
// n's. Then one delivery per endpoint of the user whose kind the subscription
// lists and that has not expired, each endpoint once. Delivery ids are
// "<n.id>.<index>" in input order, so the same input gives the same ids.
std::vector<Delivery> fan_out(const Notification& n, const std::vector<Subscription>& subscriptions,
                              const std::vector<Endpoint>& endpoints, std::int64_t now_ms);

}  // namespace nbms
