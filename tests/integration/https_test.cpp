// nbmsd serving HTTPS with a certificate from its config, and redirecting plain
// HTTP to it; checked with curl (a client that is not ours).
#include <gtest/gtest.h>

#include <string>

#include "integration/harness.hpp"

namespace nbms::it {
namespace {

class Https : public ::testing::Test {
 protected:
  // curl's output (-sS, the test certificate as the CA, plus `args`).
  CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--cacert", nbmsd.cert().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, tmp.path() / ("curl-" + std::to_string(++calls) + ".log"));
  }

  std::string https(const std::string& path) const { return nbmsd.url() + path; }
  std::string plain(std::uint16_t port, const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }

  TempDir tmp;
  HttpOnlyNbmsd nbmsd{tmp.path() / "nbmsd", true};
  int calls = 0;
};

TEST_F(Https, ServesTheApiOverTlsWithSecureCookies) {
  const auto ready = curl({https("/api/v1/ready")});
  ASSERT_EQ(ready.exit_code, 0) << ready.output;
  EXPECT_EQ(Json::parse(ready.output, nullptr, false), (Json{{"status", "ok"}}));

  const auto login = curl({"-D", "-", "-H", "Content-Type: application/json", "-d",
                           Json{{"user", "admin"}, {"password", kAdminPassword}}.dump(),
                           https("/api/v1/auth/login")});
  ASSERT_EQ(login.exit_code, 0) << login.output;
  EXPECT_NE(login.output.find("HTTP/1.1 200"), std::string::npos) << login.output;
  EXPECT_NE(login.output.find("Set-Cookie: nbms_session="), std::string::npos) << login.output;
  EXPECT_NE(login.output.find("; HttpOnly; SameSite=Strict;"), std::string::npos);
  EXPECT_NE(login.output.find("; Secure"), std::string::npos) << login.output;
  EXPECT_NE(login.output.find("Strict-Transport-Security: max-age="), std::string::npos);
}

TEST_F(Https, PlainHttpIsRedirectedAndNotServed) {
  const auto r = curl({"-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                       plain(nbmsd.redirect_port(), "/api/v1/ready?x=1")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "308 " + https("/api/v1/ready?x=1"));
  // Following it lands on the real answer.
  const auto followed = curl({"-L", plain(nbmsd.redirect_port(), "/api/v1/ready")});
  EXPECT_EQ(followed.exit_code, 0) << followed.output;
  EXPECT_EQ(Json::parse(followed.output, nullptr, false), (Json{{"status", "ok"}}))
      << followed.output;
  // The HTTPS port does not speak plain HTTP.
  const auto unencrypted =
      curl({"-o", "/dev/null", "-w", "%{http_code}", plain(nbmsd.port(), "/api/v1/ready")});
  EXPECT_NE(unencrypted.output, "200");
}

TEST_F(Https, AnUntrustedCertificateIsRefusedByTheClient) {
  const auto r =
      run_command({"/usr/bin/curl", "-sS", https("/api/v1/ready")}, tmp.path() / "untrusted.log");
  EXPECT_NE(r.exit_code, 0) << "curl accepted a self-signed certificate it was not given";
}

}  // namespace
}  // namespace nbms::it
