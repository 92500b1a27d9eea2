// nbms::pki with the disk: CA files and their modes, and the certificates
// and CRL checked by the openssl command-line tool (an independent verifier).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>

#include "integration/harness.hpp"
#include "nbms/pki/pki.hpp"

namespace nbms::it {
namespace {

using pki::CaPaths;
using pki::CertificateAuthority;

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(PkiFiles, CaIsCreatedOnceWithOwnerOnlyKeyAndLoadedAfterwards) {
  TempDir tmp;
  const CaPaths paths{tmp.path() / "ca" / "ca.pem", tmp.path() / "ca" / "ca.key"};
  bool created = false;
  auto ca = pki::load_or_create_ca(paths, {"nbms device CA", "", 3650, now_s()}, &created);
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_TRUE(created);
  EXPECT_EQ(mode_of(paths.key), 0600u);
  EXPECT_EQ(mode_of(paths.cert), 0644u);
  EXPECT_EQ(mode_of(tmp.path() / "ca"), 0700u);
  // No temporary files left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path() / "ca")) ++files;
  EXPECT_EQ(files, 2u);

  auto again = pki::load_or_create_ca(paths, {"ignored", "", 3650, now_s()}, &created);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(created);
  EXPECT_EQ(again->fingerprint(), ca->fingerprint());

  // save_ca never replaces a CA.
  auto other = CertificateAuthority::create({"other", "", 3650, now_s()});
  ASSERT_TRUE(other);
  auto saved = pki::save_ca(*other, paths);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, Errc::already_exists);
  EXPECT_EQ(pki::load_ca(paths)->fingerprint(), ca->fingerprint());
}

TEST(PkiFiles, KeyIsOwnerOnlyEvenWithAPermissiveUmask) {
  TempDir tmp;
  const mode_t old = ::umask(0);
  auto w = pki::write_file(tmp.path() / "k.pem", "secret", 0600, false);
  ::umask(old);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(mode_of(tmp.path() / "k.pem"), 0600u);
  EXPECT_EQ(read_text(tmp.path() / "k.pem"), "secret");
  // overwrite=false keeps the file; overwrite=true replaces it atomically.
  EXPECT_FALSE(pki::write_file(tmp.path() / "k.pem", "other", 0600, false));
  EXPECT_EQ(read_text(tmp.path() / "k.pem"), "secret");
  ASSERT_TRUE(pki::write_file(tmp.path() / "k.pem", "other", 0600, true));
  EXPECT_EQ(read_text(tmp.path() / "k.pem"), "other");
}

TEST(PkiFiles, LoadRefusesAHalfCaAndAWorldReadableKey) {
  TempDir tmp;
  const CaPaths paths{tmp.path() / "ca.pem", tmp.path() / "ca.key"};
  auto ca = CertificateAuthority::create({"CA", "", 3650, now_s()});
  ASSERT_TRUE(ca);
  ASSERT_TRUE(pki::write_file(paths.cert, ca->cert_pem(), 0644, false));
  auto half = pki::load_or_create_ca(paths, {"CA", "", 3650, now_s()});
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("does not"), std::string::npos) << half.error().message;

  ASSERT_TRUE(pki::write_file(paths.key, ca->key_pem(), 0644, false));
  auto open_key = pki::load_ca(paths);
  ASSERT_FALSE(open_key);
  EXPECT_NE(open_key.error().message.find("mode 0644"), std::string::npos)
      << open_key.error().message;
  ::chmod(paths.key.c_str(), 0600);
  EXPECT_TRUE(pki::load_ca(paths));
}

