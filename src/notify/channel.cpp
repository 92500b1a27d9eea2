#include "nbms/notify/channel.hpp"

#include <nlohmann/json.hpp>

namespace nbms::notify {

std::string notification_json(const Notification& n, const std::string& delivery_id) {
  const nlohmann::json j = {{"delivery", delivery_id},
                            {"id", n.id},
                            {"customer", n.customer},
                            {"building", n.building},
                            {"kind", std::string(to_string(n.kind))},
                            {"priority", std::string(to_string(n.priority))},
                            {"title", n.title},
                            {"body", n.body},
                            {"link", n.link},
                            {"created_ms", n.created_ms}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

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
