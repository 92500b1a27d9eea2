// Users, sessions and the audit trail of RocksStore (UserStore, AuditStore).
//
// Key layout (docs/storage.md, "Users, sessions and audit"):
//   users:    v | user name                                -> JSON user
//   sessions: v | token_hash (64 lowercase hex characters) -> JSON session
//   audit:    v | customer 0 | time_ms u64be | seq u64be    -> JSON entry
//   default:  "nbms.audit_seq"                             -> u64be, last seq used
// v is kKeyVersion (0x01). Audit keys of one customer are contiguous and in
// time order, so a customer's time range is one prefix range read backwards
// (newest first); seq, one counter for the whole database, keeps entries of the
// same millisecond apart and in the order they were written. Times before 1970
// are stored as 0.
//
// Users and sessions are few (people, not devices): listing users of a customer
// and finding the sessions of a user scan their whole column family instead of
// keeping a secondary index.
#include <queue>

#include "nbms/crypto/crypto.hpp"
#include "store_impl.hpp"

namespace nbms::storage {
namespace {

constexpr std::string_view kAuditSeqKey = "nbms.audit_seq";

std::string user_key(std::string_view name) {
  return std::string(1, kKeyVersion).append(name);
}
std::string session_key(std::string_view token_hash) {
  return std::string(1, kKeyVersion).append(token_hash);
}
std::string audit_prefix(std::string_view customer) {
  std::string k(1, kKeyVersion);
  put_part(k, customer);
  return k;
}
std::uint64_t audit_time(std::int64_t time_ms) {
  return time_ms < 0 ? 0 : static_cast<std::uint64_t>(time_ms);
}
std::string audit_key(std::string_view customer, std::int64_t time_ms, std::uint64_t seq) {
  auto k = audit_prefix(customer);
  put_u64be(k, audit_time(time_ms));
  put_u64be(k, seq);
  return k;
}
std::uint64_t read_u64be(std::string_view eight_bytes) {
  return (std::uint64_t{read_u32be(eight_bytes.substr(0, 4))} << 32) |
         read_u32be(eight_bytes.substr(4, 4));
}

// Free text from the API may be any bytes; JSON wants UTF-8, so invalid
// sequences are replaced rather than making the write fail.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_user(const User& u) {
  return dump(json{{"name", u.name},
                   {"customer", u.customer},
                   {"role", std::string(to_string(u.role))},
                   {"password",
                    {{"algorithm", u.password.algorithm},
                     {"iterations", u.password.iterations},
                     {"salt", crypto::base64_encode(u.password.salt)},
                     {"hash", crypto::base64_encode(u.password.hash)}}},
                   {"created_ms", u.created_ms},
                   {"password_changed_ms", u.password_changed_ms}});
}

std::string encode_session(const Session& s) {
  return dump(json{{"token_hash", s.token_hash},
                   {"user", s.user},
                   {"created_ms", s.created_ms},
                   {"expires_ms", s.expires_ms},
                   {"remote", s.remote}});
}

std::string encode_audit(const AuditEntry& e) {
  return dump(json{{"time_ms", e.time_ms},
                   {"customer", e.customer},
                   {"user", e.user},
                   {"remote", e.remote},
                   {"action", e.action},
                   {"target", e.target},
                   {"detail", e.detail},
                   {"ok", e.ok}});
}

std::string base64_member(const json& j, const char* name) {
  auto bytes = crypto::base64_decode(j.at(name).get<std::string>());
  if (!bytes) throw std::runtime_error(std::string(name) + ": " + bytes.error().message);
  return std::move(*bytes);
}

User user_from(const json& j) {
  const auto role = parse_role(j.at("role").get<std::string>());
  if (!role) throw std::runtime_error("unknown role");
  const auto& p = j.at("password");
  return User{j.at("name"),
              j.at("customer"),
              *role,
              PasswordHash{p.at("algorithm"), p.at("iterations"), base64_member(p, "salt"),
                           base64_member(p, "hash")},
              j.at("created_ms"),
              j.at("password_changed_ms")};
}

Session session_from(const json& j) {
  return Session{j.at("token_hash"), j.at("user"), j.at("created_ms"), j.at("expires_ms"),
                 j.at("remote")};
}

AuditEntry audit_from(const json& j) {
  return AuditEntry{j.at("time_ms"), j.at("customer"), j.at("user"),   j.at("remote"),
                    j.at("action"),  j.at("target"),   j.at("detail"), j.at("ok")};
}

}  // namespace

// ---- UserStore: users ----

Result<void> RocksStore::create_user(const User& user) {
  if (user.name.empty()) return fail(Errc::invalid_argument, "user name is empty");
  std::lock_guard lock(impl_->auth_mu);
  const auto key = user_key(user.name);
  auto existing = impl_->get(kUsers, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return fail(Errc::already_exists, "user '" + user.name + "' already exists");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kUsers), key, encode_user(user));
  return impl_->write(batch);
}

