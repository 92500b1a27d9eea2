#pragma once
// RocksStore's internals, shared by its translation units (rocks_store.cpp:
// opening, registry, points, dead letters, maintenance; series.cpp: the
// periodic history; auth_store.cpp: users, sessions, audit trail;
// certificate_store.cpp: issued certificates; notify_store.cpp: notification
// outbox and subscriptions; alarm_store.cpp: alarms and links). Private to
// src/storage.
#include "nbms/storage/rocks_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "encoding.hpp"

namespace nbms::storage {
namespace detail {

using nlohmann::json;

// Column families, mirroring the old DynamoDB tables (docs/storage.md).
enum Cf : std::size_t {
  kDefault,  // layout version
  kCustomers,
  kBuildings,
  kCommon,
  kThings,
  kPoints,
  kSeries,
  kRows,
  kPeriodic,
  kLatest,
  kCurrentAlarms,
  kAlarmHistory,
  kDeadLetters,
  // Users, sessions and the audit trail, added later. Backward compatible, so
  // the layout version stays "1": no existing key or value changed meaning, and
  // a database made without them gets them when it is opened
  // (create_missing_column_families). Not forward compatible: an older nbmsd
  // cannot open a database that has them (RocksDB wants every CF listed).
  kUsers,
  kSessions,
  kAudit,
  // Issued and revoked client certificates (certificate_store.cpp), added
  // later in the same backward-compatible way.
  kCertificates,
  // Alarms (alarm_store.cpp), added with the same rule: the newest MW stamp
  // per alarm id, and the connection state of MWs and devices.
  kAlarmMarks,
  kLinks,
  // Notification outbox and subscriptions (notify_store.cpp), added later in
  // the same backward-compatible way.
  kNotifications,
  kDeliveries,
  kDeliveryDue,
  kUserDeliveries,
  kSubscriptions,
  kEndpoints,
  // Messages held back by the ingest limiter (spool_store.cpp), added later in
  // the same backward-compatible way.
  kSpool,
  kCfCount,
};
constexpr std::array<const char*, kCfCount> kCfNames = {
    "default",      "customers",    "buildings",       "common",
    "things",       "points",       "series",          "rows",
    "periodic",     "latest",       "current_alarms",  "alarm_history",
    "dead_letters", "users",        "sessions",        "audit",
    "certificates", "alarm_marks",  "links",           "notifications",
    "deliveries",   "delivery_due", "user_deliveries", "subscriptions",
    "endpoints",    "spool"};

constexpr std::string_view kLayoutKey = "nbms.layout_version";
constexpr std::string_view kLayoutVersion = "1";

inline Error io_error(const rocksdb::Status& s, std::string_view what) {
  const auto code = s.IsNoSpace() || s.IsBusy() || s.IsTryAgain() ? Errc::unavailable : Errc::io;
  return Error{code, std::string(what) + ": " + s.ToString()};
}

// Registry records are small, rare and read by people: JSON keeps them evolvable.
inline std::string encode(const Customer& c) {
  return json{{"id", c.id}, {"name", c.name}, {"created_ms", c.created_ms}}.dump();
}
inline std::string encode(const Building& b) {
  return json{{"customer", b.customer},
              {"id", b.id},
              {"name", b.name},
              {"address", b.address},
              {"created_ms", b.created_ms}}
      .dump();
}
inline std::string encode(const Thing& t) {
  return json{{"name", t.name.full()}, {"created_ms", t.created_ms}}.dump();
}
inline std::string encode(const PointInfo& p) {
  return json{{"point_id", p.point_id}, {"thing", p.thing},         {"object_type", p.object_type},
              {"name", p.name},         {"equipment", p.equipment}, {"location", p.location},
              {"unit", p.unit},         {"writable", p.writable},   {"declared", p.declared}}
      .dump();
}

// Registry records from their JSON. nlohmann throws on a missing or mistyped
// member; decode_record turns that into a corruption error.
inline Customer record_from(const json& j, std::type_identity<Customer>) {
  return Customer{j.at("id"), j.at("name"), j.at("created_ms")};
}
inline Building record_from(const json& j, std::type_identity<Building>) {
  return Building{j.at("customer"), j.at("id"), j.at("name"), j.value("address", ""),
                  j.at("created_ms")};
}
inline Thing record_from(const json& j, std::type_identity<Thing>) {
  auto name = ThingName::parse(j.at("name").get<std::string>());
  if (!name) throw std::runtime_error(name.error().message);
  return Thing{*name, j.at("created_ms")};
}
inline PointInfo record_from(const json& j, std::type_identity<PointInfo>) {
  return PointInfo{j.at("point_id"), j.at("thing"),     j.at("object_type"),
                   j.at("name"),     j.at("equipment"), j.at("location"),
                   j.at("unit"),     j.at("writable"),  j.at("declared")};
}

// A stored JSON record read by `from`; nlohmann throws on a missing or
// mistyped member, and that is a corrupt record, never a crash.
template <class Fn>
auto decode_json(std::string_view data, std::string_view what, Fn&& from)
    -> Result<decltype(from(json{}))> {
  try {
    return from(json::parse(data));
  } catch (const std::exception& e) {
    return fail(Errc::io, "stored " + std::string(what) + " is corrupt: " + e.what());
  }
}

template <class T>
Result<T> decode_record(std::string_view data, std::string_view what) {
  return decode_json(data, what,
                     [](const json& j) { return record_from(j, std::type_identity<T>{}); });
}

// Point ids of one thing by series ordinal. Immutable once published; a thing
// that gains points gets a new Dict (copy on write).
struct Dict {
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint32_t> ordinals;
  // Ordinals in point id order, for `latest` (sorted once per dictionary,
  // not per request). Set by index() before the dictionary is published.
  std::vector<std::uint32_t> by_name;

