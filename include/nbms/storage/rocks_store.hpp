#pragma once
// RocksDB adapter for every storage port. Owns the DB and its column-family
// handles (destroyed before the DB). Thread-safe: any thread may read; appends
// and sealing are serialised internally. Key layouts: docs/storage.md and
// src/storage/keys.hpp.
#include <cstddef>
#include <memory>
#include <string>

#include "nbms/core/alarm_ports.hpp"
#include "nbms/core/auth.hpp"
#include "nbms/core/certificates.hpp"
#include "nbms/core/notification_ports.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::storage {

struct StoreOptions {
  std::string path;
  // fsync the WAL on every write: survives power loss, costs one fsync per
  // message. Without it a crash of the process (kill -9, OOM) still loses
  // nothing written, since the WAL is in the OS before a write returns.
  bool sync_writes = false;
  std::size_t dead_letter_limit = 10000;         // newest kept
  std::size_t dead_letter_payload_bytes = 4096;  // raw payload kept per letter
  std::size_t block_cache_bytes = 64u << 20;
  // Writes are refused (Errc::unavailable) while the file system of `path` has
  // less than this free, so that RocksDB never meets ENOSPC on its WAL: the
  // Debian build of RocksDB 7.8 keeps assertions on and aborts the process on
  // the next WAL write after a failed one. The room left is for RocksDB's own
  // flushes and compactions. 0: no check.
  std::uint64_t reserve_bytes = 64u << 20;
};

