// The generated Mosquitto texts and the MW bundle. The real broker's reading
// of them is tested in tests/integration/broker_tls_test.cpp.
#include "nbms/broker/config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace nbms::broker {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

TEST(AclFile, ThingsGetTheOldPolicyAndServicesFullAccess) {
  auto acl = acl_file({"C2_B1_01", "C1_B1_01", "C2_B1_01"}, {"nbmsd"});
  ASSERT_TRUE(acl) << acl.error().message;
  const std::vector<std::string> expected = {
      "user nbmsd",
      "topic readwrite #",
      "topic readwrite $aws/#",
      "user C1_B1_01",
      "topic write C1_B1_01/#",
      "topic write $aws/rules/Rule_C1_B1_01/C1_B1_01/#",
      "topic read C1_B1_01",
      "user C2_B1_01",
      "topic write C2_B1_01/#",
      "topic write $aws/rules/Rule_C2_B1_01/C2_B1_01/#",
      "topic read C2_B1_01",
  };
  EXPECT_EQ(lines_of(*acl), expected);
}

TEST(AclFile, EmptyListsGiveAnAclThatGrantsNothing) {
  auto acl = acl_file({}, {});
  ASSERT_TRUE(acl);
  EXPECT_TRUE(lines_of(*acl).empty());
}

TEST(AclFile, NamesThatCouldInjectLinesOrWildcardsAreRejected) {
  for (const char* bad :
       {"C1_B1_01\nuser nbmsd", "C1_B1_01\rtopic readwrite #", "C1_B1_01 ", "C1 _B1_01", "C1_B1_#",
        "C1_B+_01", "C1_B1/01_01", "C1_B1_01/#", "%u_B1_01", "C1_B1_01\t", "", "nbmsd"}) {
    auto acl = acl_file({bad}, {"nbmsd"});
    EXPECT_FALSE(acl) << "accepted thing '" << bad << "'";
    if (!acl) {
      EXPECT_EQ(acl.error().code, Errc::invalid_argument);
    }
  }
  // An embedded NUL (not visible through const char*).
  EXPECT_FALSE(acl_file({std::string("C1_B1_01\0\nuser x", 16)}, {}));
  for (const char* bad : {"nbms d", "nbmsd\nuser x", "a#", "a+b", "", "C1_B1_01"}) {
    auto acl = acl_file({}, {bad});
    EXPECT_FALSE(acl) << "accepted full-access name '" << bad << "'";
  }
  auto thing_as_service = acl_file({}, {"C1_B1_01"});
  ASSERT_FALSE(thing_as_service);
  EXPECT_NE(thing_as_service.error().message.find("is a thing name"), std::string::npos);
}

TEST(LoopbackAcl, AnonymousOnly) {
  const auto ro = lines_of(loopback_acl_file(LoopbackAccess::read_only));
  EXPECT_EQ(ro,
            (std::vector<std::string>{"topic read #", "topic read $aws/#", "topic read $SYS/#"}));
  const auto full = lines_of(loopback_acl_file(LoopbackAccess::full));
  EXPECT_EQ(full, (std::vector<std::string>{"topic readwrite #", "topic readwrite $aws/#",
                                            "topic read $SYS/#"}));
  for (const auto& l : full) EXPECT_FALSE(l.starts_with("user")) << l;
}

ManagedBrokerOptions good_options() {
  ManagedBrokerOptions o;
  o.bind_address = "0.0.0.0";
  o.tls_port = 8883;
  o.ca_file = "/var/lib/nbms/broker/ca.pem";
  o.cert_file = "/var/lib/nbms/broker/server.pem";
  o.key_file = "/var/lib/nbms/broker/server.key";
  o.crl_file = "/var/lib/nbms/broker/crl.pem";
  o.acl_file = "/var/lib/nbms/broker/acl";
  o.persistence_dir = "/var/lib/nbms/broker";
  return o;
}

