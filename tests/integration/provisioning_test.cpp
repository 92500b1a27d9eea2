// Device provisioning against the real nbmsd (issue 5): the CA made at first
// start, a thing's certificate and bundle over REST, checked with the openssl
// tool against GET /api/v1/pki/ca.pem, revocation listed in the CRL; the same
// through nbmsctl (thing cert / revoke, ca init); start-up refusals.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness.hpp"

namespace nbms::it {
namespace {

constexpr const char* kThing = "C000001_B001_01";
constexpr const char* kCertPath =
    "/api/v1/customers/C000001/buildings/B001/things/C000001_B001_01/certificate";

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

class Provisioning : public ::testing::Test {
 protected:
  void start() {
    nbmsd.emplace(tmp.path() / "nbmsd", false);
    const auto login = http_request(nbmsd->port(), "POST", "/api/v1/auth/login",
                                    Json{{"user", "admin"}, {"password", kAdminPassword}});
    ASSERT_EQ(login.status, 200) << login.body;
    token = login.json["token"].get<std::string>();
  }
  HttpResponse call(const std::string& method, const std::string& target,
                    const std::optional<Json>& body = std::nullopt) {
    return http_request(nbmsd->port(), method, target, body, 10s, token);
  }
  void seed() {
    ASSERT_EQ(call("POST", "/api/v1/customers", Json{{"id", "C000001"}, {"name", "Acme"}}).status,
              201);
    ASSERT_EQ(
        call("POST", "/api/v1/customers/C000001/buildings", Json{{"id", "B001"}, {"name", "HQ"}})
            .status,
        201);
    ASSERT_EQ(
        call("POST", "/api/v1/customers/C000001/buildings/B001/things", Json{{"name", kThing}})
            .status,
        201);
  }
  CommandResult openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, tmp.path() / ("openssl-" + std::to_string(++calls) + ".log"));
  }
  fs::path file(const std::string& name) const { return tmp.path() / name; }

  TempDir tmp;
  std::optional<HttpOnlyNbmsd> nbmsd;
  std::string token;
  int calls = 0;
};

