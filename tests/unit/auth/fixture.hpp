#pragma once
// An AuthService over the in-memory fakes, with an admin bootstrapped and a
// low PBKDF2 iteration count so the tests run fast.
#include <gtest/gtest.h>

#include "fakes.hpp"
#include "nbms/auth/service.hpp"

namespace nbms::testing {

inline constexpr const char* kAdminPassword = "admin-passphrase-1";
inline constexpr const char* kUserPassword = "user-passphrase-1";

inline auth::AuthOptions fast_options() {
  auth::AuthOptions o;
  o.pbkdf2_iterations = 1000;
  return o;
}

class AuthTest : public ::testing::Test {
 protected:
  explicit AuthTest(auth::AuthOptions options = fast_options())
      : options_(options), service_(users_, audit_, clock_, options) {}

  void SetUp() override {
    auto boot = service_.bootstrap_admin(std::string(kAdminPassword));
    ASSERT_TRUE(boot) << boot.error().message;
  }

  // Creates a user as admin, password kUserPassword.
  void add(const std::string& name, Role role, const std::string& customer) {
    auto u = service_.create_user(admin_, name, kUserPassword, role, customer, from_);
    ASSERT_TRUE(u) << name << ": " << u.error().message;
  }

  auth::LoginResult login_ok(const std::string& name, const std::string& password = kUserPassword,
                             const auth::Origin& from = {"10.0.0.1"}) {
    auto r = service_.login(name, password, from);
    EXPECT_TRUE(r) << name << ": " << r.error().message;
    return r ? *r : auth::LoginResult{};
  }

  static auth::Principal as(std::string user, Role role, std::string customer) {
    return auth::Principal{std::move(user), std::move(customer), role};
  }

  FakeUserStore users_;
  FakeAuditStore audit_;
  FakeClock clock_;
  auth::AuthOptions options_;
  auth::AuthService service_;
  auth::Principal admin_{"admin", "", Role::admin};
  auth::Origin from_{"10.0.0.1"};
};

}  // namespace nbms::testing
