// RocksStore as AlarmStore, against a real RocksDB in a temporary directory:
// atomic commits of current alarms + history + marks + links, history by time
// range across month partitions, reopen, and an old database gaining the new
// column families.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <rocksdb/db.h>

#include "harness.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

class NoClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return 1'700'000'000'000; }
};

const ThingName kThing{"C1", "B1", "01"};
const ThingName kOther{"C1", "B1", "02"};
// 2023-10-31T23:59:00Z and the next month.
constexpr std::int64_t kOct = 1'698'796'740'000;
constexpr std::int64_t kNov = 1'698'796'800'000;

EventStamp stamp(unsigned s) {
  auto e = *EventStamp::parse("20231031235900");
  e.seconds += s;
  return e;
}

AlarmEvent raise_event(const ThingName& t, std::string id, unsigned s) {
  AlarmEvent e;
  e.thing = t;
  e.alarm_id = std::move(id);
  e.status = AlarmStatus::raise;
  e.stamp = stamp(s);
  e.name = "High temperature";
  e.priority = 100;
  e.point_id = "01.1.AI-101:SAT";
  e.text = "31.2 \xff not UTF-8";  // stored with U+FFFD
  return e;
}

class AlarmStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_.reset();
    auto s = RocksStore::open(StoreOptions{.path = (dir_.path() / "db").string()}, clock_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  // Applies a MW event as the alarm service does, and commits it.
  EventResult apply(const AlarmEvent& e, std::int64_t now) {
    const AlarmKey key{e.thing, e.alarm_id};
    auto cur = store_->current_alarm(key);
    auto mark = store_->alarm_mark(key);
    auto links = store_->links_of(e.thing);
    EXPECT_TRUE(cur && mark && links);
    auto out = apply_event(*cur, *mark, e, link_view(*links), now);
    EXPECT_TRUE(out) << out.error().message;
    auto c = store_->commit(out->update);
    EXPECT_TRUE(c) << c.error().message;
    return out->result;
  }
  std::vector<AlarmTransition> history(std::int64_t from, std::int64_t to, bool newest = false,
                                       std::size_t limit = 1000) {
    auto h = store_->alarm_history(AlarmHistoryQuery{"C1", "B1", from, to, limit, newest});
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : std::vector<AlarmTransition>{};
  }

  NoClock clock_;
  it::TempDir dir_{"nbms-alarms-"};
  std::unique_ptr<RocksStore> store_;
};

TEST_F(AlarmStoreTest, CommitWritesCurrentHistoryAndMarkTogether) {
  EXPECT_EQ(apply(raise_event(kThing, "A", 1), kOct), EventResult::applied);
  EXPECT_EQ(apply(raise_event(kOther, "A", 1), kOct + 1), EventResult::applied);
  auto cur = store_->current_alarms("C1", "B1");
  ASSERT_TRUE(cur);
  ASSERT_EQ(cur->size(), 2u) << "same alarm id on two MWs: two alarms";
  EXPECT_EQ((*cur)[0].key.thing, kThing);
  EXPECT_EQ((*cur)[1].key.thing, kOther);
  EXPECT_EQ((*cur)[0].text, "31.2 \xef\xbf\xbd not UTF-8");
  EXPECT_EQ(store_->current_alarms_of(kOther)->size(), 1u);
  EXPECT_EQ(**store_->alarm_mark({kThing, "A"}), stamp(1));
  EXPECT_FALSE(*store_->alarm_mark({kThing, "B"}));

  // Duplicate: nothing written.
  EXPECT_EQ(apply(raise_event(kThing, "A", 1), kOct + 2), EventResult::duplicate);
  EXPECT_EQ(history(kOct, kNov + 1).size(), 2u);
}

TEST_F(AlarmStoreTest, ReturnToNormalLeavesHistoryAndMark) {
  apply(raise_event(kThing, "A", 1), kOct);
  auto a = **store_->current_alarm({kThing, "A"});
  ASSERT_TRUE(store_->commit(*acknowledge(a, "kim", kOct + 10)));
  auto clear = raise_event(kThing, "A", 70);
  clear.status = AlarmStatus::clear;
  EXPECT_EQ(apply(clear, kNov + 5), EventResult::applied);
  EXPECT_FALSE(*store_->current_alarm({kThing, "A"}));
  EXPECT_TRUE(store_->current_alarms("C1", "B1")->empty());
  // A late redelivery of the raise stays out, across a reopen too.
  open();
  EXPECT_EQ(apply(raise_event(kThing, "A", 1), kNov + 6), EventResult::stale);
  EXPECT_TRUE(store_->current_alarms("C1", "B1")->empty());

  auto h = history(0, kNov + 100);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].kind, TransitionKind::raised);
  EXPECT_EQ(h[0].event, stamp(1));
  EXPECT_EQ(h[1].kind, TransitionKind::acknowledged);
  EXPECT_EQ(h[1].user, "kim");
  EXPECT_EQ(h[1].at_ms, kOct + 10);
  EXPECT_EQ(h[2].kind, TransitionKind::cleared);
  EXPECT_TRUE(h[2].removed);
  EXPECT_EQ(h[2].alarm.name, "High temperature");
}