TEST_F(Provisioning, RegisterVerifyRevokeAndSeeItInTheCrl) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(seed());
  // The CA was made at first start under the data directory.
  const fs::path pki = tmp.path() / "nbmsd" / "data" / "pki";
  EXPECT_EQ(mode_of(pki / "ca.key"), 0600u);
  EXPECT_EQ(mode_of(pki / "ca.pem"), 0644u);

  const auto issued = call("POST", kCertPath);
  ASSERT_EQ(issued.status, 201) << issued.body;
  ASSERT_FALSE(issued.json.is_discarded());
  EXPECT_EQ(issued.json["thing"], kThing);
  write_text(file("thing.pem"), issued.json["tls"]["cert_pem"].get<std::string>());

  const auto ca = call("GET", "/api/v1/pki/ca.pem");
  ASSERT_EQ(ca.status, 200);
  EXPECT_EQ(ca.body, read_text(pki / "ca.pem"));
  EXPECT_EQ(ca.body, issued.json["tls"]["ca_pem"].get<std::string>());
  write_text(file("ca.pem"), ca.body);

  const auto ok = openssl({"verify", "-purpose", "sslclient", "-CAfile", file("ca.pem").string(),
                           file("thing.pem").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find(": OK"), std::string::npos) << ok.output;

  // The record: serial and fingerprint as openssl reads them.
  const auto record = call("GET", kCertPath);
  ASSERT_EQ(record.status, 200) << record.body;
  const std::string serial = record.json["current"]["serial"].get<std::string>();
  const auto x509 =
      openssl({"x509", "-in", file("thing.pem").string(), "-noout", "-serial", "-subject"});
  ASSERT_EQ(x509.exit_code, 0) << x509.output;
  // openssl prints an even number of hex digits; nbms none leading zeros.
  std::string printed = x509.output.substr(x509.output.find("serial=") + 7);
  printed = printed.substr(0, printed.find('\n'));
  while (printed.size() > 1 && printed.front() == '0') printed.erase(0, 1);
  EXPECT_EQ(printed, upper(serial));
  EXPECT_NE(x509.output.find("CN = " + std::string(kThing)), std::string::npos) << x509.output;
  EXPECT_EQ(record.body.find("PRIVATE"), std::string::npos);

  // Revoke; the CRL (admin only) lists the serial and openssl refuses the certificate.
  const auto revoked = call("DELETE", kCertPath);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  ASSERT_EQ(revoked.json["revoked"].size(), 1u);
  EXPECT_EQ(revoked.json["revoked"][0]["serial"], serial);
  const auto crl = call("GET", "/api/v1/pki/crl.pem");
  ASSERT_EQ(crl.status, 200);
  write_text(file("crl.pem"), crl.body);
  const auto crl_text = openssl({"crl", "-in", file("crl.pem").string(), "-CAfile",
                                 file("ca.pem").string(), "-noout", "-text"});
  ASSERT_EQ(crl_text.exit_code, 0) << crl_text.output;
  EXPECT_NE(crl_text.output.find("verify OK"), std::string::npos) << crl_text.output;
  // openssl prints whole octets (a leading 0 for an odd number of digits).
  std::vector<std::string> listed;
  for (auto at = crl_text.output.find("Serial Number: "); at != std::string::npos;
       at = crl_text.output.find("Serial Number: ", at + 1)) {
    std::string s = crl_text.output.substr(at + 15);
    s = s.substr(0, s.find('\n'));
    while (s.size() > 1 && s.front() == '0') s.erase(0, 1);
    listed.push_back(s);
  }
  EXPECT_EQ(listed, std::vector<std::string>{upper(serial)}) << crl_text.output;
  const auto refused = openssl({"verify", "-crl_check", "-CAfile", file("ca.pem").string(),
                                "-CRLfile", file("crl.pem").string(), file("thing.pem").string()});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("certificate revoked"), std::string::npos) << refused.output;

  const auto after = call("GET", kCertPath);
  EXPECT_TRUE(after.json["current"].is_null()) << after.body;
  EXPECT_EQ(after.json["certificates"][0]["revoked"], true);

  // Both writes are in the audit log.
  const auto audit = call("GET", "/api/v1/audit?customer=C000001");
  ASSERT_EQ(audit.status, 200);
  EXPECT_NE(audit.body.find("thing.certificate.issue"), std::string::npos);
  EXPECT_NE(audit.body.find("thing.certificate.revoke"), std::string::npos);
}

