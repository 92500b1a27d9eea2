// The audit trail: every write leaves an entry, secrets never do, and who may
// read which part of it.
#include "fixture.hpp"

namespace nbms::testing {
namespace {

using auth::Principal;

class AuditTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    add("mgr-a", Role::manager, "A");
    add("mgr-b", Role::manager, "B");
  }
  // The newest entry with `action`.
  AuditEntry last(std::string_view action) {
    auto all = audit_.with_action(action);
    EXPECT_FALSE(all.empty()) << action;
    return all.empty() ? AuditEntry{} : all.back();
  }
  Principal mgr_a_ = as("mgr-a", Role::manager, "A");
  Principal mgr_b_ = as("mgr-b", Role::manager, "B");
};

TEST_F(AuditTest, EveryWriteIsRecordedWithoutSecrets) {
  const std::string secret = "very-secret-passphrase";
  const std::string next = "next-secret-passphrase";
  ASSERT_TRUE(service_.create_user(mgr_a_, "view-a", secret, Role::viewer, "A", {"10.1.1.1"}));
  auto session = service_.login("view-a", secret, {"10.2.2.2"});
  ASSERT_TRUE(session);
  ASSERT_FALSE(service_.login("view-a", next, {"10.3.3.3"}));
  ASSERT_FALSE(service_.login("nobody", secret, {"10.3.3.3"}));
  ASSERT_TRUE(service_.logout(session->token, {"10.2.2.2"}));
  const auto view_a = as("view-a", Role::viewer, "A");
  ASSERT_TRUE(
      service_.set_password(view_a, "view-a", std::string_view(secret), next, {"10.4.4.4"}));
  ASSERT_TRUE(service_.delete_user(mgr_a_, "view-a", {"10.5.5.5"}));
  ASSERT_TRUE(service_.record(mgr_a_, "A", "control", "A_B1_01/AHU-1", R"({"value":1})", true,
                              {"10.6.6.6"}));

  const auto t = clock_.now_ms();
  EXPECT_EQ(last("user.create"), (AuditEntry{t, "A", "mgr-a", "10.1.1.1", "user.create", "view-a",
                                             "role=viewer", true}));
  EXPECT_EQ(last("login"), (AuditEntry{t, "A", "view-a", "10.2.2.2", "login", "view-a", "", true}));
  auto failed = audit_.with_action("login_failed");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0], (AuditEntry{t, "A", "view-a", "10.3.3.3", "login_failed", "view-a",
                                   "wrong password", false}));
  EXPECT_EQ(failed[1], (AuditEntry{t, "", "nobody", "10.3.3.3", "login_failed", "nobody",
                                   "unknown user", false}));
  EXPECT_EQ(last("logout"),
            (AuditEntry{t, "A", "view-a", "10.2.2.2", "logout", "view-a", "", true}));
  EXPECT_EQ(last("user.password"), (AuditEntry{t, "A", "view-a", "10.4.4.4", "user.password",
                                               "view-a", "changed by the user", true}));
  EXPECT_EQ(last("user.delete"), (AuditEntry{t, "A", "mgr-a", "10.5.5.5", "user.delete", "view-a",
                                             "role=viewer", true}));
  EXPECT_EQ(last("control"), (AuditEntry{t, "A", "mgr-a", "10.6.6.6", "control", "A_B1_01/AHU-1",
                                         R"({"value":1})", true}));

  for (const auto& e : audit_.entries()) {
    for (const std::string* field :
         {&e.customer, &e.user, &e.remote, &e.action, &e.target, &e.detail}) {
      for (const std::string& s : {secret, next, std::string(kUserPassword),
                                   std::string(kAdminPassword), session->token}) {
        EXPECT_EQ(field->find(s), std::string::npos) << e.action << ": " << *field;
      }
    }
  }
}

