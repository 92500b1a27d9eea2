#pragma once
// What the dispatcher asks of a channel (Web Push, webhook, e-mail): send one
// delivery and say how it went. Each sender is used from the dispatcher's
// thread only, one send at a time.
#include <cstdint>
#include <string>

#include "nbms/core/notification.hpp"
#include "nbms/notify/notification_json.hpp"  // what every sender sends

namespace nbms::notify {

enum class SendOutcome {
  delivered,  // the receiver accepted it
  retry,      // a transient failure: try again later (retry_after_ms if the receiver said)
  gone,       // the endpoint no longer exists (push 404/410): expire it
  rejected,   // a permanent failure: retrying would not help
};

struct SendResult {
  SendOutcome outcome = SendOutcome::retry;
  std::string detail;                // for the delivery's last_error and the log
  std::int64_t retry_after_ms = -1;  // >= 0 if the receiver asked for a delay
};

class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  virtual SendResult send(const Notification& n, const Delivery& d, const Endpoint& e) = 0;
};

// How an HTTP status of a webhook or push service maps to an outcome: 2xx
// delivered; 408, 425, 429 and 5xx retry; for push (`push` = true) 404 and
// 410 gone; any other status rejected.
SendResult classify_http_status(int status, bool push);

}  // namespace nbms::notify
