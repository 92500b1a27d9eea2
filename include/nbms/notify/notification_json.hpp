#pragma once
// The one JSON shape of a notification that leaves nbmsd: the REST API lists
// it (GET /api/v1/notify/notices, docs/api.md) and webhooks and push messages
// carry it with the delivery id (docs/notifications.md). One function, so the
// API and what receivers get can never drift apart. The storage encoding is a
// separate, versioned contract (src/storage/notify_store.cpp). Pure functions,
// any thread.
#include <string>

#include <nlohmann/json.hpp>

#include "nbms/core/notification.hpp"

namespace nbms::notify {

// {id, customer, building, kind, priority, title, body, link, created_ms}.
nlohmann::json notification_json(const Notification& n);

// The webhook body and the push payload: the above plus {delivery}, as text.
// Invalid UTF-8 is replaced, never refused.
std::string notification_json(const Notification& n, const std::string& delivery_id);

}  // namespace nbms::notify
