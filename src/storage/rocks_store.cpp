#include "nbms/storage/rocks_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <unordered_map>

#include "encoding.hpp"

namespace nbms::storage {
namespace {

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
  kCfCount,
};
constexpr std::array<const char*, kCfCount> kCfNames = {
    "default", "customers", "buildings", "common",         "things",        "points",      "series",
    "rows",    "periodic",  "latest",    "current_alarms", "alarm_history", "dead_letters"};

constexpr std::string_view kLayoutKey = "nbms.layout_version";
constexpr std::string_view kLayoutVersion = "1";

Error io_error(const rocksdb::Status& s, std::string_view what) {
  const auto code = s.IsNoSpace() || s.IsBusy() || s.IsTryAgain() ? Errc::unavailable : Errc::io;
  return Error{code, std::string(what) + ": " + s.ToString()};
}

// Registry records are small, rare and read by people: JSON keeps them evolvable.
std::string encode(const Customer& c) {
  return json{{"id", c.id}, {"name", c.name}, {"created_ms", c.created_ms}}.dump();
}
std::string encode(const Building& b) {
  return json{{"customer", b.customer},
              {"id", b.id},
              {"name", b.name},
              {"address", b.address},
              {"created_ms", b.created_ms}}
      .dump();
}
std::string encode(const Thing& t) {
  return json{{"name", t.name.full()}, {"created_ms", t.created_ms}}.dump();
}
std::string encode(const PointInfo& p) {
  return json{{"point_id", p.point_id}, {"thing", p.thing},         {"object_type", p.object_type},
              {"name", p.name},         {"equipment", p.equipment}, {"location", p.location},
              {"unit", p.unit},         {"writable", p.writable},   {"declared", p.declared}}
      .dump();
}

template <class T>
Result<T> decode_record(std::string_view data, std::string_view what);

template <>
Result<Customer> decode_record<Customer>(std::string_view data, std::string_view what) {
  try {
    auto j = json::parse(data);
    return Customer{j.at("id"), j.at("name"), j.at("created_ms")};
  } catch (const std::exception& e) {
    return fail(Errc::io, "stored " + std::string(what) + " is corrupt: " + e.what());
  }
}
template <>
Result<Building> decode_record<Building>(std::string_view data, std::string_view what) {
  try {
    auto j = json::parse(data);
    return Building{j.at("customer"), j.at("id"), j.at("name"), j.value("address", ""),
                    j.at("created_ms")};
  } catch (const std::exception& e) {
    return fail(Errc::io, "stored " + std::string(what) + " is corrupt: " + e.what());
  }
}
template <>
Result<Thing> decode_record<Thing>(std::string_view data, std::string_view what) {
  try {
    auto j = json::parse(data);
    auto name = ThingName::parse(j.at("name").get<std::string>());
    if (!name) return std::unexpected(name.error());
    return Thing{*name, j.at("created_ms")};
  } catch (const std::exception& e) {
    return fail(Errc::io, "stored " + std::string(what) + " is corrupt: " + e.what());
  }
}
template <>
Result<PointInfo> decode_record<PointInfo>(std::string_view data, std::string_view what) {
  try {
    auto j = json::parse(data);
    return PointInfo{j.at("point_id"), j.at("thing"),     j.at("object_type"),
                     j.at("name"),     j.at("equipment"), j.at("location"),
                     j.at("unit"),     j.at("writable"),  j.at("declared")};
  } catch (const std::exception& e) {
    return fail(Errc::io, "stored " + std::string(what) + " is corrupt: " + e.what());
  }
}

// Point ids of one thing by series ordinal. Immutable once published; a thing
// that gains points gets a new Dict (copy on write).
struct Dict {
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint32_t> ordinals;
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

}  // namespace

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

  std::uint64_t next_dead_letter = 0;   // under write_mu
  std::uint64_t first_dead_letter = 0;  // under write_mu

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

