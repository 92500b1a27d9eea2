// Purging one thing (ThingPurger; docs/storage.md, "Purging a thing").
//
// Everything is deleted in one WriteBatch: a crash leaves either all of the
// thing or none of it. Keys that are contiguous per thing are range deletes:
//   series, rows, spool:                 v | thing 0 | ...
//   current_alarms, alarm_marks, links:  v | customer 0 | building 0 | thing 0 | ...
// The periodic column family is keyed by building, month, point id and day,
// not by thing: the thing's blocks are one range per (month, point id), for
// the point ids that are the thing's alone. Single deletes: the thing record,
// its latest record, its point records.
//
// Kept: certificates (the CRL lists revoked serials until they expire), the
// building's alarm history (one log per building and month, not per thing)
// and the audit trail.
#include <set>

#include "store_impl.hpp"

namespace nbms::storage {
namespace {

// v | customer 0 | building 0 | thing 0: the thing's part of the alarm column
// families (alarm_store.cpp's key layout).
std::string alarm_thing_prefix(const ThingName& t) {
  std::string k(1, kKeyVersion);
  put_part(k, t.customer);
  put_part(k, t.building);
  put_part(k, t.full());
  return k;
}

}  // namespace

Result<PurgedData> RocksStore::purge_thing(const ThingName& name) {
  auto& impl = *impl_;
  // The ingest writer lock keeps appends, seals, points and registrations
  // out; the alarm writer lock keeps alarm commits out. Nothing takes them
  // the other way round.
  std::lock_guard write_lock(impl.write_mu);
  std::lock_guard alarm_lock(impl.alarm_mu);
  const std::string thing = name.full();
  PurgedData out;

  auto record = impl.get(kThings, thing_key(thing));
  if (!record) return std::unexpected(record.error());
  if (!*record) return fail(Errc::not_found, "thing '" + thing + "' is not registered");

  rocksdb::WriteBatch batch;
  batch.Delete(impl.cf(kThings), thing_key(thing));
  out.thing = 1;

  // Counts the keys under `prefix` of `which`, then deletes them as one range.
  const auto purge_range = [&](Cf which, const std::string& prefix,
                               auto&& per_key) -> Result<std::size_t> {
    std::size_t n = 0;
    auto r = impl.scan(which, prefix, [&](std::string_view k, std::string_view) {
      per_key(k);
      ++n;
      return true;
    });
    if (!r) return std::unexpected(r.error());
    if (n > 0) batch.DeleteRange(impl.cf(which), prefix, prefix_end(prefix));
    return n;
  };
  const auto ignore = [](std::string_view) {};

  // The series dictionary: the point ids the thing reported, and its sealed days.
  std::set<std::string> reported;
  const std::string series = series_prefix(thing);
  auto n = purge_range(kSeries, series, [&](std::string_view k) {
    const auto rest = k.substr(series.size());
    if (rest.starts_with('N')) {
      reported.emplace(rest.substr(1));
      ++out.series;
    } else if (rest.starts_with('O')) {
      ++out.series;
    } else if (rest.starts_with('S')) {
      ++out.sealed_days;
    }
  });
  if (!n) return std::unexpected(n.error());

  // Point records: the thing's own are deleted. A point id it reported whose
  // record belongs to another thing, or which another thing's dictionary holds
  // too, shares its periodic keys (building, month, point, day) with that
  // thing: those stay.
  std::set<std::string> own;
  std::set<std::string> shared;
  Result<void> inner;
  auto scanned = impl.scan(kPoints, point_prefix(name.customer, name.building),
                           [&](std::string_view, std::string_view v) {
                             auto p = decode_record<PointInfo>(v, "point");
                             if (!p) {
                               inner = std::unexpected(p.error());
                               return false;
                             }
                             if (p->thing == thing) {
                               own.insert(p->point_id);
                             } else if (reported.contains(p->point_id)) {
                               shared.insert(p->point_id);
                             }
                             return true;
                           });
  if (!scanned) return std::unexpected(scanned.error());
  if (!inner) return std::unexpected(inner.error());
  auto others = things(name.customer, name.building);
  if (!others) return std::unexpected(others.error());
  std::set<std::string> candidates = reported;
  candidates.insert(own.begin(), own.end());
  for (const auto& other : *others) {
    const auto other_name = other.name.full();
    if (other_name == thing) continue;
    for (const auto& id : candidates) {
      if (shared.contains(id)) continue;
      auto held = impl.get(kSeries, series_name_key(other_name, id));
      if (!held) return std::unexpected(held.error());
      if (*held) shared.insert(id);
    }
  }
  for (const auto& id : own) {
    if (shared.contains(id)) continue;
    batch.Delete(impl.cf(kPoints), point_key(name.customer, name.building, id));
    ++out.points;
  }
  out.shared_points_kept = shared.size();

  // Periodic blocks: every month of the building (one seek each), and in it
  // the range of each point id that is the thing's alone.
  const std::string building = point_prefix(name.customer, name.building);
  {
    rocksdb::ReadOptions ro;
    const std::string upper = prefix_end(building);
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(impl.db->NewIterator(ro, impl.cf(kPeriodic)));
    std::vector<std::uint32_t> months;
    for (it->Seek(building); it->Valid();) {
      const std::string_view k(it->key().data(), it->key().size());
      if (!k.starts_with(building) || k.size() < building.size() + 4) break;
      const auto month = read_u32be(k.substr(building.size(), 4));
      months.push_back(month);
      it->Seek(prefix_end(month_prefix(name.customer, name.building, month)));
    }
    if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan periodic"));
    for (const auto month : months) {
      for (const auto& id : candidates) {
        if (shared.contains(id)) continue;
        auto blocks =
            purge_range(kPeriodic, block_prefix(name.customer, name.building, month, id), ignore);
        if (!blocks) return std::unexpected(blocks.error());
        out.periodic_blocks += *blocks;
      }
    }
  }

  auto rows = purge_range(kRows, row_prefix(thing), ignore);
  if (!rows) return std::unexpected(rows.error());
  out.rows = *rows;

  auto latest = impl.get(kLatest, latest_key(thing));
  if (!latest) return std::unexpected(latest.error());
  if (*latest) {
    batch.Delete(impl.cf(kLatest), latest_key(thing));
    out.latest = 1;
  }

  // Spool keys are v | thing 0 | seq, the same prefix as rows.
  auto spool = purge_range(kSpool, row_prefix(thing), ignore);
  if (!spool) return std::unexpected(spool.error());
  out.spool = *spool;

  const std::string alarms = alarm_thing_prefix(name);
  auto current = purge_range(kCurrentAlarms, alarms, ignore);
  if (!current) return std::unexpected(current.error());
  out.current_alarms = *current;
  auto marks = purge_range(kAlarmMarks, alarms, ignore);
  if (!marks) return std::unexpected(marks.error());
  out.alarm_marks = *marks;
  auto links = purge_range(kLinks, alarms, ignore);
  if (!links) return std::unexpected(links.error());
  out.links = *links;

  if (auto w = impl.write(batch); !w) return std::unexpected(w.error());
  impl.forget_thing(thing);
  spdlog::info(
      "storage: purged thing {}: {} points, {} series entries, {} sealed days, {} rows, {} "
      "periodic blocks, {} latest, {} held messages, {} current alarms, {} alarm marks, {} links "
      "({} shared points kept)",
      thing, out.points, out.series, out.sealed_days, out.rows, out.periodic_blocks, out.latest,
      out.spool, out.current_alarms, out.alarm_marks, out.links, out.shared_points_kept);
  return out;
}

}  // namespace nbms::storage
