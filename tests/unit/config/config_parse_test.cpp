// parse(), validate() and to_json(): pure functions on text and structs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nbms/config/config.hpp"
#include "unit/config/parse_error.hpp"

namespace nbms::config {
namespace {

using testing::parse_error;

TEST(ConfigParse, EmptyObjectGivesDefaults) {
  auto c = parse("{}");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, Config{});
  EXPECT_EQ(c->http.host, "127.0.0.1");
  EXPECT_EQ(c->http.port, 8080);
  EXPECT_EQ(c->http.threads, 2u);
  EXPECT_EQ(c->http.body_limit_bytes, 1048576u);
  EXPECT_EQ(c->http.web_root, "");
  EXPECT_EQ(c->http.ws_idle_timeout_s, 60);
  EXPECT_EQ(c->mqtt.uri, "tcp://127.0.0.1:1883");
  EXPECT_EQ(c->mqtt.client_id, "nbmsd");
  EXPECT_EQ(c->mqtt.username, "");
  EXPECT_EQ(c->mqtt.password_file, "");
  EXPECT_EQ(c->mqtt.keepalive_s, 30);
  EXPECT_EQ(c->mqtt.connect_timeout_s, 10);
  EXPECT_EQ(c->mqtt.reconnect_min_ms, 250);
  EXPECT_EQ(c->mqtt.reconnect_max_ms, 30000);
  EXPECT_EQ(c->mqtt.queue_capacity, 256u);
  EXPECT_EQ(c->mqtt.max_message_bytes, 4194304u);
  EXPECT_EQ(c->storage.data_dir, "./nbms-data");
  EXPECT_FALSE(c->storage.sync_writes);
  EXPECT_EQ(c->storage.dead_letter_limit, 10000u);
  EXPECT_EQ(c->storage.block_cache_mb, 64u);
  EXPECT_EQ(c->log.level, "info");
}

TEST(ConfigParse, EmptySectionsGiveDefaults) {
  auto c = parse(R"({"http": {}, "mqtt": {}, "storage": {}, "log": {}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, Config{});
}

TEST(ConfigParse, DefaultsAreValid) {
  EXPECT_TRUE(validate(Config{}));
}

constexpr const char* kFull = R"({
  "http": { "listen": "[::1]:9090", "threads": 8, "body_limit_bytes": 2097152,
            "web_root": "/usr/share/nbms/web", "ws_idle_timeout_s": 30 },
  "mqtt": { "uri": "ssl://broker.example.com:8883", "client_id": "nbmsd-site_1",
            "username": "nbmsd", "password_file": "/etc/nbms/mqtt.password",
            "keepalive_s": 60, "connect_timeout_s": 20, "reconnect_min_ms": 500,
            "reconnect_max_ms": 60000, "queue_capacity": 1024, "max_message_bytes": 8388608 },
  "storage": { "data_dir": "/var/lib/nbms", "sync_writes": true, "dead_letter_limit": 0,
               "block_cache_mb": 512 },
  "log": { "level": "debug" }
})";

TEST(ConfigParse, FullFile) {
  auto c = parse(kFull);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http.host, "::1");
  EXPECT_EQ(c->http.port, 9090);
  EXPECT_EQ(c->http.threads, 8u);
  EXPECT_EQ(c->http.body_limit_bytes, 2097152u);
  EXPECT_EQ(c->http.web_root, "/usr/share/nbms/web");
  EXPECT_EQ(c->http.ws_idle_timeout_s, 30);
  EXPECT_EQ(c->mqtt.uri, "ssl://broker.example.com:8883");
  EXPECT_EQ(c->mqtt.client_id, "nbmsd-site_1");
  EXPECT_EQ(c->mqtt.username, "nbmsd");
  EXPECT_EQ(c->mqtt.password_file, "/etc/nbms/mqtt.password");
  EXPECT_EQ(c->mqtt.keepalive_s, 60);
  EXPECT_EQ(c->mqtt.connect_timeout_s, 20);
  EXPECT_EQ(c->mqtt.reconnect_min_ms, 500);
  EXPECT_EQ(c->mqtt.reconnect_max_ms, 60000);
  EXPECT_EQ(c->mqtt.queue_capacity, 1024u);
  EXPECT_EQ(c->mqtt.max_message_bytes, 8388608u);
  EXPECT_EQ(c->storage.data_dir, "/var/lib/nbms");
  EXPECT_TRUE(c->storage.sync_writes);
  EXPECT_EQ(c->storage.dead_letter_limit, 0u);
  EXPECT_EQ(c->storage.block_cache_mb, 512u);
  EXPECT_EQ(c->log.level, "debug");
}