Result<void> RocksStore::update_user(const User& user) {
  std::lock_guard lock(impl_->auth_mu);
  const auto key = user_key(user.name);
  auto existing = impl_->get(kUsers, key);
  if (!existing) return std::unexpected(existing.error());
  if (!*existing) return fail(Errc::not_found, "user '" + user.name + "' not found");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kUsers), key, encode_user(user));
  return impl_->write(batch);
}

Result<User> RocksStore::user(std::string_view name) {
  auto raw = impl_->get(kUsers, user_key(name));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "user '" + std::string(name) + "' not found");
  return decode_json(**raw, "user", user_from);
}

Result<std::vector<User>> RocksStore::users(std::optional<std::string_view> customer) {
  std::vector<User> out;
  Result<void> inner;
  auto r =
      impl_->scan(kUsers, std::string(1, kKeyVersion), [&](std::string_view, std::string_view v) {
        auto u = decode_json(v, "user", user_from);
        if (!u) {
          inner = std::unexpected(u.error());
          return false;
        }
        if (!customer || u->customer == *customer) out.push_back(std::move(*u));
        return true;
      });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  return out;  // key order is name order
}

namespace {

// Keys of every session of `user` (a scan: sessions are few).
Result<std::vector<std::string>> session_keys_of(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf,
                                                 std::string_view user) {
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto s = decode_json(std::string_view(it->value().data(), it->value().size()), "session",
                         session_from);
    if (!s) return std::unexpected(s.error());
    if (s->user == user) keys.emplace_back(it->key().data(), it->key().size());
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan sessions"));
  return keys;
}

}  // namespace

Result<void> RocksStore::delete_user(std::string_view name) {
  std::lock_guard lock(impl_->auth_mu);
  const auto key = user_key(name);
  auto existing = impl_->get(kUsers, key);
  if (!existing) return std::unexpected(existing.error());
  if (!*existing) return fail(Errc::not_found, "user '" + std::string(name) + "' not found");
  auto sessions = session_keys_of(*impl_->db, impl_->cf(kSessions), name);
  if (!sessions) return std::unexpected(sessions.error());
  // One batch: a deleted user never keeps a live session.
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kUsers), key);
  for (const auto& k : *sessions) batch.Delete(impl_->cf(kSessions), k);
  return impl_->write(batch);
}

// ---- UserStore: sessions ----

Result<void> RocksStore::put_session(const Session& session) {
  if (session.token_hash.empty()) return fail(Errc::invalid_argument, "session without token hash");
  std::lock_guard lock(impl_->auth_mu);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kSessions), session_key(session.token_hash), encode_session(session));
  return impl_->write(batch);
}

Result<Session> RocksStore::session(std::string_view token_hash) {
  auto raw = impl_->get(kSessions, session_key(token_hash));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "session not found");
  return decode_json(**raw, "session", session_from);
}

Result<void> RocksStore::delete_session(std::string_view token_hash) {
  std::lock_guard lock(impl_->auth_mu);
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kSessions), session_key(token_hash));
  return impl_->write(batch);
}

Result<void> RocksStore::delete_sessions_of(std::string_view user) {
  std::lock_guard lock(impl_->auth_mu);
  auto keys = session_keys_of(*impl_->db, impl_->cf(kSessions), user);
  if (!keys) return std::unexpected(keys.error());
  if (keys->empty()) return {};
  rocksdb::WriteBatch batch;
  for (const auto& k : *keys) batch.Delete(impl_->cf(kSessions), k);
  return impl_->write(batch);
}

Result<std::size_t> RocksStore::purge_expired_sessions(std::int64_t now_ms) {
  std::lock_guard lock(impl_->auth_mu);
  rocksdb::WriteBatch batch;
  Result<void> inner;
  auto r = impl_->scan(kSessions, std::string(1, kKeyVersion),
                       [&](std::string_view k, std::string_view v) {
                         auto s = decode_json(v, "session", session_from);
                         if (!s) {
                           inner = std::unexpected(s.error());
                           return false;
                         }
                         if (s->expires_ms <= now_ms) batch.Delete(impl_->cf(kSessions), k);
                         return true;
                       });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  const auto purged = static_cast<std::size_t>(batch.Count());
  if (purged == 0) return 0;
  if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  return purged;
}

// ---- AuditStore ----

Result<void> RocksStore::append_audit(const AuditEntry& entry) {
  // The customer is a key part ended by NUL.
  if (entry.customer.find('\0') != std::string::npos) {
    return fail(Errc::invalid_argument, "audit customer contains NUL");
  }
  auto& impl = *impl_;
  std::lock_guard lock(impl.auth_mu);
  if (!impl.next_audit_seq) {
    auto last = impl.get(kDefault, std::string(kAuditSeqKey));
    if (!last) return std::unexpected(last.error());
    if (*last && (*last)->size() != 8) return fail(Errc::io, "stored audit sequence is corrupt");
    impl.next_audit_seq = *last ? read_u64be(**last) + 1 : 0;
  }
  const std::uint64_t seq = *impl.next_audit_seq;
  std::string seq_value;
  put_u64be(seq_value, seq);
  // The counter moves in the same batch, so a restart never reuses a seq.
  rocksdb::WriteBatch batch;
  batch.Put(impl.cf(kAudit), audit_key(entry.customer, entry.time_ms, seq), encode_audit(entry));
  batch.Put(impl.cf(kDefault), kAuditSeqKey, seq_value);
  if (auto w = impl.write(batch); !w) return w;
  impl.next_audit_seq = seq + 1;
  return {};
}