TEST_F(AuditTest, DeniedWritesAreRecordedUnderTheCallersCustomer) {
  add("view-b", Role::viewer, "B");
  ASSERT_FALSE(service_.create_user(mgr_a_, "x", kUserPassword, Role::viewer, "B", {"10.7.7.7"}));
  ASSERT_FALSE(service_.delete_user(mgr_a_, "view-b", {"10.7.7.7"}));
  ASSERT_FALSE(service_.delete_user(mgr_a_, "no-such-user", {"10.7.7.7"}));
  ASSERT_FALSE(
      service_.set_password(mgr_a_, "view-b", std::nullopt, "hijack-passphrase", {"10.7.7.7"}));
  std::vector<AuditEntry> denied;
  for (const auto& e : audit_.entries()) {
    if (!e.ok) denied.push_back(e);
  }
  ASSERT_EQ(denied.size(), 4u);
  for (const auto& e : denied) {
    EXPECT_EQ(e.customer, "A") << e.action;
    EXPECT_EQ(e.user, "mgr-a");
    EXPECT_EQ(e.remote, "10.7.7.7");
    EXPECT_EQ(e.detail.find(kUserPassword), std::string::npos);
    EXPECT_EQ(e.detail.find("hijack"), std::string::npos);
  }
  EXPECT_EQ(denied[0].action, "user.create");
  // Another customer reads as one that does not exist.
  EXPECT_EQ(denied[0].detail, "not_found: customer 'B' not found");
  // Another customer's user and a missing one leave the same kind of entry.
  EXPECT_EQ(denied[1].detail, "not_found: user 'view-b' not found");
  EXPECT_EQ(denied[2].detail, "not_found: user 'no-such-user' not found");
  EXPECT_EQ(denied[3].action, "user.password");
}

TEST_F(AuditTest, FailedLoginNamesAreMadePrintable) {
  ASSERT_FALSE(
      service_.login(std::string("evil\n\x01name") + std::string(100, 'x'), "whatever", from_));
  const auto e = last("login_failed");
  EXPECT_EQ(e.user.find('\n'), std::string::npos);
  EXPECT_LE(e.user.size(), 67u);
  EXPECT_EQ(e.user.rfind("evil??name", 0), 0u);
}

TEST_F(AuditTest, AuditLogIsScoped) {
  ASSERT_TRUE(service_.record(mgr_a_, "A", "control", "a", "", true, from_));
  ASSERT_TRUE(service_.record(mgr_b_, "B", "control", "b", "", true, from_));

  auto mine = service_.audit_log(mgr_a_, AuditQuery{});
  ASSERT_TRUE(mine) << mine.error().message;
  ASSERT_FALSE(mine->empty());
  for (const auto& e : *mine) EXPECT_EQ(e.customer, "A");
  EXPECT_EQ(audit_.last_query->customer, std::optional<std::string>("A"));

  AuditQuery own;
  own.customer = "A";
  EXPECT_TRUE(service_.audit_log(mgr_a_, own));
  AuditQuery other;
  other.customer = "B";
  EXPECT_EQ(service_.audit_log(mgr_a_, other).error().code, Errc::not_found);
  EXPECT_EQ(service_.audit_log(as("v", Role::viewer, "A"), AuditQuery{}).error().code,
            Errc::forbidden);

  auto all = service_.audit_log(admin_, AuditQuery{});
  ASSERT_TRUE(all);
  EXPECT_EQ(audit_.last_query->customer, std::nullopt);
  bool saw_a = false;
  bool saw_b = false;
  for (const auto& e : *all) {
    saw_a |= e.customer == "A";
    saw_b |= e.customer == "B";
  }
  EXPECT_TRUE(saw_a && saw_b);
  auto of_b = service_.audit_log(admin_, other);
  ASSERT_TRUE(of_b);
  for (const auto& e : *of_b) EXPECT_EQ(e.customer, "B");
}

TEST_F(AuditTest, AuditLogLimitIsCapped) {
  AuditQuery q;
  q.limit = 1'000'000;
  ASSERT_TRUE(service_.audit_log(admin_, q));
  EXPECT_EQ(audit_.last_query->limit, 1000u);
  q.limit = 5;
  ASSERT_TRUE(service_.audit_log(admin_, q));
  EXPECT_EQ(audit_.last_query->limit, 5u);
}

TEST_F(AuditTest, AWriteThatCannotBeAuditedReportsIt) {
  audit_.fail_writes = true;
  auto r = service_.create_user(admin_, "late", kUserPassword, Role::viewer, "A", from_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  // A failed login stays a failed login.
  EXPECT_EQ(service_.login("mgr-a", "wrong-password", from_).error().code, Errc::unauthenticated);
}

}  // namespace
}  // namespace nbms::testing