TEST_F(AlarmStoreTest, HistoryByTimeRangeAcrossMonths) {
  // One raise per minute around the month boundary (UTC), two buildings.
  for (int i = 0; i < 6; ++i) {
    apply(raise_event(kThing, "A" + std::to_string(i), static_cast<unsigned>(i)),
          kOct - 120'000 + i * 60'000);
  }
  apply(raise_event(ThingName{"C1", "B10", "01"}, "X", 1), kOct);  // B10 is not B1
  auto all = history(0, kNov + 3'600'000);
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].at_ms, all[i].at_ms);
  // [from, to) = [kOct, kNov + 60 s): the raises at kOct and at kOct + 60 s (= kNov).
  auto mid = history(kOct, kNov + 60'000);
  ASSERT_EQ(mid.size(), 2u);
  EXPECT_EQ(mid[0].at_ms, kOct);
  EXPECT_EQ(mid[1].at_ms, kNov);
  auto newest = history(0, kNov + 3'600'000, true, 2);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].alarm.key.alarm_id, "A5");
  EXPECT_EQ(newest[1].alarm.key.alarm_id, "A4");
  EXPECT_TRUE(history(kNov, kNov).empty());

  // Dropping October leaves November.
  ASSERT_TRUE(store_->drop_alarm_month("C1", "B1", 202310));
  auto left = history(0, kNov + 3'600'000);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].at_ms, kNov);
}

TEST_F(AlarmStoreTest, SameMillisecondKeepsOrderAcrossReopen) {
  auto a = raise_event(kThing, "A", 1);
  apply(a, kOct);
  open();
  auto cur = **store_->current_alarm({kThing, "A"});
  ASSERT_TRUE(store_->commit(*comment(cur, "kim", "first", kOct)));
  cur = **store_->current_alarm({kThing, "A"});
  ASSERT_TRUE(store_->commit(*comment(cur, "kim", "second", kOct)));
  auto h = history(kOct, kOct + 1);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].text, "first");
  EXPECT_EQ(h[2].text, "second");
  EXPECT_EQ((**store_->current_alarm({kThing, "A"})).comments.size(), 2u);
}

TEST_F(AlarmStoreTest, DisconnectLinksAndSuppression) {
  auto e = raise_event(kThing, "A", 1);
  e.device = "1001";
  apply(e, kOct);
  DisconnectEvent d{kThing, "1001", false, stamp(5), "lost"};
  auto out = apply_disconnect(d, *store_->links_of(kThing), *store_->current_alarms_of(kThing),
                              kOct + 1000);
  ASSERT_TRUE(out);
  ASSERT_TRUE(store_->commit(out->update));
  open();
  auto links = store_->links("C1", "B1");
  ASSERT_TRUE(links);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0], (LinkState{kThing, "1001", false, kOct + 1000, stamp(5), "lost"}));
  EXPECT_TRUE((**store_->current_alarm({kThing, "A"})).suppressed);
  auto disc = **store_->current_alarm({kThing, "$disconnect:1001"});
  EXPECT_EQ(disc.kind, AlarmKind::disconnect);
  EXPECT_TRUE(disc.active);
  EXPECT_EQ(store_->links_of(kOther)->size(), 0u);
}

TEST_F(AlarmStoreTest, RoundTripsEveryField) {
  Alarm a;
  a.key = {kThing, "Z"};
  a.kind = AlarmKind::disconnect;
  a.point_id = "p";
  a.device = "d";
  a.name = "n";
  a.priority = 7;
  a.event_state = "fault";
  a.text = "t";
  a.active = false;
  a.acknowledged = true;
  a.acknowledged_ms = 5;
  a.acknowledged_by = "u";
  a.shelved_until_ms = 99;
  a.shelved_by = "s";
  a.suppressed = true;
  a.raised_at = stamp(1);
  a.last_event = EventStamp{stamp(2).seconds, 3};
  a.raised_ms = 11;
  a.updated_ms = 12;
  a.comments = {{1, "u", "c1"}, {2, "v", "c2"}};
  AlarmUpdate u;
  u.put.push_back(a);
  AlarmTransition t;
  t.kind = TransitionKind::shelve_expired;
  t.at_ms = kOct;
  t.user = "";
  t.event = stamp(9);
  t.text = "why";
  t.alarm = a;
  t.alarm.comments.clear();
  u.history.push_back(t);
  ASSERT_TRUE(store_->commit(u));
  open();
  EXPECT_EQ(**store_->current_alarm(a.key), a);
  auto h = history(kOct, kOct + 1);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], t);
}

TEST_F(AlarmStoreTest, OpensADatabaseWithoutTheAlarmColumnFamilies) {
  store_.reset();
  it::TempDir old_dir{"nbms-alarms-old-"};
  const std::string old_path = (old_dir.path() / "db").string();
  {
    const char* old_cfs[] = {"default",      "customers", "buildings",      "common",
                             "things",       "points",    "series",         "rows",
                             "periodic",     "latest",    "current_alarms", "alarm_history",
                             "dead_letters", "users",     "sessions",       "audit"};
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : old_cfs) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, old_path, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "nbms.layout_version", "1").ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto s = RocksStore::open(StoreOptions{.path = old_path}, clock_);
  ASSERT_TRUE(s) << s.error().message;
  store_ = std::move(*s);
  EXPECT_EQ(apply(raise_event(kThing, "A", 1), kOct), EventResult::applied);
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), old_path, &cfs).ok());
  for (const char* name : {"alarm_marks", "links"}) {
    EXPECT_NE(std::find(cfs.begin(), cfs.end(), name), cfs.end()) << name;
  }
}

}  // namespace
}  // namespace nbms::storage
