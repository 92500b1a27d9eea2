#pragma once
// In-memory fakes of the UserStore and AuditStore ports and a settable clock,
// for AuthService tests. Thread-safe like the ports they fake.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "nbms/core/auth.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::testing {

class FakeClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now.load(); }
  void advance(std::int64_t ms) { now += ms; }
  std::atomic<std::int64_t> now{1'700'000'000'000};
};

class FakeUserStore final : public UserStore {
 public:
  Result<void> create_user(const User& user) override {
    std::lock_guard lock(mu_);
    if (users_.contains(user.name)) return fail(Errc::already_exists, "user exists");
    users_[user.name] = user;
    return {};
  }
  Result<void> update_user(const User& user) override {
    std::lock_guard lock(mu_);
    if (!users_.contains(user.name)) return fail(Errc::not_found, "no such user");
    users_[user.name] = user;
    return {};
  }
  Result<User> user(std::string_view name) override {
    std::lock_guard lock(mu_);
    ++user_reads;
    auto it = users_.find(std::string(name));
    if (it == users_.end()) return fail(Errc::not_found, "no such user");
    return it->second;
  }
  Result<std::vector<User>> users(std::optional<std::string_view> customer) override {
    std::lock_guard lock(mu_);
    std::vector<User> out;
    for (const auto& [name, u] : users_) {
      if (!customer || u.customer == *customer) out.push_back(u);
    }
    return out;
  }
  Result<void> delete_user(std::string_view name) override {
    std::lock_guard lock(mu_);
    if (users_.erase(std::string(name)) == 0) return fail(Errc::not_found, "no such user");
    std::erase_if(sessions_, [&](const auto& s) { return s.second.user == name; });
    return {};
  }

  Result<void> put_session(const Session& session) override {
    std::lock_guard lock(mu_);
    sessions_[session.token_hash] = session;
    return {};
  }
  Result<Session> session(std::string_view token_hash) override {
    std::lock_guard lock(mu_);
    ++session_reads;
    auto it = sessions_.find(std::string(token_hash));
    if (it == sessions_.end()) return fail(Errc::not_found, "no such session");
    return it->second;
  }
  Result<void> delete_session(std::string_view token_hash) override {
    std::lock_guard lock(mu_);
    sessions_.erase(std::string(token_hash));
    return {};
  }
  Result<void> delete_sessions_of(std::string_view user) override {
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [&](const auto& s) { return s.second.user == user; });
    return {};
  }
  Result<std::size_t> purge_expired_sessions(std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    ++purges;
    return std::erase_if(sessions_, [&](const auto& s) { return s.second.expires_ms <= now_ms; });
  }

  std::vector<Session> sessions() const {
    std::lock_guard lock(mu_);
    std::vector<Session> out;
    for (const auto& [hash, s] : sessions_) out.push_back(s);
    return out;
  }
  std::size_t session_count() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

  std::atomic<int> user_reads{0};
  std::atomic<int> session_reads{0};
  std::atomic<int> purges{0};

 private:
  mutable std::mutex mu_;
  std::map<std::string, User> users_;
  std::map<std::string, Session> sessions_;
};

class FakeAuditStore final : public AuditStore {
 public:
  Result<void> append_audit(const AuditEntry& entry) override {
    std::lock_guard lock(mu_);
    if (fail_writes) return fail(Errc::io, "audit store is down");
    entries_.push_back(entry);
    return {};
  }
  Result<std::vector<AuditEntry>> audit(const AuditQuery& query) override {
    std::lock_guard lock(mu_);
    last_query = query;
    std::vector<AuditEntry> out;
    for (auto it = entries_.rbegin(); it != entries_.rend() && out.size() < query.limit; ++it) {
      if (query.customer && it->customer != *query.customer) continue;
      if (it->time_ms < query.from_ms || it->time_ms > query.to_ms) continue;
      out.push_back(*it);
    }
    return out;
  }

  std::vector<AuditEntry> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  std::vector<AuditEntry> with_action(std::string_view action) const {
    std::lock_guard lock(mu_);
    std::vector<AuditEntry> out;
    std::copy_if(entries_.begin(), entries_.end(), std::back_inserter(out),
                 [&](const AuditEntry& e) { return e.action == action; });
    return out;
  }

  bool fail_writes = false;
  std::optional<AuditQuery> last_query;

 private:
  mutable std::mutex mu_;
  std::vector<AuditEntry> entries_;
};

}  // namespace nbms::testing
