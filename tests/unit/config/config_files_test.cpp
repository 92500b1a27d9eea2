// load_file() and read_secret(): the only config functions that touch disk, so
// these tests use files in a private temp directory (and the shipped example).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "nbms/config/config.hpp"

namespace nbms::config {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("nbms_config_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ConfigFiles, ReadSecretStripsTrailingNewlines) {
  EXPECT_EQ(read_secret(write("a", "s3cret\n")).value(), "s3cret");
  EXPECT_EQ(read_secret(write("b", "s3cret\r\n")).value(), "s3cret");
  EXPECT_EQ(read_secret(write("c", "s3cret\n\n")).value(), "s3cret");
  EXPECT_EQ(read_secret(write("d", "s3cret")).value(), "s3cret");
  EXPECT_EQ(read_secret(write("e", " with spaces \n")).value(), " with spaces ");
}

TEST_F(ConfigFiles, ReadSecretWithoutPathIsEmpty) {
  EXPECT_EQ(read_secret("").value(), "");
}

TEST_F(ConfigFiles, ReadSecretErrors) {
  const std::string missing = (dir_ / "missing").string();
  auto r = read_secret(missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(r.error().message,
            "cannot read secret file " + missing + ": No such file or directory");

  r = read_secret(dir_.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(r.error().message, "cannot read secret file " + dir_.string() + ": Is a directory");

  const std::string empty = write("empty", "\n");
  r = read_secret(empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, "secret file " + empty + " is empty");

  const std::string big = write("big", std::string(64 * 1024 + 1, 'x'));
  r = read_secret(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
  EXPECT_EQ(r.error().message, "secret file " + big + " is larger than 65536 bytes");
  EXPECT_TRUE(read_secret(write("max", std::string(64 * 1024, 'x'))));
}

TEST_F(ConfigFiles, ToJsonNeverHoldsTheSecret) {
  Config c;
  c.mqtt.username = "nbmsd";
  c.mqtt.password_file = write("pw", "hunter2-very-secret\n");
  ASSERT_TRUE(validate(c));
  ASSERT_EQ(read_secret(c.mqtt.password_file).value(), "hunter2-very-secret");
  const std::string json = to_json(c);
  EXPECT_EQ(json.find("hunter2"), std::string::npos);
  EXPECT_NE(json.find(c.mqtt.password_file), std::string::npos);
}

TEST_F(ConfigFiles, LoadFile) {
  const std::string path =
      write("nbmsd.json", R"({"storage": {"data_dir": "/srv/nbms"}, "log": {"level": "warn"}})");
  auto c = load_file(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->storage.data_dir, "/srv/nbms");
  EXPECT_EQ(c->log.level, "warn");
}

TEST_F(ConfigFiles, LoadFileErrorsNameTheFile) {
  const std::string missing = (dir_ / "nope.json").string();
  auto r = load_file(missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(r.error().message,
            "cannot read config file " + missing + ": No such file or directory");

  const std::string bad = write("bad.json", "{\n  \"mqtt\": {\"keepalive_s\": 0}\n}\n");
  r = load_file(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, bad + ": mqtt.keepalive_s: must be an integer 1..3600, got 0");

  const std::string broken = write("broken.json", "{\n  \"mqtt\": {\n}");
  r = load_file(broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            broken +
                ": line 3, column 2: syntax error while parsing object - unexpected end of "
                "input; expected '}'");

  const std::string huge = write("huge.json", std::string((1 << 20) + 1, ' '));
  r = load_file(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
}

// The example shipped in config/ must stay loadable (path relative to this source).
TEST(ConfigExample, ShippedExampleLoads) {
  const fs::path example =
      fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "config" / "nbmsd.example.json";
  auto c = load_file(example.string());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http.host, "0.0.0.0");
  EXPECT_EQ(c->http.port, 8443);
  EXPECT_TRUE(c->http.tls());
  EXPECT_EQ(c->http.redirect_port, 8080);
  EXPECT_EQ(c->http.web_root, "/usr/share/nbms/web");
  EXPECT_EQ(c->storage.data_dir, "/var/lib/nbms");
  // Every key is spelled out: the effective config says exactly what the file says.
  std::ifstream in(example);
  EXPECT_EQ(nlohmann::json::parse(in), nlohmann::json::parse(to_json(*c)));
}

}  // namespace
}  // namespace nbms::config
