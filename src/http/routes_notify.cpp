// Routes of notifications: a user's own subscriptions and endpoints, the
// delivery status of what was sent to them, the VAPID public key for the
// browser, and notices (managers post to their customer's users; everyone of
// the customer lists them). docs/api.md, "Notifications".
//
// Subscriptions, endpoints and deliveries always belong to the caller: no
// route reads or changes another user's. A subscription names a customer (and
// building), which must be in the caller's scope like any other route.
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "api_common.hpp"
#include "log.hpp"
#include "nbms/notify/notification_json.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

constexpr std::size_t kMaxEndpointsPerUser = 20;
constexpr std::size_t kMaxSubscriptionsPerUser = 200;
constexpr std::size_t kDefaultListLimit = 50;
constexpr std::size_t kMaxListLimit = 200;
constexpr std::size_t kMaxTitleBytes = 200;
constexpr std::size_t kMaxBodyBytes = 10000;
constexpr std::size_t kMaxAddressBytes = 2000;

Response notify_off() {
  return error_response(503, "notifications are not available on this server");
}

Response no_content() {
  Response res;
  res.status = 204;
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

Result<std::string> random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return fail(Errc::internal, "random number generator failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

json channels_json(const std::vector<ChannelKind>& channels) {
  json a = json::array();
  for (auto c : channels) a.push_back(std::string(to_string(c)));
  return a;
}

json subscription_json(const Subscription& s) {
  return {{"customer", s.customer},
          {"building", s.building},
          {"alarms", s.alarms},
          {"notices", s.notices},
          {"min_priority", std::string(to_string(s.min_priority))},
          {"channels", channels_json(s.channels)}};
}

// Never the webhook secret nor the browser's keys.
json endpoint_json(const Endpoint& e) {
  return {{"id", e.id},
          {"kind", std::string(to_string(e.kind))},
          {"address", e.address},
          {"created_ms", e.created_ms},
          {"expired_ms", e.expired_ms == 0 ? json(nullptr) : json(e.expired_ms)}};
}

// The shape webhooks and push messages carry too (minus the delivery id).
using notify::notification_json;

json delivery_json(const Delivery& d, const Notification* n) {
  json j{{"id", d.id},
         {"notification", d.notification_id},
         {"endpoint", d.endpoint_id},
         {"channel", std::string(to_string(d.channel))},
         {"state", std::string(to_string(d.state))},
         {"attempts", d.attempts},
         {"created_ms", d.created_ms},
         {"next_attempt_ms", finished(d.state) ? json(nullptr) : json(d.next_attempt_ms)},
         {"updated_ms", d.updated_ms},
         {"last_error", d.last_error}};
  if (n) {
    j["kind"] = std::string(to_string(n->kind));
    j["title"] = n->title;
    j["customer"] = n->customer;
    j["building"] = n->building;
    j["priority"] = std::string(to_string(n->priority));
  }
  return j;
}

Result<std::size_t> limit_param(const Ctx& x) {
  auto q = Query::parse(x.query);
  if (!q) return std::unexpected(q.error());
  const auto text = q->get("limit");
  if (!text) return kDefaultListLimit;
  std::size_t n = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, n);
  if (text->empty() || ec != std::errc() || ptr != end || n < 1 || n > kMaxListLimit) {
    return fail(Errc::invalid_argument,
                "'limit' must be an integer 1.." + std::to_string(kMaxListLimit));
  }
  return n;
}

Result<bool> bool_member(const json& obj, const char* name, bool fallback) {
  if (!obj.contains(name)) return fallback;
  if (!obj[name].is_boolean()) {
    return fail(Errc::invalid_argument, std::string("'") + name + "' must be true or false");
  }
  return obj[name].get<bool>();
}

// ---- the VAPID key ----

Response vapid_public_key(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  const auto& n = *x.s.notify;
  if (n.vapid_public_key.empty()) {
    return error_response(404, "Web Push is not configured on this server (notify.vapid_subject)");
  }
  return json_response(
      200, {{"public_key", n.vapid_public_key}, {"channels", channels_json(n.channels)}});
}

// ---- subscriptions ----

Response list_subscriptions(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  auto subs = x.s.notify->subscriptions.subscriptions_of(x.who->user);
  if (!subs) return error_from(subs.error());
  json a = json::array();
  for (const auto& s : *subs) {
    // Only customers in the caller's scope (an admin's subscriptions can name
    // any customer; others' are of their own customer by construction).
    if (x.who->can_read(s.customer)) a.push_back(subscription_json(s));
  }
  return json_response(200,
                       {{"subscriptions", a}, {"channels", channels_json(x.s.notify->channels)}});
}

// PUT notify/subscriptions/{c}[/{b}]: creates or replaces.
Response put_subscription(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  const std::string& c = x.params[0];
  const std::string b = x.params.size() > 1 ? x.params[1] : "";
  if (auto v = b.empty() ? check_customer(x, c) : check_building(x, c, b); !v) {
    return error_from(v.error());
  }
  auto body = parse_object(x.req, {"alarms", "notices", "min_priority", "channels"});
  if (!body) return std::move(body.error());
  Subscription s;
  s.user = x.who->user;
  s.customer = c;
  s.building = b;
  auto alarms = bool_member(*body, "alarms", true);
  if (!alarms) return error_from(alarms.error());
  auto notices = bool_member(*body, "notices", true);
  if (!notices) return error_from(notices.error());
  s.alarms = *alarms;
  s.notices = *notices;
  auto prio = string_member(*body, "min_priority", false, 1, 16);
  if (!prio) return error_from(prio.error());
  if (*prio) {
    auto p = parse_notification_priority(**prio);
    if (!p) return error_response(400, "'min_priority' must be low, medium, high or urgent");
    s.min_priority = *p;
  }
  if (body->contains("channels")) {
    const auto& ch = (*body)["channels"];
    if (!ch.is_array()) {
      return error_response(400, "'channels' must be an array of web_push, webhook, email");
    }
    for (const auto& item : ch) {
      auto k = item.is_string() ? parse_channel_kind(item.get<std::string>())
                                : fail(Errc::invalid_argument, "not a string");
      if (!k) return error_response(400, "'channels' must be an array of web_push, webhook, email");
      if (std::find(s.channels.begin(), s.channels.end(), *k) == s.channels.end()) {
        s.channels.push_back(*k);
      }
    }
  } else {
    s.channels = {ChannelKind::web_push, ChannelKind::webhook, ChannelKind::email};
  }
  if (auto v = validate(s); !v) return error_from(v.error());
  auto& store = x.s.notify->subscriptions;
  auto mine = store.subscriptions_of(s.user);
  if (!mine) return error_from(mine.error());
  const bool exists = std::ranges::any_of(*mine, [&](const Subscription& o) {
    return o.customer == s.customer && o.building == s.building;
  });
  if (!exists && mine->size() >= kMaxSubscriptionsPerUser) {
    return error_response(
        409, "at most " + std::to_string(kMaxSubscriptionsPerUser) + " subscriptions per user");
  }
  const std::string target = b.empty() ? c : c + "/" + b;
  if (auto r = store.put_subscription(s); !r) {
    audit(x, c, "notify.subscription.put", target, r.error().message, false);
    return error_from(r.error());
  }
  audit(x, c, "notify.subscription.put", target, dump(subscription_json(s)), true);
  return json_response(exists ? 200 : 201, subscription_json(s));
}

Response delete_subscription(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  const std::string& c = x.params[0];
  const std::string b = x.params.size() > 1 ? x.params[1] : "";
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (!b.empty()) {
    if (auto v = validate_building_id(b); !v) return error_from(v.error());
  }
  if (auto v = allow(x, c, Need::read); !v) return error_from(v.error());
  const std::string target = b.empty() ? c : c + "/" + b;
  if (auto r = x.s.notify->subscriptions.delete_subscription(x.who->user, c, b); !r) {
    if (r.error().code == Errc::not_found) {
      return error_response(404, "no subscription for '" + target + "'");
    }
    return error_from(r.error());
  }
  audit(x, c, "notify.subscription.delete", target, "", true);
  return no_content();
}

// ---- endpoints ----

Response list_endpoints(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  auto eps = x.s.notify->subscriptions.endpoints_of(x.who->user);
  if (!eps) return error_from(eps.error());
  json a = json::array();
  for (const auto& e : *eps) a.push_back(endpoint_json(e));
  return json_response(200, {{"endpoints", a}});
}

bool has_control_or_space(std::string_view s) {
  return std::ranges::any_of(s, [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u <= 0x20 || u == 0x7f;
  });
}

bool url_with_scheme(std::string_view url, bool https_only) {
  const bool https = url.starts_with("https://") && url.size() > 8;
  const bool http = url.starts_with("http://") && url.size() > 7;
  return (https || (http && !https_only)) && !has_control_or_space(url);
}

bool plausible_email(std::string_view a) {
  const auto at = a.find('@');
  return at != 0 && at != std::string_view::npos && at + 1 < a.size() &&
         a.find('@', at + 1) == std::string_view::npos && a.size() <= 254 &&
         !has_control_or_space(a) && a.find_first_of("<>\",;") == std::string_view::npos;
}

// POST notify/endpoints
//   {"kind":"web_push","address":<PushSubscription.endpoint>,"p256dh":..,"auth":..}
//   {"kind":"webhook","address":"https://..."}    -> the secret, shown once
//   {"kind":"email","address":"ops@example.com"}
// The same browser subscription (or webhook URL, or address) registered again
// replaces the earlier endpoint and keeps its id.
Response add_endpoint(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  const auto& ns = *x.s.notify;
  auto body = parse_object(x.req, {"kind", "address", "p256dh", "auth"});
  if (!body) return std::move(body.error());
  auto kind_text = string_member(*body, "kind", true, 1, 16);
  if (!kind_text) return error_from(kind_text.error());
  auto kind = parse_channel_kind(**kind_text);
  if (!kind) return error_response(400, "'kind' must be web_push, webhook or email");
  if (std::find(ns.channels.begin(), ns.channels.end(), *kind) == ns.channels.end()) {
    return error_response(
        400, "channel '" + std::string(to_string(*kind)) + "' is not configured on this server");
  }
  auto address = string_member(*body, "address", true, 1, kMaxAddressBytes);
  if (!address) return error_from(address.error());
  Endpoint e;
  e.user = x.who->user;
  e.kind = *kind;
  e.address = **address;
  e.created_ms = x.s.clock.now_ms();
  std::string secret;
  switch (*kind) {
    case ChannelKind::web_push: {
      if (!url_with_scheme(e.address, true)) {
        return error_response(400, "'address' must be the https:// URL of the push service");
      }
      auto p256dh = string_member(*body, "p256dh", true, 1, 200);
      if (!p256dh) return error_from(p256dh.error());
      auto auth = string_member(*body, "auth", true, 1, 100);
      if (!auth) return error_from(auth.error());
      e.p256dh = **p256dh;
      e.auth = **auth;
      break;
    }
    case ChannelKind::webhook: {
      if (!url_with_scheme(e.address, false)) {
        return error_response(400, "'address' must be an http:// or https:// URL");
      }
      auto s = random_hex(32);
      if (!s) return error_from(s.error());
      secret = *s;
      e.secret = secret;
      break;
    }
    case ChannelKind::email:
      if (!plausible_email(e.address)) {
        return error_response(400, "'address' must be an e-mail address local@domain");
      }
      break;
  }
  if (*kind != ChannelKind::web_push && (body->contains("p256dh") || body->contains("auth"))) {
    return error_response(400, "'p256dh' and 'auth' belong to web_push endpoints only");
  }
  auto mine = ns.subscriptions.endpoints_of(e.user);
  if (!mine) return error_from(mine.error());
  bool replaced = false;
  for (const auto& o : *mine) {
    if (o.kind == e.kind && o.address == e.address) {
      e.id = o.id;
      replaced = true;
    }
  }
  if (!replaced) {
    if (mine->size() >= kMaxEndpointsPerUser) {
      return error_response(409, "at most " + std::to_string(kMaxEndpointsPerUser) +
                                     " endpoints per user; delete one first");
    }
    auto id = random_hex(8);
    if (!id) return error_from(id.error());
    e.id = "ep-" + *id;
  }
  if (auto v = validate(e); !v) return error_from(v.error());
  // Never the address of a web push subscription in the log (a capability URL).
  const std::string detail =
      std::string(to_string(e.kind)) +
      (e.kind == ChannelKind::web_push ? "" : " " + e.address.substr(0, 200));
  if (auto r = ns.subscriptions.put_endpoint(e); !r) {
    audit(x, x.who->customer, "notify.endpoint.add", e.id, r.error().message, false);
    return error_from(r.error());
  }
  audit(x, x.who->customer, "notify.endpoint.add", e.id, detail, true);
  json out = endpoint_json(e);
  if (!secret.empty()) out["secret"] = secret;  // shown this once
  auto res = json_response(replaced ? 200 : 201, out);
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

Response delete_endpoint(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  const auto& id = x.params[0];
  if (auto r = x.s.notify->subscriptions.delete_endpoint(x.who->user, id); !r) {
    if (r.error().code == Errc::not_found || r.error().code == Errc::invalid_argument) {
      return error_response(404, "no endpoint '" + id.substr(0, 64) + "'");
    }
    return error_from(r.error());
  }
  audit(x, x.who->customer, "notify.endpoint.delete", id, "", true);
  return no_content();
}

// ---- delivery status ----

Response list_deliveries(const Ctx& x) {
  if (!x.s.notify) return notify_off();
  auto limit = limit_param(x);
  if (!limit) return error_from(limit.error());
  auto& outbox = x.s.notify->outbox;
  auto ds = outbox.deliveries_of(x.who->user, *limit);
  if (!ds) return error_from(ds.error());
  json a = json::array();
  for (const auto& d : *ds) {
    auto n = outbox.notification(d.notification_id);
    a.push_back(delivery_json(d, n ? &*n : nullptr));
  }
  return json_response(200, {{"deliveries", a}});
}

// ---- notices ----

std::string notice_prefix(std::string_view customer) {
  return "notice." + std::string(customer) + ".";
}

Response list_notices(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = check_customer(x, c); !v) return error_from(v.error());
  if (!x.s.notify) return notify_off();
  auto limit = limit_param(x);
  if (!limit) return error_from(limit.error());
  auto all = x.s.notify->outbox.notifications_with_prefix(notice_prefix(c), *limit);
  if (!all) return error_from(all.error());
  json a = json::array();
  for (const auto& n : *all) a.push_back(notification_json(n));
  return json_response(200, {{"notices", a}});
}

// POST customers/{c}/notices {"title","body","building"?,"priority"?,"link"?}
Response post_notice(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = allow(x, c, Need::manage); !v) return error_from(v.error());
  auto body = parse_object(x.req, {"title", "body", "building", "priority", "link"});
  if (!body) return std::move(body.error());
  auto title = string_member(*body, "title", true, 1, kMaxTitleBytes);
  if (!title) return error_from(title.error());
  auto text = string_member(*body, "body", false, 0, kMaxBodyBytes);
  if (!text) return error_from(text.error());
  auto building = string_member(*body, "building", false, 0, 64);
  if (!building) return error_from(building.error());
  auto prio = string_member(*body, "priority", false, 1, 16);
  if (!prio) return error_from(prio.error());
  auto link = string_member(*body, "link", false, 0, 2000);
  if (!link) return error_from(link.error());
  const std::string b = building->value_or("");
  if (auto v =
          b.empty() ? check_customer(x, c, Need::manage) : check_building(x, c, b, Need::manage);
      !v) {
    return error_from(v.error());
  }
  if (!x.s.notify) return notify_off();
  Notification n;
  n.customer = c;
  n.building = b;
  n.kind = NotificationKind::notice;
  n.priority = NotificationPriority::medium;
  if (*prio) {
    auto p = parse_notification_priority(**prio);
    if (!p) return error_response(400, "'priority' must be low, medium, high or urgent");
    n.priority = *p;
  }
  n.title = **title;
  n.body = text->value_or("");
  n.link = link->value_or("");
  n.author = x.who->user;
  n.created_ms = x.s.clock.now_ms();
  // Ids in time order (fixed width) under the customer's prefix: the list is
  // one backwards scan.
  auto suffix = random_hex(4);
  if (!suffix) return error_from(suffix.error());
  char stamp[24];
  std::snprintf(stamp, sizeof stamp, "%015lld", static_cast<long long>(n.created_ms));
  n.id = notice_prefix(c) + stamp + "." + *suffix;
  if (auto v = validate(n); !v) return error_from(v.error());
  auto deliveries = x.s.notify->enqueue(n);
  if (!deliveries) {
    audit(x, c, "notice.post", n.id, deliveries.error().message, false);
    return error_from(deliveries.error());
  }
  audit(x, c, "notice.post", n.id, n.title, true);
  json out = notification_json(n);
  out["deliveries"] = deliveries->size();
  return json_response(201, out);
}

}  // namespace

