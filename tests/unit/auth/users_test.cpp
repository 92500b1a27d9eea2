// Users: who may create, delete and reset whom; password and name rules; the
// first admin.
#include "fixture.hpp"

namespace nbms::testing {
namespace {

using auth::Principal;

class UsersTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    add("mgr-a", Role::manager, "A");
    add("view-a", Role::viewer, "A");
    add("mgr-b", Role::manager, "B");
    add("view-b", Role::viewer, "B");
  }
  Result<User> create(const Principal& caller, const std::string& name, Role role,
                      const std::string& customer, const std::string& password = kUserPassword) {
    return service_.create_user(caller, name, password, role, customer, from_);
  }
  Principal mgr_a_ = as("mgr-a", Role::manager, "A");
  Principal view_a_ = as("view-a", Role::viewer, "A");
  Principal mgr_b_ = as("mgr-b", Role::manager, "B");
};

TEST(Principal, RolesAndScopes) {
  const Principal admin{"admin", "", Role::admin};
  const Principal manager{"m", "A", Role::manager};
  const Principal viewer{"v", "A", Role::viewer};
  for (const char* c : {"A", "B", ""}) {
    EXPECT_TRUE(admin.can_read(c));
    EXPECT_TRUE(admin.can_operate(c));
    EXPECT_TRUE(admin.can_manage(c));
  }
  EXPECT_TRUE(admin.is_admin());
  EXPECT_FALSE(manager.is_admin());
  EXPECT_TRUE(manager.can_read("A"));
  EXPECT_TRUE(manager.can_operate("A"));
  EXPECT_TRUE(manager.can_manage("A"));
  EXPECT_FALSE(manager.can_read("B"));
  EXPECT_FALSE(manager.can_operate("B"));
  EXPECT_FALSE(manager.can_manage("B"));
  EXPECT_FALSE(manager.can_manage(""));
  EXPECT_TRUE(viewer.can_read("A"));
  EXPECT_FALSE(viewer.can_operate("A"));
  EXPECT_FALSE(viewer.can_manage("A"));
  EXPECT_FALSE(viewer.can_read("B"));
  // A non-admin without a customer can do nothing (never created, but safe).
  const Principal odd{"x", "", Role::manager};
  EXPECT_FALSE(odd.can_read(""));
  EXPECT_FALSE(odd.can_manage(""));
}

TEST(UserName, Rules) {
  for (const char* ok : {"a", "admin", "Z9", "jane.doe@example.com", "x_y-z", "0abc",
                         "a234567890123456789012345678901234567890123456789012345678901234"}) {
    EXPECT_TRUE(auth::validate_user_name(ok)) << ok;
  }
  for (const char* bad : {"", ".a", "-a", "_a", "@a", "a b", "a/b", "a:b", "é", "a\n",
                          "a2345678901234567890123456789012345678901234567890123456789012345"}) {
    auto r = auth::validate_user_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
}

TEST_F(UsersTest, AdminCreatesAnyRole) {
  auto m = create(admin_, "m2", Role::manager, "A");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->name, "m2");
  EXPECT_EQ(m->customer, "A");
  EXPECT_EQ(m->role, Role::manager);
  EXPECT_EQ(m->created_ms, clock_.now_ms());
  EXPECT_TRUE(m->password.hash.empty());  // never handed out
  EXPECT_TRUE(m->password.salt.empty());
  EXPECT_TRUE(create(admin_, "root2", Role::admin, ""));
  EXPECT_TRUE(create(admin_, "v2", Role::viewer, "C-9"));
  EXPECT_TRUE(service_.login("root2", kUserPassword, from_));
}

TEST_F(UsersTest, RoleAndCustomerMustFit) {
  EXPECT_EQ(create(admin_, "x1", Role::admin, "A").error().code, Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "x2", Role::manager, "").error().code, Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "x3", Role::viewer, "").error().code, Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "x4", Role::viewer, "bad_id").error().code, Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "x5", Role::viewer, std::string(33, 'a')).error().code,
            Errc::invalid_argument);
}

TEST_F(UsersTest, NameAndPasswordRules) {
  EXPECT_EQ(create(admin_, "", Role::viewer, "A").error().code, Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "bad name", Role::viewer, "A").error().code, Errc::invalid_argument);
  auto short_pw = create(admin_, "v3", Role::viewer, "A", "123456789");
  ASSERT_FALSE(short_pw);
  EXPECT_EQ(short_pw.error().code, Errc::invalid_argument);
  EXPECT_EQ(short_pw.error().message, "password must be at least 10 characters");
  EXPECT_TRUE(create(admin_, "v4", Role::viewer, "A", "1234567890"));
  EXPECT_TRUE(create(admin_, "v5", Role::viewer, "A", std::string(1024, 'p')));
  EXPECT_EQ(create(admin_, "v6", Role::viewer, "A", std::string(1025, 'p')).error().code,
            Errc::invalid_argument);
  EXPECT_EQ(create(admin_, "mgr-a", Role::viewer, "A").error().code, Errc::already_exists);
}

