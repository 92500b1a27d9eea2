#pragma once
// In-memory notification stores for the REST tests: subscriptions, endpoints,
// notifications and deliveries in maps, and an enqueue that fans out as the
// dispatcher does (without sending anything).
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "nbms/core/notification_ports.hpp"
#include "nbms/http/server.hpp"

namespace nbms::testing {

class FakeNotifyStore final : public OutboxStore, public SubscriptionStore {
 public:
  // OutboxStore
  Result<void> enqueue(const Notification& n, const std::vector<Delivery>& ds) override {
    std::lock_guard lock(mu_);
    if (notifications_.contains(n.id)) return fail(Errc::already_exists, "exists");
    notifications_[n.id] = n;
    for (const auto& d : ds) deliveries_[d.id] = d;
    return {};
  }
  Result<Notification> notification(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = notifications_.find(std::string(id));
    if (it == notifications_.end()) return fail(Errc::not_found, "no notification");
    return it->second;
  }
  Result<Delivery> delivery(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = deliveries_.find(std::string(id));
    if (it == deliveries_.end()) return fail(Errc::not_found, "no delivery");
    return it->second;
  }
  Result<std::vector<Delivery>> due_deliveries(std::int64_t, std::size_t) override {
    return std::vector<Delivery>{};
  }
  Result<std::optional<std::int64_t>> next_due() override { return std::optional<std::int64_t>{}; }
  Result<void> update_delivery(const Delivery& d) override {
    std::lock_guard lock(mu_);
    deliveries_[d.id] = d;
    return {};
  }
  Result<std::vector<Delivery>> deliveries_of(std::string_view user, std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<Delivery> out;
    for (auto it = deliveries_.rbegin(); it != deliveries_.rend() && out.size() < limit; ++it) {
      if (it->second.user == user) out.push_back(it->second);
    }
    return out;
  }
  Result<std::vector<Notification>> notifications_with_prefix(std::string_view prefix,
                                                              std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<Notification> out;
    for (auto it = notifications_.rbegin(); it != notifications_.rend() && out.size() < limit;
         ++it) {
      if (it->first.starts_with(prefix)) out.push_back(it->second);
    }
    return out;
  }

  // SubscriptionStore
  Result<void> put_subscription(const Subscription& s) override {
    if (auto v = validate(s); !v) return v;
    std::lock_guard lock(mu_);
    subscriptions_[{s.user, s.customer, s.building}] = s;
    return {};
  }
  Result<void> delete_subscription(std::string_view u, std::string_view c,
                                   std::string_view b) override {
    std::lock_guard lock(mu_);
    if (subscriptions_.erase({std::string(u), std::string(c), std::string(b)}) == 0) {
      return fail(Errc::not_found, "no subscription");
    }
    return {};
  }
  Result<std::vector<Subscription>> subscriptions_of(std::string_view u) override {
    std::lock_guard lock(mu_);
    std::vector<Subscription> out;
    for (const auto& [k, s] : subscriptions_) {
      if (s.user == u) out.push_back(s);
    }
    return out;
  }
  Result<std::vector<Subscription>> subscriptions_for(std::string_view c) override {
    std::lock_guard lock(mu_);
    std::vector<Subscription> out;
    for (const auto& [k, s] : subscriptions_) {
      if (s.customer == c) out.push_back(s);
    }
    return out;
  }
  Result<void> put_endpoint(const Endpoint& e) override {
    if (auto v = validate(e); !v) return v;
    std::lock_guard lock(mu_);
    endpoints_[{e.user, e.id}] = e;
    return {};
  }
  Result<void> delete_endpoint(std::string_view u, std::string_view id) override {
    std::lock_guard lock(mu_);
    if (endpoints_.erase({std::string(u), std::string(id)}) == 0) {
      return fail(Errc::not_found, "no endpoint");
    }
    return {};
  }
  Result<Endpoint> endpoint(std::string_view u, std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = endpoints_.find({std::string(u), std::string(id)});
    if (it == endpoints_.end()) return fail(Errc::not_found, "no endpoint");
    return it->second;
  }
  Result<std::vector<Endpoint>> endpoints_of(std::string_view u) override {
    std::lock_guard lock(mu_);
    std::vector<Endpoint> out;
    for (const auto& [k, e] : endpoints_) {
      if (e.user == u) out.push_back(e);
    }
    return out;
  }

  // What fan-out would store, as Dispatcher::enqueue does it.
  Result<std::vector<Delivery>> fan_out_and_store(const Notification& n, std::int64_t now_ms) {
    auto subs = subscriptions_for(n.customer);
    std::vector<Endpoint> eps;
    std::set<std::string> users;
    for (const auto& s : *subs) {
      if (!users.insert(s.user).second) continue;
      auto mine = endpoints_of(s.user);
      eps.insert(eps.end(), mine->begin(), mine->end());
    }
    auto ds = fan_out(n, *subs, eps, now_ms);
    if (auto w = enqueue(n, ds); !w) return std::unexpected(w.error());
    return ds;
  }

  std::size_t notification_count() {
    std::lock_guard lock(mu_);
    return notifications_.size();
  }

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, Subscription> subscriptions_;
  std::map<std::pair<std::string, std::string>, Endpoint> endpoints_;
  std::map<std::string, Notification> notifications_;
  std::map<std::string, Delivery> deliveries_;
};

}  // namespace nbms::testing
