// RocksStore::purge_thing against a real RocksDB: two things (and a third
// whose name extends the first one's) in one building and the same months;
// purging one deletes exactly its records in every column family and leaves
// the others' untouched, checked by scanning the column families themselves.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <rocksdb/db.h>

#include "integration/store_fixture.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

// Every key of every column family, by column family name.
using Keys = std::map<std::string, std::set<std::string>>;

class PurgeStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StoreTest::SetUp());
    ASSERT_TRUE(store_->create_customer({"C1", "Customer", 1}));
    ASSERT_TRUE(store_->create_building({"C1", "B1", "Building", "", 1}));
    for (const auto& t : {a_, b_, c_}) ASSERT_TRUE(store_->create_thing({t, 1}));
  }
  // Every key of every column family, read with a plain read-only RocksDB.
  Keys dump() {
    Keys out;
    with_raw_db(
        [&](rocksdb::DB& db, const RawColumnFamilies& cfs) {
          for (const auto& [name, cf] : cfs) {
            std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), cf));
            auto& keys = out[name];
            for (it->SeekToFirst(); it->Valid(); it->Next()) keys.insert(it->key().ToString());
          }
        },
        true);
    open();
    return out;
  }

  // What a database from before point ids were held by one thing can hold
  // (docs/storage.md): `id` in the series dictionary of `t` (as its first
  // ordinal) although another thing of the building has it too.
  void share_from_before(const ThingName& t, const std::string& id) {
    with_raw_db([&](rocksdb::DB& db, const RawColumnFamilies& cfs) {
      const std::string prefix = std::string(1, '\x01') + t.full() + std::string(1, '\0');
      const std::string first(4, '\0');  // ordinal 0, u32 big-endian
      auto* series = cfs.at("series");
      EXPECT_TRUE(db.Put(rocksdb::WriteOptions(), series, prefix + "N" + id, first).ok());
      EXPECT_TRUE(db.Put(rocksdb::WriteOptions(), series, prefix + "O" + first, id).ok());
    });
    open();
  }

  // Days 30 Sep .. 2 Oct every 15 minutes (30 Sep and 1 Oct get sealed, 2 Oct
  // stays in rows), over two calendar months.
  void feed(const ThingName& t, const std::vector<std::string>& ids, double base) {
    for (auto m = at("202209300000"); m <= at("202210021200"); m = m.plus_minutes(15)) {
      std::vector<PointValue> values;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        values.push_back({ids[i], base + static_cast<double>(i)});
      }
      ASSERT_TRUE(store_->append(PeriodicLog{t, m, 15, values, 0}));
    }
  }
  void alarm(const ThingName& t, const std::string& id) {
    Alarm a;
    a.key = {t, id};
    a.name = "High";
    a.priority = 100;
    a.raised_at = *EventStamp::parse("20221002100000");
    a.last_event = a.raised_at;
    AlarmUpdate u;
    u.put.push_back(a);
    u.history.push_back({TransitionKind::raised, 1'700'000'000'000, "", a.raised_at, "", false, a});
    u.marks.emplace_back(a.key, a.raised_at);
    LinkState link;
    link.thing = t;
    link.connected = true;
    link.since_ms = 1'700'000'000'000;
    u.links.push_back(link);
    ASSERT_TRUE(store_->commit(u));
  }
  std::vector<Sample> history(const char* point) {
    auto h = store_->history("C1", "B1", point, at("202209300000"), at("202210022359"));
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : std::vector<Sample>{};
  }
  // Whether a raw key belongs to the thing `name` (its name as a whole key or
  // as a NUL-terminated part) or names one of `points`.
  static bool about(const std::string& key, const std::string& name,
                    const std::set<std::string>& points) {
    if (key == std::string(1, '\x01') + name) return true;
    if (key.find(name + std::string(1, '\0')) != std::string::npos) return true;
    for (const auto& p : points) {
      if (key.find(p + std::string(1, '\0')) != std::string::npos) return true;
      if (key.size() > p.size() && key.ends_with(p)) return true;
    }
    return false;
  }

  ThingName a_{"C1", "B1", "01"};   // purged
  ThingName b_{"C1", "B1", "02"};   // same building, same months
  ThingName c_{"C1", "B1", "010"};  // its name starts with a_'s
};