TEST(ConfigParse, KeysInAnyOrderAndUtf8ByteOrderMark) {
  auto c = parse("\xEF\xBB\xBF{\"log\": {\"level\": \"warn\"}, \"http\": {\"threads\": 3}}");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->log.level, "warn");
  EXPECT_EQ(c->http.threads, 3u);
}

TEST(ConfigParse, UnknownKeys) {
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalve_s": 30}})"),
            "unknown key 'mqtt.keepalve_s' (did you mean 'mqtt.keepalive_s'?)");
  EXPECT_EQ(parse_error(R"({"mqtt": {"qos": 1}})"), "unknown key 'mqtt.qos'");
  EXPECT_EQ(parse_error(R"({"htpp": {}})"), "unknown key 'htpp' (did you mean 'http'?)");
  EXPECT_EQ(parse_error(R"({"metrics": {}})"), "unknown key 'metrics'");
  EXPECT_EQ(parse_error(R"({"http": {"port": 8080}})"),
            "unknown key 'http.port' (did you mean 'http.listen'?)");
  EXPECT_EQ(parse_error(R"({"mqtt": {"password": "hunter2"}})"),
            "unknown key 'mqtt.password' (did you mean 'mqtt.password_file'?)");
  EXPECT_EQ(parse_error(R"({"storage": {"data_dir": "/x", "DataDir": "/y"}})"),
            "unknown key 'storage.DataDir' (did you mean 'storage.data_dir'?)");
  EXPECT_EQ(parse_error(R"({"log": {"level": "info", "file": "x"}})"), "unknown key 'log.file'");
  // Keys are shown safely even when they hold control characters.
  EXPECT_EQ(parse_error("{\"log\": {\"a\\u0001\": 1}}"), "unknown key 'log.a\\x01'");
}

TEST(ConfigParse, FirstErrorInFileOrder) {
  EXPECT_EQ(parse_error(R"({"mqtt": {"bogus": 1, "keepalive_s": 0}})"), "unknown key 'mqtt.bogus'");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": 0, "bogus": 1}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got 0");
}

TEST(ConfigParse, DuplicateKeys) {
  EXPECT_EQ(parse_error(R"({"mqtt": {"uri": "tcp://a:1883", "uri": "tcp://b:1883"}})"),
            "duplicate key 'mqtt.uri'");
  EXPECT_EQ(parse_error(R"({"log": {}, "http": {}, "log": {"level": "info"}})"),
            "duplicate key 'log'");
}

TEST(ConfigParse, WrongTypes) {
  EXPECT_EQ(parse_error("[]"), "the top level must be a JSON object, got an array");
  EXPECT_EQ(parse_error("42"), "the top level must be a JSON object, got 42");
  EXPECT_EQ(parse_error("null"), "the top level must be a JSON object, got null");
  EXPECT_EQ(parse_error(R"({"mqtt": 5})"), "mqtt: must be an object, got 5");
  EXPECT_EQ(parse_error(R"({"http": []})"), "http: must be an object, got an array");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": "30"}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got \"30\"");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": 30.5}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got 30.5");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": 30.0}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got 30.0");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": 1e2}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got 100.0");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": true}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got true");
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": null}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got null");
  EXPECT_EQ(parse_error(R"({"http": {"threads": {}}})"),
            "http.threads: must be an integer 1..64, got an object");
  EXPECT_EQ(parse_error(R"({"storage": {"sync_writes": "yes"}})"),
            "storage.sync_writes: must be true or false, got \"yes\"");
  EXPECT_EQ(parse_error(R"({"storage": {"sync_writes": 1}})"),
            "storage.sync_writes: must be true or false, got 1");
  EXPECT_EQ(parse_error(R"({"mqtt": {"uri": 1883}})"), "mqtt.uri: must be a string, got 1883");
  EXPECT_EQ(parse_error(R"({"http": {"listen": 8080}})"),
            "http.listen: must be a string, got 8080");
  EXPECT_EQ(parse_error(R"({"http": {"web_root": null}})"),
            "http.web_root: must be a string, got null");
  EXPECT_EQ(parse_error(R"({"log": {"level": ["info"]}})"),
            "log.level: must be a string, got an array");
}

