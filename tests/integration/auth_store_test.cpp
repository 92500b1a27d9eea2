// RocksStore as UserStore and AuditStore, against a real RocksDB in a temp dir.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>

#include "harness.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

class FixedClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return 1'700'000'000'000; }
};

User make_user(std::string name, std::string customer, Role role) {
  // Raw bytes with NUL and high bytes: the JSON record must keep them exactly.
  return User{std::move(name),
              std::move(customer),
              role,
              PasswordHash{"pbkdf2-sha256", 1000, std::string("\x00\x01\xfe\xff salt-bytes", 16),
                           std::string(32, '\xab')},
              1000,
              2000};
}

AuditEntry entry(std::string customer, std::int64_t time_ms, std::string target) {
  return AuditEntry{time_ms,   std::move(customer), "mgr", "10.0.0.1",
                    "control", std::move(target),   "",    true};
}

std::vector<std::string> targets(const std::vector<AuditEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.target);
  return out;
}

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_.reset();
    auto s = RocksStore::open(StoreOptions{.path = path()}, clock_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  std::string path() const { return (dir_.path() / "db").string(); }
  std::vector<AuditEntry> audit(std::optional<std::string> customer, std::int64_t from = 0,
                                std::int64_t to = INT64_MAX, std::size_t limit = 100) {
    auto r = store_->audit(AuditQuery{std::move(customer), from, to, limit});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<AuditEntry>{};
  }

  it::TempDir dir_{"nbms-auth-store-"};
  FixedClock clock_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(AuthStoreTest, UsersCrud) {
  const auto alice = make_user("alice", "A", Role::manager);
  ASSERT_TRUE(store_->create_user(alice));
  ASSERT_TRUE(store_->create_user(make_user("bob", "B", Role::viewer)));
  ASSERT_TRUE(store_->create_user(make_user("admin", "", Role::admin)));
  ASSERT_TRUE(store_->create_user(make_user("al", "A", Role::viewer)));
  EXPECT_EQ(store_->create_user(make_user("alice", "B", Role::viewer)).error().code,
            Errc::already_exists);

  auto read = store_->user("alice");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, alice);
  EXPECT_EQ(store_->user("alic").error().code, Errc::not_found);
  EXPECT_EQ(store_->user("alice2").error().code, Errc::not_found);

  auto updated = alice;
  updated.role = Role::viewer;
  updated.password.hash = std::string(32, '\x01');
  updated.password_changed_ms = 3000;
  ASSERT_TRUE(store_->update_user(updated));
  EXPECT_EQ(*store_->user("alice"), updated);
  EXPECT_EQ(store_->update_user(make_user("carol", "A", Role::viewer)).error().code,
            Errc::not_found);

  auto names = [](const std::vector<User>& users) {
    std::vector<std::string> out;
    for (const auto& u : users) out.push_back(u.name);
    return out;
  };
  EXPECT_EQ(names(*store_->users(std::nullopt)),
            (std::vector<std::string>{"admin", "al", "alice", "bob"}));
  EXPECT_EQ(names(*store_->users("A")), (std::vector<std::string>{"al", "alice"}));
  EXPECT_EQ(names(*store_->users("")), (std::vector<std::string>{"admin"}));
  EXPECT_TRUE(store_->users("Z")->empty());

  ASSERT_TRUE(store_->delete_user("bob"));
  EXPECT_EQ(store_->user("bob").error().code, Errc::not_found);
  EXPECT_EQ(store_->delete_user("bob").error().code, Errc::not_found);
}