void forget_notify_user(const Services& s, const std::string& user) {
  if (!s.notify) return;
  auto& store = s.notify->subscriptions;
  if (auto subs = store.subscriptions_of(user)) {
    for (const auto& sub : *subs) {
      if (auto r = store.delete_subscription(user, sub.customer, sub.building); !r) {
        logger().error("deleting subscription of removed user {}: {}", user, r.error().message);
      }
    }
  }
  if (auto eps = store.endpoints_of(user)) {
    for (const auto& e : *eps) {
      if (auto r = store.delete_endpoint(user, e.id); !r) {
        logger().error("deleting endpoint of removed user {}: {}", user, r.error().message);
      }
    }
  }
}

const std::vector<Route>& notify_routes() {
  static const std::vector<Route> kRoutes{
      {"GET", {"notify", "vapid-public-key"}, vapid_public_key},
      {"GET", {"notify", "subscriptions"}, list_subscriptions},
      {"PUT", {"notify", "subscriptions", "{}"}, put_subscription},
      {"DELETE", {"notify", "subscriptions", "{}"}, delete_subscription},
      {"PUT", {"notify", "subscriptions", "{}", "{}"}, put_subscription},
      {"DELETE", {"notify", "subscriptions", "{}", "{}"}, delete_subscription},
      {"GET", {"notify", "endpoints"}, list_endpoints},
      {"POST", {"notify", "endpoints"}, add_endpoint},
      {"DELETE", {"notify", "endpoints", "{}"}, delete_endpoint},
      {"GET", {"notify", "deliveries"}, list_deliveries},
      {"GET", {"customers", "{}", "notices"}, list_notices},
      {"POST", {"customers", "{}", "notices"}, post_notice},
  };
  return kRoutes;
}

}  // namespace nbms::http