TEST_F(PurgeStoreTest, DeletesEveryRecordOfOneThingAndNothingOfTheOthers) {
  ASSERT_TRUE(store_->upsert_points(a_, {{"a-1", a_.full(), "AV", "a1", "", "", "", false, true},
                                         {"a-2", a_.full(), "AV", "a2", "", "", "", false, true}}));
  ASSERT_TRUE(store_->upsert_points(b_, {{"b-1", b_.full(), "AV", "b1", "", "", "", false, true}}));
  feed(b_, {"b-1", "shared"}, 100);  // b_ reports "shared" first: its record is b_'s
  // Today a_'s values of "shared" would be refused; from before, a_ has them.
  share_from_before(a_, "shared");
  feed(a_, {"a-1", "a-2", "a-3", "shared"}, 1);
  feed(c_, {"c-1"}, 200);
  for (const auto& t : {a_, b_, c_}) {
    alarm(t, "AL-1");
    ASSERT_TRUE(store_->hold(t.full(), 0, t.full() + "/periodic_log", "held"));
  }
  ASSERT_TRUE(
      store_->put_certificate({a_.full(), "1a", std::string(64, 'f'), 1, 2'000'000'000'000, {}}));
  const auto b_before = history("b-1");
  ASSERT_FALSE(history("a-1").empty());
  const auto history_rows = store_->alarm_history({"C1", "B1", 0, 1'800'000'000'000, 100});
  ASSERT_TRUE(history_rows);
  ASSERT_EQ(history_rows->size(), 3u);

  const Keys before = dump();
  const std::set<std::string> a_points{"a-1", "a-2", "a-3"};
  auto purged = store_->purge_thing(a_);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(purged->thing, 1u);
  EXPECT_EQ(purged->points, 3u);  // a-1, a-2 declared; a-3 undeclared
  EXPECT_EQ(purged->series, 8u);  // 4 point ids, name and ordinal keys
  EXPECT_EQ(purged->sealed_days, 2u);
  EXPECT_EQ(purged->rows, 49u);            // 2 Oct 00:00 .. 12:00
  EXPECT_EQ(purged->periodic_blocks, 6u);  // 3 points x 2 sealed days
  EXPECT_EQ(purged->latest, 1u);
  EXPECT_EQ(purged->spool, 1u);
  EXPECT_EQ(purged->current_alarms, 1u);
  EXPECT_EQ(purged->alarm_marks, 1u);
  EXPECT_EQ(purged->links, 1u);
  EXPECT_EQ(purged->shared_points_kept, 1u);
  const Keys after = dump();

  // In every column family: the keys of a_ are gone, every other key is kept,
  // and nothing was added.
  std::size_t gone = 0;
  for (const auto& [cf, keys] : before) {
    const auto& now = after.at(cf);
    for (const auto& k : now) EXPECT_TRUE(keys.contains(k)) << cf << ": a key appeared";
    const bool kept_cf = cf == "certificates" || cf == "alarm_history" || cf == "audit";
    for (const auto& k : keys) {
      const bool of_a = about(
          k, a_.full(), cf == "periodic" || cf == "points" ? a_points : std::set<std::string>{});
      if (of_a && !kept_cf) {
        EXPECT_FALSE(now.contains(k)) << cf << ": a key of the purged thing is left";
        ++gone;
      } else {
        EXPECT_TRUE(now.contains(k)) << cf << ": a key of another thing was deleted";
      }
    }
  }
  // thing 1, points 3, series 8, sealed days 2, rows 49, blocks 6, latest 1,
  // spool 1, current alarm 1, mark 1, link 1.
  EXPECT_EQ(gone, 74u);
  EXPECT_EQ(after.at("certificates"), before.at("certificates"));
  EXPECT_EQ(after.at("alarm_history"), before.at("alarm_history"));

  // Through the store: a_ is gone, b_ and c_ and the shared point are intact.
  EXPECT_EQ(store_->thing(a_.full()).error().code, Errc::not_found);
  EXPECT_TRUE(history("a-1").empty());
  EXPECT_EQ(history("b-1"), b_before);
  // The shared point keeps its sealed days and b_'s unsealed rows (2 Oct).
  const auto shared = history("shared");
  EXPECT_EQ(shared.size(), b_before.size());
  for (const auto& s : shared) {
    if (s.time >= at("202210020000")) {
      EXPECT_EQ(s.value, 101) << s.time.to_string();
    }
  }
  EXPECT_EQ(history("c-1").size(), b_before.size());
  auto latest = store_->latest("C1", "B1");
  ASSERT_TRUE(latest);
  for (const auto& l : *latest) EXPECT_FALSE(a_points.contains(l.point_id)) << l.point_id;
  auto points = store_->points("C1", "B1");
  ASSERT_TRUE(points);
  std::set<std::string> ids;
  for (const auto& p : *points) ids.insert(p.point_id);
  EXPECT_EQ(ids, (std::set<std::string>{"b-1", "c-1", "shared"}));
  EXPECT_TRUE(store_->current_alarms_of(a_)->empty());
  EXPECT_EQ(store_->current_alarms_of(b_)->size(), 1u);
  EXPECT_TRUE(store_->links_of(a_)->empty());
  EXPECT_EQ(store_->links_of(c_)->size(), 1u);
  EXPECT_FALSE(store_->first_held(a_.full())->has_value());
  EXPECT_TRUE(store_->first_held(b_.full())->has_value());
  EXPECT_EQ(store_->certificates_of(a_.full())->size(), 1u);
  EXPECT_EQ(store_->alarm_history({"C1", "B1", 0, 1'800'000'000'000, 100})->size(), 3u);
  // A second purge finds nothing to purge.
  EXPECT_EQ(store_->purge_thing(a_).error().code, Errc::not_found);
}

