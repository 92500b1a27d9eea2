// Throttling of failed logins: through the service, and the Throttle itself.
#include "auth/throttle.hpp"
#include "fixture.hpp"

namespace nbms::testing {
namespace {

class ThrottleTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    add("alice", Role::viewer, "C1");
    add("bob", Role::viewer, "C1");
  }
  Error login_error(const std::string& name, const std::string& password,
                    const std::string& remote = "10.0.0.1") {
    auto r = service_.login(name, password, {remote});
    EXPECT_FALSE(r) << name << " logged in";
    return r ? Error{Errc::internal, "logged in"} : r.error();
  }
  void fail_times(int n, const std::string& name, const std::string& remote = "10.0.0.1") {
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(login_error(name, "wrong-password", remote).code, Errc::unauthenticated) << i;
    }
  }
};

TEST_F(ThrottleTest, LocksOutAfterMaxFailuresEvenWithTheRightPassword) {
  fail_times(5, "alice");
  auto e = login_error("alice", kUserPassword);
  EXPECT_EQ(e.code, Errc::throttled);
  EXPECT_EQ(e.message, "too many failed logins; retry in 30 s");
  clock_.advance(10'000);
  EXPECT_EQ(login_error("alice", kUserPassword).message, "too many failed logins; retry in 20 s");
  clock_.advance(20'000);
  EXPECT_TRUE(service_.login("alice", kUserPassword, from_));
}

TEST_F(ThrottleTest, LockoutDoublesPerFurtherFailureUpToTheMaximum) {
  fail_times(5, "alice", "10.0.0.1");
  std::int64_t expected = 30'000;
  // Each attempt from a new address, so only the user's count matters.
  for (int i = 0; i < 8; ++i) {
    auto e = login_error("alice", "wrong-password", "10.1.0." + std::to_string(i));
    ASSERT_EQ(e.code, Errc::throttled);
    EXPECT_EQ(e.message,
              "too many failed logins; retry in " + std::to_string(expected / 1000) + " s");
    clock_.advance(expected);
    fail_times(1, "alice", "10.1.0." + std::to_string(i));
    expected = std::min<std::int64_t>(expected * 2, options_.max_lockout_ms);
  }
  EXPECT_EQ(expected, 15 * 60 * 1000);
  EXPECT_EQ(login_error("alice", kUserPassword, "10.2.0.1").message,
            "too many failed logins; retry in 900 s");
}

TEST_F(ThrottleTest, SuccessResetsTheUsersCount) {
  fail_times(4, "alice");
  EXPECT_TRUE(service_.login("alice", kUserPassword, {"10.0.0.2"}));
  fail_times(4, "alice", "10.0.0.3");
  EXPECT_TRUE(service_.login("alice", kUserPassword, {"10.0.0.4"}));
  // After a lockout has passed, a success starts the count over too.
  fail_times(5, "alice", "10.0.0.5");
  clock_.advance(30'000);
  EXPECT_TRUE(service_.login("alice", kUserPassword, {"10.0.0.6"}));
  fail_times(4, "alice", "10.0.0.7");
  EXPECT_TRUE(service_.login("alice", kUserPassword, {"10.0.0.8"}));
}

TEST_F(ThrottleTest, OtherUsersAreNotLockedOutFromOtherAddresses) {
  fail_times(5, "alice");
  EXPECT_EQ(login_error("alice", kUserPassword, "10.9.9.9").code, Errc::throttled);
  EXPECT_TRUE(service_.login("bob", kUserPassword, {"10.9.9.9"}));
}

TEST_F(ThrottleTest, PerAddressThrottleStopsPasswordSpraying) {
  // One guess each at many names from one address.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login_error("user" + std::to_string(i), "Summer2024!", "198.51.100.1").code,
              Errc::unauthenticated);
  }
  auto e = login_error("bob", kUserPassword, "198.51.100.1");
  EXPECT_EQ(e.code, Errc::throttled);
  EXPECT_EQ(e.message, "too many failed logins; retry in 30 s");
  // bob himself is fine elsewhere.
  EXPECT_TRUE(service_.login("bob", kUserPassword, {"198.51.100.2"}));
  // A success from the address does not clear the address's count.
  clock_.advance(30'000);
  EXPECT_TRUE(service_.login("bob", kUserPassword, {"198.51.100.1"}));
  EXPECT_EQ(login_error("user9", "Summer2024!", "198.51.100.1").code, Errc::unauthenticated);
  EXPECT_EQ(login_error("bob", kUserPassword, "198.51.100.1").message,
            "too many failed logins; retry in 60 s");
}

TEST_F(ThrottleTest, RefusedAttemptsAreNotAuditedButTheLockoutIs) {
  fail_times(5, "alice");
  for (int i = 0; i < 20; ++i) login_error("alice", "wrong-password");
  auto failed = audit_.with_action("login_failed");
  ASSERT_EQ(failed.size(), 5u);
  EXPECT_EQ(failed.back().detail, "wrong password; locked out for 30 s");
}

TEST_F(ThrottleTest, WrongCurrentPasswordCountsLikeAFailedLogin) {
  auto alice = as("alice", Role::viewer, "C1");
  for (int i = 0; i < 5; ++i) {
    auto r = service_.set_password(alice, "alice", std::string_view("wrong-password"),
                                   "new-passphrase-1", from_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::forbidden);
  }
  auto r = service_.set_password(alice, "alice", std::string_view(kUserPassword),
                                 "new-passphrase-1", from_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::throttled);
  EXPECT_EQ(login_error("alice", kUserPassword, "10.5.5.5").code, Errc::throttled);
}

TEST_F(ThrottleTest, QuietPeriodForgivesOldFailures) {
  fail_times(4, "alice");
  clock_.advance(2 * options_.max_lockout_ms);
  fail_times(4, "alice", "10.0.0.2");
  EXPECT_TRUE(service_.login("alice", kUserPassword, {"10.0.0.3"}));
}

// ---- the Throttle itself ----

auth::ThrottleLimits limits(std::size_t capacity = 10'000) {
  return auth::ThrottleLimits{3, 1000, 8000, capacity};
}

TEST(Throttle, ParallelAttemptsCountAgainstTheBudget) {
  auth::Throttle t(limits());
  EXPECT_EQ(t.begin("k", 0), 0);
  EXPECT_EQ(t.begin("k", 0), 0);
  EXPECT_EQ(t.begin("k", 0), 0);
  EXPECT_GT(t.begin("k", 0), 0);  // three already in flight
  t.cancel("k");
  EXPECT_EQ(t.begin("k", 0), 0);
  EXPECT_EQ(t.finish("k", true, true, 0), 0);
  EXPECT_EQ(t.finish("k", true, true, 0), 0);
  EXPECT_EQ(t.finish("k", true, true, 0), 1000);  // third failure: locked
  EXPECT_EQ(t.begin("k", 500), 500);
  // Once locked out, one attempt at a time.
  EXPECT_EQ(t.begin("k", 1000), 0);
  EXPECT_GT(t.begin("k", 1000), 0);
  EXPECT_EQ(t.finish("k", true, true, 1000), 2000);
  EXPECT_EQ(t.begin("k", 2999), 1);
}

TEST(Throttle, LockoutIsCapped) {
  auth::Throttle t(limits());
  std::int64_t now = 0;
  std::vector<std::int64_t> lockouts;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(t.begin("k", now), 0);
    const auto l = t.finish("k", true, false, now);
    lockouts.push_back(l);
    now += l;
  }
  EXPECT_EQ(lockouts,
            (std::vector<std::int64_t>{0, 0, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000}));
}

TEST(Throttle, ForgetsKeysWithNothingToRemember) {
  auth::Throttle t(limits());
  ASSERT_EQ(t.begin("a", 0), 0);
  EXPECT_EQ(t.size(), 1u);
  t.finish("a", false, true, 0);
  EXPECT_EQ(t.size(), 0u);
  ASSERT_EQ(t.begin("b", 0), 0);
  t.cancel("b");
  EXPECT_EQ(t.size(), 0u);
  ASSERT_EQ(t.begin("c", 0), 0);
  t.finish("c", true, true, 0);
  EXPECT_EQ(t.size(), 1u);
}

TEST(Throttle, MemoryIsBoundedAndTheBusiestKeyStays) {
  auth::Throttle t(limits(100));
  // A sprayer: many names, one address that fails every time.
  for (int i = 0; i < 1000; ++i) {
    const auto name = "user" + std::to_string(i);
    ASSERT_EQ(t.begin(name, i), 0);
    t.finish(name, true, true, i);
    if (t.begin("address", i) == 0) t.finish("address", true, false, i);
    EXPECT_LE(t.size(), 100u);
  }
  EXPECT_EQ(t.size(), 100u);
  EXPECT_GT(t.begin("address", 1000), 0);  // still locked out: never evicted
  // The newest keys are remembered: user999's third failure locks it out.
  for (const std::int64_t lockout : {0, 1000}) {
    ASSERT_EQ(t.begin("user999", 1000), 0);
    EXPECT_EQ(t.finish("user999", true, true, 1000), lockout);
  }
  // The oldest were forgotten: user0 starts over and is not locked out at its third.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(t.begin("user0", 1000), 0);
    EXPECT_EQ(t.finish("user0", true, true, 1000), 0);
  }
}

}  // namespace
}  // namespace nbms::testing
