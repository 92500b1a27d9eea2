#pragma once
// Web Push channel (RFC 8030): encrypts the notification JSON for the
// browser's subscription (RFC 8291) and POSTs it to the push service with a
// VAPID Authorization (RFC 8292), TTL, Urgency (from the priority) and a Topic
// derived from the delivery id, so that a retried message replaces an earlier
// copy the push service still holds instead of arriving twice.
#include <chrono>
#include <cstdint>

#include "nbms/core/ports.hpp"
#include "nbms/notify/channel.hpp"
#include "nbms/notify/http_client.hpp"
#include "nbms/notify/webpush.hpp"

namespace nbms::notify {

// "very-low" | "low" | "normal" | "high" (RFC 8030 section 5.3).
std::string_view push_urgency(NotificationPriority p);
// 32 characters of base64url (RFC 8030 section 5.4 allows at most 32).
std::string push_topic(std::string_view delivery_id);

// Sends on the dispatcher's thread; the references are not owned.
class WebPushSender final : public ChannelSender {
 public:
  WebPushSender(const Vapid& vapid, const HttpClient& http, const Clock& clock,
                std::chrono::milliseconds timeout, std::int64_t ttl_s = 24LL * 3600);
  SendResult send(const Notification& n, const Delivery& d, const Endpoint& e) override;

 private:
  const Vapid& vapid_;
  const HttpClient& http_;
  const Clock& clock_;
  std::chrono::milliseconds timeout_;
  std::int64_t ttl_s_;
};

}  // namespace nbms::notify