TEST_F(PurgeStoreTest, TheSameNameRegisteredAgainStartsClean) {
  feed(a_, {"a-1", "a-2"}, 1);
  feed(b_, {"b-1"}, 100);
  ASSERT_FALSE(history("a-1").empty());  // loads and caches a_'s dictionary
  ASSERT_TRUE(store_->purge_thing(a_));
  ASSERT_TRUE(store_->create_thing({a_, 2}));
  ASSERT_TRUE(store_->append(PeriodicLog{a_, at("202210031000"), 15, {{"z", 7}}, 0}));
  auto last = store_->last_log(a_);
  ASSERT_TRUE(last && *last);
  EXPECT_EQ((*last)->time.to_string(), "202210031000");
  auto latest = store_->latest("C1", "B1");
  ASSERT_TRUE(latest);
  std::set<std::string> ids;
  for (const auto& l : *latest) ids.insert(l.point_id);
  EXPECT_EQ(ids, (std::set<std::string>{"b-1", "z"}));
  EXPECT_TRUE(history("a-1").empty());
  // "z" got ordinal 0 of a new dictionary: it survives a reopen.
  const Keys keys = dump();
  const std::string ordinal0 =
      std::string("\x01") + a_.full() + std::string(1, '\0') + "O" + std::string(4, '\0');
  EXPECT_TRUE(keys.at("series").contains(ordinal0));
  auto h = store_->history("C1", "B1", "z", at("202210030000"), at("202210032359"));
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, (std::vector<Sample>{{at("202210031000"), 7}}));
}

TEST_F(PurgeStoreTest, AnUnregisteredThingIsNotFound) {
  EXPECT_EQ(store_->purge_thing(ThingName{"C1", "B1", "99"}).error().code, Errc::not_found);
}

}  // namespace
}  // namespace nbms::storage
