// The notification outbox and users' subscriptions of RocksStore
// (OutboxStore, SubscriptionStore).
//
// Key layout (docs/storage.md, "Notifications"); v is kKeyVersion (0x01):
//   notifications:   v | notification id                          -> JSON notification
//   deliveries:      v | delivery id                              -> JSON delivery
//   delivery_due:    v | next_attempt_ms u64be | delivery id      -> empty (unfinished only)
//   user_deliveries: v | user 0 | created_ms u64be | delivery id  -> empty
//   subscriptions:   v | user 0 | customer 0 | building          -> JSON subscription
//   endpoints:       v | user 0 | endpoint id                     -> JSON endpoint
// A delivery and its index entries always change in one WriteBatch under
// notify_mu, so the due index never disagrees with the records for long: a
// reader that still sees an index entry of a finished delivery skips it.
#include <set>

#include "store_impl.hpp"

namespace nbms::storage {
namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::uint64_t as_u64(std::int64_t ms) {
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

std::string notification_key(std::string_view id) {
  return std::string(1, kKeyVersion).append(id);
}
std::string delivery_key(std::string_view id) {
  return std::string(1, kKeyVersion).append(id);
}
std::string due_key(std::int64_t next_attempt_ms, std::string_view id) {
  std::string k(1, kKeyVersion);
  put_u64be(k, as_u64(next_attempt_ms));
  return k.append(id);
}
std::string user_prefix(std::string_view user) {
  std::string k(1, kKeyVersion);
  put_part(k, user);
  return k;
}
std::string user_delivery_key(const Delivery& d) {
  auto k = user_prefix(d.user);
  put_u64be(k, as_u64(d.created_ms));
  return k.append(d.id);
}
std::string subscription_key(std::string_view user, std::string_view customer,
                             std::string_view building) {
  auto k = user_prefix(user);
  put_part(k, customer);
  return k.append(building);
}
std::string endpoint_key(std::string_view user, std::string_view id) {
  return user_prefix(user).append(id);
}

std::string encode_notification(const Notification& n) {
  return dump(json{{"id", n.id},
                   {"customer", n.customer},
                   {"building", n.building},
                   {"kind", std::string(to_string(n.kind))},
                   {"priority", std::string(to_string(n.priority))},
                   {"title", n.title},
                   {"body", n.body},
                   {"created_ms", n.created_ms},
                   {"link", n.link},
                   {"author", n.author}});
}

std::string encode_delivery(const Delivery& d) {
  return dump(json{{"id", d.id},
                   {"notification", d.notification_id},
                   {"user", d.user},
                   {"endpoint", d.endpoint_id},
                   {"channel", std::string(to_string(d.channel))},
                   {"state", std::string(to_string(d.state))},
                   {"attempts", d.attempts},
                   {"created_ms", d.created_ms},
                   {"next_attempt_ms", d.next_attempt_ms},
                   {"updated_ms", d.updated_ms},
                   {"last_error", d.last_error}});
}

std::string encode_subscription(const Subscription& s) {
  json channels = json::array();
  for (auto c : s.channels) channels.push_back(std::string(to_string(c)));
  return dump(json{{"user", s.user},
                   {"customer", s.customer},
                   {"building", s.building},
                   {"alarms", s.alarms},
                   {"notices", s.notices},
                   {"min_priority", std::string(to_string(s.min_priority))},
                   {"channels", channels}});
}

std::string encode_endpoint(const Endpoint& e) {
  return dump(json{{"user", e.user},
                   {"id", e.id},
                   {"kind", std::string(to_string(e.kind))},
                   {"address", e.address},
                   {"p256dh", e.p256dh},
                   {"auth", e.auth},
                   {"secret", e.secret},
                   {"created_ms", e.created_ms},
                   {"expired_ms", e.expired_ms}});
}

template <class T>
T enum_or_throw(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message);
  return *r;
}

Result<Notification> decode_notification(std::string_view data) {
  return decode_json(data, "notification", [](const json& j) {
    Notification n;
    n.id = j.at("id");
    n.customer = j.at("customer");
    n.building = j.at("building");
    n.kind = enum_or_throw(parse_notification_kind(j.at("kind").get<std::string>()));
    n.priority = enum_or_throw(parse_notification_priority(j.at("priority").get<std::string>()));
    n.title = j.at("title");
    n.body = j.at("body");
    n.created_ms = j.at("created_ms");
    n.link = j.at("link");
    n.author = j.value("author", "");  // absent in records written before authors were kept
    return n;
  });
}

Result<Delivery> decode_delivery(std::string_view data) {
  return decode_json(data, "delivery", [](const json& j) {
    Delivery d;
    d.id = j.at("id");
    d.notification_id = j.at("notification");
    d.user = j.at("user");
    d.endpoint_id = j.at("endpoint");
    d.channel = enum_or_throw(parse_channel_kind(j.at("channel").get<std::string>()));
    d.state = enum_or_throw(parse_delivery_state(j.at("state").get<std::string>()));
    d.attempts = j.at("attempts");
    d.created_ms = j.at("created_ms");
    d.next_attempt_ms = j.at("next_attempt_ms");
    d.updated_ms = j.at("updated_ms");
    d.last_error = j.at("last_error");
    return d;
  });
}

Result<Subscription> decode_subscription(std::string_view data) {
  return decode_json(data, "subscription", [](const json& j) {
    Subscription s;
    s.user = j.at("user");
    s.customer = j.at("customer");
    s.building = j.at("building");
    s.alarms = j.at("alarms");
    s.notices = j.at("notices");
    s.min_priority =
        enum_or_throw(parse_notification_priority(j.at("min_priority").get<std::string>()));
    for (const auto& c : j.at("channels")) {
      s.channels.push_back(enum_or_throw(parse_channel_kind(c.get<std::string>())));
    }
    return s;
  });
}

Result<Endpoint> decode_endpoint(std::string_view data) {
  return decode_json(data, "endpoint", [](const json& j) {
    Endpoint e;
    e.user = j.at("user");
    e.id = j.at("id");
    e.kind = enum_or_throw(parse_channel_kind(j.at("kind").get<std::string>()));
    e.address = j.at("address");
    e.p256dh = j.at("p256dh");
    e.auth = j.at("auth");
    e.secret = j.at("secret");
    e.created_ms = j.at("created_ms");
    e.expired_ms = j.at("expired_ms");
    return e;
  });
}

}  // namespace

