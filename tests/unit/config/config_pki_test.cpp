// The pki and provisioning sections: defaults, file paths, strict values.
#include <gtest/gtest.h>

#include <string>

#include "nbms/config/config.hpp"
#include "unit/config/parse_error.hpp"

namespace nbms::config {
namespace {

using testing::parse_error;

TEST(ConfigPki, DefaultsLiveUnderTheDataDir) {
  auto c = parse(R"({"storage": {"data_dir": "/var/lib/nbms"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->pki, PkiConfig{});
  EXPECT_TRUE(c->pki.create_ca);
  EXPECT_EQ(c->pki.ca_validity_days, 3650);
  EXPECT_EQ(c->pki.cert_validity_days, 730);
  EXPECT_EQ(c->pki.crl_validity_days, 30);
  EXPECT_EQ(ca_cert_path(*c), "/var/lib/nbms/pki/ca.pem");
  EXPECT_EQ(ca_key_path(*c), "/var/lib/nbms/pki/ca.key");
  EXPECT_EQ(c->provisioning.broker_host, "localhost");
  EXPECT_EQ(c->provisioning.broker_port, 8883);
}

TEST(ConfigPki, DataDirOverrideMovesTheDefaultPaths) {
  Config c;
  ASSERT_TRUE(apply_data_dir(c, "/srv/nbms"));
  EXPECT_EQ(ca_cert_path(c), "/srv/nbms/pki/ca.pem");
  EXPECT_EQ(ca_key_path(c), "/srv/nbms/pki/ca.key");
}

TEST(ConfigPki, FullSections) {
  auto c = parse(R"({
    "pki": {"ca_cert_file": "/etc/nbms/ca/ca.pem", "ca_key_file": "/etc/nbms/ca/ca.key",
            "create_ca": false, "ca_validity_days": 7300, "cert_validity_days": 365,
            "crl_validity_days": 7},
    "provisioning": {"broker_host": "broker.example.com", "broker_port": 18883}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(ca_cert_path(*c), "/etc/nbms/ca/ca.pem");
  EXPECT_EQ(ca_key_path(*c), "/etc/nbms/ca/ca.key");
  EXPECT_FALSE(c->pki.create_ca);
  EXPECT_EQ(c->pki.ca_validity_days, 7300);
  EXPECT_EQ(c->pki.cert_validity_days, 365);
  EXPECT_EQ(c->pki.crl_validity_days, 7);
  EXPECT_EQ(c->provisioning.broker_host, "broker.example.com");
  EXPECT_EQ(c->provisioning.broker_port, 18883);
  auto back = parse(to_json(*c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *c);
}

TEST(ConfigPki, AddressesAsBrokerHost) {
  for (const char* host : {"10.0.0.5", "::1", "mqtt-01.site.example"}) {
    auto c = parse(std::string(R"({"provisioning": {"broker_host": ")") + host + "\"}}");
    ASSERT_TRUE(c) << host << ": " << c.error().message;
    EXPECT_EQ(c->provisioning.broker_host, host);
  }
}

TEST(ConfigPki, BadValuesAreNamed) {
  EXPECT_EQ(parse_error(R"({"pki": {"ca_cert_file": "/a/ca.pem"}})"),
            "pki.ca_key_file: set both pki.ca_cert_file and pki.ca_key_file, or neither "
            "(defaults under storage.data_dir)");
  EXPECT_EQ(parse_error(R"({"pki": {"ca_key_file": "/a/ca.key"}})"),
            "pki.ca_cert_file: set both pki.ca_cert_file and pki.ca_key_file, or neither "
            "(defaults under storage.data_dir)");
  EXPECT_EQ(parse_error(R"({"pki": {"ca_cert_file": "/a/ca", "ca_key_file": "/a/ca"}})"),
            "pki.ca_key_file: must not be the same file as pki.ca_cert_file");
  EXPECT_EQ(parse_error(R"({"pki": {"create_ca": "yes"}})"),
            "pki.create_ca: must be true or false, got \"yes\"");
  EXPECT_EQ(parse_error(R"({"pki": {"cert_validity_days": 0}})"),
            "pki.cert_validity_days: must be an integer 1..3650, got 0");
  EXPECT_EQ(parse_error(R"({"pki": {"ca_validity_days": 36501}})"),
            "pki.ca_validity_days: must be an integer 1..36500, got 36501");
  EXPECT_EQ(parse_error(R"({"pki": {"crl_validity_days": 366}})"),
            "pki.crl_validity_days: must be an integer 1..365, got 366");
  EXPECT_EQ(parse_error(R"({"pki": {"ca_keyfile": "/a"}})"),
            "unknown key 'pki.ca_keyfile' (did you mean 'pki.ca_key_file'?)");
  EXPECT_EQ(parse_error(R"({"pki": {"ca_cert_file": 1}})"),
            "pki.ca_cert_file: must be a string, got 1");
  EXPECT_EQ(parse_error(R"({"provisioning": {"broker_port": 0}})"),
            "provisioning.broker_port: must be an integer 1..65535, got 0");
  EXPECT_EQ(parse_error(R"({"provisioning": {"broker_port": 65536}})"),
            "provisioning.broker_port: must be an integer 1..65535, got 65536");
  EXPECT_EQ(parse_error(R"({"provisioning": {"broker_host": "bad host"}})"),
            "provisioning.broker_host: invalid host name, got 'bad host'");
  EXPECT_EQ(parse_error(R"({"provisioning": {"broker_host": ""}})"),
            "provisioning.broker_host: host is empty, got ''");
  EXPECT_EQ(parse_error(R"({"provisioning": {"broker_host": "b.example:8883"}})"),
            "provisioning.broker_host: invalid IPv6 address, got 'b.example:8883'");
  EXPECT_EQ(parse_error(R"({"provisioning": []})"),
            "provisioning: must be an object, got an array");
}

TEST(ConfigPki, ValidateChecksStructsBuiltInCode) {
  Config c;
  c.pki.ca_cert_file = "/a/ca\n.pem";
  c.pki.ca_key_file = "/a/ca.key";
  EXPECT_EQ(validate(c).error().message, "pki.ca_cert_file: must not contain control characters");
  c = Config{};
  c.pki.cert_validity_days = -1;
  EXPECT_EQ(validate(c).error().message,
            "pki.cert_validity_days: must be an integer 1..3650, got -1");
  c = Config{};
  c.provisioning.broker_port = 0;
  EXPECT_EQ(validate(c).error().message,
            "provisioning.broker_port: must be an integer 1..65535, got 0");
}

}  // namespace
}  // namespace nbms::config
