#include "nbms/storage/rocks_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include "store_impl.hpp"

namespace nbms::storage {

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
      table.block_size = std::size_t{32} * 1024;
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
  return impl_->things_of(customer, building);
}

// ---- PointStore ----

Result<PointChanges> RocksStore::upsert_points(const ThingName& thing,
                                               const std::vector<PointInfo>& points) {
  std::lock_guard lock(impl_->write_mu);
  PointChanges changes;
  auto others = impl_->neighbours(thing);
  if (!others) return std::unexpected(others.error());
  rocksdb::WriteBatch batch;
  for (const auto& p : points) {
    auto old = impl_->point_record(thing, p.point_id);
    if (!old) return std::unexpected(old.error());
    if (auto holder = others->holder(p.point_id, *old)) {
      changes.conflicts.push_back({p.point_id, std::move(*holder)});
      continue;
    }
    if (*old) {
      if (**old == p) {
        ++changes.unchanged;
        continue;
      }
      ++changes.updated;
    } else {
      ++changes.created;
    }
    batch.Put(impl_->cf(kPoints), point_key(thing.customer, thing.building, p.point_id), encode(p));
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
