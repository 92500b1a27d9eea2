#pragma once
// Webhook channel: a JSON POST of the notification, signed with the
// endpoint's secret. The signature header is
//   X-Nbms-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>
// and X-Nbms-Delivery carries the delivery id (the same on every retry), so a
// receiver can drop repeats. docs/notifications.md shows how to verify.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/notify/channel.hpp"
#include "nbms/notify/http_client.hpp"

namespace nbms::notify {

inline constexpr std::string_view kSignatureHeader = "X-Nbms-Signature";
inline constexpr std::string_view kDeliveryHeader = "X-Nbms-Delivery";

// The header value for `body` signed at `unix_s`.
std::string webhook_signature(std::string_view secret, std::int64_t unix_s, std::string_view body);

// What a receiver does: true if `header` carries a v1 signature of `body` by
// `secret` whose timestamp is within `tolerance_s` of `now_s` (to refuse
// replays of old requests). Constant-time comparison.
bool verify_webhook_signature(std::string_view secret, std::string_view header,
                              std::string_view body, std::int64_t now_s,
                              std::int64_t tolerance_s = 300);

// Sends on the dispatcher's thread through `http`; neither is owned.
class WebhookSender final : public ChannelSender {
 public:
  WebhookSender(const HttpClient& http, const Clock& clock, std::chrono::milliseconds timeout);
  SendResult send(const Notification& n, const Delivery& d, const Endpoint& e) override;

 private:
  const HttpClient& http_;
  const Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace nbms::notify
