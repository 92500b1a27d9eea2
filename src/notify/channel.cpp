#include "nbms/notify/channel.hpp"

namespace nbms::notify {

SendResult classify_http_status(int status, bool push) {
  const std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) return {SendOutcome::delivered, detail};
  if (status == 408 || status == 425 || status == 429 || (status >= 500 && status < 600)) {
    return {SendOutcome::retry, detail};
  }
  if (push && (status == 404 || status == 410)) return {SendOutcome::gone, detail};
  return {SendOutcome::rejected, detail};
}

}  // namespace nbms::notify
