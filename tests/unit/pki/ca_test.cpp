// The CA in memory: certificates are checked with OpenSSL's own verifier
// (X509_verify_cert), not with nbms code, so a wrong extension or signature
// shows up as a verification failure.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nbms/pki/pki.hpp"

namespace nbms::pki {
namespace {

constexpr std::int64_t kNow = 1'780'000'000;  // 2026-05-28

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;

X509Ptr parse_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

CrlPtr parse_crl(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return CrlPtr(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

// X509_verify_cert of `leaf` against `ca` (and `crl` with CRL checking), at
// time kNow, for `purpose` (X509_PURPOSE_SSL_CLIENT, ...). Returns the
// X509_V_* result (X509_V_OK on success).
int verify(const std::string& ca_pem, const std::string& leaf_pem, const std::string& crl_pem = {},
           int purpose = X509_PURPOSE_SSL_CLIENT) {
  auto ca = parse_cert(ca_pem);
  auto leaf = parse_cert(leaf_pem);
  if (!ca || !leaf) return -1;
  StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  if (!crl_pem.empty()) {
    auto crl = parse_crl(crl_pem);
    if (!crl) return -2;
    X509_STORE_add_crl(store.get(), crl.get());
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(kNow));
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -3 : err);
}

std::string make_csr(EVP_PKEY* key, const char* cn) {
  ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

class CaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CertificateAuthority::create({"Test CA", "nbms tests", 3650, kNow});
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = new CertificateAuthority(std::move(*ca));
  }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }
  static CertificateAuthority* ca_;
  IssueOptions issue_{730, kNow};
};
CertificateAuthority* CaTest::ca_ = nullptr;

TEST_F(CaTest, NewCaIsSelfSignedCaWithTheRequiredExtensions) {
  auto cert = parse_cert(ca_->cert_pem());
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);  // basicConstraints CA:TRUE
  int crit = 0;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(cert.get()), std::uint32_t{KU_KEY_CERT_SIGN | KU_CRL_SIGN});
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(ca_->subject(), "CN=Test CA,O=nbms tests");
  // Self-signed: verifies against itself.
  EXPECT_EQ(verify(ca_->cert_pem(), ca_->cert_pem(), {}, X509_PURPOSE_ANY), X509_V_OK);
  auto* key = X509_get0_pubkey(cert.get());
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_EQ(ca_->not_after_s(), kNow + 3650 * kSecondsPerDay);
}

TEST_F(CaTest, PemRoundTripKeepsTheSameCa) {
  auto again = CertificateAuthority::from_pem(ca_->chain_pem(), ca_->key_pem());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->fingerprint(), ca_->fingerprint());
  EXPECT_EQ(again->cert_pem(), ca_->cert_pem());
  // The reloaded CA issues certificates that verify against the original.
  auto issued = again->issue_thing("C1_B1_01", issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem), X509_V_OK);
}

TEST_F(CaTest, LoadRejectsAKeyOfAnotherCertificate) {
  auto other = CertificateAuthority::create({"Other CA", "", 3650, kNow});
  ASSERT_TRUE(other);
  auto mixed = CertificateAuthority::from_pem(ca_->cert_pem(), other->key_pem());
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().code, Errc::invalid_argument);
  EXPECT_NE(mixed.error().message.find("does not match"), std::string::npos)
      << mixed.error().message;
}

TEST_F(CaTest, LoadRejectsACertificateThatIsNoCa) {
  auto leaf = ca_->issue_thing("C1_B1_01", issue_);
  ASSERT_TRUE(leaf);
  auto as_ca = CertificateAuthority::from_pem(leaf->cert_pem, leaf->key_pem);
  ASSERT_FALSE(as_ca);
  EXPECT_NE(as_ca.error().message.find("is not a CA"), std::string::npos) << as_ca.error().message;
}