  Result<void> write(rocksdb::WriteBatch& batch) {
    auto s = db->Write(write_options, &batch);
    if (!s.ok()) return std::unexpected(io_error(s, "write"));
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

  // Every registry record under `prefix`, decoded.
  template <class T>
  Result<std::vector<T>> scan_records(Cf which, const std::string& prefix, std::string_view what) {
    std::vector<T> out;
    Result<void> inner;
    auto r = scan(which, prefix, [&](std::string_view, std::string_view v) {
      auto record = decode_record<T>(v, what);
      if (!record) {
        inner = std::unexpected(record.error());
        return false;
      }
      out.push_back(std::move(*record));
      return true;
    });
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
    return out;
  }

  // ---- series dictionaries ----
  Result<std::shared_ptr<const Dict>> load_dict(std::string_view thing) {
    {
      std::shared_lock lock(dict_mu);
      if (auto it = dicts.find(std::string(thing)); it != dicts.end()) return it->second;
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
    std::unique_lock lock(dict_mu);
    auto [it, inserted] = dicts.emplace(std::string(thing), dict);
    return it->second;
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
    // Rows grouped by day: day -> (ordinal -> samples)
    std::map<std::uint32_t, std::map<std::uint32_t, std::vector<BlockSample>>> days;
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
        day[e.ordinal].push_back({static_cast<std::uint16_t>(minute % 1440), e.value});
      }
      sealed_keys.emplace_back(k);
      return true;
    });
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
    if (sealed_keys.empty()) return 0;

    rocksdb::WriteBatch batch;
    for (auto& [day, by_ordinal] : days) {
      const auto yyyymm = LocalMinute::from_minutes(day * 1440).yyyymm();
      // Blocks exist only for a day this thing sealed before (late rows): only
      // then is each point's block read and merged.
      const auto marker = sealed_day_key(thing, day);
      auto sealed_before = get(kSeries, marker);
      if (!sealed_before) return std::unexpected(sealed_before.error());
      batch.Put(cf(kSeries), marker, "");
      for (auto& [ord, samples] : by_ordinal) {
        if (ord >= (*dict)->names.size()) return fail(Errc::io, "row names an unknown series");
        const auto key =
            block_key(name->customer, name->building, yyyymm, (*dict)->names[ord], day);
        if (*sealed_before) {
          auto existing = get(kPeriodic, key);
          if (!existing) return std::unexpected(existing.error());
          if (*existing) {
            auto old = decode_block(**existing);
            if (!old) return std::unexpected(old.error());
            samples = merge_samples(*old, samples);
          }
        }
        batch.Put(cf(kPeriodic), key, encode_block(samples));
      }
    }
    for (const auto& k : sealed_keys) batch.Delete(cf(kRows), k);
    if (auto w = write(batch); !w) return std::unexpected(w.error());
    return sealed_keys.size();
  }
};

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