TEST_F(AuthStoreTest, Sessions) {
  ASSERT_TRUE(store_->create_user(make_user("alice", "A", Role::viewer)));
  ASSERT_TRUE(store_->create_user(make_user("bob", "A", Role::viewer)));
  const Session s1{std::string(64, 'a'), "alice", 100, 1000, "10.0.0.1"};
  const Session s2{std::string(64, 'b'), "alice", 100, 5000, "10.0.0.2"};
  const Session s3{std::string(64, 'c'), "bob", 100, 2000, "10.0.0.3"};
  const Session s4{std::string(64, 'd'), "bob", 100, 9000, "10.0.0.4"};
  for (const auto& s : {s1, s2, s3, s4}) ASSERT_TRUE(store_->put_session(s));
  EXPECT_EQ(*store_->session(s1.token_hash), s1);
  EXPECT_EQ(store_->session(std::string(64, 'e')).error().code, Errc::not_found);

  // Expired: expires_ms <= now.
  auto purged = store_->purge_expired_sessions(2000);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2u);
  EXPECT_EQ(store_->session(s1.token_hash).error().code, Errc::not_found);
  EXPECT_EQ(store_->session(s3.token_hash).error().code, Errc::not_found);
  EXPECT_TRUE(store_->session(s2.token_hash));
  EXPECT_EQ(*store_->purge_expired_sessions(2000), 0u);

  ASSERT_TRUE(store_->delete_session(s2.token_hash));
  EXPECT_EQ(store_->session(s2.token_hash).error().code, Errc::not_found);
  EXPECT_TRUE(store_->delete_session(s2.token_hash));  // idempotent

  ASSERT_TRUE(store_->put_session(s1));
  ASSERT_TRUE(store_->delete_sessions_of("alice"));
  EXPECT_EQ(store_->session(s1.token_hash).error().code, Errc::not_found);
  EXPECT_TRUE(store_->session(s4.token_hash));

  // Deleting a user ends its sessions, and only its sessions.
  ASSERT_TRUE(store_->put_session(s1));
  ASSERT_TRUE(store_->delete_user("bob"));
  EXPECT_EQ(store_->session(s4.token_hash).error().code, Errc::not_found);
  EXPECT_TRUE(store_->session(s1.token_hash));
}

TEST_F(AuthStoreTest, AuditRangesCustomersAndLimits) {
  ASSERT_TRUE(store_->append_audit(entry("A", 1000, "a1")));
  ASSERT_TRUE(store_->append_audit(entry("A", 2000, "a2")));
  ASSERT_TRUE(store_->append_audit(entry("AB", 1500, "ab1")));
  ASSERT_TRUE(store_->append_audit(entry("", 1800, "p1")));
  ASSERT_TRUE(store_->append_audit(entry("A", 3000, "a3")));
  ASSERT_TRUE(store_->append_audit(entry("B", 2500, "b1")));
  // Same millisecond: all kept, newest written first.
  ASSERT_TRUE(store_->append_audit(entry("A", 2000, "a2bis")));
  ASSERT_TRUE(store_->append_audit(entry("B", 2000, "b0")));

  EXPECT_EQ(targets(audit("A")), (std::vector<std::string>{"a3", "a2bis", "a2", "a1"}));
  // "A" is not a prefix match of "AB".
  EXPECT_EQ(targets(audit("AB")), (std::vector<std::string>{"ab1"}));
  EXPECT_EQ(targets(audit("")), (std::vector<std::string>{"p1"}));
  EXPECT_TRUE(audit("C").empty());
  // Both ends inclusive.
  EXPECT_EQ(targets(audit("A", 1000, 2000)), (std::vector<std::string>{"a2bis", "a2", "a1"}));
  EXPECT_EQ(targets(audit("A", 2000, 2000)), (std::vector<std::string>{"a2bis", "a2"}));
  EXPECT_EQ(targets(audit("A", 2001, 2999)), (std::vector<std::string>{}));
  EXPECT_EQ(targets(audit("A", 0, INT64_MAX, 2)), (std::vector<std::string>{"a3", "a2bis"}));
  EXPECT_TRUE(audit("A", 0, INT64_MAX, 0).empty());
  EXPECT_TRUE(audit("A", 3000, 1000).empty());

  // Every customer, merged newest first; same-millisecond ties by write order.
  EXPECT_EQ(targets(audit(std::nullopt)),
            (std::vector<std::string>{"a3", "b1", "b0", "a2bis", "a2", "p1", "ab1", "a1"}));
  EXPECT_EQ(targets(audit(std::nullopt, 1500, 2000, 3)),
            (std::vector<std::string>{"b0", "a2bis", "a2"}));
  EXPECT_EQ(targets(audit(std::nullopt, 0, 1000)), (std::vector<std::string>{"a1"}));

  // Every field comes back.
  const AuditEntry full{4000,          "A",   "jane@example.com", "2001:db8::1",
                        "user.create", "bob", "role=viewer",      false};
  ASSERT_TRUE(store_->append_audit(full));
  EXPECT_EQ(audit("A", 4000, 4000), (std::vector<AuditEntry>{full}));
}