struct RangeCase {
  const char* section;
  const char* key;
  long long min;
  long long max;
  const char* extra;  // other keys of the section that the bounds need
};

const std::vector<RangeCase> kRanges{
    {"http", "threads", 1, 64, ""},
    {"http", "body_limit_bytes", 1024, 268435456, ""},
    {"http", "ws_idle_timeout_s", 2, 3600, ""},
    {"mqtt", "keepalive_s", 1, 3600, ""},
    {"mqtt", "connect_timeout_s", 1, 300, ""},
    {"mqtt", "reconnect_min_ms", 10, 600000, R"(, "reconnect_max_ms": 3600000)"},
    {"mqtt", "reconnect_max_ms", 10, 3600000, R"(, "reconnect_min_ms": 10)"},
    {"mqtt", "queue_capacity", 1, 65536, ""},
    {"mqtt", "max_message_bytes", 1024, 268435456, ""},
    {"mqtt", "thing_rate", 0, 1000000, ""},
    {"mqtt", "thing_burst", 1, 10000000, ""},
    {"mqtt", "thing_backlog_bytes", 0, 1099511627776, ""},
    {"storage", "dead_letter_limit", 0, 10000000, ""},
    {"storage", "block_cache_mb", 0, 65536, ""},
};

std::string with_value(const RangeCase& rc, const std::string& value) {
  return std::string(R"({")") + rc.section + R"(": {")" + rc.key + R"(": )" + value + rc.extra +
         "}}";
}

TEST(ConfigParse, RangesAcceptTheirBounds) {
  for (const RangeCase& rc : kRanges) {
    for (long long v : {rc.min, rc.max}) {
      const std::string json = with_value(rc, std::to_string(v));
      auto c = parse(json);
      EXPECT_TRUE(c) << json << ": " << c.error().message;
    }
  }
}

TEST(ConfigParse, RangesRejectOutside) {
  for (const RangeCase& rc : kRanges) {
    const std::string expected_prefix = std::string(rc.section) + "." + rc.key +
                                        ": must be an integer " + std::to_string(rc.min) + ".." +
                                        std::to_string(rc.max) + ", got ";
    for (long long v : {rc.min - 1, rc.max + 1}) {
      EXPECT_EQ(parse_error(with_value(rc, std::to_string(v))),
                expected_prefix + std::to_string(v));
    }
    EXPECT_EQ(parse_error(with_value(rc, "18446744073709551615")),
              expected_prefix + "18446744073709551615");
    EXPECT_EQ(parse_error(with_value(rc, "-9223372036854775808")),
              expected_prefix + "-9223372036854775808");
  }
}

TEST(ConfigParse, ExampleMessageFromTheSpec) {
  EXPECT_EQ(parse_error(R"({"mqtt": {"keepalive_s": 0}})"),
            "mqtt.keepalive_s: must be an integer 1..3600, got 0");
}

TEST(ConfigParse, ClientId) {
  for (const char* ok : {"a", "nbmsd", "nbmsd-01_A", "abcdefghijklmnopqrstuvw"}) {
    auto c = parse(std::string(R"({"mqtt": {"client_id": ")") + ok + "\"}}");
    EXPECT_TRUE(c) << ok;
  }
  const std::string msg = "mqtt.client_id: must be 1..23 characters of A-Z a-z 0-9 _ -, got ";
  EXPECT_EQ(parse_error(R"({"mqtt": {"client_id": ""}})"), msg + "''");
  EXPECT_EQ(parse_error(R"({"mqtt": {"client_id": "abcdefghijklmnopqrstuvwx"}})"),
            msg + "'abcdefghijklmnopqrstuvwx'");
  EXPECT_EQ(parse_error(R"({"mqtt": {"client_id": "nbms d"}})"), msg + "'nbms d'");
  EXPECT_EQ(parse_error(R"({"mqtt": {"client_id": "nbms/1"}})"), msg + "'nbms/1'");
  EXPECT_EQ(parse_error(R"({"mqtt": {"client_id": "n\u00e9"}})"), msg + "'n\\xC3\\xA9'");
}

TEST(ConfigParse, LogLevel) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    auto c = parse(std::string(R"({"log": {"level": ")") + level + "\"}}");
    ASSERT_TRUE(c) << level;
    EXPECT_EQ(c->log.level, level);
  }
  const std::string msg =
      "log.level: must be one of trace, debug, info, warn, error, critical, off, got ";
  EXPECT_EQ(parse_error(R"({"log": {"level": "verbose"}})"), msg + "'verbose'");
  EXPECT_EQ(parse_error(R"({"log": {"level": "WARN"}})"), msg + "'WARN'");
  EXPECT_EQ(parse_error(R"({"log": {"level": ""}})"), msg + "''");
}

