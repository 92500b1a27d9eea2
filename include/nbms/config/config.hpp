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
  // WebSocket: a client from which nothing (no message, no pong) arrived for
  // this long is dropped; nbmsd pings it after half of it. 2..3600 seconds.
  int ws_idle_timeout_s = 60;
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
  // Per-thing limits (ingest::RouterOptions): messages/s on average (0: no
  // limit), messages at once, and bytes held back per thing before rejecting.
  std::size_t thing_rate = 200;                    // 0..1,000,000
  std::size_t thing_burst = 5000;                  // 1..10,000,000
  std::uint64_t thing_backlog_bytes = 256u << 20;  // 0..1 TiB
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

// Notifications of alarms and notices (docs/notifications.md). Each channel is
// on when configured: Web Push with a vapid_subject, e-mail with an smtp_host;
// webhooks always.
struct NotifyConfig {
  // The VAPID key (P-256, base64url private scalar). Empty: <data_dir>/notify/vapid.key,
  // created owner-only (0600) on first start; a file others can read is refused.
  std::string vapid_key_file;
  // mailto: or https: URL where push services can reach the operator (RFC 8292).
  // Empty: Web Push is off.
  std::string vapid_subject;
  // Base of the dashboard for links in e-mails, e.g. https://nbms.example.com
  // (http:// or https://, no trailing slash). Empty: links stay relative.
  std::string public_url;
  // Extra trusted CAs (PEM) for webhook, push and SMTP servers; the system
  // store is always trusted.
  std::string ca_file;
  // Allow webhook/push URLs that resolve to loopback or private addresses
  // (an internal webhook receiver). Off: users cannot probe nbmsd's network.
  bool allow_private_addresses = false;
  std::int64_t http_timeout_ms = 10000;  // 100..120000, one webhook or push request
  std::int64_t push_ttl_s = 86400;       // 0..2419200 (28 days): how long a push service keeps it
  int max_attempts = 10;                 // 1..100, then a delivery is failed
  std::int64_t initial_backoff_ms = 30000;  // 100..3600000, before the 2nd attempt; doubles
  std::int64_t max_backoff_ms = 3600000;    // 100..86400000, >= initial_backoff_ms
  // E-mail (SMTP submission). Empty host: e-mail is off.
  std::string smtp_host;
  std::uint16_t smtp_port = 587;   // 1..65535
  bool smtp_starttls = true;       // false only for a relay on localhost
  std::string smtp_username;       // empty: no AUTH
  std::string smtp_password_file;  // needs smtp_username
  std::string smtp_from;           // required with smtp_host: local@domain
  std::string smtp_from_name = "nbms";
  std::int64_t smtp_timeout_s = 30;  // 1..600, the whole session
  // At start, alarms raised within this many minutes that are still raised
  // are handed to the outbox again (a crash may have lost the in-memory
  // hand-off; ids already in the outbox are skipped). 0..10080; 0: off.
  int replay_window_minutes = 60;
  bool web_push() const { return !vapid_subject.empty(); }
  bool email() const { return !smtp_host.empty(); }
  bool operator==(const NotifyConfig&) const = default;
};

// Who runs the MQTT broker (docs/provisioning.md, "Broker modes"):
//   none     nbmsd only connects to mqtt.uri (a broker run and secured by
//            someone else; tests and benchmarks with a plain local broker)
//   managed  nbmsd writes the Mosquitto files into `dir`, starts Mosquitto as
//            its child, restarts it if it dies, reloads it on permission
//            changes, and connects to it over TLS with its own certificate
//            (mqtt.uri, username and password_file are then not used)
//   external a Mosquitto run by systemd uses the files nbmsd writes into `dir`;
//            nbmsd runs reload_command and/or sends SIGHUP to the pid in
//            pid_file after a permission change
struct BrokerConfig {
  std::string mode = "none";
  std::string dir;  // empty: <data_dir>/broker (broker_dir resolves it)
  // The TLS listener ("listen": "HOST:PORT"); managed only (external: the
  // generated mosquitto.conf uses it, the operator's broker decides).
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8883;
  std::uint16_t loopback_port = 0;            // plain MQTT on 127.0.0.1 for local tools; 0 = none
  std::string loopback_access = "read_only";  // read_only | full (anonymous local clients)
  std::string mosquitto_path = "/usr/sbin/mosquitto";  // absolute
  // Mosquitto's `user` line. Empty: "root" when nbmsd runs as root (Mosquitto
  // would otherwise switch to "mosquitto" and not read nbmsd's 0600 key), none
  // otherwise.
  std::string run_as_user;
  int restart_min_ms = 500;    // 10..600000: first restart delay after a crash
  int restart_max_ms = 30000;  // 10..3600000: doubling stops here
  std::string reload_command;  // external: run with /bin/sh -c after a change
  std::string pid_file;        // external: SIGHUP the pid written there after a change
  bool operator==(const BrokerConfig&) const = default;
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
  NotifyConfig notify;
  BrokerConfig broker;
  LogConfig log;
  bool operator==(const Config&) const = default;
};

// The CA files in effect: pki.ca_cert_file / ca_key_file, or their defaults
// under storage.data_dir.
std::string ca_cert_path(const Config& c);
std::string ca_key_path(const Config& c);
// The VAPID key file in effect: notify.vapid_key_file or <data_dir>/notify/vapid.key.
std::string vapid_key_path(const Config& c);
// broker.dir, or <data_dir>/broker.
std::string broker_dir(const Config& c);

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
// read_secret for a secret only nbmsd's user (and group) should see: also
// refused when the path is not a regular file or others may read or write it
// (the message names the mode and says to chmod 600). nbmsd --check-config and
// the start use it for notify.smtp_password_file.
Result<std::string> read_private_secret(const std::string& path);

// "HOST:PORT" as written in the file, brackets around IPv6 ("[::1]:8080").
std::string http_listen(const HttpConfig& h);

// The effective config as pretty JSON in the file's layout, so it can be read
// back by parse(). It holds the password file's path, never the password.
std::string to_json(const Config& c);

}  // namespace nbms::config
