// The periodic history: append, history, latest (docs/storage.md).
#include <algorithm>

#include "store_impl.hpp"

namespace nbms::storage {

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
  // A point id another thing of the building holds gets none: its values are
  // refused (PointConflict), every time, so they are never in a row.
  std::shared_ptr<Dict> grown;
  std::optional<Impl::Neighbours> others;  // read at the first new point id
  const Dict* dict = st.dict.get();
  Row row;
  row.period = static_cast<std::uint16_t>(log.period_minutes);
  row.entries.reserve(log.values.size());
  for (const auto& pv : log.values) {
    std::uint32_t ord = 0;
    if (auto it = dict->ordinals.find(pv.point_id); it != dict->ordinals.end()) {
      ord = it->second;
    } else {
      auto record = impl.point_record(log.thing, pv.point_id);
      if (!record) return std::unexpected(record.error());
      if (!others) {
        auto n = impl.neighbours(log.thing);
        if (!n) return std::unexpected(n.error());
        others = std::move(*n);
      }
      if (auto holder = others->holder(pv.point_id, *record)) {
        result.conflicts.push_back({pv.point_id, std::move(*holder)});
        continue;
      }
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
      // A record naming a thing no longer registered is taken over.
      if (!*record || (*record)->thing != thing) {
        PointInfo info;
        if (*record) {
          info = std::move(**record);
        } else {
          info.point_id = pv.point_id;
          const auto colon = pv.point_id.find(':');
          info.name = colon == std::string::npos ? pv.point_id : pv.point_id.substr(colon + 1);
          info.declared = false;
          ++result.undeclared;
        }
        info.thing = thing;
        batch.Put(impl.cf(kPoints), point_key(log.thing.customer, log.thing.building, pv.point_id),
                  encode(info));
      }
    }
    row.entries.push_back({ord, pv.value});
  }
  if (grown) grown->index();
  constexpr auto by_ordinal = [](const RowEntry& a, const RowEntry& b) {
    return a.ordinal < b.ordinal;
  };
  std::sort(row.entries.begin(), row.entries.end(), by_ordinal);

  // A re-sent log for the same time: keep the values it does not repeat. A
  // time after the thing's newest log has no row yet (rows are written only
  // here, with max_minute), so the usual live log skips the read.
  const auto rkey = row_key(thing, minute);
  if (minute < impl.rows_from(thing)) impl.set_rows_from(thing, minute);
  if (st.has_data && minute <= st.max_minute) {
    auto existing = impl.get(kRows, rkey);
    if (!existing) return std::unexpected(existing.error());
    if (*existing) {
      auto old = decode_row(**existing);
      if (!old) return std::unexpected(old.error());
      for (const auto& e : old->entries) {
        if (!find_in_row(row, e.ordinal)) row.entries.push_back(e);
      }
      std::sort(row.entries.begin(), row.entries.end(), by_ordinal);
    }
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
  result.samples = log.values.size() - result.conflicts.size();

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
  // Things and their row floors before the snapshot: a floor read later could
  // have been raised by a seal the snapshot does not show.
  auto things_r = things(customer, building);
  if (!things_r) return std::unexpected(things_r.error());
  std::vector<std::uint32_t> floors;
  for (const auto& t : *things_r) floors.push_back(impl.rows_from(t.name.full()));
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
  std::vector<Sample> recent;
  for (std::size_t i = 0; i < things_r->size(); ++i) {
    const auto thing = (*things_r)[i].name.full();
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
          auto value = find_in_encoded_row(v, ord);
          if (!value) {
            inner = std::unexpected(value.error());
            return false;
          }
          if (*value) {
            recent.push_back(
                {LocalMinute::from_minutes(read_u32be(k.substr(prefix.size()))), **value});
          }
          return true;
        },
        snap, row_key(thing, std::max(from.minutes(), floors[i])));
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
  std::vector<LatestValue> out;
  auto r = visit_latest(customer, building, [&](const LatestView& v) {
    out.push_back({std::string(v.point_id), v.time, v.value});
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

// In point id order without sorting: each dictionary keeps its ids' order
// (Dict::by_name), and the things' runs are merged. The ids are views into the
// dictionaries, which `dicts` keeps alive until every value was visited.
Result<void> RocksStore::visit_latest(std::string_view customer, std::string_view building,
                                      const std::function<void(const LatestView&)>& visit) {
  auto things_r = things(customer, building);
  if (!things_r) return std::unexpected(things_r.error());
  std::vector<std::shared_ptr<const Dict>> dicts;
  std::vector<LatestView> out;
  std::vector<const LatestEntry*> by_ordinal;
  for (const auto& t : *things_r) {
    const auto thing = t.name.full();
    auto raw = impl_->get(kLatest, latest_key(thing));
    if (!raw) return std::unexpected(raw.error());
    if (!*raw) continue;
    auto l = decode_latest(**raw);
    if (!l) return std::unexpected(l.error());
    auto dict = impl_->load_dict(thing);
    if (!dict) return std::unexpected(dict.error());
    const Dict& d = **dict;
    by_ordinal.assign(d.names.size(), nullptr);
    for (const auto& e : l->entries) {
      if (e.ordinal < d.names.size()) by_ordinal[e.ordinal] = &e;  // else written after the read
    }
    const auto run = static_cast<std::ptrdiff_t>(out.size());
    for (const auto ord : d.by_name) {
      if (const auto* e = by_ordinal[ord]) {
        out.push_back({d.names[ord], LocalMinute::from_minutes(e->minute), e->value});
      }
    }
    std::inplace_merge(
        out.begin(), out.begin() + run, out.end(),
        [](const LatestView& a, const LatestView& b) { return a.point_id < b.point_id; });
    dicts.push_back(std::move(*dict));
  }
  for (const auto& v : out) visit(v);
  return {};
}

Result<std::optional<LastLog>> RocksStore::last_log(const ThingName& thing) {
  auto raw = impl_->get(kLatest, latest_key(thing.full()));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return std::optional<LastLog>{};
  auto l = decode_latest(**raw);
  if (!l) return std::unexpected(l.error());
  return std::optional<LastLog>(LastLog{LocalMinute::from_minutes(l->max_minute), l->period});
}

}  // namespace nbms::storage