TEST_F(Provisioning, CsrFromTheOpensslToolAndTheCaSurvivesARestart) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(seed());
  const auto made = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                             "-nodes", "-keyout", file("mw.key").string(), "-out",
                             file("mw.csr").string(), "-subj", "/CN=somebody-else"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const auto issued = call("POST", kCertPath, Json{{"csr", read_text(file("mw.csr"))}});
  ASSERT_EQ(issued.status, 201) << issued.body;
  EXPECT_TRUE(issued.json["tls"]["key_pem"].is_null());
  write_text(file("mw.pem"), issued.json["tls"]["cert_pem"].get<std::string>());
  const std::string ca_before = call("GET", "/api/v1/pki/ca.pem").body;
  write_text(file("ca.pem"), ca_before);
  const auto ok = openssl({"verify", "-CAfile", file("ca.pem").string(), file("mw.pem").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  // The certificate is for the MW's key.
  const auto cert_key = openssl({"x509", "-in", file("mw.pem").string(), "-noout", "-pubkey"});
  const auto own_key = openssl({"pkey", "-in", file("mw.key").string(), "-pubout"});
  EXPECT_EQ(cert_key.output, own_key.output);

  nbmsd.reset();
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(call("GET", "/api/v1/pki/ca.pem").body, ca_before);
  EXPECT_FALSE(call("GET", kCertPath).json["current"].is_null());
}

// nbmsd refuses to start, with a clear message, rather than make a second CA.
TEST_F(Provisioning, StartRefusedWithoutAUsableCa) {
  const fs::path data = tmp.path() / "data";
  fs::create_directories(data / "pki");
  write_text(data / "pki" / "ca.pem", "not used");
  const auto run = [&](const Json& extra) {
    Json config{{"storage", {{"data_dir", data.string()}}},
                {"http", {{"listen", "127.0.0.1:0"}}},
                {"mqtt", {{"uri", "tcp://127.0.0.1:" + std::to_string(pick_free_port())}}}};
    config.update(extra);
    write_text(tmp.path() / "nbmsd.json", config.dump());
    ::setenv("NBMS_ADMIN_PASSWORD", kAdminPassword, 1);
    return run_command({NBMSD_PATH, "--config", (tmp.path() / "nbmsd.json").string()},
                       tmp.path() / ("nbmsd-" + std::to_string(++calls) + ".log"));
  };
  const auto half = run(Json::object());
  EXPECT_EQ(half.exit_code, 1) << half.output;
  EXPECT_NE(half.output.find("exists but '" + (data / "pki" / "ca.key").string() +
                             "' does not; restore the missing file"),
            std::string::npos)
      << half.output;
  EXPECT_EQ(read_text(data / "pki" / "ca.pem"), "not used");
  EXPECT_FALSE(fs::exists(data / "pki" / "ca.key"));

  fs::remove(data / "pki" / "ca.pem");
  const auto no_create = run(Json{{"pki", {{"create_ca", false}}}});
  EXPECT_EQ(no_create.exit_code, 1) << no_create.output;
  EXPECT_NE(no_create.output.find("neither exists and pki.create_ca is false"), std::string::npos)
      << no_create.output;
  EXPECT_FALSE(fs::exists(data / "pki" / "ca.pem"));
}

// ---- nbmsctl --------------------------------------------------------------------

class NbmsctlProvisioning : public Provisioning {
 protected:
  void SetUp() override {
    for (const char* name : {"NBMS_URL", "NBMS_TOKEN", "NBMS_CACERT"}) ::unsetenv(name);
    ::setenv("NBMS_USER", "admin", 1);
    ::setenv("NBMS_PASSWORD", kAdminPassword, 1);
  }
  void TearDown() override {
    for (const char* name : {"NBMS_USER", "NBMS_PASSWORD"}) ::unsetenv(name);
  }
  CommandResult ctl(std::vector<std::string> args, bool with_url = true) {
    if (with_url) args.insert(args.begin(), {"--url", nbmsd->url()});
    args.insert(args.begin(), NBMSCTL_PATH);
    return run_command(args, tmp.path() / ("nbmsctl-" + std::to_string(++calls) + ".log"));
  }
};

TEST_F(NbmsctlProvisioning, ThingCertWritesAPrivateBundleAndRevokeRevokes) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(seed());
  const fs::path out = file("bundle.json");
  const auto cert = ctl({"thing", "cert", "C000001", "B001", kThing, "--out", out.string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  EXPECT_EQ(cert.output, "certificate of C000001_B001_01 issued; bundle written to " +
                             out.string() + " (mode 0600, holds the key)\n");
  EXPECT_EQ(mode_of(out), 0600u);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  const Json bundle = Json::parse(read_text(out));
  EXPECT_EQ(bundle["thing"], kThing);
  EXPECT_TRUE(bundle["tls"]["key_pem"].is_string());

  const auto revoke = ctl({"thing", "revoke", "C000001", "B001", kThing});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  const std::string serial =
      call("GET", kCertPath).json["certificates"][0]["serial"].get<std::string>();
  EXPECT_EQ(revoke.output, "revoked certificate(s) of C000001_B001_01: " + serial + "\n");
  const auto again = ctl({"thing", "revoke", "C000001", "B001", kThing});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, "C000001_B001_01 had no certificate to revoke\n");

  // Errors: wrong building in the name (usage), unknown thing (HTTP 404, no file left).
  const auto mismatch = ctl({"thing", "cert", "C000001", "B002", kThing});
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.output;
  const fs::path missing_out = file("missing.json");
  const auto unknown =
      ctl({"thing", "cert", "C000001", "B001", "C000001_B001_09", "--out", missing_out.string()});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("thing 'C000001_B001_09' not found (HTTP 404)"), std::string::npos)
      << unknown.output;
  EXPECT_FALSE(fs::exists(missing_out));
  EXPECT_FALSE(fs::exists(missing_out.string() + ".tmp"));
}

