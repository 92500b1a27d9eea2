// `nbmsd --check-config`: no broker needed.
#include <gtest/gtest.h>
#include <unistd.h>

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
  write_text(tmp.path() / "smtp.password", "smtp-pw-never-printed\n");
  fs::permissions(tmp.path() / "smtp.password", fs::perms::owner_read | fs::perms::owner_write);
  example_config["notify"]["smtp_password_file"] = (tmp.path() / "smtp.password").string();
  const fs::path example = tmp.path() / "example.json";
  write_text(example, example_config.dump(2));
  const auto shipped = run_command({NBMSD_PATH, "--check-config", "--config", example.string()},
                                   tmp.path() / "example.log");
  ASSERT_TRUE(shipped.exit_code.has_value()) << "nbmsd did not exit: " << shipped.output;
  EXPECT_EQ(*shipped.exit_code, 0) << shipped.output;
  EXPECT_EQ(shipped.output.find("pw-7f3a9c"), std::string::npos) << "the password leaked";

  if (::testing::Test::HasFailure()) tmp.keep();
}

// notify.smtp_password_file is read and checked like at start: it exists, is a
// readable regular file, is not empty and others cannot read it.
TEST(NbmsdCli, CheckConfigChecksTheSmtpPasswordFile) {
  TempDir tmp;
  const auto check = [&](const std::string& password_file) {
    const fs::path config = tmp.path() / "smtp.json";
    write_text(config, Json{{"storage", {{"data_dir", (tmp.path() / "data").string()}}},
                            {"notify",
                             {{"smtp_host", "smtp.example.com"},
                              {"smtp_from", "nbms@example.com"},
                              {"smtp_username", "nbms"},
                              {"smtp_password_file", password_file}}}}
                           .dump());
    auto r = run_command({NBMSD_PATH, "--check-config", "--config", config.string()},
                         tmp.path() / "smtp.log");
    EXPECT_TRUE(r.exit_code.has_value()) << r.output;
    return r;
  };
  const auto pw = tmp.path() / "smtp.password";
  const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;

  auto missing = check((tmp.path() / "nope").string());
  EXPECT_EQ(missing.exit_code.value_or(-1), 2);
  EXPECT_NE(missing.output.find("notify.smtp_password_file: cannot read secret file " +
                                (tmp.path() / "nope").string() + ": "),
            std::string::npos)
      << missing.output;

  write_text(pw, "secret-pw-3b1\n");
  fs::permissions(pw, owner_only | fs::perms::others_read);
  auto open_to_all = check(pw.string());
  EXPECT_EQ(open_to_all.exit_code.value_or(-1), 2);
  EXPECT_NE(open_to_all.output.find("notify.smtp_password_file: secret file " + pw.string() +
                                    " is readable or writable by others (mode 0604); chmod 600 it"),
            std::string::npos)
      << open_to_all.output;
  EXPECT_EQ(open_to_all.output.find("secret-pw-3b1"), std::string::npos) << "the password leaked";

  write_text(pw, "\n");
  fs::permissions(pw, owner_only);
  auto empty = check(pw.string());
  EXPECT_EQ(empty.exit_code.value_or(-1), 2);
  EXPECT_NE(
      empty.output.find("notify.smtp_password_file: secret file " + pw.string() + " is empty"),
      std::string::npos)
      << empty.output;

  auto directory = check(tmp.path().string());
  EXPECT_EQ(directory.exit_code.value_or(-1), 2);
  EXPECT_NE(directory.output.find("is not a regular file"), std::string::npos) << directory.output;

  if (::geteuid() != 0) {  // root reads whatever the mode says
    write_text(pw, "secret-pw-3b1\n");
    fs::permissions(pw, fs::perms::none);
    auto unreadable = check(pw.string());
    EXPECT_EQ(unreadable.exit_code.value_or(-1), 2);
    EXPECT_NE(unreadable.output.find("Permission denied"), std::string::npos) << unreadable.output;
  }

  write_text(pw, "secret-pw-3b1\n");
  fs::permissions(pw, owner_only | fs::perms::group_read);
  auto fine = check(pw.string());
  EXPECT_EQ(fine.exit_code.value_or(-1), 0) << fine.output;
  EXPECT_EQ(fine.output.find("secret-pw-3b1"), std::string::npos) << "the password leaked";
  if (::testing::Test::HasFailure()) tmp.keep();
}

}  // namespace
}  // namespace nbms::it
