// nbmsd serving HTTPS with a certificate from its config, and redirecting plain
// HTTP to it; checked with curl (a client that is not ours).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "integration/harness.hpp"

namespace nbms::it {
namespace {

class Https : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cert = run_command(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", (tmp.path() / "key.pem").string(), "-out",
         (tmp.path() / "cert.pem").string(), "-subj", "/CN=127.0.0.1", "-days", "2"},
        tmp.path() / "openssl.log");
    ASSERT_EQ(cert.exit_code, 0) << cert.output;
    https_port = pick_free_port();
    redirect_port = pick_free_port();
    write_text(tmp.path() / "nbmsd.json",
               Json{{"http",
                     {{"listen", "127.0.0.1:" + std::to_string(https_port)},
                      {"tls_cert_file", (tmp.path() / "cert.pem").string()},
                      {"tls_key_file", (tmp.path() / "key.pem").string()},
                      {"redirect_listen", "127.0.0.1:" + std::to_string(redirect_port)}}},
                    {"auth", {{"pbkdf2_iterations", 1000}}},
                    {"storage", {{"data_dir", (tmp.path() / "data").string()}}},
                    // No broker is needed for HTTP: the bridge keeps retrying in the background.
                    {"mqtt", {{"uri", "tcp://127.0.0.1:" + std::to_string(pick_free_port())}}}}
                   .dump());
    ::setenv("NBMS_ADMIN_PASSWORD", kAdminPassword, 1);
    nbmsd.spawn({NBMSD_PATH, "--config", (tmp.path() / "nbmsd.json").string()},
                tmp.path() / "nbmsd.log");
    ASSERT_TRUE(wait_until([&] { return port_accepts(https_port) && port_accepts(redirect_port); }))
        << read_text(tmp.path() / "nbmsd.log");
  }

  void TearDown() override {
    if (!nbmsd.running()) return;
    nbmsd.signal(SIGTERM);
    const auto st = nbmsd.wait(10s);
    ASSERT_TRUE(st.has_value()) << "nbmsd did not stop on SIGTERM";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << read_text(tmp.path() / "nbmsd.log");
  }

  // curl's output (-sS, certificate of the test CA, plus `args`).
  CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--cacert", (tmp.path() / "cert.pem").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, tmp.path() / ("curl-" + std::to_string(++calls) + ".log"));
  }

  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(https_port) + path;
  }

  TempDir tmp;
  std::uint16_t https_port = 0;
  std::uint16_t redirect_port = 0;
  int calls = 0;
  Process nbmsd;
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
                       "http://127.0.0.1:" + std::to_string(redirect_port) + "/api/v1/ready?x=1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "308 " + https("/api/v1/ready?x=1"));
  // Following it lands on the real answer.
  const auto followed =
      curl({"-L", "http://127.0.0.1:" + std::to_string(redirect_port) + "/api/v1/ready"});
  EXPECT_EQ(followed.exit_code, 0) << followed.output;
  EXPECT_EQ(Json::parse(followed.output, nullptr, false), (Json{{"status", "ok"}})) << followed.output;
  // The HTTPS port does not speak plain HTTP.
  const auto plain = curl({"-o", "/dev/null", "-w", "%{http_code}",
                           "http://127.0.0.1:" + std::to_string(https_port) + "/api/v1/ready"});
  EXPECT_NE(plain.output, "200");
}

TEST_F(Https, AnUntrustedCertificateIsRefusedByTheClient) {
  const auto r = run_command({"/usr/bin/curl", "-sS", https("/api/v1/ready")}, tmp.path() / "untrusted.log");
  EXPECT_NE(r.exit_code, 0) << "curl accepted a self-signed certificate it was not given";
}

}  // namespace
}  // namespace nbms::it