TEST_F(CaTest, LoadRejectsGarbageAndEncryptedKeys) {
  auto no_cert = CertificateAuthority::from_pem("not a pem", ca_->key_pem());
  ASSERT_FALSE(no_cert);
  EXPECT_NE(no_cert.error().message.find("no PEM certificate"), std::string::npos);
  auto no_key = CertificateAuthority::from_pem(ca_->cert_pem(), "");
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find("no unencrypted PEM private key"), std::string::npos);

  // The same key, encrypted: refused without prompting for a password.
  const std::string key_pem = ca_->key_pem();
  BioPtr in2(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(in2.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  BioPtr out(BIO_new(BIO_s_mem()));
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), pass, 6, nullptr,
                                          nullptr),
            1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  auto encrypted = CertificateAuthority::from_pem(ca_->cert_pem(), std::string(data, n));
  ASSERT_FALSE(encrypted);
  EXPECT_NE(encrypted.error().message.find("encrypted"), std::string::npos);
}

TEST_F(CaTest, ThingCertificateVerifiesAndCarriesNameUsageAndSerial) {
  auto issued = ca_->issue_thing("C000003_B001_01", issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem), X509_V_OK);
  // clientAuth only: not usable as a server certificate.
  EXPECT_NE(verify(ca_->cert_pem(), issued->cert_pem, {}, X509_PURPOSE_SSL_SERVER), X509_V_OK);

  auto cert = parse_cert(issued->cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(issued->common_name, "C000003_B001_01");
  char cn[80] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "C000003_B001_01");
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), std::uint32_t{XKU_SSL_CLIENT});
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_NE(X509_get0_authority_key_id(cert.get()), nullptr);

  // Serial: positive, 16 bytes, as reported.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  ASSERT_NE(bn, nullptr);
  EXPECT_FALSE(BN_is_negative(bn));
  EXPECT_EQ(BN_num_bits(bn), 127);
  char* hex = BN_bn2hex(bn);
  std::string expected(hex);
  for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  OPENSSL_free(hex);
  BN_free(bn);
  EXPECT_EQ(issued->serial, expected);

  // Fingerprint and validity as OpenSSL sees them.
  unsigned char md[32];
  unsigned int len = 0;
  ASSERT_EQ(X509_digest(cert.get(), EVP_sha256(), md, &len), 1);
  std::string fp;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    fp += b;
  }
  EXPECT_EQ(issued->fingerprint, fp);
  EXPECT_EQ(issued->not_before_s, kNow - kBackdateSeconds);
  EXPECT_EQ(issued->not_after_s, kNow + 730 * kSecondsPerDay);

  // The generated key is EC P-256 and belongs to the certificate.
  BioPtr kb(BIO_new_mem_buf(issued->key_pem.data(), static_cast<int>(issued->key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);

  auto info = inspect_certificate(issued->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "C000003_B001_01");
  EXPECT_EQ(info->serial, issued->serial);
  EXPECT_EQ(info->issuer, ca_->subject());
  EXPECT_FALSE(info->is_ca);
}

TEST_F(CaTest, SerialsDiffer) {
  auto a = ca_->issue_thing("C1_B1_01", issue_);
  auto b = ca_->issue_thing("C1_B1_01", issue_);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->serial, b->serial);
  EXPECT_NE(a->fingerprint, b->fingerprint);
}

TEST_F(CaTest, ThingNamesAreValidated) {
  for (const char* bad : {"", "nbmsd", "C1_B1", "C1_B1_x", "C1_B 1_01", "C1_B1_01\nuser x",
                          "C1_B#_01", "C+_B1_01", "C1/x_B1_01", "C1_B1_01 "}) {
    auto r = ca_->issue_thing(bad, issue_);
    EXPECT_FALSE(r) << "accepted '" << bad << "'";
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
    }
  }
}

TEST_F(CaTest, BadTimesAreRejected) {
  EXPECT_FALSE(ca_->issue_thing("C1_B1_01", {0, kNow}));
  EXPECT_FALSE(ca_->issue_thing("C1_B1_01", {730, 0}));
  EXPECT_FALSE(CertificateAuthority::create({"X", "", 0, kNow}));
  EXPECT_FALSE(CertificateAuthority::create({"", "", 10, kNow}));
  EXPECT_FALSE(CertificateAuthority::create({"bad\ncn", "", 10, kNow}));
}