Result<std::unique_ptr<RocksStore>> RocksStore::open(const StoreOptions& options,
                                                     const Clock& clock) {
  auto impl = std::make_unique<Impl>(options, clock);
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = 256u << 20;
  db_options.keep_log_file_num = 5;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    if (i == kPeriodic) {
      // Sealed history: written once, read by range; compress hard.
      table.block_size = 32 * 1024;
      cf_options.compression = rocksdb::kLZ4Compression;
      cf_options.bottommost_compression = rocksdb::kZSTD;
    } else {
      cf_options.compression = rocksdb::kLZ4Compression;
    }
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    descriptors.emplace_back(kCfNames[i], cf_options);
  }
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, descriptors, &impl->cfs, &raw);
  if (!s.ok()) {
    return fail(Errc::io, "cannot open database at '" + options.path + "': " + s.ToString());
  }
  impl->db.reset(raw);

  auto version = impl->get(kDefault, std::string(kLayoutKey));
  if (!version) return std::unexpected(version.error());
  if (!*version) {
    auto w = impl->db->Put(impl->write_options, impl->cf(kDefault), kLayoutKey, kLayoutVersion);
    if (!w.ok()) return std::unexpected(io_error(w, "write layout version"));
  } else if (**version != kLayoutVersion) {
    return fail(Errc::io, "database at '" + options.path + "' has storage layout version " +
                              **version + "; this nbmsd understands version " +
                              std::string(kLayoutVersion));
  }

  // Dead-letter sequence range from the first and last keys.
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(rocksdb::ReadOptions(), impl->cf(kDeadLetters)));
    it->SeekToFirst();
    if (it->Valid() && it->key().size() == 9) {
      impl->first_dead_letter = read_u32be(std::string_view(it->key().data() + 1, 4));
      impl->first_dead_letter =
          (impl->first_dead_letter << 32) | read_u32be(std::string_view(it->key().data() + 5, 4));
      it->SeekToLast();
      std::uint64_t last = read_u32be(std::string_view(it->key().data() + 1, 4));
      last = (last << 32) | read_u32be(std::string_view(it->key().data() + 5, 4));
      impl->next_dead_letter = last + 1;
    }
  }
  auto store = std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
  // Seal rows of days that were complete when the previous run stopped.
  if (auto sealed = store->seal(); !sealed) return std::unexpected(sealed.error());
  return store;
}

// ---- Registry ----

Result<void> RocksStore::create_customer(const Customer& c) {
  if (auto ok = validate_customer_id(c.id); !ok) return ok;
  std::lock_guard lock(impl_->write_mu);
  const auto key = customer_key(c.id);
  auto existing = impl_->get(kCustomers, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return fail(Errc::already_exists, "customer '" + c.id + "' already exists");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kCustomers), key, encode(c));
  return impl_->write(batch);
}

Result<std::vector<Customer>> RocksStore::customers() {
  return impl_->scan_records<Customer>(kCustomers, std::string(1, kKeyVersion), "customer");
}

Result<Customer> RocksStore::customer(std::string_view id) {
  auto raw = impl_->get(kCustomers, customer_key(id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "customer '" + std::string(id) + "' not found");
  return decode_record<Customer>(**raw, "customer");
}

Result<void> RocksStore::create_building(const Building& b) {
  if (auto ok = validate_building_id(b.id); !ok) return ok;
  std::lock_guard lock(impl_->write_mu);
  auto owner = impl_->get(kCustomers, customer_key(b.customer));
  if (!owner) return std::unexpected(owner.error());
  if (!*owner) return fail(Errc::not_found, "customer '" + b.customer + "' not found");
  const auto key = building_key(b.customer, b.id);
  auto existing = impl_->get(kBuildings, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    return fail(Errc::already_exists, "building '" + b.customer + "/" + b.id + "' already exists");
  }
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kBuildings), key, encode(b));
  return impl_->write(batch);
}

Result<std::vector<Building>> RocksStore::buildings(std::string_view customer) {
  return impl_->scan_records<Building>(kBuildings, building_prefix(customer), "building");
}

Result<Building> RocksStore::building(std::string_view customer, std::string_view id) {
  auto raw = impl_->get(kBuildings, building_key(customer, id));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) {
    return fail(Errc::not_found,
                "building '" + std::string(customer) + "/" + std::string(id) + "' not found");
  }
  return decode_record<Building>(**raw, "building");
}

Result<void> RocksStore::create_thing(const Thing& t) {
  std::lock_guard lock(impl_->write_mu);
  auto owner = impl_->get(kBuildings, building_key(t.name.customer, t.name.building));
  if (!owner) return std::unexpected(owner.error());
  if (!*owner) {
    return fail(Errc::not_found,
                "building '" + t.name.customer + "/" + t.name.building + "' not found");
  }
  const auto key = thing_key(t.name.full());
  auto existing = impl_->get(kThings, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return fail(Errc::already_exists, "thing '" + t.name.full() + "' already exists");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kThings), key, encode(t));
  return impl_->write(batch);
}

