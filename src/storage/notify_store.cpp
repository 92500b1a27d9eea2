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
#include <concepts>
#include <optional>
#include <set>
#include <type_traits>

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

// The stored records: one list of fields per record, read by both encode and
// decode so the two directions cannot drift apart. This is the storage format
// of docs/storage.md, a versioned contract of its own: the outward JSON
// (nbms::notify::notification_json, which storage must not depend on) may
// gain fields without changing what is on disk, and the delivery's user and
// the endpoint's secrets are stored but never shown. Field order is free
// (json objects sort their keys). A field added to a record after records
// were first written is marked kAddedLater: an older record without it reads
// as the field's default.
constexpr bool kAddedLater = true;
template <class N, class Field>
requires std::same_as<std::remove_const_t<N>, Notification>
void fields(N& n, Field&& f) {
  f("id", n.id);
  f("customer", n.customer);
  f("building", n.building);
  f("kind", n.kind);
  f("priority", n.priority);
  f("title", n.title);
  f("body", n.body);
  f("created_ms", n.created_ms);
  f("link", n.link);
  f("author", n.author, kAddedLater);  // absent in records written before authors were kept
}
template <class D, class Field>
requires std::same_as<std::remove_const_t<D>, Delivery>
void fields(D& d, Field&& f) {
  f("id", d.id);
  f("notification", d.notification_id);
  f("user", d.user);
  f("endpoint", d.endpoint_id);
  f("channel", d.channel);
  f("state", d.state);
  f("attempts", d.attempts);
  f("created_ms", d.created_ms);
  f("next_attempt_ms", d.next_attempt_ms);
  f("updated_ms", d.updated_ms);
  f("last_error", d.last_error);
}
template <class S, class Field>
requires std::same_as<std::remove_const_t<S>, Subscription>
void fields(S& s, Field&& f) {
  f("user", s.user);
  f("customer", s.customer);
  f("building", s.building);
  f("alarms", s.alarms);
  f("notices", s.notices);
  f("min_priority", s.min_priority);
  f("channels", s.channels);
}
template <class E, class Field>
requires std::same_as<std::remove_const_t<E>, Endpoint>
void fields(E& e, Field&& f) {
  f("user", e.user);
  f("id", e.id);
  f("kind", e.kind);
  f("address", e.address);
  f("p256dh", e.p256dh);
  f("auth", e.auth);
  f("secret", e.secret);
  f("created_ms", e.created_ms);
  f("expired_ms", e.expired_ms);
}

// A field's JSON value: enums by name, the rest as nlohmann stores them.
template <class T>
json stored(const T& v) {
  if constexpr (std::is_enum_v<T>) {
    return std::string(to_string(v));
  } else if constexpr (std::is_same_v<T, std::vector<ChannelKind>>) {
    json a = json::array();
    for (auto c : v) a.push_back(stored(c));
    return a;
  } else {
    return v;
  }
}

template <class T>
T enum_or_throw(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message);
  return *r;
}
void load(const json& j, NotificationKind& v) {
  v = enum_or_throw(parse_notification_kind(j.get<std::string>()));
}
void load(const json& j, NotificationPriority& v) {
  v = enum_or_throw(parse_notification_priority(j.get<std::string>()));
}
void load(const json& j, ChannelKind& v) {
  v = enum_or_throw(parse_channel_kind(j.get<std::string>()));
}
void load(const json& j, DeliveryState& v) {
  v = enum_or_throw(parse_delivery_state(j.get<std::string>()));
}
void load(const json& j, std::vector<ChannelKind>& v) {
  for (const auto& c : j) load(c, v.emplace_back());
}
template <class T>
void load(const json& j, T& v) {
  j.get_to(v);
}

template <class T>
std::string encode(const T& record) {
  json j = json::object();
  fields(record, [&](const char* name, const auto& v, bool = false) { j[name] = stored(v); });
  return dump(j);
}

// A missing field, a wrong type or an unknown enum name is a corrupt record.
template <class T>
Result<T> decode(std::string_view data, std::string_view what) {
  return decode_json(data, what, [&](const json& j) {
    T record;
    fields(record, [&](const char* name, auto& v, bool added_later = false) {
      if (added_later && !j.contains(name)) return;
      load(j.at(name), v);
    });
    return record;
  });
}
Result<Subscription> decode_subscription(std::string_view data) {
  return decode<Subscription>(data, "subscription");
}
Result<Endpoint> decode_endpoint(std::string_view data) {
  return decode<Endpoint>(data, "endpoint");
}

