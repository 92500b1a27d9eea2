// RocksStore against a real RocksDB in a temporary directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <rocksdb/db.h>

#include "integration/store_fixture.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

class RocksStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StoreTest::SetUp());
    ASSERT_TRUE(store_->create_customer({"C1", "Customer", 1}));
    ASSERT_TRUE(store_->create_building({"C1", "B1", "Building", "", 1}));
    ASSERT_TRUE(store_->create_thing({thing_, 1}));
  }
  PeriodicLog log(const char* time, std::vector<PointValue> values) {
    return PeriodicLog{thing_, at(time), 15, std::move(values), 0};
  }
  std::vector<Sample> history(const char* point, const char* from, const char* to) {
    auto h = store_->history("C1", "B1", point, at(from), at(to));
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : std::vector<Sample>{};
  }

  ThingName thing_{"C1", "B1", "01"};
};

TEST_F(RocksStoreTest, RegistryRejectsDuplicatesAndOrphans) {
  EXPECT_EQ(store_->create_customer({"C1", "again", 1}).error().code, Errc::already_exists);
  EXPECT_EQ(store_->create_building({"C9", "B1", "x", "", 1}).error().code, Errc::not_found);
  EXPECT_EQ(store_->create_building({"C1", "B1", "x", "", 1}).error().code, Errc::already_exists);
  EXPECT_EQ(store_->create_thing({ThingName{"C1", "B2", "01"}, 1}).error().code, Errc::not_found);
  EXPECT_EQ(store_->create_thing({thing_, 1}).error().code, Errc::already_exists);
  EXPECT_EQ(store_->create_customer({"bad_id", "x", 1}).error().code, Errc::invalid_argument);
  ASSERT_TRUE(store_->create_building({"C1", "B10", "Other", "Seoul", 2}));
  ASSERT_TRUE(store_->create_thing({ThingName{"C1", "B10", "01"}, 1}));
  // Building B1's things do not include B10's.
  auto things = store_->things("C1", "B1");
  ASSERT_TRUE(things);
  ASSERT_EQ(things->size(), 1u);
  EXPECT_EQ(things->at(0).name.full(), "C1_B1_01");
  EXPECT_EQ(store_->buildings("C1")->size(), 2u);
  EXPECT_EQ(store_->building("C1", "B10")->address, "Seoul");
  EXPECT_EQ(store_->customer("C2").error().code, Errc::not_found);
  EXPECT_EQ(store_->thing("C1_B1_02").error().code, Errc::not_found);
}

TEST_F(RocksStoreTest, LatestAndHistoryOfOneDay) {
  ASSERT_TRUE(store_->append(log("202210040930", {{"a", 1}, {"b", 20.5}})));
  ASSERT_TRUE(store_->append(log("202210040945", {{"a", 0}, {"b", 21.25}})));
  ASSERT_TRUE(store_->append(log("202210041000", {{"b", 22}})));  // a missing
  auto latest = store_->latest("C1", "B1");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ(latest->at(0).point_id, "a");
  EXPECT_EQ(latest->at(0).time.to_string(), "202210040945");
  EXPECT_EQ(latest->at(0).value, 0);
  EXPECT_EQ(latest->at(1).time.to_string(), "202210041000");
  EXPECT_EQ(latest->at(1).value, 22);
  EXPECT_EQ(
      history("b", "202210040000", "202210042359"),
      (std::vector<Sample>{
          {at("202210040930"), 20.5}, {at("202210040945"), 21.25}, {at("202210041000"), 22}}));
  // Both ends are inclusive and exact.
  EXPECT_EQ(history("b", "202210040945", "202210040945"),
            (std::vector<Sample>{{at("202210040945"), 21.25}}));
  EXPECT_TRUE(history("b", "202210041001", "202210042359").empty());
  EXPECT_TRUE(history("nope", "202210040000", "202210042359").empty());
  auto last = store_->last_log(thing_);
  ASSERT_TRUE(last && *last);
  EXPECT_EQ((*last)->time.to_string(), "202210041000");
}