// ---- OutboxStore ----

Result<void> RocksStore::enqueue(const Notification& n, const std::vector<Delivery>& deliveries) {
  if (auto ok = validate(n); !ok) return ok;
  for (const auto& d : deliveries) {
    if (d.notification_id != n.id || d.id.empty() || d.user.empty() || d.endpoint_id.empty()) {
      return fail(Errc::invalid_argument,
                  "delivery '" + d.id + "' does not belong to '" + n.id + "'");
    }
  }
  std::lock_guard lock(impl_->notify_mu);
  const auto key = notification_key(n.id);
  auto existing = impl_->get(kNotifications, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return fail(Errc::already_exists, "notification '" + n.id + "' already enqueued");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kNotifications), key, encode_notification(n));
  std::set<std::string> ids;
  for (const auto& d : deliveries) {
    if (!ids.insert(d.id).second) {
      return fail(Errc::invalid_argument, "delivery id '" + d.id + "' repeated");
    }
    batch.Put(impl_->cf(kDeliveries), delivery_key(d.id), encode_delivery(d));
    if (!finished(d.state))
      batch.Put(impl_->cf(kDeliveryDue), due_key(d.next_attempt_ms, d.id), "");
    batch.Put(impl_->cf(kUserDeliveries), user_delivery_key(d), "");
  }
  return impl_->write(batch);
}

Result<Notification> RocksStore::notification(std::string_view id) {
  auto raw = impl_->get(kNotifications, notification_key(id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "notification '" + std::string(id) + "' not found");
  return decode_notification(**raw);
}

Result<Delivery> RocksStore::delivery(std::string_view id) {
  auto raw = impl_->get(kDeliveries, delivery_key(id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "delivery '" + std::string(id) + "' not found");
  return decode_delivery(**raw);
}

Result<std::vector<Delivery>> RocksStore::due_deliveries(std::int64_t now_ms, std::size_t limit) {
  std::vector<std::string> ids;
  auto r = impl_->scan(
      kDeliveryDue, std::string(1, kKeyVersion), [&](std::string_view k, std::string_view) {
        if (k.size() < 9) return true;
        const auto at =
            (std::uint64_t{read_u32be(k.substr(1, 4))} << 32) | read_u32be(k.substr(5, 4));
        if (at > as_u64(now_ms) || ids.size() >= limit) return false;
        ids.emplace_back(k.substr(9));
        return true;
      });
  if (!r) return std::unexpected(r.error());
  std::vector<Delivery> out;
  for (const auto& id : ids) {
    auto d = delivery(id);
    if (!d) {
      if (d.error().code == Errc::not_found) continue;
      return std::unexpected(d.error());
    }
    // An entry read just before a concurrent update_delivery moved it.
    if (finished(d->state) || d->next_attempt_ms > now_ms) continue;
    out.push_back(std::move(*d));
  }
  return out;
}

Result<std::optional<std::int64_t>> RocksStore::next_due() {
  std::optional<std::int64_t> at;
  auto r = impl_->scan(
      kDeliveryDue, std::string(1, kKeyVersion), [&](std::string_view k, std::string_view) {
        if (k.size() < 9) return true;
        at = static_cast<std::int64_t>((std::uint64_t{read_u32be(k.substr(1, 4))} << 32) |
                                       read_u32be(k.substr(5, 4)));
        return false;
      });
  if (!r) return std::unexpected(r.error());
  return at;
}

Result<void> RocksStore::update_delivery(const Delivery& d) {
  std::lock_guard lock(impl_->notify_mu);
  auto old = delivery(d.id);
  if (!old) return std::unexpected(old.error());
  rocksdb::WriteBatch batch;
  if (!finished(old->state)) {
    batch.Delete(impl_->cf(kDeliveryDue), due_key(old->next_attempt_ms, old->id));
  }
  // Identity and creation stay as enqueued (the user index is keyed by them).
  Delivery next = d;
  next.notification_id = old->notification_id;
  next.user = old->user;
  next.endpoint_id = old->endpoint_id;
  next.channel = old->channel;
  next.created_ms = old->created_ms;
  batch.Put(impl_->cf(kDeliveries), delivery_key(d.id), encode_delivery(next));
  if (!finished(next.state)) {
    batch.Put(impl_->cf(kDeliveryDue), due_key(next.next_attempt_ms, next.id), "");
  }
  return impl_->write(batch);
}

Result<std::vector<Delivery>> RocksStore::deliveries_of(std::string_view user, std::size_t limit) {
  const auto prefix = user_prefix(user);
  const auto upper = prefix_end(prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kUserDeliveries)));
  if (upper.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(upper);
  }
  std::vector<std::string> ids;
  for (; it->Valid() && ids.size() < limit; it->Prev()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix)) {
      if (k >= std::string_view(upper)) continue;  // SeekForPrev landed on `upper` itself
      break;
    }
    if (k.size() < prefix.size() + 8) continue;
    ids.emplace_back(k.substr(prefix.size() + 8));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan"));
  std::vector<Delivery> out;
  for (const auto& id : ids) {
    auto d = delivery(id);
    if (!d) return std::unexpected(d.error());
    out.push_back(std::move(*d));
  }
  return out;
}