class RocksStore final : public Registry,
                         public PointStore,
                         public SeriesStore,
                         public DeadLetterStore,
                         public UserStore,
                         public AuditStore,
                         public CertificateStore,
                         public AlarmStore,
                         public OutboxStore,
                         public SubscriptionStore,
                         public SpoolStore,
                         public ThingPurger {
 public:
  // Opens (or creates) the database and all column families. Fails with a
  // clear message if the directory cannot be used or the layout version is newer.
  static Result<std::unique_ptr<RocksStore>> open(const StoreOptions& options, const Clock& clock);
  ~RocksStore() override;
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // Registry
  Result<void> create_customer(const Customer& c) override;
  Result<std::vector<Customer>> customers() override;
  Result<Customer> customer(std::string_view id) override;
  Result<void> create_building(const Building& b) override;
  Result<std::vector<Building>> buildings(std::string_view customer) override;
  Result<Building> building(std::string_view customer, std::string_view id) override;
  Result<void> create_thing(const Thing& t) override;
  Result<Thing> thing(std::string_view name) override;
  Result<std::vector<Thing>> things(std::string_view customer, std::string_view building) override;

  // PointStore
  Result<PointChanges> upsert_points(const ThingName& thing,
                                     const std::vector<PointInfo>& points) override;
  Result<PointChanges> remove_points(const ThingName& thing,
                                     const std::vector<std::string>& point_ids) override;
  Result<std::vector<PointInfo>> points(std::string_view customer,
                                        std::string_view building) override;

  // SeriesStore
  Result<AppendResult> append(const PeriodicLog& log) override;
  Result<std::vector<Sample>> history(std::string_view customer, std::string_view building,
                                      std::string_view point_id, LocalMinute from,
                                      LocalMinute to) override;
  Result<std::vector<LatestValue>> latest(std::string_view customer,
                                          std::string_view building) override;
  Result<void> visit_latest(std::string_view customer, std::string_view building,
                            const std::function<void(const LatestView&)>& visit) override;
  Result<std::optional<LastLog>> last_log(const ThingName& thing) override;

  // DeadLetterStore
  Result<void> put_dead_letter(const DeadLetter& letter) override;
  Result<std::vector<DeadLetter>> dead_letters(std::size_t limit) override;

  // UserStore (src/storage/auth_store.cpp)
  Result<void> create_user(const User& user) override;
  Result<void> update_user(const User& user) override;
  Result<User> user(std::string_view name) override;
  Result<std::vector<User>> users(std::optional<std::string_view> customer) override;
  Result<void> delete_user(std::string_view name) override;
  Result<void> put_session(const Session& session) override;
  Result<Session> session(std::string_view token_hash) override;
  Result<void> delete_session(std::string_view token_hash) override;
  Result<void> delete_sessions_of(std::string_view user) override;
  Result<std::size_t> purge_expired_sessions(std::int64_t now_ms) override;

  // AuditStore (src/storage/auth_store.cpp)
  Result<void> append_audit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> audit(const AuditQuery& query) override;

  // CertificateStore (src/storage/certificate_store.cpp)
  Result<void> put_certificate(const CertificateRecord& record) override;
  Result<std::vector<CertificateRecord>> replace_certificate(const CertificateRecord& record,
                                                             std::int64_t revoked_ms) override;
  Result<CertificateRecord> certificate(std::string_view serial) override;
  Result<std::vector<CertificateRecord>> certificates_of(std::string_view thing) override;
  Result<CertificateRecord> revoke_certificate(std::string_view serial,
                                               std::int64_t revoked_ms) override;
  Result<std::vector<CertificateRecord>> revoke_certificates_of(std::string_view thing,
                                                                std::int64_t revoked_ms) override;
  Result<std::vector<CertificateRecord>> revoked_certificates() override;

  // AlarmStore (src/storage/alarm_store.cpp)
  Result<std::vector<Alarm>> current_alarms(std::string_view customer,
                                            std::string_view building) override;
  Result<std::vector<Alarm>> current_alarms_of(const ThingName& thing) override;
  Result<std::optional<Alarm>> current_alarm(const AlarmKey& key) override;
  Result<std::optional<EventStamp>> alarm_mark(const AlarmKey& key) override;
  Result<std::vector<AlarmTransition>> alarm_history(const AlarmHistoryQuery& query) override;
  Result<std::vector<LinkState>> links(std::string_view customer,
                                       std::string_view building) override;
  Result<std::vector<LinkState>> links_of(const ThingName& thing) override;
  Result<void> commit(const AlarmUpdate& update) override;
  // Drops the alarm history of one building for one month (YYYYMM, UTC).
  Result<void> drop_alarm_month(std::string_view customer, std::string_view building,
                                std::uint32_t yyyymm);

  // OutboxStore (src/storage/notify_store.cpp)
  Result<void> enqueue(const Notification& n, const std::vector<Delivery>& deliveries) override;
  Result<Notification> notification(std::string_view id) override;
  Result<Delivery> delivery(std::string_view id) override;
  Result<std::vector<Delivery>> due_deliveries(std::int64_t now_ms, std::size_t limit) override;
  Result<std::optional<std::int64_t>> next_due() override;
  Result<void> update_delivery(const Delivery& d) override;
  Result<std::vector<Delivery>> deliveries_of(std::string_view user, std::size_t limit) override;
  Result<std::vector<Notification>> notifications_with_prefix(std::string_view prefix,
                                                              std::size_t limit) override;

  // SubscriptionStore (src/storage/notify_store.cpp)
  Result<void> put_subscription(const Subscription& s) override;
  Result<void> delete_subscription(std::string_view user, std::string_view customer,
                                   std::string_view building) override;
  Result<std::vector<Subscription>> subscriptions_of(std::string_view user) override;
  Result<std::vector<Subscription>> subscriptions_for(std::string_view customer) override;
  Result<void> put_endpoint(const Endpoint& e) override;
  Result<void> delete_endpoint(std::string_view user, std::string_view id) override;
  Result<Endpoint> endpoint(std::string_view user, std::string_view id) override;
  Result<std::vector<Endpoint>> endpoints_of(std::string_view user) override;

  // SpoolStore (src/storage/spool_store.cpp)
  Result<void> hold(const std::string& thing, std::uint64_t seq, std::string_view topic,
                    std::string_view payload) override;
  Result<std::optional<HeldMessage>> first_held(const std::string& thing) override;
  Result<void> release(const std::string& thing, std::uint64_t seq) override;
  Result<std::vector<HeldBacklog>> held_backlogs() override;

  // ThingPurger (src/storage/purge_store.cpp): deletes the thing's records
  // in every column family but certificates, alarm history and audit, in one
  // WriteBatch under the ingest and alarm writer locks; see docs/storage.md.
  Result<PurgedData> purge_thing(const ThingName& name) override;

  // Moves every complete day of raw rows into per-point day blocks (see
  // docs/storage.md). append() does this by itself when a thing moves to a new
  // day; call it to seal late rows too. Returns the number of rows sealed.
  Result<std::size_t> seal();
  // Drops the history of one building for one month (YYYYMM): a range delete.
  Result<void> drop_month(std::string_view customer, std::string_view building,
                          std::uint32_t yyyymm);
  // Flushes memtables and compacts everything (benchmarks, tests).
  Result<void> compact();
  // Bytes of live SST files (benchmarks).
  std::uint64_t live_bytes();

 private:
  struct Impl;
  explicit RocksStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::storage