TEST_F(RocksStoreTest, DaysAreSealedAndStillReadAcrossMonths) {
  // 30 Sep .. 2 Oct, every 15 minutes, point "m" counts up.
  std::vector<Sample> expected;
  double v = 0;
  for (auto t = at("202209300000"); t <= at("202210022345"); t = t.plus_minutes(15)) {
    ASSERT_TRUE(store_->append(PeriodicLog{thing_, t, 15, {{"m", v}, {"s", 1}}, 0}));
    expected.push_back({t, v});
    v += 0.5;
  }
  EXPECT_EQ(history("m", "202209300000", "202210022345"), expected);
  // Complete days were moved out of raw rows: sealing again finds nothing.
  EXPECT_EQ(*store_->seal(), 0u);
  // A range inside one sealed day, and one spanning the month boundary.
  auto part = history("m", "202209302330", "202210010015");
  ASSERT_EQ(part.size(), 4u);
  EXPECT_EQ(part.front().time.to_string(), "202209302330");
  EXPECT_EQ(part.back().time.to_string(), "202210010015");
}

TEST_F(RocksStoreTest, ResentAndLateLogsReplaceWhatTheyRepeat) {
  ASSERT_TRUE(store_->append(log("202210040000", {{"a", 1}, {"b", 2}})));
  ASSERT_TRUE(store_->append(log("202210050000", {{"a", 3}})));  // seals the 4th
  // Late correction for the sealed day, naming only "a".
  ASSERT_TRUE(store_->append(log("202210040000", {{"a", 10}})));
  EXPECT_EQ(history("a", "202210040000", "202210052359"),
            (std::vector<Sample>{{at("202210040000"), 10}, {at("202210050000"), 3}}));
  EXPECT_EQ(history("b", "202210040000", "202210040000"),
            (std::vector<Sample>{{at("202210040000"), 2}}));
  // The late row is merged into the block by the next seal.
  EXPECT_EQ(*store_->seal(), 1u);
  EXPECT_EQ(history("a", "202210040000", "202210040000"),
            (std::vector<Sample>{{at("202210040000"), 10}}));
  EXPECT_EQ(history("b", "202210040000", "202210040000"),
            (std::vector<Sample>{{at("202210040000"), 2}}));
  // Re-sending the newest log with other points keeps what it does not repeat.
  ASSERT_TRUE(store_->append(log("202210050000", {{"b", 9}})));
  EXPECT_EQ(history("a", "202210050000", "202210050000"),
            (std::vector<Sample>{{at("202210050000"), 3}}));
  EXPECT_EQ(history("b", "202210050000", "202210050000"),
            (std::vector<Sample>{{at("202210050000"), 9}}));
  // A backfilled (older) log does not move latest backwards.
  auto latest = store_->latest("C1", "B1");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->at(0).value, 3);
}

