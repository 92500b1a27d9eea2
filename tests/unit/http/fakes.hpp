#pragma once
// In-memory fakes of the core ports for the http unit tests. Each can be told to
// fail its next calls with a given error.
#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "nbms/core/ports.hpp"

namespace nbms::http::testing {

class FakeRegistry final : public Registry {
 public:
  std::optional<Error> fail_with;      // every call fails with this when set
  std::function<void()> on_customers;  // called (unlocked) at the start of customers()

  Result<void> create_customer(const Customer& c) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    if (customers_.contains(c.id)) return fail(Errc::already_exists, "dup customer");
    customers_[c.id] = c;
    return {};
  }
  Result<std::vector<Customer>> customers() override {
    if (on_customers) on_customers();
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<Customer> out;
    for (const auto& [id, c] : customers_) out.push_back(c);
    return out;
  }
  Result<Customer> customer(std::string_view id) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    const auto it = customers_.find(std::string(id));
    if (it == customers_.end()) return fail(Errc::not_found, "no customer");
    return it->second;
  }
  Result<void> create_building(const Building& b) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    if (!customers_.contains(b.customer)) return fail(Errc::not_found, "no customer");
    const auto key = std::make_pair(b.customer, b.id);
    if (buildings_.contains(key)) return fail(Errc::already_exists, "dup building");
    buildings_[key] = b;
    return {};
  }
  Result<std::vector<Building>> buildings(std::string_view customer) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<Building> out;
    for (const auto& [key, b] : buildings_) {
      if (key.first == customer) out.push_back(b);
    }
    return out;
  }
  Result<Building> building(std::string_view customer, std::string_view id) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    const auto it = buildings_.find({std::string(customer), std::string(id)});
    if (it == buildings_.end()) return fail(Errc::not_found, "no building");
    return it->second;
  }
  Result<void> create_thing(const Thing& t) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    if (!buildings_.contains({t.name.customer, t.name.building})) {
      return fail(Errc::not_found, "no building");
    }
    if (things_.contains(t.name.full())) return fail(Errc::already_exists, "dup thing");
    things_[t.name.full()] = t;
    return {};
  }
  Result<Thing> thing(std::string_view name) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    const auto it = things_.find(std::string(name));
    if (it == things_.end()) return fail(Errc::not_found, "no thing");
    return it->second;
  }
  // What a purge does to the registry (the test's purge_thing service).
  bool remove_thing(const std::string& name) {
    std::lock_guard lock(mu_);
    return things_.erase(name) > 0;
  }
  Result<std::vector<Thing>> things(std::string_view customer, std::string_view building) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<Thing> out;
    for (const auto& [name, t] : things_) {
      if (t.name.customer == customer && t.name.building == building) out.push_back(t);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Customer> customers_;
  std::map<std::pair<std::string, std::string>, Building> buildings_;
  std::map<std::string, Thing> things_;
};

class FakePointStore final : public PointStore {
 public:
  std::optional<Error> fail_with;
  std::vector<PointInfo> all;  // customer/building taken from `thing`

  Result<PointChanges> upsert_points(const ThingName&,
                                     const std::vector<PointInfo>& points) override {
    std::lock_guard lock(mu_);
    all.insert(all.end(), points.begin(), points.end());
    return PointChanges{points.size(), 0, 0, 0, 0};
  }
  Result<PointChanges> remove_points(const ThingName&, const std::vector<std::string>&) override {
    return PointChanges{};
  }
  Result<std::vector<PointInfo>> points(std::string_view customer,
                                        std::string_view building) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<PointInfo> out;
    for (const auto& p : all) {
      auto t = ThingName::parse(p.thing);
      if (t && t->customer == customer && t->building == building) out.push_back(p);
    }
    return out;
  }

 private:
  std::mutex mu_;
};

class FakeSeriesStore final : public SeriesStore {
 public:
  struct Key {
    std::string customer, building, point_id;
    auto operator<=>(const Key&) const = default;
  };
  std::optional<Error> fail_with;
  std::map<Key, std::vector<Sample>> samples;  // ascending by time
  // Arguments of the last history() call.
  std::optional<std::tuple<std::string, std::string, std::string, LocalMinute, LocalMinute>>
      last_history;

  Result<AppendResult> append(const PeriodicLog&) override { return AppendResult{}; }
  Result<std::vector<Sample>> history(std::string_view customer, std::string_view building,
                                      std::string_view point_id, LocalMinute from,
                                      LocalMinute to) override {
    std::lock_guard lock(mu_);
    last_history.emplace(customer, building, point_id, from, to);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<Sample> out;
    const auto it =
        samples.find({std::string(customer), std::string(building), std::string(point_id)});
    if (it == samples.end()) return out;
    for (const auto& s : it->second) {
      if (s.time >= from && s.time <= to) out.push_back(s);
    }
    return out;
  }
  Result<std::vector<LatestValue>> latest(std::string_view customer,
                                          std::string_view building) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<LatestValue> out;
    for (const auto& [key, list] : samples) {
      if (key.customer == customer && key.building == building && !list.empty()) {
        out.push_back({key.point_id, list.back().time, list.back().value});
      }
    }
    return out;
  }
  Result<std::optional<LastLog>> last_log(const ThingName&) override {
    return std::optional<LastLog>{};
  }

 private:
  std::mutex mu_;
};

class FakeDeadLetterStore final : public DeadLetterStore {
 public:
  std::optional<Error> fail_with;
  std::vector<DeadLetter> letters;  // oldest first
  std::optional<std::size_t> last_limit;

  Result<void> put_dead_letter(const DeadLetter& letter) override {
    std::lock_guard lock(mu_);
    letters.push_back(letter);
    return {};
  }
  Result<std::vector<DeadLetter>> dead_letters(std::size_t limit) override {
    std::lock_guard lock(mu_);
    last_limit = limit;
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<DeadLetter> out(letters.rbegin(), letters.rend());
    if (out.size() > limit) out.resize(limit);
    return out;
  }

 private:
  std::mutex mu_;
};

class FakeClock final : public Clock {
 public:
  std::int64_t now = 1'700'000'000'000;
  std::int64_t now_ms() const override { return now; }
};

}  // namespace nbms::http::testing
