// RocksStore as CertificateStore, against a real RocksDB in a temporary directory.
#include <gtest/gtest.h>

#include "integration/store_fixture.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

CertificateRecord record(std::string thing, std::string serial, std::int64_t issued_ms = 1000) {
  return CertificateRecord{std::move(thing), std::move(serial),     std::string(64, 'a'),
                           issued_ms,        issued_ms + 1'000'000, std::nullopt};
}

using CertificateStoreTest = StoreTest;

TEST_F(CertificateStoreTest, RecordsAreKeptAcrossReopen) {
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "4a1f")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "4b00")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_010", "4c")));  // prefix of no other thing
  auto dup = store_->put_certificate(record("C1_B1_02", "4a1f"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::already_exists);

  open();
  auto one = store_->certificate("4a1f");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(*one, record("C1_B1_01", "4a1f"));
  auto of = store_->certificates_of("C1_B1_01");
  ASSERT_TRUE(of);
  ASSERT_EQ(of->size(), 2u);
  EXPECT_EQ((*of)[0].serial, "4a1f");
  EXPECT_EQ((*of)[1].serial, "4b00");
  EXPECT_EQ(store_->certificates_of("C1_B1_010")->size(), 1u);
  EXPECT_TRUE(store_->certificates_of("C9_B9_09")->empty());
  auto missing = store_->certificate("ffff");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_F(CertificateStoreTest, RejectsBadRecords) {
  for (const auto& bad : {record("", "1"), record("C1_B1_01", "0a"), record("C1_B1_01", "XY"),
                          record(std::string("a\0b", 3), "1")}) {
    auto r = store_->put_certificate(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  auto short_fp = record("C1_B1_01", "1");
  short_fp.fingerprint = "abc";
  EXPECT_FALSE(store_->put_certificate(short_fp));
  EXPECT_FALSE(store_->certificate("not hex"));
}

TEST_F(CertificateStoreTest, RevocationKeepsTheFirstDateAndFeedsTheCrl) {
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "a1")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_02", "b2")));
  EXPECT_TRUE(store_->revoked_certificates()->empty());

  auto r = store_->revoke_certificate("a1", 5000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->revoked_ms, 5000);
  auto again = store_->revoke_certificate("a1", 9000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->revoked_ms, 5000);
  EXPECT_FALSE(store_->revoke_certificate("ccc", 1));

  open();
  auto revoked = store_->revoked_certificates();
  ASSERT_TRUE(revoked);
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].serial, "a1");
  EXPECT_EQ((*revoked)[0].revoked_ms, 5000);
  EXPECT_FALSE(store_->certificate("b2")->revoked_ms);
}

TEST_F(CertificateStoreTest, ReplaceRevokesTheThingsOtherCertificates) {
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "a1")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "a2")));
  ASSERT_TRUE(store_->revoke_certificate("a1", 100));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_02", "b1")));

  auto replaced = store_->replace_certificate(record("C1_B1_01", "a3"), 7000);
  ASSERT_TRUE(replaced) << replaced.error().message;
  ASSERT_EQ(replaced->size(), 1u);  // a1 was revoked already
  EXPECT_EQ((*replaced)[0].serial, "a2");
  EXPECT_EQ((*replaced)[0].revoked_ms, 7000);

  EXPECT_EQ(store_->certificate("a1")->revoked_ms, 100);
  EXPECT_EQ(store_->certificate("a2")->revoked_ms, 7000);
  EXPECT_FALSE(store_->certificate("a3")->revoked_ms);
  EXPECT_FALSE(store_->certificate("b1")->revoked_ms);                     // other things untouched
  EXPECT_FALSE(store_->replace_certificate(record("C1_B1_01", "a3"), 1));  // serial taken
}

TEST_F(CertificateStoreTest, RevokeAllOfAThing) {
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "a1")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_01", "a2")));
  ASSERT_TRUE(store_->put_certificate(record("C1_B1_02", "b1")));
  auto revoked = store_->revoke_certificates_of("C1_B1_01", 42);
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->size(), 2u);
  EXPECT_TRUE(store_->revoke_certificates_of("C1_B1_01", 43)->empty());  // nothing left
  auto crl = store_->revoked_certificates();
  ASSERT_EQ(crl->size(), 2u);
  for (const auto& c : *crl) EXPECT_EQ(c.revoked_ms, 42);
}

}  // namespace
}  // namespace nbms::storage