namespace {

// Reads one customer's audit keys in [from, to] backwards (newest first).
class AuditCursor {
 public:
  AuditCursor(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, std::string_view customer,
              std::uint64_t from, std::uint64_t to)
      : prefix_(audit_prefix(customer)) {
    lower_ = prefix_;
    put_u64be(lower_, from);
    lower_slice_ = rocksdb::Slice(lower_);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice_;
    it_.reset(db.NewIterator(ro, cf));
    std::string upper = prefix_;
    put_u64be(upper, to);
    put_u64be(upper, UINT64_MAX);
    it_->SeekForPrev(upper);
  }
  AuditCursor(const AuditCursor&) = delete;
  AuditCursor& operator=(const AuditCursor&) = delete;

  bool valid() const { return it_->Valid() && it_->key().starts_with(prefix_); }
  // Time and seq of the current key: the merge order.
  std::pair<std::uint64_t, std::uint64_t> order() const {
    const std::string_view k(it_->key().data() + prefix_.size(), 16);
    return {read_u64be(k.substr(0, 8)), read_u64be(k.substr(8, 8))};
  }
  bool well_formed() const { return it_->key().size() == prefix_.size() + 16; }
  std::string_view value() const { return {it_->value().data(), it_->value().size()}; }
  void prev() { it_->Prev(); }
  rocksdb::Status status() const { return it_->status(); }

 private:
  std::string prefix_;
  std::string lower_;
  rocksdb::Slice lower_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Every customer that has audit entries ("" for platform-wide ones): one seek
// per customer, skipping over its entries.
Result<std::vector<std::string>> audit_customers(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(std::string(1, kKeyVersion)); it->Valid();) {
    const std::string_view k(it->key().data(), it->key().size());
    const auto nul = k.find('\0', 1);
    if (k.empty() || k[0] != kKeyVersion || nul == std::string_view::npos) break;
    out.emplace_back(k.substr(1, nul - 1));
    it->Seek(prefix_end(std::string(k.substr(0, nul + 1))));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan audit"));
  return out;
}

}  // namespace

Result<std::vector<AuditEntry>> RocksStore::audit(const AuditQuery& query) {
  std::vector<AuditEntry> out;
  if (query.limit == 0 || query.to_ms < query.from_ms || query.to_ms < 0) return out;
  const auto from = audit_time(query.from_ms);
  const auto to = audit_time(query.to_ms);

  std::vector<std::string> customers;
  if (query.customer) {
    if (query.customer->find('\0') != std::string::npos) return out;
    customers.push_back(*query.customer);
  } else {
    auto all = audit_customers(*impl_->db, impl_->cf(kAudit));
    if (!all) return std::unexpected(all.error());
    customers = std::move(*all);
  }

  // Merge the customers' newest-first streams (one stream for one customer).
  // The iterators are released before this returns, as RocksDB requires.
  std::vector<std::unique_ptr<AuditCursor>> cursors;
  cursors.reserve(customers.size());
  for (const auto& c : customers) {
    cursors.push_back(std::make_unique<AuditCursor>(*impl_->db, impl_->cf(kAudit), c, from, to));
  }
  auto newer = [&](std::size_t a, std::size_t b) {
    return cursors[a]->order() < cursors[b]->order();  // max-heap: newest on top
  };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(newer)> heap(newer);
  auto push_if_valid = [&](std::size_t i) -> Result<void> {
    auto& c = *cursors[i];
    if (!c.valid()) {
      if (!c.status().ok()) return std::unexpected(io_error(c.status(), "scan audit"));
      return {};
    }
    if (!c.well_formed()) return fail(Errc::io, "stored audit key is corrupt");
    heap.push(i);
    return {};
  };
  for (std::size_t i = 0; i < cursors.size(); ++i) {
    if (auto r = push_if_valid(i); !r) return std::unexpected(r.error());
  }
  while (!heap.empty() && out.size() < query.limit) {
    const auto i = heap.top();
    heap.pop();
    auto entry = decode_json(cursors[i]->value(), "audit entry", audit_from);
    if (!entry) return std::unexpected(entry.error());
    out.push_back(std::move(*entry));
    cursors[i]->prev();
    if (auto r = push_if_valid(i); !r) return std::unexpected(r.error());
  }
  return out;
}

}  // namespace nbms::storage
