#include "nbms/notify/notification_json.hpp"

namespace nbms::notify {

nlohmann::json notification_json(const Notification& n) {
  return {{"id", n.id},
          {"customer", n.customer},
          {"building", n.building},
          {"kind", std::string(to_string(n.kind))},
          {"priority", std::string(to_string(n.priority))},
          {"title", n.title},
          {"body", n.body},
          {"link", n.link},
          {"author", n.author},
          {"created_ms", n.created_ms}};
}

std::string notification_json(const Notification& n, const std::string& delivery_id) {
  auto j = notification_json(n);
  j["delivery"] = delivery_id;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nbms::notify