Result<Thing> RocksStore::thing(std::string_view name) {
  auto raw = impl_->get(kThings, thing_key(name));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return fail(Errc::not_found, "thing '" + std::string(name) + "' is not registered");
  return decode_record<Thing>(**raw, "thing");
}

Result<std::vector<Thing>> RocksStore::things(std::string_view customer,
                                              std::string_view building) {
  return impl_->scan_records<Thing>(
      kThings, thing_key(std::string(customer) + "_" + std::string(building) + "_"), "thing");
}

// ---- PointStore ----

Result<PointChanges> RocksStore::upsert_points(const ThingName& thing,
                                               const std::vector<PointInfo>& points) {
  std::lock_guard lock(impl_->write_mu);
  PointChanges changes;
  rocksdb::WriteBatch batch;
  for (const auto& p : points) {
    const auto key = point_key(thing.customer, thing.building, p.point_id);
    auto raw = impl_->get(kPoints, key);
    if (!raw) return std::unexpected(raw.error());
    if (*raw) {
      auto old = decode_record<PointInfo>(**raw, "point");
      if (old && *old == p) {
        ++changes.unchanged;
        continue;
      }
      ++changes.updated;
    } else {
      ++changes.created;
    }
    batch.Put(impl_->cf(kPoints), key, encode(p));
  }
  if (batch.Count() > 0) {
    if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  }
  return changes;
}

Result<PointChanges> RocksStore::remove_points(const ThingName& thing,
                                               const std::vector<std::string>& point_ids) {
  std::lock_guard lock(impl_->write_mu);
  PointChanges changes;
  rocksdb::WriteBatch batch;
  const std::string owner = thing.full();
  for (const auto& id : point_ids) {
    const auto key = point_key(thing.customer, thing.building, id);
    auto raw = impl_->get(kPoints, key);
    if (!raw) return std::unexpected(raw.error());
    std::optional<PointInfo> old;
    if (*raw) {
      if (auto p = decode_record<PointInfo>(**raw, "point")) old = std::move(*p);
    }
    if (!old || old->thing != owner) {
      ++changes.unknown;
      continue;
    }
    batch.Delete(impl_->cf(kPoints), key);
    ++changes.removed;
  }
  if (batch.Count() > 0) {
    if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  }
  return changes;
}

Result<std::vector<PointInfo>> RocksStore::points(std::string_view customer,
                                                  std::string_view building) {
  return impl_->scan_records<PointInfo>(kPoints, point_prefix(customer, building), "point");
}

// ---- SeriesStore ----