TEST_F(NbmsctlProvisioning, ThingPurgeWantsYesThenRevokesAndDeletes) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(seed());
  const auto cert =
      ctl({"thing", "cert", "C000001", "B001", kThing, "--out", file("b.json").string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  const std::string serial =
      call("GET", kCertPath).json["certificates"][0]["serial"].get<std::string>();
  const std::string things = "/api/v1/customers/C000001/buildings/B001/things";

  // Without --yes: a usage error, nothing is sent.
  const auto no = ctl({"thing", "purge", kThing});
  EXPECT_EQ(no.exit_code, 2) << no.output;
  EXPECT_NE(no.output.find("deletes C000001_B001_01 and all its data for good; add --yes"),
            std::string::npos)
      << no.output;
  EXPECT_EQ(call("GET", things).json["things"].size(), 1u);
  EXPECT_EQ(ctl({"thing", "list", "C000001", "B001", "--yes"}).exit_code, 2);
  EXPECT_EQ(ctl({"thing", "purge", "not-a-thing", "--yes"}).exit_code, 2);

  const auto purge = ctl({"thing", "purge", kThing, "--yes"});
  ASSERT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_EQ(purge.output, "purged C000001_B001_01; revoked " + serial +
                              "; deleted alarm_marks 0, current_alarms 0, latest 0, links 0, "
                              "periodic_blocks 0, points 0, rows 0, sealed_days 0, series 0, "
                              "spool 0, thing 1\n");
  EXPECT_TRUE(call("GET", things).json["things"].empty());
  const auto again = ctl({"thing", "purge", kThing, "--yes"});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("(HTTP 404)"), std::string::npos) << again.output;
}

TEST_F(NbmsctlProvisioning, ThingCertWithACsr) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(seed());
  const auto made = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                             "-nodes", "-keyout", file("mw.key").string(), "-out",
                             file("mw.csr").string(), "-subj", "/CN=mw"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const fs::path out = file("csr-bundle.json");
  const auto cert = ctl({"thing", "cert", "C000001", "B001", kThing, "--csr",
                         file("mw.csr").string(), "--out", out.string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  EXPECT_EQ(mode_of(out), 0600u);
  EXPECT_TRUE(Json::parse(read_text(out))["tls"]["key_pem"].is_null());
}

TEST_F(NbmsctlProvisioning, CaInitIsOfflineAndNeverOverwrites) {
  const fs::path cert = file("ca/ca.pem");
  const fs::path key = file("ca/ca.key");
  const auto made =
      ctl({"ca", "init", "--cert", cert.string(), "--key", key.string(), "--cn", "Site CA"}, false);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_NE(made.output.find("CA CN=Site CA created"), std::string::npos) << made.output;
  EXPECT_EQ(mode_of(key), 0600u);
  const auto text =
      openssl({"x509", "-in", cert.string(), "-noout", "-subject", "-ext", "basicConstraints"});
  EXPECT_NE(text.output.find("CN = Site CA"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("CA:TRUE"), std::string::npos) << text.output;

  const std::string before = read_text(key);
  const auto again = ctl({"ca", "init", "--cert", cert.string(), "--key", key.string()}, false);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("exists; a CA is never overwritten"), std::string::npos)
      << again.output;
  EXPECT_EQ(read_text(key), before);
  const auto usage = ctl({"ca", "init", "--cert", file("x.pem").string()}, false);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace nbms::it