TEST(MosquittoConf, TlsListenerWithCertificateIdentityAndAcl) {
  auto conf = mosquitto_conf(good_options());
  ASSERT_TRUE(conf) << conf.error().message;
  const auto lines = lines_of(*conf);
  const std::vector<std::string> expected = {
      "per_listener_settings true",
      "persistence true",
      "persistence_location /var/lib/nbms/broker/",
      "max_queued_messages 100000",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      "connection_messages true",
      "listener 8883 0.0.0.0",
      "protocol mqtt",
      "cafile /var/lib/nbms/broker/ca.pem",
      "certfile /var/lib/nbms/broker/server.pem",
      "keyfile /var/lib/nbms/broker/server.key",
      "crlfile /var/lib/nbms/broker/crl.pem",
      "tls_version tlsv1.2",
      "require_certificate true",
      "use_identity_as_username true",
      "use_username_as_clientid true",
      "allow_anonymous false",
      "acl_file /var/lib/nbms/broker/acl",
  };
  EXPECT_EQ(lines, expected);
}

TEST(MosquittoConf, LoopbackListenerAndUser) {
  auto o = good_options();
  o.loopback_port = 1883;
  o.loopback_acl_file = "/var/lib/nbms/broker/loopback.acl";
  o.run_as_user = "root";
  auto conf = mosquitto_conf(o);
  ASSERT_TRUE(conf) << conf.error().message;
  const auto lines = lines_of(*conf);
  auto at = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) - lines.begin();
  };
  ASSERT_LT(at("user root"), static_cast<long>(lines.size()));
  const auto loop = at("listener 1883 127.0.0.1");
  ASSERT_LT(loop, static_cast<long>(lines.size()));
  // The loopback listener's own settings follow its listener line.
  EXPECT_GT(at("acl_file /var/lib/nbms/broker/loopback.acl"), loop);
  EXPECT_GT(at("allow_anonymous true"), loop);
  EXPECT_LT(at("allow_anonymous false"), loop);
}

TEST(MosquittoConf, ControlListenerOnAUnixSocketWithNoRights) {
  auto o = good_options();
  EXPECT_EQ(mosquitto_conf(o)->find("listener 0 "), std::string::npos);  // none by default
  o.control_socket = "/var/lib/nbms/broker/control.sock";
  o.control_acl_file = "/var/lib/nbms/broker/control.acl";
  auto conf = mosquitto_conf(o);
  ASSERT_TRUE(conf) << conf.error().message;
  const auto lines = lines_of(*conf);
  const auto at = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) - lines.begin();
  };
  const auto ctl = at("listener 0 /var/lib/nbms/broker/control.sock");
  ASSERT_LT(ctl, static_cast<long>(lines.size()));
  // Its own settings follow its listener line (per_listener_settings).
  EXPECT_GT(at("acl_file /var/lib/nbms/broker/control.acl"), ctl);
  EXPECT_GT(at("allow_anonymous true"), ctl);
  EXPECT_LT(at("allow_anonymous false"), ctl);
  // The ACL has no rule at all: no topic line, no user line.
  EXPECT_TRUE(lines_of(control_acl_file()).empty()) << control_acl_file();
}

TEST(MosquittoConf, RejectsABadControlSocket) {
  auto with = [](std::string sock, std::string acl = "/b/control.acl") {
    auto o = good_options();
    o.control_socket = std::move(sock);
    o.control_acl_file = std::move(acl);
    return mosquitto_conf(o);
  };
  EXPECT_TRUE(with("/b/control.sock"));
  EXPECT_TRUE(with("/" + std::string(106, 'x')));  // 107 characters: fits sun_path
  auto long_path = with("/" + std::string(107, 'x'));
  ASSERT_FALSE(long_path);
  EXPECT_NE(long_path.error().message.find("unix socket limit"), std::string::npos);
  EXPECT_FALSE(with("control.sock"));
  EXPECT_FALSE(with("/b/control.sock\nallow_anonymous true"));
  EXPECT_FALSE(with("/b/control.sock", ""));  // the socket needs its ACL
}