TEST(ConfigParse, DataDirMustNotBeEmpty) {
  EXPECT_EQ(parse_error(R"({"storage": {"data_dir": ""}})"), "storage.data_dir: must not be empty");
}

TEST(ConfigParse, ControlCharactersInStrings) {
  EXPECT_EQ(parse_error(R"({"storage": {"data_dir": "/var/lib/nbms\n"}})"),
            "storage.data_dir: must not contain control characters");
  EXPECT_EQ(parse_error(R"({"http": {"web_root": "/a\u0000b"}})"),
            "http.web_root: must not contain control characters");
}

TEST(ConfigParse, CrossFieldRules) {
  EXPECT_EQ(parse_error(R"({"mqtt": {"reconnect_min_ms": 5000, "reconnect_max_ms": 1000}})"),
            "mqtt.reconnect_min_ms: must be <= mqtt.reconnect_max_ms, got 5000 > 1000");
  EXPECT_TRUE(parse(R"({"mqtt": {"reconnect_min_ms": 1000, "reconnect_max_ms": 1000}})"));
  EXPECT_EQ(
      parse_error(R"({"mqtt": {"password_file": "/etc/nbms/pw"}})"),
      "mqtt.password_file: needs mqtt.username (MQTT sends a password only with a user name)");
  EXPECT_TRUE(parse(R"({"mqtt": {"username": "u"}})"));
}

TEST(ConfigParse, HttpsSettings) {
  EXPECT_EQ(parse_error(R"({"http": {"tls_cert_file": "/etc/nbms/c.pem"}})"),
            "http.tls_key_file: HTTPS needs both http.tls_cert_file and http.tls_key_file");
  EXPECT_EQ(parse_error(R"({"http": {"redirect_listen": "0.0.0.0:8080"}})"),
            "http.redirect_listen: needs HTTPS (http.tls_cert_file and tls_key_file)");
  EXPECT_EQ(parse_error(R"({"http": {"tls_cert_file": "c", "tls_key_file": "k",
                                     "redirect_listen": "0.0.0.0:0"}})"),
            "http.redirect_listen: port must be 1..65535, got '0.0.0.0:0'");
  const auto c = parse(R"({"http": {"tls_cert_file": "c", "tls_key_file": "k",
                                    "redirect_listen": "[::]:8080"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->http.tls());
  EXPECT_EQ(c->http.redirect_host, "::");
  EXPECT_EQ(c->http.redirect_port, 8080);
}

TEST(ConfigParse, AuthAndRealtimeRanges) {
  EXPECT_EQ(parse_error(R"({"auth": {"pbkdf2_iterations": 999}})"),
            "auth.pbkdf2_iterations: must be an integer 1000..10000000, got 999");
  EXPECT_EQ(parse_error(R"({"auth": {"session_ttl_s": 59}})"),
            "auth.session_ttl_s: must be an integer 60..2592000, got 59");
  EXPECT_EQ(parse_error(R"({"auth": {"max_failed_logins": 0}})"),
            "auth.max_failed_logins: must be an integer 1..1000, got 0");
  EXPECT_EQ(parse_error(R"({"realtime": {"control_timeout_s": 301}})"),
            "realtime.control_timeout_s: must be an integer 1..300, got 301");
  EXPECT_EQ(parse_error(R"({"auth": {"admin_pasword_file": "x"}})"),
            "unknown key 'auth.admin_pasword_file' (did you mean 'auth.admin_password_file'?)");
}