TEST_F(CaTest, CsrWithP256KeyGetsTheThingNameNotItsOwnSubject) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const auto csr = make_csr(key.get(), "someone-else");
  auto issued = ca_->issue_thing_from_csr("C1_B1_02", csr, issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_TRUE(issued->key_pem.empty());
  EXPECT_EQ(issued->common_name, "C1_B1_02");
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem), X509_V_OK);
  auto cert = parse_cert(issued->cert_pem);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST_F(CaTest, CsrWithRsa2048IsAccepted) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  auto issued = ca_->issue_thing_from_csr("C1_B1_02", make_csr(key.get(), "x"), issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem), X509_V_OK);
}

TEST_F(CaTest, CsrWithABadSignatureIsRejected) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  PkeyPtr other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  // Public key of `key`, signed with `other`.
  ReqPtr req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_REQ_sign(req.get(), other.get(), EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  auto r = ca_->issue_thing_from_csr("C1_B1_02", std::string(data, n), issue_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_NE(r.error().message.find("signature does not verify"), std::string::npos)
      << r.error().message;
}

TEST_F(CaTest, CsrWithAWeakOrOtherKeyIsRejected) {
  struct Case {
    PkeyPtr key;
    const char* expect;
  };
  Case cases[] = {
      {PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")), "curve secp384r1"},
      {PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})), "RSA of 1024 bits"},
      {PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "ED25519"},
  };
  for (auto& c : cases) {
    ASSERT_TRUE(c.key);
    ReqPtr req(X509_REQ_new());
    X509_REQ_set_pubkey(req.get(), c.key.get());
    X509_REQ_sign(req.get(), c.key.get(),
                  EVP_PKEY_is_a(c.key.get(), "ED25519") ? nullptr : EVP_sha256());
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    auto r = ca_->issue_thing_from_csr("C1_B1_02", std::string(data, n), issue_);
    ASSERT_FALSE(r) << c.expect;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  auto garbage =
      ca_->issue_thing_from_csr("C1_B1_02", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", issue_);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("not a PEM certificate request"), std::string::npos);
}

TEST_F(CaTest, ServerCertificateHasSanAndServerAuth) {
  auto issued = ca_->issue_server({"broker", {"localhost"}, {"127.0.0.1", "::1"}}, issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem, {}, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  auto cert = parse_cert(issued->cert_pem);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 1);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), std::uint32_t{XKU_SSL_SERVER});

  EXPECT_FALSE(ca_->issue_server({"broker", {}, {}}, issue_));
  EXPECT_FALSE(ca_->issue_server({"broker", {"a,DNS:evil"}, {}}, issue_));
  EXPECT_FALSE(ca_->issue_server({"broker", {}, {"300.1.1.1"}}, issue_));
}

TEST_F(CaTest, ServiceClientCertificate) {
  auto issued = ca_->issue_service_client("nbmsd", issue_);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->common_name, "nbmsd");
  EXPECT_EQ(verify(ca_->cert_pem(), issued->cert_pem), X509_V_OK);
  EXPECT_FALSE(ca_->issue_service_client("nbms d", issue_));
  EXPECT_FALSE(ca_->issue_service_client("", issue_));
  EXPECT_FALSE(ca_->issue_service_client("a#", issue_));
}

TEST_F(CaTest, CrlRevokesListedSerialsOnly) {
  auto revoked = ca_->issue_thing("C1_B1_01", issue_);
  auto kept = ca_->issue_thing("C1_B1_02", issue_);
  ASSERT_TRUE(revoked && kept);
  auto crl_pem = ca_->crl_pem({{revoked->serial, kNow - 60}}, {kNow, 30, 7});
  ASSERT_TRUE(crl_pem) << crl_pem.error().message;

  EXPECT_EQ(verify(ca_->cert_pem(), revoked->cert_pem, *crl_pem), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(ca_->cert_pem(), kept->cert_pem, *crl_pem), X509_V_OK);

  auto crl = parse_crl(*crl_pem);
  ASSERT_TRUE(crl);
  auto ca_cert = parse_cert(ca_->cert_pem());
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
  ASSERT_EQ(sk_X509_REVOKED_num(entries), 1);
  int diff_days = 0, diff_s = 0;
  ASSERT_EQ(ASN1_TIME_diff(&diff_days, &diff_s, X509_CRL_get0_lastUpdate(crl.get()),
                           X509_CRL_get0_nextUpdate(crl.get())),
            1);
  EXPECT_EQ(diff_days, 30);
  auto* number =
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 7);
  ASN1_INTEGER_free(number);
}

