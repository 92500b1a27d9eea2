#include "nbms/notify/webhook.hpp"

#include <charconv>
#include <optional>
#include <vector>

#include "nbms/crypto/crypto.hpp"

namespace nbms::notify {

std::string webhook_signature(std::string_view secret, std::int64_t unix_s, std::string_view body) {
  const std::string t = std::to_string(unix_s);
  std::string signed_text = t;
  signed_text.push_back('.');
  signed_text.append(body);
  return "t=" + t + ",v1=" + crypto::to_hex(crypto::hmac_sha256(secret, signed_text));
}

bool verify_webhook_signature(std::string_view secret, std::string_view header,
                              std::string_view body, std::int64_t now_s, std::int64_t tolerance_s) {
  // t=<digits>,v1=<hex>[,v1=<hex>...]: any v1 may match (room for secret rotation).
  std::optional<std::int64_t> t;
  std::vector<std::string_view> signatures;
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.starts_with("t=")) {
      std::int64_t value = 0;
      const auto digits = part.substr(2);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc{} || end != digits.data() + digits.size()) return false;
      t = value;
    } else if (part.starts_with("v1=")) {
      signatures.push_back(part.substr(3));
    }
  }
  if (!t || signatures.empty()) return false;
  if (*t < now_s - tolerance_s || *t > now_s + tolerance_s) return false;
  const auto expected = webhook_signature(secret, *t, body);
  const auto expected_hex = std::string_view(expected).substr(expected.find(",v1=") + 4);
  bool ok = false;
  for (auto s : signatures) ok = crypto::constant_time_equal(s, expected_hex) || ok;
  return ok;
}

WebhookSender::WebhookSender(const HttpClient& http, const Clock& clock,
                             std::chrono::milliseconds timeout)
    : http_(http), clock_(clock), timeout_(timeout) {}

SendResult WebhookSender::send(const Notification& n, const Delivery& d, const Endpoint& e) {
  HttpRequest req;
  req.url = e.address;
  req.body = notification_json(n, d.id);
  req.headers = {{"Content-Type", "application/json"},
                 {std::string(kDeliveryHeader), d.id},
                 {std::string(kSignatureHeader),
                  webhook_signature(e.secret, clock_.now_ms() / 1000, req.body)}};
  auto res = http_.post(req, timeout_);
  if (!res) {
    const auto outcome =
        res.error().code == Errc::invalid_argument ? SendOutcome::rejected : SendOutcome::retry;
    return {outcome, res.error().message};
  }
  auto result = classify_http_status(res->status, false);
  if (auto after = parse_retry_after(res->retry_after, clock_.now_ms())) {
    result.retry_after_ms = *after;
  }
  return result;
}

}  // namespace nbms::notify