// `openssl verify` with CRL checking accepts a good certificate and refuses a
// revoked one; our CRL and certificates are readable by another implementation.
TEST(PkiFiles, OpensslCliVerifiesCertificatesAndCrl) {
  TempDir tmp;
  const auto now = now_s();
  auto ca = CertificateAuthority::create({"CLI CA", "", 3650, now});
  ASSERT_TRUE(ca);
  auto good = ca->issue_thing("C1_B1_01", {730, now});
  auto bad = ca->issue_thing("C1_B1_02", {730, now});
  auto server = ca->issue_server({"broker", {"localhost"}, {"127.0.0.1"}}, {730, now});
  ASSERT_TRUE(good && bad && server);
  auto crl = ca->crl_pem({{bad->serial, now}}, {now, 30, 0});
  ASSERT_TRUE(crl) << crl.error().message;
  write_text(tmp.path() / "ca.pem", ca->chain_pem());
  write_text(tmp.path() / "crl.pem", *crl);
  write_text(tmp.path() / "good.pem", good->cert_pem);
  write_text(tmp.path() / "bad.pem", bad->cert_pem);
  write_text(tmp.path() / "server.pem", server->cert_pem);

  auto verify = [&](const char* leaf, const char* purpose) {
    return run_command({"/usr/bin/openssl", "verify", "-CAfile", (tmp.path() / "ca.pem").string(),
                        "-crl_check", "-CRLfile", (tmp.path() / "crl.pem").string(), "-purpose",
                        purpose, (tmp.path() / leaf).string()},
                       tmp.path() / (std::string(leaf) + ".log"));
  };
  auto ok = verify("good.pem", "sslclient");
  ASSERT_TRUE(ok.exit_code);
  EXPECT_EQ(*ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find(": OK"), std::string::npos) << ok.output;

  auto revoked = verify("bad.pem", "sslclient");
  ASSERT_TRUE(revoked.exit_code);
  EXPECT_NE(*revoked.exit_code, 0) << revoked.output;
  EXPECT_NE(revoked.output.find("certificate revoked"), std::string::npos) << revoked.output;

  auto srv = verify("server.pem", "sslserver");
  ASSERT_TRUE(srv.exit_code);
  EXPECT_EQ(*srv.exit_code, 0) << srv.output;
  // A client certificate is no server certificate.
  auto wrong = verify("good.pem", "sslserver");
  ASSERT_TRUE(wrong.exit_code);
  EXPECT_NE(*wrong.exit_code, 0) << wrong.output;

  // The CRL itself, as openssl reads it.
  auto text = run_command(
      {"/usr/bin/openssl", "crl", "-in", (tmp.path() / "crl.pem").string(), "-noout", "-text"},
      tmp.path() / "crl.log");
  ASSERT_TRUE(text.exit_code);
  EXPECT_EQ(*text.exit_code, 0) << text.output;
  std::string upper_serial = bad->serial;
  for (auto& c : upper_serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(text.output.find(upper_serial), std::string::npos) << text.output;
}

// A CSR made by the openssl tool (as a MW would) is accepted.
TEST(PkiFiles, OpensslCliCsrIsAccepted) {
  TempDir tmp;
  const auto now = now_s();
  auto ca = CertificateAuthority::create({"CSR CA", "", 3650, now});
  ASSERT_TRUE(ca);
  const auto key = tmp.path() / "mw.key";
  const auto csr = tmp.path() / "mw.csr";
  auto made = run_command(
      {"/usr/bin/openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", key.string(), "-out", csr.string(), "-subj", "/CN=whatever"},
      tmp.path() / "req.log");
  ASSERT_TRUE(made.exit_code);
  ASSERT_EQ(*made.exit_code, 0) << made.output;
  auto issued = ca->issue_thing_from_csr("C1_B1_07", read_text(csr), {730, now});
  ASSERT_TRUE(issued) << issued.error().message;
  write_text(tmp.path() / "ca.pem", ca->chain_pem());
  write_text(tmp.path() / "mw.pem", issued->cert_pem);
  auto ok = run_command({"/usr/bin/openssl", "verify", "-CAfile", (tmp.path() / "ca.pem").string(),
                         (tmp.path() / "mw.pem").string()},
                        tmp.path() / "verify.log");
  ASSERT_TRUE(ok.exit_code);
  EXPECT_EQ(*ok.exit_code, 0) << ok.output;
  // The certificate belongs to the MW's own key.
  auto match = run_command(
      {"/usr/bin/openssl", "x509", "-in", (tmp.path() / "mw.pem").string(), "-noout", "-subject"},
      tmp.path() / "subject.log");
  EXPECT_NE(match.output.find("CN = C1_B1_07"), std::string::npos) << match.output;
}

}  // namespace
}  // namespace nbms::it