TEST(ConfigParse, ListenAndUriAreChecked) {
  EXPECT_EQ(parse_error(R"({"http": {"listen": "127.0.0.1:99999"}})"),
            "http.listen: port must be 0..65535, got '127.0.0.1:99999'");
  EXPECT_EQ(parse_error(R"({"mqtt": {"uri": "mqtt://127.0.0.1:1883"}})"),
            "mqtt.uri: scheme must be tcp:// or ssl://, got 'mqtt://127.0.0.1:1883'");
}

TEST(ConfigParse, SyntaxErrorsGiveLineAndColumn) {
  EXPECT_EQ(parse_error(""),
            "line 1, column 1: syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal");
  // Trailing comma: the '}' on line 4, column 3.
  EXPECT_EQ(parse_error("{\n  \"http\": {\n    \"threads\": 2,\n  }\n}"),
            "line 4, column 3: syntax error while parsing object key - unexpected '}'; "
            "expected string literal");
  EXPECT_EQ(parse_error("{\r\n  \"log\": {\"level\": info}\r\n}"),
            "line 2, column 20: syntax error while parsing value - invalid literal; "
            "last read: '\"level\": i'");
  // Comments are not JSON.
  EXPECT_EQ(parse_error("{\n// comment\n}"),
            "line 2, column 1: syntax error while parsing object key - invalid literal; "
            "last read: '{<U+000A>/'; expected string literal");
  const std::string bad_utf8 = parse_error("{\"log\": {\"level\": \"\xff\"}}");
  EXPECT_EQ(bad_utf8.rfind("line 1, column 20: syntax error while parsing value - invalid string: "
                           "ill-formed UTF-8 byte",
                           0),
            0u)
      << bad_utf8;
}

TEST(ConfigToJson, RoundTripsThroughParse) {
  auto full = parse(kFull);
  ASSERT_TRUE(full);
  for (const Config& c : {Config{}, *full}) {
    auto back = parse(to_json(c));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, c);
  }
}

TEST(ConfigToJson, DefaultsInFileLayout) {
  EXPECT_EQ(to_json(Config{}), R"({
  "http": {
    "listen": "127.0.0.1:8080",
    "threads": 2,
    "body_limit_bytes": 1048576,
    "web_root": "",
    "tls_cert_file": "",
    "tls_key_file": "",
    "redirect_listen": "",
    "ws_idle_timeout_s": 60
  },
  "mqtt": {
    "uri": "tcp://127.0.0.1:1883",
    "client_id": "nbmsd",
    "username": "",
    "password_file": "",
    "keepalive_s": 30,
    "connect_timeout_s": 10,
    "reconnect_min_ms": 250,
    "reconnect_max_ms": 30000,
    "queue_capacity": 256,
    "max_message_bytes": 4194304,
    "thing_rate": 200,
    "thing_burst": 5000,
    "thing_backlog_bytes": 268435456
  },
  "storage": {
    "data_dir": "./nbms-data",
    "sync_writes": false,
    "dead_letter_limit": 10000,
    "block_cache_mb": 64
  },
  "auth": {
    "pbkdf2_iterations": 600000,
    "session_ttl_s": 43200,
    "max_failed_logins": 5,
    "admin_password_file": ""
  },
  "realtime": {
    "control_timeout_s": 10
  },
  "pki": {
    "ca_cert_file": "",
    "ca_key_file": "",
    "create_ca": true,
    "ca_validity_days": 3650,
    "cert_validity_days": 730,
    "crl_validity_days": 30
  },
  "provisioning": {
    "broker_host": "localhost",
    "broker_port": 8883
  },
  "notify": {
    "vapid_key_file": "",
    "vapid_subject": "",
    "public_url": "",
    "ca_file": "",
    "allow_private_addresses": false,
    "http_timeout_ms": 10000,
    "push_ttl_s": 86400,
    "max_attempts": 10,
    "initial_backoff_ms": 30000,
    "max_backoff_ms": 3600000,
    "smtp_host": "",
    "smtp_port": 587,
    "smtp_starttls": true,
    "smtp_username": "",
    "smtp_password_file": "",
    "smtp_from": "",
    "smtp_from_name": "nbms",
    "smtp_timeout_s": 30,
    "replay_window_minutes": 60
  },
  "broker": {
    "mode": "none",
    "dir": "",
    "listen": "0.0.0.0:8883",
    "loopback_port": 0,
    "loopback_access": "read_only",
    "mosquitto_path": "/usr/sbin/mosquitto",
    "run_as_user": "",
    "restart_min_ms": 500,
    "restart_max_ms": 30000,
    "reload_command": "",
    "pid_file": ""
  },
  "log": {
    "level": "info"
  }
}
)");
}