// The entries under `prefix`, greatest key first (newest first: the keys end
// in a creation time or a time-ordered id), until `fn` returns false.
template <class Impl, class Fn>
Result<void> scan_newest_first(Impl& impl, Cf which, const std::string& prefix, Fn&& fn) {
  const std::string upper = prefix_end(prefix);
  rocksdb::Slice lower_slice(prefix), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl.db->NewIterator(ro, impl.cf(which)));
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan"));
  return {};
}

// The due time of a delivery_due key (v | next_attempt_ms u64be | id), if it
// is long enough to have one.
std::optional<std::uint64_t> due_at(std::string_view k) {
  if (k.size() < 9) return std::nullopt;
  return (std::uint64_t{read_u32be(k.substr(1, 4))} << 32) | read_u32be(k.substr(5, 4));
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
  batch.Put(impl_->cf(kNotifications), key, encode(n));
  std::set<std::string> ids;
  for (const auto& d : deliveries) {
    if (!ids.insert(d.id).second) {
      return fail(Errc::invalid_argument, "delivery id '" + d.id + "' repeated");
    }
    batch.Put(impl_->cf(kDeliveries), delivery_key(d.id), encode(d));
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
  return decode<Notification>(**raw, "notification");
}

Result<Delivery> RocksStore::delivery(std::string_view id) {
  auto raw = impl_->get(kDeliveries, delivery_key(id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "delivery '" + std::string(id) + "' not found");
  return decode<Delivery>(**raw, "delivery");
}

Result<std::vector<Delivery>> RocksStore::due_deliveries(std::int64_t now_ms, std::size_t limit) {
  std::vector<std::string> ids;
  auto r = impl_->scan(kDeliveryDue, std::string(1, kKeyVersion),
                       [&](std::string_view k, std::string_view) {
                         const auto at = due_at(k);
                         if (!at) return true;
                         if (*at > as_u64(now_ms) || ids.size() >= limit) return false;
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
  auto r = impl_->scan(kDeliveryDue, std::string(1, kKeyVersion),
                       [&](std::string_view k, std::string_view) {
                         const auto due = due_at(k);
                         if (!due) return true;
                         at = static_cast<std::int64_t>(*due);
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
  batch.Put(impl_->cf(kDeliveries), delivery_key(d.id), encode(next));
  if (!finished(next.state)) {
    batch.Put(impl_->cf(kDeliveryDue), due_key(next.next_attempt_ms, next.id), "");
  }
  return impl_->write(batch);
}

Result<std::vector<Delivery>> RocksStore::deliveries_of(std::string_view user, std::size_t limit) {
  const auto prefix = user_prefix(user);
  std::vector<std::string> ids;
  auto r =
      scan_newest_first(*impl_, kUserDeliveries, prefix, [&](std::string_view k, std::string_view) {
        if (ids.size() >= limit) return false;
        if (k.size() >= prefix.size() + 8) ids.emplace_back(k.substr(prefix.size() + 8));
        return true;
      });
  if (!r) return std::unexpected(r.error());
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
  std::vector<Notification> out;
  Result<void> inner;
  auto r = scan_newest_first(*impl_, kNotifications, notification_key(prefix),
                             [&](std::string_view, std::string_view v) {
                               if (out.size() >= limit) return false;
                               auto n = decode<Notification>(v, "notification");
                               if (!n) {
                                 inner = std::unexpected(n.error());
                                 return false;
                               }
                               out.push_back(std::move(*n));
                               return true;
                             });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  return out;
}

// ---- SubscriptionStore ----

Result<void> RocksStore::put_subscription(const Subscription& s) {
  if (auto ok = validate(s); !ok) return ok;
  std::lock_guard lock(impl_->notify_mu);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kSubscriptions), subscription_key(s.user, s.customer, s.building), encode(s));
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
  batch.Put(impl_->cf(kEndpoints), endpoint_key(e.user, e.id), encode(e));
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
