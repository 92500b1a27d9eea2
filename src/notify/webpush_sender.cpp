#include "nbms/notify/webpush_sender.hpp"

#include "nbms/crypto/crypto.hpp"

namespace nbms::notify {

std::string_view push_urgency(NotificationPriority p) {
  switch (p) {
    case NotificationPriority::low:
      return "low";
    case NotificationPriority::medium:
      return "normal";
    case NotificationPriority::high:
    case NotificationPriority::urgent:
      return "high";
  }
  return "normal";
}

std::string push_topic(std::string_view delivery_id) {
  return crypto::base64url_encode(crypto::sha256(delivery_id)).substr(0, 32);
}

WebPushSender::WebPushSender(const Vapid& vapid, const HttpClient& http, const Clock& clock,
                             std::chrono::milliseconds timeout, std::int64_t ttl_s)
    : vapid_(vapid), http_(http), clock_(clock), timeout_(timeout), ttl_s_(ttl_s) {}

SendResult WebPushSender::send(const Notification& n, const Delivery& d, const Endpoint& e) {
  auto p256dh = crypto::base64url_decode(e.p256dh);
  auto auth = crypto::base64url_decode(e.auth);
  if (!p256dh || !auth) {
    return {SendOutcome::rejected, "push subscription keys are not base64url"};
  }
  std::string payload = notification_json(n, d.id);
  if (payload.size() > kPushMaxPlaintext) {
    // Too long for one push message: send it without the body; the service
    // worker can fetch the full text from the link.
    Notification shortened = n;
    shortened.body.clear();
    payload = notification_json(shortened, d.id);
  }
  auto body = encrypt_push(payload, *p256dh, *auth);
  if (!body) return {SendOutcome::rejected, body.error().message};
  auto authorization = vapid_.authorization(e.address, clock_.now_ms() / 1000);
  if (!authorization) return {SendOutcome::rejected, authorization.error().message};
  HttpRequest req;
  req.url = e.address;
  req.body = std::move(*body);
  req.headers = {{"Content-Type", "application/octet-stream"},
                 {"Content-Encoding", "aes128gcm"},
                 {"TTL", std::to_string(ttl_s_)},
                 {"Urgency", std::string(push_urgency(n.priority))},
                 {"Topic", push_topic(d.id)},
                 {"Authorization", *authorization}};
  auto res = http_.post(req, timeout_);
  if (!res) {
    const auto outcome =
        res.error().code == Errc::invalid_argument ? SendOutcome::rejected : SendOutcome::retry;
    return {outcome, res.error().message};
  }
  auto result = classify_http_status(res->status, true);
  if (auto after = parse_retry_after(res->retry_after, clock_.now_ms())) {
    result.retry_after_ms = *after;
  }
  return result;
}

}  // namespace nbms::notify
