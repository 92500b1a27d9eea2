// nbmsctl against the real nbmsd: over HTTPS (certificate verified against a CA
// given with --cacert / $NBMS_CACERT, and against the URL's host), and over plain HTTP.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
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
  }

  // Starts nbmsd; with `tls`, on HTTPS (see HttpOnlyNbmsd).
  void start(bool tls) {
    nbmsd.emplace(tmp.path() / "nbmsd", tls);
    url = nbmsd->url();
  }

  std::string cacert() const { return nbmsd->cert().string(); }

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
  std::string url;
  int calls = 0;
  std::optional<HttpOnlyNbmsd> nbmsd;
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
  const auto r = ctl({"--cacert", cacert(), "--url",
                      "https://localhost:" + std::to_string(nbmsd->port()), "login"});
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
  const auto r =
      ctl({"--url", "http://127.0.0.1:" + std::to_string(nbmsd->redirect_port()), "login"});
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
