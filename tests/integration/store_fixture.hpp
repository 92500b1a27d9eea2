#pragma once
// The fixture of the storage tests against a real RocksDB (rocks_store_test,
// purge_store_test, notify_store_test, certificate_store_test): a RocksStore
// of its own in a fresh temporary directory, with a fixed clock, removed after
// the test.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {

class FixedClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return 1'700'000'000'000; }
};

inline LocalMinute at(const char* t) {
  return *LocalMinute::parse(t);
}

class StoreTest : public ::testing::Test {
 protected:
  // Subclasses that register things call this first, through
  // ASSERT_NO_FATAL_FAILURE.
  void SetUp() override {
    char tmpl[] = "/tmp/nbms-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the store in dir_/db with `options` (their path is set here);
  // the previous instance is closed first.
  void open(StoreOptions options = {}) {
    store_.reset();
    options.path = dir_ + "/db";
    auto s = RocksStore::open(options, clock_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  // Closes the store and runs `work` on its database opened with plain
  // RocksDB (every column family, by name): to look at the raw keys, or to
  // write what an older nbmsd would have left. Call open() afterwards.
  using RawColumnFamilies = std::map<std::string, rocksdb::ColumnFamilyHandle*>;
  void with_raw_db(const std::function<void(rocksdb::DB&, const RawColumnFamilies&)>& work,
                   bool read_only = false) {
    store_.reset();
    const std::string path = dir_ + "/db";
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    cfs.reserve(names.size());
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    const auto s =
        read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &handles, &db)
                  : rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    RawColumnFamilies by_name;
    for (std::size_t i = 0; i < handles.size(); ++i) by_name[names[i]] = handles[i];
    work(*db, by_name);
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    delete db;
  }

  FixedClock clock_;
  std::string dir_;
  std::unique_ptr<RocksStore> store_;
};

}  // namespace nbms::storage