Result<AppendResult> RocksStore::append(const PeriodicLog& log) {
  std::lock_guard lock(impl_->write_mu);
  auto& impl = *impl_;
  const std::string thing = log.thing.full();
  auto state_r = impl.state_of(log.thing);
  if (!state_r) return std::unexpected(state_r.error());
  ThingState& st = **state_r;

  rocksdb::WriteBatch batch;
  AppendResult result;
  const std::uint32_t minute = log.time.minutes();

  // Series ordinals; points new to this thing get the next ones, persisted in
  // the same batch, and are listed as undeclared unless an init named them.
  std::shared_ptr<Dict> grown;
  const Dict* dict = st.dict.get();
  Row row;
  row.period = static_cast<std::uint16_t>(log.period_minutes);
  row.entries.reserve(log.values.size());
  for (const auto& pv : log.values) {
    std::uint32_t ord = 0;
    if (auto it = dict->ordinals.find(pv.point_id); it != dict->ordinals.end()) {
      ord = it->second;
    } else {
      if (!grown) {
        grown = std::make_shared<Dict>(*st.dict);
        dict = grown.get();
      }
      ord = static_cast<std::uint32_t>(grown->names.size());
      grown->names.push_back(pv.point_id);
      grown->ordinals.emplace(pv.point_id, ord);
      std::string ord_bytes;
      put_u32be(ord_bytes, ord);
      batch.Put(impl.cf(kSeries), series_name_key(thing, pv.point_id), ord_bytes);
      batch.Put(impl.cf(kSeries), series_ordinal_key(thing, ord), pv.point_id);
      const auto pkey = point_key(log.thing.customer, log.thing.building, pv.point_id);
      auto known = impl.get(kPoints, pkey);
      if (!known) return std::unexpected(known.error());
      if (!*known) {
        PointInfo info;
        info.point_id = pv.point_id;
        info.thing = thing;
        const auto colon = pv.point_id.find(':');
        info.name = colon == std::string::npos ? pv.point_id : pv.point_id.substr(colon + 1);
        info.declared = false;
        batch.Put(impl.cf(kPoints), pkey, encode(info));
        ++result.undeclared;
      }
    }
    row.entries.push_back({ord, pv.value});
  }
  std::sort(row.entries.begin(), row.entries.end(),
            [](const RowEntry& a, const RowEntry& b) { return a.ordinal < b.ordinal; });

  // A re-sent log for the same time: keep the values it does not repeat.
  const auto rkey = row_key(thing, minute);
  auto existing = impl.get(kRows, rkey);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    auto old = decode_row(**existing);
    if (!old) return std::unexpected(old.error());
    for (const auto& e : old->entries) {
      if (!find_in_row(row, e.ordinal)) row.entries.push_back(e);
    }
    std::sort(row.entries.begin(), row.entries.end(),
              [](const RowEntry& a, const RowEntry& b) { return a.ordinal < b.ordinal; });
  }
  batch.Put(impl.cf(kRows), rkey, encode_row(row));

  // Latest values: never move backwards in time (backfills are older).
  ThingState next = st;
  if (grown) next.dict = grown;
  next.latest.resize(dict->names.size());
  for (const auto& e : row.entries) {
    auto& cur = next.latest[e.ordinal];
    if (!cur.set || cur.minute <= minute) cur = {true, minute, e.value};
  }
  const std::uint32_t previous_day = st.has_data ? st.max_minute / 1440 : 0;
  if (!next.has_data || minute >= next.max_minute) {
    next.max_minute = minute;
    next.period = row.period;
  }
  next.has_data = true;
  batch.Put(impl.cf(kLatest), latest_key(thing), impl.encode_state(next));

  if (auto w = impl.write(batch); !w) return std::unexpected(w.error());
  st = std::move(next);
  if (grown) impl.publish_dict(thing, std::move(grown));
  result.samples = log.values.size();

  // The thing moved to a new day: its earlier days are complete.
  if (st.max_minute / 1440 > previous_day) {
    if (auto sealed = impl.seal_thing(thing, st.max_minute / 1440); !sealed) {
      spdlog::warn("storage: sealing {} failed (rows stay readable): {}", thing,
                   sealed.error().message);
    }
  }
  return result;
}

