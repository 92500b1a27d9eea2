#pragma once
// The fixture of the storage tests against a real RocksDB (rocks_store_test,
// purge_store_test, notify_store_test, certificate_store_test): a RocksStore of its own in a fresh
// temporary directory, with a fixed clock, removed after the test.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

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

  FixedClock clock_;
  std::string dir_;
  std::unique_ptr<RocksStore> store_;
};

}  // namespace nbms::storage
