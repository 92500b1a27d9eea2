// The broker section: modes, defaults, strict values, round trip.
#include <gtest/gtest.h>

#include <string>

#include "nbms/config/config.hpp"
#include "unit/config/parse_error.hpp"

namespace nbms::config {
namespace {

using testing::parse_error;

TEST(ConfigBroker, DefaultsToNoBrokerOfItsOwnUnderTheDataDir) {
  auto c = parse(R"({"storage": {"data_dir": "/var/lib/nbms"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->broker, BrokerConfig{});
  EXPECT_EQ(c->broker.mode, "none");
  EXPECT_EQ(broker_dir(*c), "/var/lib/nbms/broker");
}

TEST(ConfigBroker, ManagedWithEveryKey) {
  auto c = parse(R"({"broker": {"mode": "managed", "dir": "/srv/broker",
    "listen": "[::1]:18883", "loopback_port": 1884, "loopback_access": "full",
    "mosquitto_path": "/opt/mosquitto/sbin/mosquitto", "run_as_user": "mosquitto",
    "restart_min_ms": 100, "restart_max_ms": 2000}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->broker.mode, "managed");
  EXPECT_EQ(broker_dir(*c), "/srv/broker");
  EXPECT_EQ(c->broker.listen_host, "::1");
  EXPECT_EQ(c->broker.listen_port, 18883);
  EXPECT_EQ(c->broker.loopback_port, 1884);
  EXPECT_EQ(c->broker.loopback_access, "full");
  EXPECT_EQ(c->broker.run_as_user, "mosquitto");
  auto again = parse(to_json(*c));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *c);
}

TEST(ConfigBroker, ExternalWithReload) {
  auto c = parse(R"({"broker": {"mode": "external",
    "reload_command": "sudo -n systemctl reload mosquitto", "pid_file": "/run/mosquitto.pid"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->broker.reload_command, "sudo -n systemctl reload mosquitto");
}

TEST(ConfigBroker, RejectsBadValues) {
  EXPECT_EQ(parse_error(R"({"broker": {"mode": "embedded"}})"),
            "broker.mode: must be one of none, managed, external, got 'embedded'");
  EXPECT_EQ(parse_error(R"({"broker": {"loopback_access": "write"}})"),
            "broker.loopback_access: must be read_only or full, got 'write'");
  EXPECT_NE(parse_error(R"({"broker": {"listen": "0.0.0.0"}})").find("broker.listen"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"broker": {"listen": "127.0.0.1:1883", "loopback_port": 1883}})"),
            "broker.loopback_port: must differ from the port of broker.listen");
  EXPECT_NE(parse_error(R"({"broker": {"mosquitto_path": "mosquitto"}})").find("absolute"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"broker": {"dir": "/a b"}})").find("spaces"), std::string::npos);
  EXPECT_EQ(parse_error(R"({"broker": {"restart_min_ms": 5000, "restart_max_ms": 1000}})"),
            "broker.restart_min_ms: must be <= broker.restart_max_ms");
  EXPECT_EQ(parse_error(R"({"broker": {"mode": "managed", "reload_command": "x"}})"),
            "broker.reload_command: only used with broker.mode external");
  EXPECT_NE(parse_error(R"({"broker": {"loopback_port": 70000}})").find("broker.loopback_port"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"broker": {"mdoe": "managed"}})").find("did you mean 'broker.mode'"),
            std::string::npos);
}

}  // namespace
}  // namespace nbms::config