TEST_F(UsersTest, ManagerCreatesOnlyManagersAndViewersOfItsCustomer) {
  EXPECT_TRUE(create(mgr_a_, "v-a2", Role::viewer, "A"));
  EXPECT_TRUE(create(mgr_a_, "m-a2", Role::manager, "A"));
  // Another customer reads as one that does not exist; a role it may not give is forbidden.
  EXPECT_EQ(create(mgr_a_, "v-b2", Role::viewer, "B").error().code, Errc::not_found);
  EXPECT_EQ(create(mgr_a_, "root3", Role::admin, "").error().code, Errc::forbidden);
  EXPECT_EQ(create(mgr_a_, "root4", Role::admin, "A").error().code, Errc::forbidden);
  EXPECT_FALSE(users_.user("v-b2"));
}

TEST_F(UsersTest, ViewerCreatesNobody) {
  EXPECT_EQ(create(view_a_, "v-a3", Role::viewer, "A").error().code, Errc::forbidden);
  EXPECT_FALSE(users_.user("v-a3"));
}

TEST_F(UsersTest, ListUsersIsScoped) {
  auto all = service_.list_users(admin_, std::nullopt);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 5u);
  for (const auto& u : *all) EXPECT_TRUE(u.password.hash.empty()) << u.name;
  auto of_b = service_.list_users(admin_, "B");
  ASSERT_TRUE(of_b);
  ASSERT_EQ(of_b->size(), 2u);
  auto admins = service_.list_users(admin_, "");
  ASSERT_TRUE(admins);
  ASSERT_EQ(admins->size(), 1u);
  EXPECT_EQ(admins->at(0).name, "admin");

  auto mine = service_.list_users(mgr_a_, std::nullopt);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2u);
  for (const auto& u : *mine) EXPECT_EQ(u.customer, "A");
  EXPECT_TRUE(service_.list_users(mgr_a_, "A"));
  EXPECT_EQ(service_.list_users(mgr_a_, "B").error().code, Errc::not_found);
  EXPECT_EQ(service_.list_users(view_a_, "B").error().code, Errc::not_found);
  EXPECT_EQ(service_.list_users(view_a_, std::nullopt).error().code, Errc::forbidden);
}

TEST_F(UsersTest, AdminDeletesAndSessionsEnd) {
  auto session = login_ok("view-b");
  ASSERT_TRUE(service_.delete_user(admin_, "view-b", from_));
  EXPECT_FALSE(users_.user("view-b"));
  EXPECT_EQ(service_.authenticate(session.token).error().code, Errc::unauthenticated);
  EXPECT_EQ(service_.delete_user(admin_, "view-b", from_).error().code, Errc::not_found);
}