TEST_F(AuthStoreTest, AuditKeepsTextThatIsNotUtf8) {
  auto e = entry("A", 1000, "t");
  e.detail = "bad \xff\xfe bytes";
  e.user = std::string("nul\0inside", 10);
  ASSERT_TRUE(store_->append_audit(e));
  auto back = audit("A");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].user, e.user);
  EXPECT_EQ(back[0].detail.substr(0, 4), "bad ");
  EXPECT_EQ(store_->append_audit(entry(std::string("A\0B", 3), 1, "x")).error().code,
            Errc::invalid_argument);
}

TEST_F(AuthStoreTest, EverythingPersistsAcrossReopen) {
  const auto alice = make_user("alice", "A", Role::manager);
  const Session s{std::string(64, 'f'), "alice", 1, 9000, "10.0.0.1"};
  ASSERT_TRUE(store_->create_user(alice));
  ASSERT_TRUE(store_->put_session(s));
  ASSERT_TRUE(store_->append_audit(entry("A", 1000, "before")));
  open();
  EXPECT_EQ(*store_->user("alice"), alice);
  EXPECT_EQ(*store_->session(s.token_hash), s);
  // The sequence continues: an entry of the same millisecond does not replace it.
  ASSERT_TRUE(store_->append_audit(entry("A", 1000, "after")));
  EXPECT_EQ(targets(audit("A")), (std::vector<std::string>{"after", "before"}));
  open();
  EXPECT_EQ(targets(audit("A")), (std::vector<std::string>{"after", "before"}));
}

TEST_F(AuthStoreTest, OpensADatabaseMadeWithoutTheAuthColumnFamilies) {
  store_.reset();
  it::TempDir old_dir{"nbms-auth-old-"};
  const std::string old_path = (old_dir.path() / "db").string();
  {
    // The column families of the first layout, as an older nbmsd made them.
    const char* old_cfs[] = {"default",        "customers",     "buildings",   "common",   "things",
                             "points",         "series",        "rows",        "periodic", "latest",
                             "current_alarms", "alarm_history", "dead_letters"};
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : old_cfs) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, old_path, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "nbms.layout_version", "1").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], std::string("\x01") + "C1",
                        R"({"id":"C1","name":"Old","created_ms":1})")
                    .ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  for (int round = 0; round < 2; ++round) {
    auto s = RocksStore::open(StoreOptions{.path = old_path}, clock_);
    ASSERT_TRUE(s) << s.error().message;
    auto& store = **s;
    EXPECT_EQ(store.customer("C1")->name, "Old");
    if (round == 0) {
      ASSERT_TRUE(store.create_user(make_user("alice", "C1", Role::viewer)));
      ASSERT_TRUE(store.append_audit(entry("C1", 1, "x")));
    }
    EXPECT_TRUE(store.user("alice"));
    EXPECT_EQ(store.audit(AuditQuery{"C1"})->size(), 1u);
  }
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), old_path, &cfs).ok());
  for (const char* name : {"users", "sessions", "audit"}) {
    EXPECT_NE(std::find(cfs.begin(), cfs.end(), name), cfs.end()) << name;
  }
}

}  // namespace
}  // namespace nbms::storage