Result<std::vector<Sample>> RocksStore::history(std::string_view customer,
                                                std::string_view building,
                                                std::string_view point_id, LocalMinute from,
                                                LocalMinute to) {
  auto& impl = *impl_;
  const rocksdb::Snapshot* snap = impl.db->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{impl.db.get(), snap};

  std::vector<Sample> sealed;
  Result<void> inner;
  // Sealed day blocks, month by month.
  for (std::uint32_t day = first_day_of_month(from.day()); day <= to.day();) {
    const auto month = LocalMinute::from_minutes(day * 1440).yyyymm();
    const auto prefix = block_prefix(customer, building, month, point_id);
    std::string start = prefix;
    put_u32be(start, std::max(day, from.day()));
    auto r = impl.scan(
        kPeriodic, prefix,
        [&](std::string_view k, std::string_view v) {
          const auto d = read_u32be(k.substr(prefix.size()));
          if (d > to.day()) return false;
          auto block = decode_block(v);
          if (!block) {
            inner = std::unexpected(block.error());
            return false;
          }
          for (const auto& s : *block) {
            const auto t = LocalMinute::from_minutes(d * 1440 + s.minute_of_day);
            if (t >= from && t <= to) sealed.push_back({t, s.value});
          }
          return true;
        },
        snap, start);
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
    // Next month's first day.
    std::uint32_t next = day;
    while (LocalMinute::from_minutes(next * 1440).yyyymm() == month) next += 28;
    day = first_day_of_month(next);
  }

  // Rows not sealed yet, from every thing of the building that knows the point.
  auto things_r = things(customer, building);
  if (!things_r) return std::unexpected(things_r.error());
  std::vector<Sample> recent;
  for (const auto& t : *things_r) {
    const auto thing = t.name.full();
    auto dict = impl.load_dict(thing);
    if (!dict) return std::unexpected(dict.error());
    auto it = (*dict)->ordinals.find(std::string(point_id));
    if (it == (*dict)->ordinals.end()) continue;
    const auto ord = it->second;
    const auto prefix = row_prefix(thing);
    const auto end = row_key(thing, to.minutes());
    auto r = impl.scan(
        kRows, prefix,
        [&](std::string_view k, std::string_view v) {
          if (k > end) return false;
          auto row = decode_row(v);
          if (!row) {
            inner = std::unexpected(row.error());
            return false;
          }
          if (auto value = find_in_row(*row, ord)) {
            recent.push_back(
                {LocalMinute::from_minutes(read_u32be(k.substr(prefix.size()))), *value});
          }
          return true;
        },
        snap, row_key(thing, from.minutes()));
    if (!r) return std::unexpected(r.error());
    if (!inner) return std::unexpected(inner.error());
  }
  if (recent.empty()) return sealed;
  std::sort(recent.begin(), recent.end(),
            [](const Sample& a, const Sample& b) { return a.time < b.time; });
  // Unsealed rows are newer than sealed blocks of the same minute.
  std::vector<Sample> out;
  out.reserve(sealed.size() + recent.size());
  std::size_t i = 0, j = 0;
  while (i < sealed.size() || j < recent.size()) {
    if (j == recent.size() || (i < sealed.size() && sealed[i].time < recent[j].time)) {
      out.push_back(sealed[i++]);
    } else {
      if (i < sealed.size() && sealed[i].time == recent[j].time) ++i;
      out.push_back(recent[j++]);
    }
  }
  return out;
}

Result<std::vector<LatestValue>> RocksStore::latest(std::string_view customer,
                                                    std::string_view building) {
  auto things_r = things(customer, building);
  if (!things_r) return std::unexpected(things_r.error());
  std::vector<LatestValue> out;
  for (const auto& t : *things_r) {
    const auto thing = t.name.full();
    auto raw = impl_->get(kLatest, latest_key(thing));
    if (!raw) return std::unexpected(raw.error());
    if (!*raw) continue;
    auto l = decode_latest(**raw);
    if (!l) return std::unexpected(l.error());
    auto dict = impl_->load_dict(thing);
    if (!dict) return std::unexpected(dict.error());
    out.reserve(out.size() + l->entries.size());
    for (const auto& e : l->entries) {
      if (e.ordinal >= (*dict)->names.size()) continue;  // written after the dict was read
      out.push_back({(*dict)->names[e.ordinal], LocalMinute::from_minutes(e.minute), e.value});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LatestValue& a, const LatestValue& b) { return a.point_id < b.point_id; });
  return out;
}

Result<std::optional<LastLog>> RocksStore::last_log(const ThingName& thing) {
  auto raw = impl_->get(kLatest, latest_key(thing.full()));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return std::optional<LastLog>{};
  auto l = decode_latest(**raw);
  if (!l) return std::unexpected(l.error());
  return std::optional<LastLog>(LastLog{LocalMinute::from_minutes(l->max_minute), l->period});
}