  void index() {
    by_name.resize(names.size());
    for (std::uint32_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
    std::ranges::sort(by_name, [this](auto a, auto b) { return names[a] < names[b]; });
  }
};

// Writer-side state of one thing, touched only under write_mu.
struct ThingState {
  std::string customer;
  std::string building;
  std::shared_ptr<const Dict> dict;
  struct Value {
    bool set = false;
    std::uint32_t minute = 0;
    double value = 0;
  };
  std::vector<Value> latest;  // by ordinal
  std::uint32_t max_minute = 0;
  std::uint16_t period = 15;
  bool has_data = false;
};

}  // namespace detail

using namespace detail;

struct RocksStore::Impl {
  StoreOptions options;
  const Clock& clock;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  rocksdb::WriteOptions write_options;

  std::mutex write_mu;  // serialises every read-modify-write
  std::unordered_map<std::string, ThingState> things;

  std::shared_mutex dict_mu;
  std::unordered_map<std::string, std::shared_ptr<const Dict>> dicts;
  // Raised (under dict_mu) by every purge: a load_dict that scanned before a
  // purge must not cache what it read, or a thing registered again under the
  // same name would inherit the purged thing's ordinals.
  std::uint64_t dict_epoch = 0;

  // Per thing, a minute no unsealed row lies before. Sealing deletes rows one
  // by one, and a history read that seeks into the deleted range would step
  // over every tombstone; starting at the floor skips them. Lowered (by a late
  // row) before the row is written and raised only by sealing, both under
  // write_mu; readers take floor_mu. No entry: 0.
  std::mutex floor_mu;
  std::unordered_map<std::string, std::uint32_t> row_floor;

  std::uint32_t rows_from(const std::string& thing) {
    std::lock_guard lock(floor_mu);
    auto it = row_floor.find(thing);
    return it == row_floor.end() ? 0 : it->second;
  }
  void set_rows_from(const std::string& thing, std::uint32_t minute) {
    std::lock_guard lock(floor_mu);
    row_floor[thing] = minute;
  }

  std::uint64_t next_dead_letter = 0;   // under write_mu
  std::uint64_t first_dead_letter = 0;  // under write_mu

  // Users, sessions and audit (auth_store.cpp) have their own writer lock, so
  // a login never waits for an ingest write.
  std::mutex auth_mu;
  std::optional<std::uint64_t> next_audit_seq;  // under auth_mu; loaded on first append

  std::mutex cert_mu;  // serialises certificate read-modify-writes (certificate_store.cpp)
  // Alarm commits (alarm_store.cpp) have their own writer lock too.
  std::mutex alarm_mu;
  std::optional<std::uint64_t> next_alarm_seq;  // under alarm_mu; loaded on first commit
  // The outbox and subscriptions (notify_store.cpp) have their own writer lock.
  std::mutex notify_mu;

  Impl(const StoreOptions& o, const Clock& c) : options(o), clock(c) {
    write_options.sync = o.sync_writes;
  }