TEST(ConfigToJson, HoldsThePasswordPathOnly) {
  Config c;
  c.mqtt.username = "nbmsd";
  c.mqtt.password_file = "/etc/nbms/mqtt.password";
  const std::string json = to_json(c);
  EXPECT_NE(json.find(R"("password_file": "/etc/nbms/mqtt.password")"), std::string::npos);
  EXPECT_EQ(json.find(R"("password":)"), std::string::npos);
}

// A dead WebSocket client is dropped after this; below 2 s Beast's pings (at
// half of it) would come too close together, so it is refused, not clamped.
TEST(ConfigParse, WsIdleTimeoutIsAWholeNumberOfSecondsFrom2) {
  auto c = parse(R"({"http": {"ws_idle_timeout_s": 2}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http.ws_idle_timeout_s, 2);
  EXPECT_EQ(parse_error(R"({"http": {"ws_idle_timeout_s": 1}})"),
            "http.ws_idle_timeout_s: must be an integer 2..3600, got 1");
  EXPECT_EQ(parse_error(R"({"http": {"ws_idle_timeout_s": 2.5}})"),
            "http.ws_idle_timeout_s: must be an integer 2..3600, got 2.5");
  EXPECT_EQ(parse_error(R"({"http": {"ws_idle_timeout_s": "60"}})"),
            "http.ws_idle_timeout_s: must be an integer 2..3600, got \"60\"");
  Config built;
  built.http.ws_idle_timeout_s = 0;
  EXPECT_EQ(validate(built).error().message,
            "http.ws_idle_timeout_s: must be an integer 2..3600, got 0");
}

TEST(ConfigToJson, NeverThrowsOnNonUtf8Paths) {
  Config c;
  c.storage.data_dir = "/srv/\xe9t\xe9";  // Latin-1 from a command line
  EXPECT_NO_THROW((void)to_json(c));
}

TEST(ConfigValidate, ChecksStructsBuiltInCode) {
  Config c;
  c.http.threads = 0;
  EXPECT_EQ(validate(c).error().message, "http.threads: must be an integer 1..64, got 0");
  c = Config{};
  c.http.host = "bad host";
  EXPECT_EQ(validate(c).error().message, "http.listen: invalid host name, got 'bad host'");
  c = Config{};
  c.http.host = "::1";
  EXPECT_TRUE(validate(c));
  c = Config{};
  c.mqtt.uri = "tcp://localhost";
  EXPECT_EQ(validate(c).error().message, "mqtt.uri: missing ':PORT', got 'tcp://localhost'");
  c = Config{};
  c.mqtt.reconnect_max_ms = 3600001;
  EXPECT_EQ(validate(c).error().message,
            "mqtt.reconnect_max_ms: must be an integer 10..3600000, got 3600001");
  c = Config{};
  c.storage.data_dir.clear();
  EXPECT_EQ(validate(c).error().message, "storage.data_dir: must not be empty");
  c = Config{};
  c.storage.block_cache_mb = 65537;
  EXPECT_EQ(validate(c).error().message,
            "storage.block_cache_mb: must be an integer 0..65536, got 65537");
}

}  // namespace
}  // namespace nbms::config
