// `nbmsd --check-config`: no broker needed.
#include <gtest/gtest.h>

#include "integration/harness.hpp"

namespace nbms::it {
namespace {

TEST(NbmsdCli, CheckConfig) {
  TempDir tmp;
  const fs::path bad = tmp.path() / "bad.json";
  write_text(bad, R"({"mqtt": {"uri": "tcp://127.0.0.1:1883", "keepalve_s": 30}})");
  const auto rejected =
      run_command({NBMSD_PATH, "--check-config", "--config", bad.string()}, tmp.path() / "bad.log");
  ASSERT_TRUE(rejected.exit_code.has_value()) << "nbmsd did not exit: " << rejected.output;
  EXPECT_NE(*rejected.exit_code, 0) << rejected.output;
  EXPECT_NE(rejected.output.find("keepalve_s"), std::string::npos)
      << "the message should name the unknown key: " << rejected.output;

  const fs::path good = tmp.path() / "good.json";
  write_text(good, R"({
    "http": {"listen": "127.0.0.1:0"},
    "mqtt": {"uri": "tcp://127.0.0.1:1883", "keepalive_s": 45},
    "storage": {"data_dir": ")" +
                       (tmp.path() / "data").string() + R"("},
    "log": {"level": "debug"}
  })");
  const auto accepted = run_command({NBMSD_PATH, "--check-config", "--config", good.string()},
                                    tmp.path() / "good.log");
  ASSERT_TRUE(accepted.exit_code.has_value()) << "nbmsd did not exit: " << accepted.output;
  EXPECT_EQ(*accepted.exit_code, 0) << accepted.output;
  // It prints the effective configuration.
  EXPECT_NE(accepted.output.find("45"), std::string::npos) << accepted.output;

  // The shipped example is valid too, once the password file it names exists
  // (--check-config also checks that the secret can be read).
  Json example_config =
      Json::parse(read_text(fs::path(NBMS_SOURCE_DIR) / "config" / "nbmsd.example.json"));
  write_text(tmp.path() / "mqtt.password", "pw-7f3a9c-never-printed\n");
  example_config["mqtt"]["password_file"] = (tmp.path() / "mqtt.password").string();
  const fs::path example = tmp.path() / "example.json";
  write_text(example, example_config.dump(2));
  const auto shipped = run_command({NBMSD_PATH, "--check-config", "--config", example.string()},
                                   tmp.path() / "example.log");
  ASSERT_TRUE(shipped.exit_code.has_value()) << "nbmsd did not exit: " << shipped.output;
  EXPECT_EQ(*shipped.exit_code, 0) << shipped.output;
  EXPECT_EQ(shipped.output.find("pw-7f3a9c"), std::string::npos) << "the password leaked";

  if (::testing::Test::HasFailure()) tmp.keep();
}

}  // namespace
}  // namespace nbms::it
