#pragma once
// The small world the HTTP and WebSocket fuzz targets run against: the unit
// tests' in-memory fakes of the ports, seeded with one customer (C000003), its
// building and thing, two points with samples, a dead letter, and one logged-in
// user per role. Built afresh for every input so that runs are deterministic
// (what one input creates or deletes cannot change how the next one behaves).
// PBKDF2 runs with 1 iteration: the fuzzer is after the parsing, not the KDF.
// Single-threaded, like libFuzzer's loop.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "nbms/auth/service.hpp"
#include "nbms/http/server.hpp"
#include "unit/auth/fakes.hpp"
#include "unit/http/fakes.hpp"

namespace nbms::fuzz {

inline constexpr std::string_view kPassword = "fuzz-password-1";
inline constexpr std::string_view kCustomer = "C000003";
inline constexpr std::string_view kOtherCustomer = "C000004";

inline void require(bool ok, std::string_view what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz world: seeding failed: %.*s\n", static_cast<int>(what.size()),
                 what.data());
    std::abort();
  }
}

// The modules log every login and user creation; at thousands of inputs a
// second that is all the fuzzer would do. Called once, before the first input.
inline void quiet_logs() {
  spdlog::set_level(spdlog::level::off);
}

struct World {
  World() {
    require(auth.bootstrap_admin(std::string(kPassword)).has_value(), "admin");
    const auth::Principal root{"admin", "", Role::admin};
    const auth::Origin from{"127.0.0.1"};
    for (const auto c : {kCustomer, kOtherCustomer}) {
      const std::string id(c);
      require(registry.create_customer({id, "Customer " + id, 1}).has_value(), "customer");
      require(registry.create_building({id, "B001", "HQ", "1 Main St", 2}).has_value(), "building");
      const auto thing = ThingName::parse(id + "_B001_01").value();
      require(registry.create_thing({thing, 3}).has_value(), "thing");
      points.all.push_back(
          {"01.1.AV-101:SP", thing.full(), "AV", "SP", "AHU/AHU_0101", "3F", "degC", true, true});
      points.all.push_back(
          {"39.BI-300:Fan", thing.full(), "BI", "Fan", "AHU/AHU_0101", "3F", "On/Off", true, true});
      series.samples[{id, "B001", "01.1.AV-101:SP"}] = {
          {LocalMinute::parse("202210040900").value(), 21.5},
          {LocalMinute::parse("202210040915").value(), 22.0}};
    }
    dead.letters.push_back(
        {1'700'000'000'000, "C000003_B001_01/periodic_log", "malformed: x", "{\"msg_type\":"});
    require(auth.create_user(root, "mgr", kPassword, Role::manager, kCustomer, from).has_value(),
            "manager");
    require(auth.create_user(root, "viewer", kPassword, Role::viewer, kCustomer, from).has_value(),
            "viewer");
    for (const auto* name : {"admin", "mgr", "viewer"}) {
      auto r = auth.login(name, kPassword, from);
      require(r.has_value(), "login");
      tokens[name] = r->token;
    }
  }

  http::testing::FakeRegistry registry;
  http::testing::FakePointStore points;
  http::testing::FakeSeriesStore series;
  http::testing::FakeDeadLetterStore dead;
  http::testing::FakeClock clock;
  nbms::testing::FakeUserStore users;
  nbms::testing::FakeAuditStore audit;
  auth::AuthService auth{users, audit, clock, auth::AuthOptions{.pbkdf2_iterations = 1}};
  std::map<std::string, std::string> tokens;  // user -> session token
};

[[noreturn]] inline void violated(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %.*s\n  %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) violated(what, detail);
}

}  // namespace nbms::fuzz