// ---- DeadLetterStore ----

Result<void> RocksStore::put_dead_letter(const DeadLetter& letter) {
  std::lock_guard lock(impl_->write_mu);
  auto& impl = *impl_;
  if (impl.options.dead_letter_limit == 0) return {};
  DeadLetter kept = letter;
  if (kept.payload.size() > impl.options.dead_letter_payload_bytes) {
    kept.payload.resize(impl.options.dead_letter_payload_bytes);
  }
  rocksdb::WriteBatch batch;
  batch.Put(impl.cf(kDeadLetters), dead_letter_key(impl.next_dead_letter),
            encode_dead_letter(kept));
  const std::uint64_t next = impl.next_dead_letter + 1;
  std::uint64_t first = impl.first_dead_letter;
  if (next - first > impl.options.dead_letter_limit) {
    const std::uint64_t new_first = next - impl.options.dead_letter_limit;
    batch.DeleteRange(impl.cf(kDeadLetters), dead_letter_key(first), dead_letter_key(new_first));
    first = new_first;
  }
  if (auto w = impl.write(batch); !w) return w;
  impl.next_dead_letter = next;
  impl.first_dead_letter = first;
  return {};
}

Result<std::vector<DeadLetter>> RocksStore::dead_letters(std::size_t limit) {
  std::vector<DeadLetter> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kDeadLetters)));
  for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
    auto d = decode_dead_letter(std::string_view(it->value().data(), it->value().size()));
    if (!d) return std::unexpected(d.error());
    out.push_back(std::move(*d));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan dead letters"));
  return out;
}

// ---- maintenance ----

Result<std::size_t> RocksStore::seal() {
  std::lock_guard lock(impl_->write_mu);
  auto& impl = *impl_;
  // Every thing with rows: seal what lies before the day of its newest log.
  std::vector<std::string> names;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl.db->NewIterator(rocksdb::ReadOptions(), impl.cf(kRows)));
    for (it->SeekToFirst(); it->Valid();) {
      const std::string_view k(it->key().data(), it->key().size());
      const auto nul = k.find('\0', 1);
      if (nul == std::string_view::npos) break;
      names.emplace_back(k.substr(1, nul - 1));
      it->Seek(prefix_end(std::string(k.substr(0, nul + 1))));
    }
    if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan rows"));
  }
  std::size_t total = 0;
  for (const auto& thing : names) {
    auto last = impl.get(kLatest, latest_key(thing));
    if (!last) return std::unexpected(last.error());
    if (!*last) continue;
    auto l = decode_latest(**last);
    if (!l) return std::unexpected(l.error());
    auto n = impl.seal_thing(thing, l->max_minute / 1440);
    if (!n) return std::unexpected(n.error());
    total += *n;
  }
  return total;
}

Result<void> RocksStore::drop_month(std::string_view customer, std::string_view building,
                                    std::uint32_t yyyymm) {
  std::lock_guard lock(impl_->write_mu);
  const auto begin = month_prefix(customer, building, yyyymm);
  rocksdb::WriteBatch batch;
  batch.DeleteRange(impl_->cf(kPeriodic), begin, prefix_end(begin));
  return impl_->write(batch);
}

Result<void> RocksStore::compact() {
  for (auto* h : impl_->cfs) {
    rocksdb::FlushOptions fo;
    if (auto s = impl_->db->Flush(fo, h); !s.ok()) return std::unexpected(io_error(s, "flush"));
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (auto s = impl_->db->CompactRange(co, h, nullptr, nullptr); !s.ok()) {
      return std::unexpected(io_error(s, "compact"));
    }
  }
  return {};
}

std::uint64_t RocksStore::live_bytes() {
  std::uint64_t total = 0;
  for (auto* h : impl_->cfs) {
    std::uint64_t v = 0;
    if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) total += v;
  }
  return total;
}

}  // namespace nbms::storage