TEST_F(UsersTest, ManagerDeletesOnlyItsCustomersUsers) {
  add("m-a2", Role::manager, "A");
  EXPECT_TRUE(service_.delete_user(mgr_a_, "view-a", from_));
  EXPECT_TRUE(service_.delete_user(mgr_a_, "m-a2", from_));
  // Another customer's user looks exactly like a missing one.
  auto other = service_.delete_user(mgr_a_, "view-b", from_);
  auto missing = service_.delete_user(mgr_a_, "nobody", from_);
  ASSERT_FALSE(other);
  ASSERT_FALSE(missing);
  EXPECT_EQ(other.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(other.error().message, "user 'view-b' not found");
  EXPECT_EQ(missing.error().message, "user 'nobody' not found");
  EXPECT_TRUE(users_.user("view-b"));
  EXPECT_EQ(service_.delete_user(view_a_, "mgr-a", from_).error().code, Errc::forbidden);
}

TEST_F(UsersTest, NobodyDeletesItselfOrAdmin) {
  EXPECT_EQ(service_.delete_user(admin_, "admin", from_).error().code, Errc::forbidden);
  EXPECT_EQ(service_.delete_user(mgr_a_, "mgr-a", from_).error().code, Errc::forbidden);
  EXPECT_EQ(service_.delete_user(mgr_a_, "admin", from_).error().code, Errc::forbidden);
  ASSERT_TRUE(create(admin_, "root2", Role::admin, ""));
  const Principal root2 = as("root2", Role::admin, "");
  EXPECT_EQ(service_.delete_user(root2, "admin", from_).error().code, Errc::forbidden);
  EXPECT_EQ(service_.delete_user(root2, "root2", from_).error().code, Errc::forbidden);
  EXPECT_TRUE(users_.user("admin"));
  EXPECT_TRUE(users_.user("mgr-a"));
  EXPECT_TRUE(service_.delete_user(admin_, "root2", from_));
}

TEST_F(UsersTest, UserChangesOwnPasswordWithTheCurrentOne) {
  auto before = login_ok("view-a");
  EXPECT_EQ(service_.set_password(view_a_, "view-a", std::nullopt, "new-passphrase-1", from_)
                .error()
                .code,
            Errc::invalid_argument);
  EXPECT_EQ(service_
                .set_password(view_a_, "view-a", std::string_view("wrong-password"),
                              "new-passphrase-1", from_)
                .error()
                .code,
            Errc::forbidden);
  EXPECT_EQ(
      service_.set_password(view_a_, "view-a", std::string_view(kUserPassword), "short", from_)
          .error()
          .code,
      Errc::invalid_argument);
  clock_.advance(5000);
  ASSERT_TRUE(service_.set_password(view_a_, "view-a", std::string_view(kUserPassword),
                                    "new-passphrase-1", from_));
  EXPECT_EQ(users_.user("view-a")->password_changed_ms, clock_.now_ms());
  // Every session made with the old password ends.
  EXPECT_EQ(service_.authenticate(before.token).error().code, Errc::unauthenticated);
  EXPECT_EQ(service_.login("view-a", kUserPassword, {"10.0.0.2"}).error().code,
            Errc::unauthenticated);
  EXPECT_TRUE(service_.login("view-a", "new-passphrase-1", {"10.0.0.3"}));
}

TEST_F(UsersTest, AdminAndManagersResetPasswordsInScope) {
  ASSERT_TRUE(service_.set_password(mgr_a_, "view-a", std::nullopt, "reset-passphrase", from_));
  EXPECT_TRUE(service_.login("view-a", "reset-passphrase", from_));
  ASSERT_TRUE(service_.set_password(admin_, "view-b", std::nullopt, "reset-passphrase", from_));
  EXPECT_TRUE(service_.login("view-b", "reset-passphrase", from_));

  auto other = service_.set_password(mgr_a_, "view-b", std::nullopt, "hijack-passphrase", from_);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::not_found);
  EXPECT_EQ(other.error().message, "user 'view-b' not found");
  EXPECT_EQ(
      service_.set_password(mgr_a_, "admin", std::nullopt, "hijack-passphrase", from_).error().code,
      Errc::not_found);
  EXPECT_EQ(service_.set_password(view_a_, "mgr-a", std::nullopt, "hijack-passphrase", from_)
                .error()
                .code,
            Errc::forbidden);
  EXPECT_EQ(
      service_.set_password(admin_, "nobody", std::nullopt, "reset-passphrase", from_).error().code,
      Errc::not_found);
  EXPECT_TRUE(service_.login("admin", kAdminPassword, from_));
}

class BootstrapTest : public ::testing::Test {
 protected:
  FakeUserStore users_;
  FakeAuditStore audit_;
  FakeClock clock_;
  auth::AuthService service_{users_, audit_, clock_, fast_options()};
};

TEST_F(BootstrapTest, UsesTheGivenPassword) {
  auto r = service_.bootstrap_admin(std::string("given-passphrase"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
  auto admin = users_.user("admin");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->role, Role::admin);
  EXPECT_EQ(admin->customer, "");
  auto login = service_.login("admin", "given-passphrase", {"127.0.0.1"});
  ASSERT_TRUE(login);
  EXPECT_TRUE(login->principal.is_admin());
  auto created = audit_.with_action("user.create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].target, "admin");
}

TEST_F(BootstrapTest, RejectsAWeakGivenPassword) {
  auto r = service_.bootstrap_admin(std::string("short"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_FALSE(users_.user("admin"));
}

TEST_F(BootstrapTest, GeneratesAOneTimePassword) {
  auto r = service_.bootstrap_admin(std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  const std::string password = **r;
  EXPECT_EQ(password.size(), 20u);
  EXPECT_EQ(password.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_TRUE(service_.login("admin", password, {"127.0.0.1"}));
  for (const auto& e : audit_.entries()) {
    EXPECT_EQ(e.detail.find(password), std::string::npos);
    EXPECT_EQ(e.target.find(password), std::string::npos);
  }
  // Another start generates another one for another database.
  FakeUserStore other_users;
  auth::AuthService other(other_users, audit_, clock_, fast_options());
  EXPECT_NE(**other.bootstrap_admin(std::nullopt), password);
}

TEST_F(BootstrapTest, LeavesAnExistingAdminAlone) {
  ASSERT_TRUE(service_.bootstrap_admin(std::string("given-passphrase")));
  const auto before = *users_.user("admin");
  const auto entries = audit_.entries().size();
  auto again = service_.bootstrap_admin(std::nullopt);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto with_password = service_.bootstrap_admin(std::string("another-passphrase"));
  ASSERT_TRUE(with_password);
  EXPECT_FALSE(*with_password);
  EXPECT_EQ(*users_.user("admin"), before);
  EXPECT_EQ(audit_.entries().size(), entries);
  EXPECT_TRUE(service_.login("admin", "given-passphrase", {"127.0.0.1"}));
}

}  // namespace
}  // namespace nbms::testing
