// Logins, tokens and sessions.
#include <thread>

#include "fixture.hpp"
#include "nbms/crypto/crypto.hpp"

namespace nbms::testing {
namespace {

class LoginTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    add("alice", Role::manager, "C1");
  }
};

TEST_F(LoginTest, LoginReturnsTokenAndPrincipal) {
  auto r = login_ok("alice");
  EXPECT_EQ(r.token.size(), 43u);  // 32 bytes, base64url unpadded
  EXPECT_EQ(r.expires_ms, clock_.now_ms() + options_.session_ttl_ms);
  EXPECT_EQ(r.principal.user, "alice");
  EXPECT_EQ(r.principal.customer, "C1");
  EXPECT_EQ(r.principal.role, Role::manager);
  auto p = service_.authenticate(r.token);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->user, "alice");
  EXPECT_EQ(p->customer, "C1");
  EXPECT_EQ(p->role, Role::manager);
}

TEST_F(LoginTest, OnlyTheTokenHashIsStored) {
  auto r = login_ok("alice", kUserPassword, {"192.0.2.7"});
  auto sessions = users_.sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].token_hash, crypto::to_hex(crypto::sha256(r.token)));
  EXPECT_EQ(sessions[0].user, "alice");
  EXPECT_EQ(sessions[0].remote, "192.0.2.7");
  EXPECT_EQ(sessions[0].created_ms, clock_.now_ms());
  EXPECT_EQ(sessions[0].expires_ms, r.expires_ms);
  EXPECT_EQ(sessions[0].token_hash.find(r.token), std::string::npos);
}

TEST_F(LoginTest, TokensDiffer) {
  EXPECT_NE(login_ok("alice").token, login_ok("alice").token);
}

TEST_F(LoginTest, WrongPasswordAndUnknownUserLookTheSame) {
  auto wrong = service_.login("alice", "not-the-password", from_);
  auto unknown = service_.login("mallory", "not-the-password", from_);
  auto invalid_name = service_.login("!bad name", "not-the-password", from_);
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  ASSERT_FALSE(invalid_name);
  EXPECT_EQ(wrong.error().code, Errc::unauthenticated);
  EXPECT_EQ(unknown.error().code, Errc::unauthenticated);
  EXPECT_EQ(invalid_name.error().code, Errc::unauthenticated);
  EXPECT_EQ(wrong.error().message, "invalid user name or password");
  EXPECT_EQ(unknown.error().message, wrong.error().message);
  EXPECT_EQ(invalid_name.error().message, wrong.error().message);
  EXPECT_EQ(users_.session_count(), 0u);
}

TEST_F(LoginTest, EmptyAndOversizedPasswordsFail) {
  EXPECT_EQ(service_.login("alice", "", from_).error().code, Errc::unauthenticated);
  EXPECT_EQ(service_.login("alice", std::string(5000, 'x'), from_).error().code,
            Errc::unauthenticated);
}

TEST_F(LoginTest, PasswordHashIsSaltedPbkdf2WithStoredIterations) {
  auto alice = users_.user("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->password.algorithm, "pbkdf2-sha256");
  EXPECT_EQ(alice->password.iterations, 1000u);
  EXPECT_EQ(alice->password.salt.size(), 16u);
  EXPECT_EQ(alice->password.hash.size(), 32u);
  auto expected = crypto::pbkdf2_sha256(kUserPassword, alice->password.salt, 1000, 32);
  EXPECT_EQ(alice->password.hash, *expected);
  add("bob", Role::viewer, "C1");
  EXPECT_NE(users_.user("bob")->password.salt, alice->password.salt);

  // A service configured with another count still verifies the stored hash.
  auto other = fast_options();
  other.pbkdf2_iterations = 1500;
  auth::AuthService later(users_, audit_, clock_, other);
  EXPECT_TRUE(later.login("alice", kUserPassword, from_));
}

TEST_F(LoginTest, MalformedTokensNeverReachStorage) {
  const auto reads = users_.session_reads.load();
  const std::string good = login_ok("alice").token;
  EXPECT_EQ(users_.session_reads.load(), reads);
  for (const std::string& bad :
       {std::string(), std::string("abc"), good + "A", good.substr(1), std::string(43, '+'),
        std::string(43, '='), good.substr(0, 42) + "/", good.substr(0, 42) + " ",
        std::string(43, '\0')}) {
    auto r = service_.authenticate(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unauthenticated);
    EXPECT_EQ(service_.logout(bad, from_).error().code, Errc::unauthenticated);
  }
  EXPECT_EQ(users_.session_reads.load(), reads);
  // A well-shaped token nobody issued is looked up, and refused.
  EXPECT_EQ(service_.authenticate(std::string(43, 'A')).error().code, Errc::unauthenticated);
  EXPECT_EQ(users_.session_reads.load(), reads + 1);
}

TEST_F(LoginTest, SessionsExpire) {
  auto r = login_ok("alice");
  clock_.advance(options_.session_ttl_ms - 1);
  EXPECT_TRUE(service_.authenticate(r.token));
  clock_.advance(1);
  auto expired = service_.authenticate(r.token);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::unauthenticated);
  EXPECT_EQ(users_.session_count(), 0u);  // deleted on sight
}

TEST_F(LoginTest, LogoutEndsTheSession) {
  auto r = login_ok("alice");
  auto other = login_ok("alice");
  ASSERT_TRUE(service_.logout(r.token, from_));
  EXPECT_EQ(service_.authenticate(r.token).error().code, Errc::unauthenticated);
  EXPECT_TRUE(service_.authenticate(other.token));
  EXPECT_EQ(service_.logout(r.token, from_).error().code, Errc::unauthenticated);
}

TEST_F(LoginTest, SessionOfADeletedUserIsRefused) {
  auto r = login_ok("alice");
  ASSERT_TRUE(service_.delete_user(admin_, "alice", from_));
  EXPECT_EQ(service_.authenticate(r.token).error().code, Errc::unauthenticated);
}

TEST_F(LoginTest, SessionOfAUserGoneFromStorageIsRefused) {
  auto r = login_ok("alice");
  // Gone behind the service's back, sessions left over.
  auto sessions = users_.sessions();
  ASSERT_TRUE(users_.delete_user("alice"));
  for (const auto& s : sessions) ASSERT_TRUE(users_.put_session(s));
  EXPECT_EQ(service_.authenticate(r.token).error().code, Errc::unauthenticated);
}

TEST_F(LoginTest, ExpiredSessionsArePurgedNowAndThen) {
  login_ok("alice");
  const int purges = users_.purges.load();
  clock_.advance(options_.session_ttl_ms + 1);
  login_ok("alice");
  EXPECT_EQ(users_.purges.load(), purges + 1);
  EXPECT_EQ(users_.session_count(), 1u);  // the old one is gone
  login_ok("alice");
  EXPECT_EQ(users_.purges.load(), purges + 1);  // not on every login
}

TEST_F(LoginTest, LoginThatCannotBeAuditedFails) {
  audit_.fail_writes = true;
  auto r = service_.login("alice", kUserPassword, from_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(users_.session_count(), 0u);
}

TEST_F(LoginTest, ConcurrentLoginsWork) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        if (auto r = service_.login("alice", kUserPassword, from_); r) {
          if (service_.authenticate(r->token)) ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
}

}  // namespace
}  // namespace nbms::testing