TEST_F(RocksStoreTest, UndeclaredPointsAreListedUntilAnInitNamesThem) {
  auto r = store_->append(log("202210040000", {{"x:1", 1}, {"y:2", 2}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->samples, 2u);
  EXPECT_EQ(r->undeclared, 2u);
  auto pts = store_->points("C1", "B1");
  ASSERT_EQ(pts->size(), 2u);
  EXPECT_FALSE(pts->at(0).declared);
  EXPECT_EQ(pts->at(0).name, "1");
  PointInfo x{"x:1", "C1_B1_01", "AI", "X", "AHU/1", "Roof", "°C", false, true};
  auto changes = store_->upsert_points(thing_, {x});
  EXPECT_EQ(changes->updated, 1u);
  EXPECT_EQ(store_->upsert_points(thing_, {x})->unchanged, 1u);  // idempotent
  x.unit = "K";
  EXPECT_EQ(store_->upsert_points(thing_, {x})->updated, 1u);
  pts = store_->points("C1", "B1");
  EXPECT_TRUE(pts->at(0).declared);
  EXPECT_EQ(pts->at(0).unit, "K");
  EXPECT_EQ(store_->append(log("202210040015", {{"x:1", 1}}))->undeclared, 0u);
}

TEST_F(RocksStoreTest, RemovedPointsKeepTheirHistory) {
  PointInfo p{"p", "C1_B1_01", "AV", "P", "", "", "", true, true};
  ASSERT_TRUE(store_->upsert_points(thing_, {p}));
  ASSERT_TRUE(store_->append(log("202210040000", {{"p", 5}})));
  auto other = store_->remove_points(ThingName{"C1", "B1", "02"}, {"p"});
  EXPECT_EQ(other->unknown, 1u);  // another thing cannot remove it
  auto removed = store_->remove_points(thing_, {"p", "ghost"});
  EXPECT_EQ(removed->removed, 1u);
  EXPECT_EQ(removed->unknown, 1u);
  EXPECT_TRUE(store_->points("C1", "B1")->empty());
  EXPECT_EQ(history("p", "202210040000", "202210040000").size(), 1u);
}

// Two things of one building reporting the same point id (BACnet ids repeat
// across MW networks): the periodic blocks are keyed by building and point id,
// so the second thing's values would be sealed over the first one's day blocks.
// The id stays the first thing's; the second one's point and values are refused.
TEST_F(RocksStoreTest, APointIdBelongsToTheFirstThingOfTheBuildingThatHasIt) {
  const ThingName second{"C1", "B1", "02"};
  ASSERT_TRUE(store_->create_thing({second, 1}));
  PointInfo x{"39.BI-300:x", "C1_B1_01", "BI", "X", "AHU/1", "", "", false, true};
  ASSERT_TRUE(store_->upsert_points(thing_, {x}));

  PointInfo x2 = x;
  x2.thing = "C1_B1_02";
  x2.name = "Other X";
  PointInfo z{"z", "C1_B1_02", "AV", "Z", "", "", "", false, true};
  auto init = store_->upsert_points(second, {x2, z});
  ASSERT_TRUE(init) << init.error().message;
  EXPECT_EQ(init->created, 1u);
  ASSERT_EQ(init->conflicts.size(), 1u);
  EXPECT_EQ(init->conflicts[0].point_id, "39.BI-300:x");
  EXPECT_EQ(init->conflicts[0].holder, "C1_B1_01");
  auto pts = store_->points("C1", "B1");
  ASSERT_EQ(pts->size(), 2u);
  EXPECT_EQ(pts->at(0).point_id, "39.BI-300:x");
  EXPECT_EQ(pts->at(0), x);  // untouched

  // Both report it over one day and move on to the next (both seal the day).
  std::vector<Sample> first_values;
  for (auto t = at("202210040000"); t <= at("202210050000"); t = t.plus_minutes(360)) {
    ASSERT_TRUE(store_->append(PeriodicLog{thing_, t, 15, {{"39.BI-300:x", 1}}, 0}));
    first_values.push_back({t, 1});
    auto r = store_->append(PeriodicLog{second, t, 15, {{"39.BI-300:x", 0}, {"z", 7}}, 0});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->samples, 1u);
    ASSERT_EQ(r->conflicts.size(), 1u);
    EXPECT_EQ(r->conflicts[0].holder, "C1_B1_01");
  }
  EXPECT_EQ(history("39.BI-300:x", "202210040000", "202210052359"), first_values);
  EXPECT_EQ(history("z", "202210040000", "202210052359").size(), first_values.size());
  auto latest = store_->latest("C1", "B1");
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ(latest->at(0).value, 1);
}

// A point id the second thing saw first in a periodic_log is its own, and
// stays its own after its `delete` removed the point record: its history of
// the id remains.
TEST_F(RocksStoreTest, ADeletedPointIdStaysWithTheThingWhoseHistoryHasIt) {
  const ThingName second{"C1", "B1", "02"};
  ASSERT_TRUE(store_->create_thing({second, 1}));
  ASSERT_TRUE(store_->append(PeriodicLog{second, at("202210040000"), 15, {{"w", 3}}, 0}));
  ASSERT_EQ(store_->remove_points(second, {"w"})->removed, 1u);
  EXPECT_TRUE(store_->points("C1", "B1")->empty());

  PointInfo w{"w", "C1_B1_01", "AV", "W", "", "", "", false, true};
  auto init = store_->upsert_points(thing_, {w});
  ASSERT_EQ(init->conflicts.size(), 1u);
  EXPECT_EQ(init->conflicts[0].holder, "C1_B1_02");
  auto r = store_->append(log("202210040015", {{"w", 9}}));
  ASSERT_EQ(r->conflicts.size(), 1u);
  EXPECT_EQ(r->samples, 0u);
  EXPECT_TRUE(store_->points("C1", "B1")->empty());
  EXPECT_EQ(history("w", "202210040000", "202210042359"),
            (std::vector<Sample>{{at("202210040000"), 3}}));
  // The holder itself may declare it again.
  w.thing = "C1_B1_02";
  EXPECT_EQ(store_->upsert_points(second, {w})->created, 1u);
}

// A database written before point ids were held by one thing can have two
// dictionaries with the same id. Sealing merges into the day block instead of
// overwriting the other thing's samples, and a point record naming a thing
// that is gone is taken over.
TEST_F(RocksStoreTest, SealingKeepsTheSamplesOfAnIdTwoThingsShareFromBefore) {
  ASSERT_TRUE(store_->append(log("202210040000", {{"x", 1}})));
  const ThingName second{"C1", "B1", "02"};
  ASSERT_TRUE(store_->create_thing({second, 1}));
  // Thing 02's dictionary gets "x" as ordinal 0 (docs/storage.md, series),
  // and "y" gets a record naming a thing that is not registered.
  with_raw_db([](rocksdb::DB& db, const RawColumnFamilies& cfs) {
    using namespace std::string_literals;
    const rocksdb::WriteOptions wo;
    ASSERT_TRUE(db.Put(wo, cfs.at("series"),
                       "\x01"
                       "C1_B1_02\0Nx"s,
                       "\0\0\0\0"s)
                    .ok());
    ASSERT_TRUE(db.Put(wo, cfs.at("series"),
                       "\x01"
                       "C1_B1_02\0O\0\0\0\0"s,
                       "x")
                    .ok());
    ASSERT_TRUE(
        db.Put(wo, cfs.at("points"),
               "\x01"
               "C1\0B1\0y"s,
               R"({"point_id":"y","thing":"C1_B1_09","object_type":"AV","name":"Y",)"
               R"("equipment":"","location":"","unit":"","writable":false,"declared":true})")
            .ok());
  });
  open();
  ASSERT_TRUE(store_->append(PeriodicLog{second, at("202210040030"), 15, {{"x", 2}, {"y", 5}}, 0}));
  ASSERT_TRUE(store_->append(PeriodicLog{second, at("202210050000"), 15, {{"x", 4}}, 0}));  // seals
  ASSERT_TRUE(store_->append(log("202210050000", {{"x", 3}})));                             // seals
  EXPECT_EQ(history("x", "202210040000", "202210042359"),
            (std::vector<Sample>{{at("202210040000"), 1}, {at("202210040030"), 2}}));
  auto pts = store_->points("C1", "B1");
  auto y = std::ranges::find(*pts, std::string("y"), &PointInfo::point_id);
  ASSERT_NE(y, pts->end());
  EXPECT_EQ(y->thing, "C1_B1_02");
  EXPECT_EQ(y->name, "Y");
}

// latest is in point id order over the things of the building, also after a
// thing's dictionary grew and after a reopen (each dictionary keeps its order).
TEST_F(RocksStoreTest, LatestIsInPointIdOrderAcrossThings) {
  const ThingName second{"C1", "B1", "02"};
  ASSERT_TRUE(store_->create_thing({second, 1}));
  ASSERT_TRUE(store_->append(log("202210040000", {{"d", 4}, {"b", 2}, {"f", 6}})));
  ASSERT_TRUE(store_->append(PeriodicLog{second, at("202210040000"), 15, {{"e", 5}, {"c", 3}}, 0}));
  ASSERT_TRUE(store_->append(log("202210040015", {{"a", 1}})));  // the dictionary grows
  const auto ids = [&] {
    std::string out;
    auto latest = store_->latest("C1", "B1");
    EXPECT_TRUE(latest) << latest.error().message;
    for (const auto& v : *latest) {
      out += v.point_id;
      EXPECT_EQ(v.value, v.point_id[0] - 'a' + 1) << v.point_id;
    }
    return out;
  };
  EXPECT_EQ(ids(), "abcdef");
  open();
  EXPECT_EQ(ids(), "abcdef");
}

TEST_F(RocksStoreTest, EverythingSurvivesReopen) {
  ASSERT_TRUE(store_->append(log("202210040000", {{"a", 1.25}})));
  ASSERT_TRUE(store_->append(log("202210050000", {{"a", 2.5}, {"new", 7}})));
  ASSERT_TRUE(store_->put_dead_letter({5, "t", "malformed: x", "{"}));
  open();
  EXPECT_EQ(store_->customers()->size(), 1u);
  EXPECT_EQ(history("a", "202210040000", "202210052359"),
            (std::vector<Sample>{{at("202210040000"), 1.25}, {at("202210050000"), 2.5}}));
  EXPECT_EQ(store_->latest("C1", "B1")->size(), 2u);
  // Ordinals continue after reopen: a third point gets its own series.
  ASSERT_TRUE(store_->append(log("202210050015", {{"third", 3}, {"a", 4}})));
  EXPECT_EQ(history("third", "202210050000", "202210052359").size(), 1u);
  EXPECT_EQ(history("new", "202210050000", "202210052359").size(), 1u);
  EXPECT_EQ(store_->dead_letters(10)->size(), 1u);
}

TEST_F(RocksStoreTest, DeadLettersAreBoundedNewestFirst) {
  open(StoreOptions{.dead_letter_limit = 3, .dead_letter_payload_bytes = 4});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->put_dead_letter({i, "t" + std::to_string(i), "r", "0123456789"}));
  }
  auto d = store_->dead_letters(10);
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ(d->at(0).topic, "t4");
  EXPECT_EQ(d->at(2).topic, "t2");
  EXPECT_EQ(d->at(0).payload, "0123");
  open(StoreOptions{.dead_letter_limit = 3});
  ASSERT_TRUE(store_->put_dead_letter({9, "t9", "r", ""}));
  d = store_->dead_letters(10);
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ(d->at(0).topic, "t9");
  EXPECT_EQ(d->at(2).topic, "t3");
}