TEST(MosquittoConf, RejectsValuesThatWouldBreakTheFile) {
  auto check = [](auto change, const char* what) {
    auto o = good_options();
    change(o);
    auto conf = mosquitto_conf(o);
    EXPECT_FALSE(conf) << what;
  };
  check([](auto& o) { o.ca_file = "relative/ca.pem"; }, "relative path");
  check([](auto& o) { o.acl_file = "/x/acl\nallow_anonymous true"; }, "newline in path");
  check([](auto& o) { o.key_file = "/x/my key"; }, "space in path");
  check([](auto& o) { o.crl_file = ""; }, "empty crl");
  check([](auto& o) { o.bind_address = "0.0.0.0 1884"; }, "space in address");
  check([](auto& o) { o.tls_port = 0; }, "port 0");
  check([](auto& o) { o.loopback_port = 8883; }, "loopback = tls port");
  check([](auto& o) { o.loopback_port = 1883; }, "loopback without acl");
  check([](auto& o) { o.run_as_user = "root\nuser x"; }, "bad user");
  check([](auto& o) { o.tls_version = "tlsv1"; }, "old tls");
  check([](auto& o) { o.max_queued_messages = 0; }, "unlimited queue");
}

TEST(MwBundle, HasEverythingAMiddlewareNeeds) {
  const BundleInput in{"C000003_B001_01", "broker.example.com", 8883,
                       "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
                       "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n",
                       // Only the PEM framing is checked: no key material in the repo.
                       "-----BEGIN PLACEHOLDER-----\nK\n-----END PLACEHOLDER-----\n", 60};
  auto text = mw_bundle_json(in);
  ASSERT_TRUE(text) << text.error().message;
  const auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["format"], "nbms-mw-bundle");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["thing"], "C000003_B001_01");
  EXPECT_EQ(j["mqtt"]["host"], "broker.example.com");
  EXPECT_EQ(j["mqtt"]["port"], 8883);
  EXPECT_EQ(j["mqtt"]["client_id"], "C000003_B001_01");
  EXPECT_EQ(j["mqtt"]["qos"], 1);
  EXPECT_EQ(j["mqtt"]["tls"], true);
  EXPECT_EQ(j["topics"]["command"], "C000003_B001_01");
  EXPECT_EQ(j["topics"]["publish"], "C000003_B001_01/<point>");
  EXPECT_EQ(j["topics"]["publish_basic_ingest"],
            "$aws/rules/Rule_C000003_B001_01/C000003_B001_01/<point>");
  EXPECT_EQ(j["last_will"]["topic"], "C000003_B001_01/disconnect");
  EXPECT_EQ(j["last_will"]["qos"], 1);
  const auto will = nlohmann::json::parse(j["last_will"]["payload"].get<std::string>());
  EXPECT_EQ(will["msg_type"], "Disconnect");
  EXPECT_EQ(will["device"], "C000003_B001_01");
  EXPECT_EQ(will["status"], "lost");
  EXPECT_EQ(j["tls"]["ca_pem"], in.ca_pem);
  EXPECT_EQ(j["tls"]["cert_pem"], in.cert_pem);
  EXPECT_EQ(j["tls"]["key_pem"], in.key_pem);

  auto csr_case = in;
  csr_case.key_pem.clear();
  auto no_key = mw_bundle_json(csr_case);
  ASSERT_TRUE(no_key);
  EXPECT_TRUE(nlohmann::json::parse(*no_key)["tls"]["key_pem"].is_null());
}

TEST(MwBundle, RejectsBadInput) {
  BundleInput in{
      "C1_B1_01", "127.0.0.1", 8883, "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----",
      "",         60};
  EXPECT_TRUE(mw_bundle_json(in));
  auto bad = in;
  bad.thing = "C1_B1_01\n";
  EXPECT_FALSE(mw_bundle_json(bad));
  bad = in;
  bad.broker_host = "host name";
  EXPECT_FALSE(mw_bundle_json(bad));
  bad = in;
  bad.broker_port = 0;
  EXPECT_FALSE(mw_bundle_json(bad));
  bad = in;
  bad.cert_pem = "not pem";
  EXPECT_FALSE(mw_bundle_json(bad));
  bad = in;
  bad.keepalive_s = 0;
  EXPECT_FALSE(mw_bundle_json(bad));
}

}  // namespace
}  // namespace nbms::broker