Result<std::vector<Notification>> RocksStore::notifications_with_prefix(std::string_view prefix,
                                                                        std::size_t limit) {
  const auto first = notification_key(prefix);
  const auto upper = prefix_end(first);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kNotifications)));
  if (upper.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(upper);
  }
  std::vector<Notification> out;
  for (; it->Valid() && out.size() < limit; it->Prev()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(first)) {
      if (k >= std::string_view(upper)) continue;  // SeekForPrev landed on `upper` itself
      break;
    }
    auto n = decode_notification(std::string_view(it->value().data(), it->value().size()));
    if (!n) return std::unexpected(n.error());
    out.push_back(std::move(*n));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan"));
  return out;
}

// ---- SubscriptionStore ----

Result<void> RocksStore::put_subscription(const Subscription& s) {
  if (auto ok = validate(s); !ok) return ok;
  std::lock_guard lock(impl_->notify_mu);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kSubscriptions), subscription_key(s.user, s.customer, s.building),
            encode_subscription(s));
  return impl_->write(batch);
}

Result<void> RocksStore::delete_subscription(std::string_view user, std::string_view customer,
                                             std::string_view building) {
  std::lock_guard lock(impl_->notify_mu);
  const auto key = subscription_key(user, customer, building);
  auto existing = impl_->get(kSubscriptions, key);
  if (!existing) return std::unexpected(existing.error());
  if (!*existing) return fail(Errc::not_found, "subscription not found");
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kSubscriptions), key);
  return impl_->write(batch);
}

Result<std::vector<Subscription>> RocksStore::subscriptions_of(std::string_view user) {
  return impl_->scan_decoded(kSubscriptions, user_prefix(user), decode_subscription);
}

Result<std::vector<Subscription>> RocksStore::subscriptions_for(std::string_view customer) {
  // People, not devices: a scan and a filter beat keeping a second index.
  return impl_->scan_decoded(kSubscriptions, std::string(1, kKeyVersion), decode_subscription,
                             [&](const Subscription& s) { return s.customer == customer; });
}

Result<void> RocksStore::put_endpoint(const Endpoint& e) {
  if (auto ok = validate(e); !ok) return ok;
  std::lock_guard lock(impl_->notify_mu);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kEndpoints), endpoint_key(e.user, e.id), encode_endpoint(e));
  return impl_->write(batch);
}

Result<void> RocksStore::delete_endpoint(std::string_view user, std::string_view id) {
  std::lock_guard lock(impl_->notify_mu);
  const auto key = endpoint_key(user, id);
  auto existing = impl_->get(kEndpoints, key);
  if (!existing) return std::unexpected(existing.error());
  if (!*existing) return fail(Errc::not_found, "endpoint '" + std::string(id) + "' not found");
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kEndpoints), key);
  return impl_->write(batch);
}

Result<Endpoint> RocksStore::endpoint(std::string_view user, std::string_view id) {
  auto raw = impl_->get(kEndpoints, endpoint_key(user, id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "endpoint '" + std::string(id) + "' not found");
  return decode_endpoint(**raw);
}

Result<std::vector<Endpoint>> RocksStore::endpoints_of(std::string_view user) {
  return impl_->scan_decoded(kEndpoints, user_prefix(user), decode_endpoint);
}

}  // namespace nbms::storage
