// Command-line overrides: http listen address, MQTT URI, data dir.
#include <gtest/gtest.h>

#include <string>

#include "nbms/config/config.hpp"

namespace nbms::config {
namespace {

std::string listen_error(const std::string& value) {
  Config c;
  auto r = apply_http_listen(c, value);
  if (r) {
    ADD_FAILURE() << "accepted: " << value;
    return {};
  }
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(c, Config{}) << "changed on error: " << value;
  return r.error().message;
}

std::string uri_error(const std::string& value) {
  Config c;
  auto r = apply_mqtt_uri(c, value);
  if (r) {
    ADD_FAILURE() << "accepted: " << value;
    return {};
  }
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(c, Config{}) << "changed on error: " << value;
  return r.error().message;
}

TEST(HttpListen, Accepts) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (const Case& k : {
           Case{"127.0.0.1:8080", "127.0.0.1", 8080},
           Case{"0.0.0.0:0", "0.0.0.0", 0},
           Case{"localhost:65535", "localhost", 65535},
           Case{"nbms.example.com:443", "nbms.example.com", 443},
           Case{"nbms_web:80", "nbms_web", 80},
           Case{"[::1]:8080", "::1", 8080},
           Case{"[::]:80", "::", 80},
           Case{"[2001:db8::10]:8443", "2001:db8::10", 8443},
           Case{"[fe80::1%eth0]:8080", "fe80::1%eth0", 8080},
           Case{"[::ffff:192.0.2.1]:8080", "::ffff:192.0.2.1", 8080},
       }) {
    Config c;
    auto r = apply_http_listen(c, k.text);
    ASSERT_TRUE(r) << k.text << ": " << r.error().message;
    EXPECT_EQ(c.http.host, k.host);
    EXPECT_EQ(c.http.port, k.port);
    EXPECT_TRUE(validate(c)) << k.text;
    EXPECT_EQ(http_listen(c.http), k.text);
  }
}

TEST(HttpListen, RejectsBadPorts) {
  EXPECT_EQ(listen_error("127.0.0.1:65536"),
            "http.listen: port must be 0..65535, got '127.0.0.1:65536'");
  EXPECT_EQ(listen_error("127.0.0.1:123456"),
            "http.listen: port must be 0..65535, got '127.0.0.1:123456'");
  EXPECT_EQ(listen_error("127.0.0.1:99999999999999999999"),
            "http.listen: port must be 0..65535, got '127.0.0.1:99999999999999999999'");
  EXPECT_EQ(listen_error("127.0.0.1:-1"), "http.listen: port must be 0..65535, got '127.0.0.1:-1'");
  EXPECT_EQ(listen_error("127.0.0.1:+80"),
            "http.listen: port must be 0..65535, got '127.0.0.1:+80'");
  EXPECT_EQ(listen_error("127.0.0.1:80a"),
            "http.listen: port must be 0..65535, got '127.0.0.1:80a'");
  EXPECT_EQ(listen_error("127.0.0.1: 80"),
            "http.listen: port must be 0..65535, got '127.0.0.1: 80'");
  EXPECT_EQ(listen_error("127.0.0.1:"), "http.listen: missing port, got '127.0.0.1:'");
  EXPECT_EQ(listen_error("[::1]:99999"), "http.listen: port must be 0..65535, got '[::1]:99999'");
}

TEST(HttpListen, RejectsBadHosts) {
  EXPECT_EQ(listen_error(""), "http.listen: must be HOST:PORT, got ''");
  EXPECT_EQ(listen_error("127.0.0.1"), "http.listen: missing ':PORT', got '127.0.0.1'");
  EXPECT_EQ(listen_error(":8080"), "http.listen: host is empty, got ':8080'");
  EXPECT_EQ(listen_error("::1:8080"),
            "http.listen: an IPv6 address needs brackets, e.g. [::1]:8080, got '::1:8080'");
  EXPECT_EQ(listen_error("[::1]8080"), "http.listen: missing ':PORT' after ']', got '[::1]8080'");
  EXPECT_EQ(listen_error("[::1]"), "http.listen: missing ':PORT' after ']', got '[::1]'");
  EXPECT_EQ(listen_error("[::1:8080"),
            "http.listen: missing ']' after the IPv6 address, got '[::1:8080'");
  EXPECT_EQ(listen_error("[localhost]:80"),
            "http.listen: brackets are only for IPv6 addresses, got '[localhost]:80'");
  EXPECT_EQ(listen_error("[]:80"),
            "http.listen: brackets are only for IPv6 addresses, got '[]:80'");
  EXPECT_EQ(listen_error("[::g]:80"), "http.listen: invalid IPv6 address, got '[::g]:80'");
  EXPECT_EQ(listen_error("[fe80::1%]:80"), "http.listen: invalid IPv6 zone, got '[fe80::1%]:80'");
  EXPECT_EQ(listen_error("256.0.0.1:80"), "http.listen: invalid IPv4 address, got '256.0.0.1:80'");
  EXPECT_EQ(listen_error("1.2.3:80"), "http.listen: invalid IPv4 address, got '1.2.3:80'");
  EXPECT_EQ(listen_error("01.2.3.4:80"), "http.listen: invalid IPv4 address, got '01.2.3.4:80'");
  EXPECT_EQ(listen_error("-host:80"), "http.listen: invalid host name, got '-host:80'");
  EXPECT_EQ(listen_error("a..b:80"), "http.listen: invalid host name, got 'a..b:80'");
  EXPECT_EQ(listen_error("bad host:80"), "http.listen: invalid host name, got 'bad host:80'");
  EXPECT_EQ(listen_error("*:80"), "http.listen: invalid host name, got '*:80'");
  EXPECT_EQ(listen_error(std::string(64, 'a') + ":80"),
            "http.listen: invalid host name, got '" + std::string(64, 'a') + ":80'");
}

TEST(HttpListen, InTheFile) {
  auto c = parse(R"({"http": {"listen": "[::1]:8080"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http.host, "::1");
  EXPECT_EQ(c->http.port, 8080);
}

TEST(MqttUri, Accepts) {
  for (const char* uri : {"tcp://127.0.0.1:1883", "ssl://broker.example.com:8883",
                          "tcp://[::1]:1883", "tcp://mosquitto:1883", "tcp://localhost:65535"}) {
    Config c;
    auto r = apply_mqtt_uri(c, uri);
    ASSERT_TRUE(r) << uri << ": " << r.error().message;
    EXPECT_EQ(c.mqtt.uri, uri);
    EXPECT_TRUE(validate(c)) << uri;
  }
}

TEST(MqttUri, Rejects) {
  EXPECT_EQ(uri_error("mqtt://127.0.0.1:1883"),
            "mqtt.uri: scheme must be tcp:// or ssl://, got 'mqtt://127.0.0.1:1883'");
  EXPECT_EQ(uri_error("ws://127.0.0.1:8080"),
            "mqtt.uri: scheme must be tcp:// or ssl://, got 'ws://127.0.0.1:8080'");
  EXPECT_EQ(uri_error("TCP://127.0.0.1:1883"),
            "mqtt.uri: scheme must be tcp:// or ssl://, got 'TCP://127.0.0.1:1883'");
  EXPECT_EQ(uri_error("127.0.0.1:1883"),
            "mqtt.uri: expected tcp://HOST:PORT or ssl://HOST:PORT, got '127.0.0.1:1883'");
  EXPECT_EQ(uri_error(""), "mqtt.uri: expected tcp://HOST:PORT or ssl://HOST:PORT, got ''");
  EXPECT_EQ(uri_error("tcp://localhost"), "mqtt.uri: missing ':PORT', got 'tcp://localhost'");
  EXPECT_EQ(uri_error("tcp://localhost:0"),
            "mqtt.uri: port must be 1..65535, got 'tcp://localhost:0'");
  EXPECT_EQ(uri_error("tcp://localhost:65536"),
            "mqtt.uri: port must be 1..65535, got 'tcp://localhost:65536'");
  EXPECT_EQ(uri_error("tcp://:1883"), "mqtt.uri: host is empty, got 'tcp://:1883'");
  EXPECT_EQ(uri_error("tcp://::1:1883"),
            "mqtt.uri: an IPv6 address needs brackets, e.g. [::1]:8080, got 'tcp://::1:1883'");
  EXPECT_EQ(uri_error("tcp://localhost:1883/"),
            "mqtt.uri: a path or query is not allowed, got 'tcp://localhost:1883/'");
  EXPECT_EQ(uri_error("tcp://bad_host!:1883"),
            "mqtt.uri: invalid host name, got 'tcp://bad_host!:1883'");
}

TEST(MqttUri, CredentialsAreRefusedAndNotEchoed) {
  const std::string msg = uri_error("tcp://nbmsd:hunter2@127.0.0.1:1883");
  EXPECT_EQ(msg,
            "mqtt.uri: user info is not allowed in the URI (use mqtt.username and "
            "mqtt.password_file)");
  EXPECT_EQ(msg.find("hunter2"), std::string::npos);
}

TEST(DataDir, Override) {
  Config c;
  ASSERT_TRUE(apply_data_dir(c, "/srv/nbms"));
  EXPECT_EQ(c.storage.data_dir, "/srv/nbms");
  auto r = apply_data_dir(c, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "storage.data_dir: must not be empty");
  EXPECT_EQ(c.storage.data_dir, "/srv/nbms");
}

}  // namespace
}  // namespace nbms::config