  ~Impl() {
    if (db) {
      for (auto* h : cfs) {
        if (h) (void)db->DestroyColumnFamilyHandle(h);
      }
      (void)db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(Cf which) { return cfs[which]; }

  Result<std::optional<std::string>> get(Cf which, const std::string& key,
                                         const rocksdb::Snapshot* snap = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    std::string value;
    auto s = db->Get(ro, cf(which), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>{};
    if (!s.ok()) return std::unexpected(io_error(s, "read"));
    return std::optional<std::string>(std::move(value));
  }

  // After a failed write (a WAL that hit ENOSPC, an I/O error) or a failed
  // background flush, RocksDB keeps a background error and refuses every
  // later write, even once space is back, until DB::Resume(). The next write
  // calls it first, so the writer's own retry (the ingest pipeline's backoff)
  // drives the recovery; while the disk is still full Resume() fails with the
  // same error and the write is refused as before. Several writer locks exist
  // (write_mu, auth_mu, ...), so this is an atomic; Resume() is thread-safe.
  std::atomic<bool> needs_resume{false};

  // Free space on the database's file system, checked at most every 100 ms
  // while there is room and on every write while there is not (a statvfs).
  std::mutex space_mu;
  std::chrono::steady_clock::time_point space_next_check{};
  bool space_low = false;
  std::uint64_t space_free = 0;

  Result<void> check_space() {
    if (options.reserve_bytes == 0) return {};
    std::lock_guard lock(space_mu);
    const auto now = std::chrono::steady_clock::now();
    if (!space_low && now < space_next_check) return {};
    space_next_check = now + std::chrono::milliseconds(100);
    struct statvfs st {};
    if (::statvfs(options.path.c_str(), &st) != 0) return {};  // cannot tell: let RocksDB try
    space_free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    const bool low = space_free < options.reserve_bytes;
    if (low && !space_low) {
      spdlog::error("storage: only {} bytes free on the disk of {}; refusing writes below {}",
                    space_free, options.path, options.reserve_bytes);
    } else if (!low && space_low) {
      spdlog::info("storage: {} bytes free on the disk of {} again", space_free, options.path);
    }
    space_low = low;
    if (!low) return {};
    return fail(Errc::unavailable, "not enough free space: " + std::to_string(space_free) +
                                       " bytes free on the disk of '" + options.path +
                                       "', writes stop below " +
                                       std::to_string(options.reserve_bytes));
  }

  Result<void> write(rocksdb::WriteBatch& batch) {
    if (auto room = check_space(); !room) return room;
    if (needs_resume.load()) {
      auto r = db->Resume();
      if (!r.ok()) return std::unexpected(io_error(r, "write (database not resumed yet)"));
      if (needs_resume.exchange(false)) {
        spdlog::info("storage: the database accepts writes again (resumed after an error)");
      }
    }
    auto s = db->Write(write_options, &batch);
    if (!s.ok()) {
      if (!needs_resume.exchange(true)) {
        spdlog::error("storage: write refused: {} (will resume the database on the next write)",
                      s.ToString());
      }
      return std::unexpected(io_error(s, "write"));
    }
    return {};
  }

  // Visits every key with `prefix` in key order; `fn(key, value)` returns false to stop.
  template <class Fn>
  Result<void> scan(Cf which, const std::string& prefix, Fn&& fn,
                    const rocksdb::Snapshot* snap = nullptr, const std::string& start = {}) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    const std::string upper = prefix_end(prefix);
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf(which)));
    for (it->Seek(start.empty() ? prefix : start); it->Valid(); it->Next()) {
      const auto k = it->key();
      if (!k.starts_with(prefix)) break;
      if (!fn(std::string_view(k.data(), k.size()),
              std::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan"));
    return {};
  }

  // Every record under `prefix` that `keep` accepts, decoded by `decode`
  // (std::string_view -> Result<T>); a corrupt record is the error.
  template <class Decode, class Keep>
  auto scan_decoded(Cf which, const std::string& prefix, Decode&& decode, Keep&& keep)
      -> Result<std::vector<typename std::invoke_result_t<Decode&, std::string_view>::value_type>> {
    std::vector<typename std::invoke_result_t<Decode&, std::string_view>::value_type> out;
    Result<void> inner;
    auto r = scan(which, prefix, [&](std::string_view, std::string_view v) {
      auto record = decode(v);
      if (!record) {
        inner = std::unexpected(record.error());
        return false;
      }
      if (keep(*record)) out.push_back(std::move(*record));
      return true;
    });
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
    return out;
  }
  template <class Decode>
  auto scan_decoded(Cf which, const std::string& prefix, Decode&& decode) {
    return scan_decoded(which, prefix, std::forward<Decode>(decode),
                        [](const auto&) { return true; });
  }

  // Every registry record under `prefix`, decoded.
  template <class T>
  Result<std::vector<T>> scan_records(Cf which, const std::string& prefix, std::string_view what) {
    return scan_decoded(which, prefix,
                        [what](std::string_view v) { return decode_record<T>(v, what); });
  }

  // ---- series dictionaries ----
  Result<std::shared_ptr<const Dict>> load_dict(std::string_view thing) {
    std::uint64_t epoch = 0;
    {
      std::shared_lock lock(dict_mu);
      if (auto it = dicts.find(std::string(thing)); it != dicts.end()) return it->second;
      epoch = dict_epoch;
    }
    auto dict = std::make_shared<Dict>();
    const std::string prefix = series_prefix(thing) + "O";
    auto r = scan(kSeries, prefix, [&](std::string_view k, std::string_view v) {
      const auto ord = read_u32be(k.substr(prefix.size()));
      if (ord != dict->names.size()) return false;  // dense by construction
      dict->ordinals.emplace(std::string(v), ord);
      dict->names.emplace_back(v);
      return true;
    });
    if (!r) return std::unexpected(r.error());
    dict->index();
    std::unique_lock lock(dict_mu);
    if (epoch != dict_epoch)
      return std::shared_ptr<const Dict>(std::move(dict));  // purged meanwhile
    auto [it, inserted] = dicts.emplace(std::string(thing), dict);
    return it->second;
  }

  // The other registered things of one building with their dictionaries: who
  // else holds a point id (PointConflict). Read once per message that needs it.
  struct Neighbours {
    std::vector<std::string> names;
    std::vector<std::shared_ptr<const Dict>> dicts;

    // The other thing that holds `point_id`, given its point record if any:
    // the registered thing the record names, or one whose dictionary has it.
    std::optional<std::string> holder(const std::string& point_id,
                                      const std::optional<PointInfo>& record) const {
      if (record && std::ranges::find(names, record->thing) != names.end()) return record->thing;
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (dicts[i]->ordinals.contains(point_id)) return names[i];
      }
      return std::nullopt;
    }
  };
  // The registered things of one building (their names start with
  // customer_building_).
  Result<std::vector<Thing>> things_of(std::string_view customer, std::string_view building) {
    return scan_records<Thing>(
        kThings, thing_key(std::string(customer) + "_" + std::string(building) + "_"), "thing");
  }
  Result<Neighbours> neighbours(const ThingName& name) {
    auto registered = things_of(name.customer, name.building);
    if (!registered) return std::unexpected(registered.error());
    const std::string self = name.full();
    Neighbours out;
    for (const auto& t : *registered) {
      auto other = t.name.full();
      if (other == self) continue;
      auto dict = load_dict(other);
      if (!dict) return std::unexpected(dict.error());
      out.names.push_back(std::move(other));
      out.dicts.push_back(std::move(*dict));
    }
    return out;
  }

  // The point record of `point_id` in `name`'s building, if there is one. A
  // record that does not decode counts as none (the caller writes a new one)
  // rather than stopping the thing's ingest for good.
  Result<std::optional<PointInfo>> point_record(const ThingName& name,
                                                const std::string& point_id) {
    auto raw = get(kPoints, point_key(name.customer, name.building, point_id));
    if (!raw) return std::unexpected(raw.error());
    if (!*raw) return std::optional<PointInfo>{};
    auto p = decode_record<PointInfo>(**raw, "point");
    if (!p) {
      spdlog::warn("storage: replacing the unreadable record of point '{}' in {}/{}: {}", point_id,
                   name.customer, name.building, p.error().message);
      return std::optional<PointInfo>{};
    }
    return std::optional<PointInfo>(std::move(*p));
  }

  // Drops every cache of `thing` (after its records were purged). Under write_mu.
  void forget_thing(const std::string& thing) {
    things.erase(thing);
    {
      std::unique_lock lock(dict_mu);
      dicts.erase(thing);
      ++dict_epoch;
    }
    std::lock_guard lock(floor_mu);
    row_floor.erase(thing);
  }

  void publish_dict(const std::string& thing, std::shared_ptr<const Dict> dict) {
    std::unique_lock lock(dict_mu);
    dicts[thing] = std::move(dict);
  }

  // ---- thing state (write side) ----
  Result<ThingState*> state_of(const ThingName& name) {
    const std::string thing = name.full();
    if (auto it = things.find(thing); it != things.end()) return &it->second;
    ThingState st;
    st.customer = name.customer;
    st.building = name.building;
    auto dict = load_dict(thing);
    if (!dict) return std::unexpected(dict.error());
    st.dict = *dict;
    st.latest.resize(st.dict->names.size());
    auto raw = get(kLatest, latest_key(thing));
    if (!raw) return std::unexpected(raw.error());
    if (*raw) {
      auto l = decode_latest(**raw);
      if (!l) return std::unexpected(l.error());
      st.max_minute = l->max_minute;
      st.period = l->period;
      st.has_data = true;
      for (const auto& e : l->entries) {
        if (e.ordinal >= st.latest.size()) st.latest.resize(e.ordinal + 1);
        st.latest[e.ordinal] = {true, e.minute, e.value};
      }
    }
    return &things.emplace(thing, std::move(st)).first->second;
  }

  std::string encode_state(const ThingState& st) {
    Latest l;
    l.max_minute = st.max_minute;
    l.period = st.period;
    for (std::uint32_t i = 0; i < st.latest.size(); ++i) {
      if (st.latest[i].set) l.entries.push_back({i, st.latest[i].minute, st.latest[i].value});
    }
    return encode_latest(l);
  }

  // ---- sealing ----
  // Moves the rows of `thing` with day < `before_day` into per-point day blocks.
  Result<std::size_t> seal_thing(const std::string& thing, std::uint32_t before_day) {
    auto name = ThingName::parse(thing);
    if (!name) return std::unexpected(name.error());
    auto dict = load_dict(thing);
    if (!dict) return std::unexpected(dict.error());
    const std::string prefix = row_prefix(thing);
    std::string end_key = row_key(thing, before_day * 1440);
    // Rows grouped by day, then by series ordinal (dense: one slot per point).
    std::map<std::uint32_t, std::vector<std::vector<BlockSample>>> days;
    std::vector<std::string> sealed_keys;
    Result<void> inner;
    auto r = scan(kRows, prefix, [&](std::string_view k, std::string_view v) {
      if (k >= end_key) return false;
      const auto minute = read_u32be(k.substr(prefix.size()));
      auto row = decode_row(v);
      if (!row) {
        inner = std::unexpected(row.error());
        return false;
      }
      auto& day = days[minute / 1440];
      for (const auto& e : row->entries) {
        if (e.ordinal >= day.size()) day.resize(e.ordinal + 1);
        day[e.ordinal].push_back({static_cast<std::uint16_t>(minute % 1440), e.value});
      }
      sealed_keys.emplace_back(k);
      return true;
    });
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
    if (sealed_keys.empty()) {
      set_rows_from(thing, before_day * 1440);
      return 0;
    }

    rocksdb::WriteBatch batch;
    for (auto& [day, by_ordinal] : days) {
      const auto yyyymm = LocalMinute::from_minutes(day * 1440).yyyymm();
      batch.Put(cf(kSeries), sealed_day_key(thing, day), "");
      for (std::uint32_t ord = 0; ord < by_ordinal.size(); ++ord) {
        auto& samples = by_ordinal[ord];
        if (samples.empty()) continue;
        if (ord >= (*dict)->names.size()) return fail(Errc::io, "row names an unknown series");
        const auto key =
            block_key(name->customer, name->building, yyyymm, (*dict)->names[ord], day);
        // A block is always merged, never overwritten: late rows of a day
        // sealed before, and blocks of the same point id written by another
        // thing in a database from before point ids were held by one thing
        // (docs/storage.md). A missing block costs a bloom-filter probe.
        auto existing = get(kPeriodic, key);
        if (!existing) return std::unexpected(existing.error());
        if (*existing) {
          auto old = decode_block(**existing);
          if (!old) return std::unexpected(old.error());
          samples = merge_samples(*old, samples);
        }
        batch.Put(cf(kPeriodic), key, encode_block(samples));
      }
    }
    for (const auto& k : sealed_keys) batch.Delete(cf(kRows), k);
    if (auto w = write(batch); !w) return std::unexpected(w.error());
    set_rows_from(thing, before_day * 1440);
    return sealed_keys.size();
  }
};

}  // namespace nbms::storage