TEST_F(RocksStoreTest, DropMonthIsARangeDeleteOfOneBuildingMonth) {
  ASSERT_TRUE(store_->append(log("202209300000", {{"a", 1}})));
  ASSERT_TRUE(store_->append(log("202210010000", {{"a", 2}})));
  ASSERT_TRUE(store_->append(log("202210020000", {{"a", 3}})));  // seals Sep 30 and Oct 1
  ASSERT_TRUE(store_->drop_month("C1", "B1", 202209));
  EXPECT_EQ(history("a", "202209010000", "202210312359"),
            (std::vector<Sample>{{at("202210010000"), 2}, {at("202210020000"), 3}}));
}

TEST_F(RocksStoreTest, RefusesANewerLayout) {
  with_raw_db([](rocksdb::DB& db, const RawColumnFamilies&) {
    ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), "nbms.layout_version", "2").ok());
  });
  auto s = RocksStore::open(StoreOptions{.path = dir_ + "/db"}, clock_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("layout version 2"), std::string::npos) << s.error().message;
}

TEST_F(RocksStoreTest, ReportsADirectoryThatIsNotADatabase) {
  std::filesystem::create_directories(dir_ + "/notadb");
  {
    std::FILE* f = std::fopen((dir_ + "/notadb/CURRENT").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("garbage\n", f);
    std::fclose(f);
  }
  auto bad = RocksStore::open(StoreOptions{.path = dir_ + "/notadb"}, clock_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cannot open database at '" + dir_ + "/notadb'"),
            std::string::npos)
      << bad.error().message;
}

// The spool of the per-thing limits: per thing in arrival order, kept across a
// reopen with its counts, released one by one.
TEST_F(RocksStoreTest, SpoolKeepsHeldMessagesInOrderAcrossAReopen) {
  const std::string a = "C1_B1_01", b = "C1_B1_02";
  const std::string big(70000, 'x');
  for (std::uint64_t seq : {0u, 1u, 2u}) {
    ASSERT_TRUE(store_->hold(a, seq, a + "/periodic_log", "a" + std::to_string(seq)));
  }
  ASSERT_TRUE(store_->hold(b, 7, b + "/alarm", big));
  open();
  auto backlogs = store_->held_backlogs();
  ASSERT_TRUE(backlogs) << backlogs.error().message;
  ASSERT_EQ(backlogs->size(), 2u);
  EXPECT_EQ((*backlogs)[0].thing, a);
  EXPECT_EQ((*backlogs)[0].messages, 3u);
  EXPECT_EQ((*backlogs)[0].bytes, 6u);
  EXPECT_EQ((*backlogs)[0].next_seq, 3u);
  EXPECT_EQ((*backlogs)[1].thing, b);
  EXPECT_EQ((*backlogs)[1].bytes, big.size());
  EXPECT_EQ((*backlogs)[1].next_seq, 8u);
  for (std::uint64_t seq : {0u, 1u, 2u}) {
    auto first = store_->first_held(a);
    ASSERT_TRUE(first && *first);
    EXPECT_EQ((*first)->seq, seq);
    EXPECT_EQ((*first)->topic, a + "/periodic_log");
    EXPECT_EQ((*first)->payload, "a" + std::to_string(seq));
    ASSERT_TRUE(store_->release(a, seq));
  }
  auto none = store_->first_held(a);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto other = store_->first_held(b);
  ASSERT_TRUE(other && *other);
  EXPECT_EQ((*other)->payload, big);
}

}  // namespace
}  // namespace nbms::storage