TEST_F(CaTest, EmptyCrlIsValid) {
  auto kept = ca_->issue_thing("C1_B1_02", issue_);
  auto crl = ca_->crl_pem({}, {kNow, 30, 0});
  ASSERT_TRUE(crl) << crl.error().message;
  EXPECT_EQ(verify(ca_->cert_pem(), kept->cert_pem, *crl), X509_V_OK);
}

TEST_F(CaTest, CrlRejectsBadSerials) {
  const std::string too_long(41, 'a');
  for (const std::string& bad :
       {std::string(), std::string("xyz"), std::string("00ab"), std::string("ABC"), too_long}) {
    auto r = ca_->crl_pem({{bad, kNow}}, {kNow, 30, 0});
    EXPECT_FALSE(r) << "accepted serial '" << bad << "'";
  }
}

TEST_F(CaTest, ExpiredCrlFailsVerification) {
  // A CRL past nextUpdate makes every client fail: the broker's CRL must be
  // rewritten before then.
  auto kept = ca_->issue_thing("C1_B1_02", issue_);
  auto crl = ca_->crl_pem({}, {kNow - 40 * kSecondsPerDay, 30, 0});
  ASSERT_TRUE(crl);
  EXPECT_EQ(verify(ca_->cert_pem(), kept->cert_pem, *crl), X509_V_ERR_CRL_HAS_EXPIRED);
}

TEST(CaOtherTest, CertificateOfAnotherCaDoesNotVerify) {
  auto a = CertificateAuthority::create({"A", "", 3650, kNow});
  auto b = CertificateAuthority::create({"A", "", 3650, kNow});  // same name, other key
  ASSERT_TRUE(a && b);
  auto issued = b->issue_thing("C1_B1_01", {730, kNow});
  ASSERT_TRUE(issued);
  EXPECT_NE(verify(a->cert_pem(), issued->cert_pem), X509_V_OK);
}

}  // namespace
}  // namespace nbms::pki

namespace nbms::pki {
namespace {

TEST(PkiRecords, IssuedCertificateBecomesAStoreRecord) {
  IssuedCertificate c{"C1_B1_01", "pem", "", "abc", std::string(64, 'f'), 100, 2000};
  const auto r = record_of(c, 123'456);
  EXPECT_EQ(r, (CertificateRecord{"C1_B1_01", "abc", std::string(64, 'f'), 123'456, 2'000'000,
                                  std::nullopt}));
}

TEST(PkiRecords, CrlEntriesSkipValidAndExpiredCertificates) {
  const std::vector<CertificateRecord> records = {
      {"C1_B1_01", "a1", "", 0, 9'000'000, 5'500},         // revoked, still valid: listed
      {"C1_B1_01", "a2", "", 0, 9'000'000, std::nullopt},  // not revoked
      {"C1_B1_02", "b1", "", 0, 1'000'000, 500},           // revoked but expired at now
  };
  const auto entries = crl_entries(records, 2'000);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].serial, "a1");
  EXPECT_EQ(entries[0].revoked_s, 5);
}

TEST(PkiRecords, CaIsUsableFromManyThreads) {
  auto ca = CertificateAuthority::create({"Threads", "", 3650, kNow});
  ASSERT_TRUE(ca);
  std::vector<std::thread> threads;
  std::vector<std::string> serials(8);
  for (std::size_t i = 0; i < serials.size(); ++i) {
    threads.emplace_back([&, i] {
      auto c = ca->issue_thing("C1_B1_0" + std::to_string(i), {730, kNow});
      if (c && verify(ca->cert_pem(), c->cert_pem) == X509_V_OK) serials[i] = c->serial;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : serials) EXPECT_FALSE(s.empty());
}

}  // namespace
}  // namespace nbms::pki
