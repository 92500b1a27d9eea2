#pragma once
// nbmsd's configuration: one JSON file (layout: config/nbmsd.example.json) read
// once at start into the plain structs below, plus a few command-line overrides.
// Unknown keys, wrong types and out-of-range values are errors, never ignored:
// a typo must not silently fall back to a default. Secrets are not stored in the
// file; it names a file that holds them (mqtt.password_file).
//
// Every error is Errc::invalid_argument (bad value) or Errc::io / too_large (a
// file could not be read) and its message names the setting, e.g.
// "mqtt.keepalive_s: must be an integer 1..3600, got 0".
//
// Intended use in nbmsd:
//   auto cfg = load_file(path);                 // parse + validate
//   apply_data_dir / apply_http_listen / apply_mqtt_uri for each CLI override
//   validate(*cfg);                             // again, after the overrides
//   --check-config: print to_json(*cfg), exit 0 (or the error, exit non-zero)
// The functions are pure (no globals); only load_file and read_secret touch disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::config {

struct HttpConfig {
  // In the file both are one key, "listen": "HOST:PORT" (IPv6 as "[::1]:8080").
  std::string host = "127.0.0.1";          // IPv4, IPv6 (no brackets) or host name
  std::uint16_t port = 8080;               // 0: ephemeral (tests)
  std::size_t threads = 2;                 // 1..64
  std::size_t body_limit_bytes = 1 << 20;  // 1 KiB..256 MiB
  std::string web_root;                    // empty: no static files
  // HTTPS: both set (PEM files) or neither. The key file should be owner-only.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS: also listen for plain HTTP here and redirect every request to
  // HTTPS ("HOST:PORT" in the file; empty = no redirect listener).
  std::string redirect_host;
  std::uint16_t redirect_port = 0;
  bool tls() const { return !tls_cert_file.empty(); }
  bool operator==(const HttpConfig&) const = default;
};

struct MqttConfig {
  std::string uri = "tcp://127.0.0.1:1883";  // tcp://HOST:PORT or ssl://HOST:PORT
  std::string client_id = "nbmsd";           // 1..23 of [A-Za-z0-9_-]; stable across restarts
  std::string username;                      // empty: anonymous
  std::string password_file;                 // path to the password (see read_secret)
  int keepalive_s = 30;                      // 1..3600
  int connect_timeout_s = 10;                // 1..300
  int reconnect_min_ms = 250;                // 10..600000, <= reconnect_max_ms
  int reconnect_max_ms = 30000;              // 10..3600000
  std::size_t queue_capacity = 256;          // 1..65536 messages
  std::size_t max_message_bytes = 4u << 20;  // 1 KiB..256 MiB
  bool operator==(const MqttConfig&) const = default;
};

struct StorageConfig {
  std::string data_dir = "./nbms-data";  // non-empty
  bool sync_writes = false;
  std::size_t dead_letter_limit = 10000;  // 0..10,000,000
  std::size_t block_cache_mb = 64;        // 0..65536
  bool operator==(const StorageConfig&) const = default;
};

struct AuthConfig {
  std::uint32_t pbkdf2_iterations = 600'000;  // 1,000..10,000,000
  std::int64_t session_ttl_s = 12LL * 3600;   // 60..2,592,000 (30 days)
  std::uint32_t max_failed_logins = 5;        // 1..1000, then throttled
  // First start only: the initial password of user "admin" (NBMS_ADMIN_PASSWORD
  // in the environment wins; neither: a one-time password is logged).
  std::string admin_password_file;
  bool operator==(const AuthConfig&) const = default;
};

struct RealtimeConfig {
  int control_timeout_s = 10;  // 1..300: a control with no MW answer reports timeout
  bool operator==(const RealtimeConfig&) const = default;
};

// nbms's certificate authority (docs/provisioning.md): the CA that signs the
// middlewares' client certificates.
struct PkiConfig {
  // PEM files of the CA certificate (chain) and its key. Both set or both
  // empty; empty means <data_dir>/pki/ca.pem and <data_dir>/pki/ca.key
  // (ca_cert_path / ca_key_path resolve them).
  std::string ca_cert_file;
  std::string ca_key_file;
  // Create the CA at start when both files are missing (never replaces one).
  bool create_ca = true;
  std::int64_t ca_validity_days = 3650;   // 1..36500, for a CA nbmsd creates
  std::int64_t cert_validity_days = 730;  // 1..3650, of a thing's certificate
  std::int64_t crl_validity_days = 30;    // 1..365: nextUpdate of the CRL it writes
  bool operator==(const PkiConfig&) const = default;
};

// What goes into a middleware's bundle: the broker's TLS listener as the MWs
// dial it (the host must be in the broker's server certificate).
struct ProvisioningConfig {
  std::string broker_host = "localhost";  // IPv4, IPv6 (no brackets) or host name
  std::uint16_t broker_port = 8883;       // 1..65535
  bool operator==(const ProvisioningConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";  // trace debug info warn error critical off (spdlog names)
  bool operator==(const LogConfig&) const = default;
};

struct Config {
  HttpConfig http;
  MqttConfig mqtt;
  StorageConfig storage;
  AuthConfig auth;
  RealtimeConfig realtime;
  PkiConfig pki;
  ProvisioningConfig provisioning;
  LogConfig log;
  bool operator==(const Config&) const = default;
};

// The CA files in effect: pki.ca_cert_file / ca_key_file, or their defaults
// under storage.data_dir.
std::string ca_cert_path(const Config& c);
std::string ca_key_path(const Config& c);

// Parses the JSON text of a config file and validates the result. Every key is
// optional (defaults above); the top level and each section must be objects.
// Syntax errors say "line L, column C: ..."; duplicate keys are errors too.
Result<Config> parse(std::string_view json_text);

// Reads (at most 1 MiB) and parses a config file. Messages are prefixed with the
// path: "cannot read config file X: <strerror>", "X: mqtt.uri: ...".
Result<Config> load_file(const std::string& path);

// Command-line overrides. Each checks its value and changes `c` only on success.
// "HOST:PORT" with HOST an IPv4 address, a host name or [IPv6]; port 0..65535.
Result<void> apply_http_listen(Config& c, std::string_view host_port);
// "tcp://HOST:PORT" or "ssl://HOST:PORT", port 1..65535; no user info, no path.
Result<void> apply_mqtt_uri(Config& c, std::string_view uri);
// Any non-empty path.
Result<void> apply_data_dir(Config& c, std::string_view dir);

// Checks every field and the rules between fields (reconnect_min_ms <=
// reconnect_max_ms, a password needs a username). parse() already calls it;
// call it again after applying overrides.
Result<void> validate(const Config& c);

// Reads a secret file: contents with trailing CR/LF removed. An empty path means
// "no secret configured" and gives "". Unreadable, empty (after stripping) or
// larger than 64 KiB: an error.
Result<std::string> read_secret(const std::string& path);

// "HOST:PORT" as written in the file, brackets around IPv6 ("[::1]:8080").
std::string http_listen(const HttpConfig& h);

// The effective config as pretty JSON in the file's layout, so it can be read
// back by parse(). It holds the password file's path, never the password.
std::string to_json(const Config& c);

}  // namespace nbms::config
