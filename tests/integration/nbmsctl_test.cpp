// nbmsctl against the real nbmsd: over HTTPS (certificate verified against a CA
// given with --cacert / $NBMS_CACERT, and against the URL's host), and over plain HTTP.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "integration/harness.hpp"

namespace nbms::it {
namespace {

// nbmsctl reads these; the tests set them, nothing else may leak in.
constexpr const char* kClientEnv[] = {"NBMS_URL",      "NBMS_TOKEN",  "NBMS_USER",
                                      "NBMS_PASSWORD", "NBMS_CACERT", "NBMS_NEW_PASSWORD"};

class Nbmsctl : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kClientEnv) ::unsetenv(name);
    ::setenv("NBMS_USER", "admin", 1);
    ::setenv("NBMS_PASSWORD", kAdminPassword, 1);
  }

  void TearDown() override {
    for (const char* name : kClientEnv) ::unsetenv(name);
    if (!nbmsd.running()) return;
    nbmsd.signal(SIGTERM);
    const auto st = nbmsd.wait(10s);
    ASSERT_TRUE(st.has_value()) << "nbmsd did not stop on SIGTERM";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << read_text(tmp.path() / "nbmsd.log");
  }

  // Starts nbmsd on a fresh port; with `tls`, on HTTPS with a self-signed
  // certificate for the IP address 127.0.0.1 and a plain-HTTP redirect port.
  void start(bool tls) {
    port = pick_free_port();
    Json http{{"listen", "127.0.0.1:" + std::to_string(port)}};
    if (tls) {
      const auto cert =
          run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                       (tmp.path() / "key.pem").string(), "-out", cacert(), "-subj",
                       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"},
                      tmp.path() / "openssl.log");
      ASSERT_EQ(cert.exit_code, 0) << cert.output;
      redirect_port = pick_free_port();
      http["tls_cert_file"] = cacert();
      http["tls_key_file"] = (tmp.path() / "key.pem").string();
      http["redirect_listen"] = "127.0.0.1:" + std::to_string(redirect_port);
    }
    write_text(tmp.path() / "nbmsd.json",
               Json{{"http", http},
                    {"auth", {{"pbkdf2_iterations", 1000}}},
                    {"storage", {{"data_dir", (tmp.path() / "data").string()}}},
                    // No broker is needed for HTTP: the bridge keeps retrying in the background.
                    {"mqtt", {{"uri", "tcp://127.0.0.1:" + std::to_string(pick_free_port())}}}}
                   .dump());
    ::setenv("NBMS_ADMIN_PASSWORD", kAdminPassword, 1);
    nbmsd.spawn({NBMSD_PATH, "--config", (tmp.path() / "nbmsd.json").string()},
                tmp.path() / "nbmsd.log");
    ASSERT_TRUE(wait_until([&] {
      return port_accepts(port) && (!tls || port_accepts(redirect_port));
    })) << read_text(tmp.path() / "nbmsd.log");
    url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  }

  std::string cacert() const { return (tmp.path() / "cert.pem").string(); }

  // nbmsctl with `args` (output: stdout and stderr together).
  CommandResult ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{NBMSCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, tmp.path() / ("nbmsctl-" + std::to_string(++calls) + ".log"));
  }

  // login, then customer add and customer list with the token; `extra` goes
  // before the command (e.g. --cacert FILE).
  void login_add_list(const std::vector<std::string>& extra) {
    auto with = [&](std::vector<std::string> args) {
      args.insert(args.begin(), extra.begin(), extra.end());
      args.insert(args.begin(), {"--url", url});
      return args;
    };
    const auto login = ctl(with({"login"}));
    ASSERT_EQ(login.exit_code, 0) << login.output;
    ASSERT_EQ(login.output.size(), 44u) << login.output;  // 43 characters and '\n'
    const std::string token = login.output.substr(0, 43);
    ::unsetenv("NBMS_USER");
    ::unsetenv("NBMS_PASSWORD");
    ::setenv("NBMS_TOKEN", token.c_str(), 1);

    const auto add = ctl(with({"customer", "add", "C000001", "Acme"}));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    EXPECT_EQ(add.output, "customer C000001 created\n");

    const auto list = ctl(with({"customer", "list"}));
    ASSERT_EQ(list.exit_code, 0) << list.output;
    const Json customers = Json::parse(list.output, nullptr, false);
    ASSERT_FALSE(customers.is_discarded()) << list.output;
    EXPECT_NE(list.output.find("\"C000001\""), std::string::npos) << list.output;
    EXPECT_NE(list.output.find("\"Acme\""), std::string::npos) << list.output;
  }

  TempDir tmp;
  std::uint16_t port = 0;
  std::uint16_t redirect_port = 0;
  std::string url;
  int calls = 0;
  Process nbmsd;
};

TEST_F(Nbmsctl, HttpsWithTheCaFromCacertOption) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  ASSERT_NO_FATAL_FAILURE(login_add_list({"--cacert", cacert()}));
}

TEST_F(Nbmsctl, HttpsWithTheCaFromEnvironment) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  ::setenv("NBMS_CACERT", cacert().c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(login_add_list({}));
}

TEST_F(Nbmsctl, HttpsRefusesAnUntrustedCertificate) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  const auto r = ctl({"--url", url, "login"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("certificate verify failed"), std::string::npos) << r.output;
}

TEST_F(Nbmsctl, HttpsChecksTheCertificateAgainstTheUrlHost) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  // Trusted CA, but the certificate names 127.0.0.1, not localhost.
  const auto r =
      ctl({"--cacert", cacert(), "--url", "https://localhost:" + std::to_string(port), "login"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("certificate verify failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hostname mismatch"), std::string::npos) << r.output;
}

TEST_F(Nbmsctl, AnUnreadableCaFileIsAUsageError) {
  const auto r = ctl(
      {"--cacert", (tmp.path() / "missing.pem").string(), "--url", "https://127.0.0.1:1", "login"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("missing.pem"), std::string::npos) << r.output;
}

TEST_F(Nbmsctl, PlainHttpRedirectIsReportedNotFollowed) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  const auto r = ctl({"--url", "http://127.0.0.1:" + std::to_string(redirect_port), "login"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("HTTP 308"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(url + "/api/v1/auth/login"), std::string::npos) << r.output;
}

TEST_F(Nbmsctl, PlainHttp) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  // A CA file is only used for https.
  ::setenv("NBMS_CACERT", (tmp.path() / "missing.pem").c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(login_add_list({}));
}

}  // namespace
}  // namespace nbms::it
