#include "nbms/config/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nbms::config {
namespace {

// ordered_json keeps the file's key order, so the first bad key reported is the
// first one in the file, and to_json() writes sections in the documented order.
using Json = nlohmann::ordered_json;

struct Range {  // inclusive
  std::int64_t min;
  std::int64_t max;
};

constexpr Range kThreads{1, 64};
constexpr Range kBodyLimitBytes{1024, std::int64_t{256} << 20};
// Beast pings after half of it: 1 s apart at least.
constexpr Range kWsIdleTimeoutS{2, 3600};
constexpr Range kKeepaliveS{1, 3600};
constexpr Range kConnectTimeoutS{1, 300};
constexpr Range kReconnectMinMs{10, 600'000};
constexpr Range kReconnectMaxMs{10, 3'600'000};
constexpr Range kQueueCapacity{1, 65536};
constexpr Range kMaxMessageBytes{1024, std::int64_t{256} << 20};
constexpr Range kThingRate{0, 1'000'000};
constexpr Range kThingBurst{1, 10'000'000};
constexpr Range kThingBacklogBytes{0, std::int64_t{1} << 40};
constexpr Range kDeadLetterLimit{0, 10'000'000};
constexpr Range kBlockCacheMb{0, 65536};
constexpr Range kPbkdf2Iterations{1'000, 10'000'000};
constexpr Range kSessionTtlS{60, 30LL * 24 * 3600};
constexpr Range kMaxFailedLogins{1, 1000};
constexpr Range kControlTimeoutS{1, 300};
constexpr Range kCaValidityDays{1, 36500};
constexpr Range kCertValidityDays{1, 3650};
constexpr Range kCrlValidityDays{1, 365};
constexpr Range kBrokerPort{1, 65535};
constexpr Range kHttpTimeoutMs{100, 120'000};
constexpr Range kPushTtlS{0, 28LL * 24 * 3600};
constexpr Range kMaxAttempts{1, 100};
constexpr Range kInitialBackoffMs{100, 3'600'000};
constexpr Range kMaxBackoffMs{100, 86'400'000};
constexpr Range kSmtpPort{1, 65535};
constexpr Range kSmtpTimeoutS{1, 600};
constexpr Range kReplayWindowMinutes{0, 10'080};  // a week
constexpr Range kLoopbackPort{0, 65535};
constexpr Range kRestartMinMs{10, 600'000};
constexpr Range kRestartMaxMs{10, 3'600'000};
constexpr std::array<std::string_view, 3> kBrokerModes{"none", "managed", "external"};
constexpr std::array<std::string_view, 2> kLoopbackAccess{"read_only", "full"};

constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxSecretBytes = std::size_t{64} << 10;
constexpr std::size_t kMaxClientIdChars = 23;  // what MQTT 3.1.1 servers must accept
constexpr std::size_t kMaxUsernameBytes = 65535;

constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

std::unexpected<Error> invalid(std::string_view path, std::string_view what) {
  std::string msg(path);
  msg += ": ";
  msg += what;
  return fail(Errc::invalid_argument, std::move(msg));
}

// A value quoted for a message. Bytes outside printable ASCII become \xNN and long
// values are cut, so a broken file cannot garble a terminal or a log line.
std::string quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 120;
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      std::array<char, 5> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02X", static_cast<unsigned>(ch));
      out += buf.data();
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

// What a JSON value is, for "got ..." in messages.
std::string describe(const Json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  std::string text = j.dump(-1, ' ', true, Json::error_handler_t::replace);
  constexpr std::size_t kMaxShown = 60;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f;
  });
}

std::string range_text(Range r) {
  return "must be an integer " + std::to_string(r.min) + ".." + std::to_string(r.max);
}

template <class T>
Result<void> check_range(std::string_view path, T value, Range r) {
  if (std::cmp_less(value, r.min) || std::cmp_greater(value, r.max)) {
    return invalid(path, range_text(r) + ", got " + std::to_string(value));
  }
  return {};
}

// ---- host names, addresses, ports -------------------------------------------------

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// The reason a host (without brackets) is not usable, or nullopt. A host with a
// ':' is an IPv6 address (optionally with a %zone); one whose last label is all
// digits must be a dotted-quad IPv4 address; anything else is a DNS name
// (RFC 1123 labels; '_' tolerated because container runtimes use it in names).
std::optional<std::string> host_problem(std::string_view host) {
  if (host.empty()) return "host is empty";
  if (host.find(':') != std::string_view::npos) {
    const auto pct = host.find('%');
    const std::string addr(host.substr(0, pct));
    in6_addr a6{};
    if (::inet_pton(AF_INET6, addr.c_str(), &a6) != 1) return "invalid IPv6 address";
    if (pct != std::string_view::npos) {
      const std::string_view zone = host.substr(pct + 1);
      const bool zone_ok = !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
      });
      if (!zone_ok) return "invalid IPv6 zone";
    }
    return std::nullopt;
  }
  const auto last_dot = host.rfind('.');
  const std::string_view last_label =
      last_dot == std::string_view::npos ? host : host.substr(last_dot + 1);
  if (is_digits(last_label)) {
    const std::string addr(host);
    in_addr a4{};
    if (::inet_pton(AF_INET, addr.c_str(), &a4) != 1) return "invalid IPv4 address";
    return std::nullopt;
  }
  if (host.size() > 253) return "host name longer than 253 characters";
  std::size_t start = 0;
  while (true) {
    const auto dot = host.find('.', start);
    const std::string_view label =
        host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    const bool chars_ok = std::all_of(label.begin(), label.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    });
    if (label.empty() || label.size() > 63 || !chars_ok || label.front() == '-' ||
        label.back() == '-') {
      return "invalid host name";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};

// Splits "HOST:PORT" or "[IPv6]:PORT". On failure: the reason, without the setting's name.
std::expected<HostPort, std::string> split_host_port(std::string_view s, std::uint32_t min_port) {
  if (s.empty()) return std::unexpected<std::string>("must be HOST:PORT");
  std::string_view host;
  std::string_view port_text;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      return std::unexpected<std::string>("missing ']' after the IPv6 address");
    }
    host = s.substr(1, close - 1);
    const std::string_view rest = s.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return std::unexpected<std::string>("missing ':PORT' after ']'");
    }
    if (host.find(':') == std::string_view::npos) {
      return std::unexpected<std::string>("brackets are only for IPv6 addresses");
    }
    port_text = rest.substr(1);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::unexpected<std::string>("missing ':PORT'");
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return std::unexpected<std::string>("an IPv6 address needs brackets, e.g. [::1]:8080");
    }
    port_text = s.substr(colon + 1);
  }
  if (auto problem = host_problem(host)) return std::unexpected<std::string>(std::move(*problem));

  const std::string port_reason = "port must be " + std::to_string(min_port) + "..65535";
  std::uint32_t port = 0;
  // At most 5 digits: no sign, no spaces, no overflow.
  if (!is_digits(port_text) || port_text.size() > 5) {
    return std::unexpected<std::string>(port_text.empty() ? "missing port" : port_reason);
  }
  std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port < min_port || port > 65535) return std::unexpected<std::string>(port_reason);
  return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

constexpr std::string_view kListenPath = "http.listen";
constexpr std::string_view kUriPath = "mqtt.uri";

Result<HostPort> parse_listen(std::string_view value) {
  auto hp = split_host_port(value, 0);
  if (!hp) return invalid(kListenPath, hp.error() + ", got " + quote(value));
  return std::move(*hp);
}

// Only what Paho connects to without extra settings. Credentials in the URI are
// refused (not echoed back either): they would end up in logs and to_json().
Result<void> check_mqtt_uri(std::string_view uri) {
  std::string_view rest;
  if (uri.starts_with("tcp://") || uri.starts_with("ssl://")) {
    rest = uri.substr(6);
  } else if (uri.find("://") != std::string_view::npos) {
    return invalid(kUriPath, "scheme must be tcp:// or ssl://, got " + quote(uri));
  } else {
    return invalid(kUriPath, "expected tcp://HOST:PORT or ssl://HOST:PORT, got " + quote(uri));
  }
  if (rest.find('@') != std::string_view::npos) {
    return invalid(kUriPath,
                   "user info is not allowed in the URI (use mqtt.username and "
                   "mqtt.password_file)");
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return invalid(kUriPath, "a path or query is not allowed, got " + quote(uri));
  }
  auto hp = split_host_port(rest, 1);
  if (!hp) return invalid(kUriPath, hp.error() + ", got " + quote(uri));
  return {};
}

// ---- reading JSON values -----------------------------------------------------------

template <class T>
Result<void> read_int(const Json& j, const std::string& path, Range r, T& out) {
  std::int64_t value = 0;
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return invalid(path, range_text(r) + ", got " + describe(j));
    }
    value = static_cast<std::int64_t>(u);
  } else if (j.is_number_integer()) {
    value = j.get<std::int64_t>();
  } else {
    return invalid(path, range_text(r) + ", got " + describe(j));
  }
  if (auto ok = check_range(path, value, r); !ok) return ok;
  out = static_cast<T>(value);
  return {};
}

Result<void> read_bool(const Json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return invalid(path, "must be true or false, got " + describe(j));
  out = j.get<bool>();
  return {};
}

Result<void> read_string(const Json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return invalid(path, "must be a string, got " + describe(j));
  out = j.get<std::string>();
  return {};
}

using Reader = Result<void> (*)(const Json&, const std::string&, Config&);

struct Field {
  std::string_view name;
  Reader read;
};

struct Section {
  std::string_view name;
  std::span<const Field> fields;
};

// Readers for one member of one section, e.g. int_field<&Config::mqtt, &MqttConfig::keepalive_s,
// R>.
template <auto kSection, auto kMember, Range kRange>
Result<void> int_field(const Json& j, const std::string& path, Config& c) {
  return read_int(j, path, kRange, (c.*kSection).*kMember);
}
template <auto kSection, auto kMember>
Result<void> string_field(const Json& j, const std::string& path, Config& c) {
  return read_string(j, path, (c.*kSection).*kMember);
}
template <auto kSection, auto kMember>
Result<void> bool_field(const Json& j, const std::string& path, Config& c) {
  return read_bool(j, path, (c.*kSection).*kMember);
}

// "listen": "HOST:PORT" fills two members.
Result<void> listen_field(const Json& j, const std::string& path, Config& c) {
  std::string text;
  if (auto ok = read_string(j, path, text); !ok) return ok;
  auto hp = parse_listen(text);
  if (!hp) return std::unexpected(hp.error());
  c.http.host = std::move(hp->host);
  c.http.port = hp->port;
  return {};
}

// "redirect_listen": "HOST:PORT" fills two members.
Result<void> redirect_listen_field(const Json& j, const std::string& path, Config& c) {
  std::string text;
  if (auto ok = read_string(j, path, text); !ok) return ok;
  if (text.empty()) {
    c.http.redirect_host.clear();
    c.http.redirect_port = 0;
    return {};
  }
  auto hp = split_host_port(text, 1);
  if (!hp) return invalid(path, hp.error() + ", got " + quote(text));
  c.http.redirect_host = std::move(hp->host);
  c.http.redirect_port = hp->port;
  return {};
}

using H = HttpConfig;
using A = AuthConfig;
using R = RealtimeConfig;
constexpr auto kAuth = &Config::auth;
constexpr auto kRealtime = &Config::realtime;
using M = MqttConfig;
using S = StorageConfig;
using L = LogConfig;
using P = PkiConfig;
using V = ProvisioningConfig;
using B = BrokerConfig;
constexpr auto kBroker = &Config::broker;
constexpr auto kPki = &Config::pki;
using N = NotifyConfig;
constexpr auto kNotify = &Config::notify;
constexpr auto kProvisioning = &Config::provisioning;
constexpr auto kHttp = &Config::http;
constexpr auto kMqtt = &Config::mqtt;
constexpr auto kStorage = &Config::storage;
constexpr auto kLog = &Config::log;

// In the documented order; to_json() writes the same order.
constexpr std::array kHttpFields{
    Field{"listen", listen_field},
    Field{"threads", int_field<kHttp, &H::threads, kThreads>},
    Field{"body_limit_bytes", int_field<kHttp, &H::body_limit_bytes, kBodyLimitBytes>},
    Field{"web_root", string_field<kHttp, &H::web_root>},
    Field{"tls_cert_file", string_field<kHttp, &H::tls_cert_file>},
    Field{"tls_key_file", string_field<kHttp, &H::tls_key_file>},
    Field{"redirect_listen", redirect_listen_field},
    Field{"ws_idle_timeout_s", int_field<kHttp, &H::ws_idle_timeout_s, kWsIdleTimeoutS>},
};
constexpr std::array kMqttFields{
    Field{"uri", string_field<kMqtt, &M::uri>},
    Field{"client_id", string_field<kMqtt, &M::client_id>},
    Field{"username", string_field<kMqtt, &M::username>},
    Field{"password_file", string_field<kMqtt, &M::password_file>},
    Field{"keepalive_s", int_field<kMqtt, &M::keepalive_s, kKeepaliveS>},
    Field{"connect_timeout_s", int_field<kMqtt, &M::connect_timeout_s, kConnectTimeoutS>},
    Field{"reconnect_min_ms", int_field<kMqtt, &M::reconnect_min_ms, kReconnectMinMs>},
    Field{"reconnect_max_ms", int_field<kMqtt, &M::reconnect_max_ms, kReconnectMaxMs>},
    Field{"queue_capacity", int_field<kMqtt, &M::queue_capacity, kQueueCapacity>},
    Field{"max_message_bytes", int_field<kMqtt, &M::max_message_bytes, kMaxMessageBytes>},
    Field{"thing_rate", int_field<kMqtt, &M::thing_rate, kThingRate>},
    Field{"thing_burst", int_field<kMqtt, &M::thing_burst, kThingBurst>},
    Field{"thing_backlog_bytes", int_field<kMqtt, &M::thing_backlog_bytes, kThingBacklogBytes>},
};
constexpr std::array kStorageFields{
    Field{"data_dir", string_field<kStorage, &S::data_dir>},
    Field{"sync_writes", bool_field<kStorage, &S::sync_writes>},
    Field{"dead_letter_limit", int_field<kStorage, &S::dead_letter_limit, kDeadLetterLimit>},
    Field{"block_cache_mb", int_field<kStorage, &S::block_cache_mb, kBlockCacheMb>},
};
constexpr std::array kAuthFields{
    Field{"pbkdf2_iterations", int_field<kAuth, &A::pbkdf2_iterations, kPbkdf2Iterations>},
    Field{"session_ttl_s", int_field<kAuth, &A::session_ttl_s, kSessionTtlS>},
    Field{"max_failed_logins", int_field<kAuth, &A::max_failed_logins, kMaxFailedLogins>},
    Field{"admin_password_file", string_field<kAuth, &A::admin_password_file>},
};
constexpr std::array kRealtimeFields{
    Field{"control_timeout_s", int_field<kRealtime, &R::control_timeout_s, kControlTimeoutS>},
};
constexpr std::array kPkiFields{
    Field{"ca_cert_file", string_field<kPki, &P::ca_cert_file>},
    Field{"ca_key_file", string_field<kPki, &P::ca_key_file>},
    Field{"create_ca", bool_field<kPki, &P::create_ca>},
    Field{"ca_validity_days", int_field<kPki, &P::ca_validity_days, kCaValidityDays>},
    Field{"cert_validity_days", int_field<kPki, &P::cert_validity_days, kCertValidityDays>},
    Field{"crl_validity_days", int_field<kPki, &P::crl_validity_days, kCrlValidityDays>},
};
constexpr std::array kProvisioningFields{
    Field{"broker_host", string_field<kProvisioning, &V::broker_host>},
    Field{"broker_port", int_field<kProvisioning, &V::broker_port, kBrokerPort>},
};
constexpr std::array kNotifyFields{
    Field{"vapid_key_file", string_field<kNotify, &N::vapid_key_file>},
    Field{"vapid_subject", string_field<kNotify, &N::vapid_subject>},
    Field{"public_url", string_field<kNotify, &N::public_url>},
    Field{"ca_file", string_field<kNotify, &N::ca_file>},
    Field{"allow_private_addresses", bool_field<kNotify, &N::allow_private_addresses>},
    Field{"http_timeout_ms", int_field<kNotify, &N::http_timeout_ms, kHttpTimeoutMs>},
    Field{"push_ttl_s", int_field<kNotify, &N::push_ttl_s, kPushTtlS>},
    Field{"max_attempts", int_field<kNotify, &N::max_attempts, kMaxAttempts>},
    Field{"initial_backoff_ms", int_field<kNotify, &N::initial_backoff_ms, kInitialBackoffMs>},
    Field{"max_backoff_ms", int_field<kNotify, &N::max_backoff_ms, kMaxBackoffMs>},
    Field{"smtp_host", string_field<kNotify, &N::smtp_host>},
    Field{"smtp_port", int_field<kNotify, &N::smtp_port, kSmtpPort>},
    Field{"smtp_starttls", bool_field<kNotify, &N::smtp_starttls>},
    Field{"smtp_username", string_field<kNotify, &N::smtp_username>},
    Field{"smtp_password_file", string_field<kNotify, &N::smtp_password_file>},
    Field{"smtp_from", string_field<kNotify, &N::smtp_from>},
    Field{"smtp_from_name", string_field<kNotify, &N::smtp_from_name>},
    Field{"smtp_timeout_s", int_field<kNotify, &N::smtp_timeout_s, kSmtpTimeoutS>},
    Field{"replay_window_minutes",
          int_field<kNotify, &N::replay_window_minutes, kReplayWindowMinutes>},
};
// broker "listen": "HOST:PORT" fills two members.
Result<void> broker_listen_field(const Json& j, const std::string& path, Config& c) {
  std::string text;
  if (auto ok = read_string(j, path, text); !ok) return ok;
  auto hp = split_host_port(text, 1);
  if (!hp) return invalid(path, hp.error() + ", got " + quote(text));
  c.broker.listen_host = std::move(hp->host);
  c.broker.listen_port = hp->port;
  return {};
}
constexpr std::array kBrokerFields{
    Field{"mode", string_field<kBroker, &B::mode>},
    Field{"dir", string_field<kBroker, &B::dir>},
    Field{"listen", broker_listen_field},
    Field{"loopback_port", int_field<kBroker, &B::loopback_port, kLoopbackPort>},
    Field{"loopback_access", string_field<kBroker, &B::loopback_access>},
    Field{"mosquitto_path", string_field<kBroker, &B::mosquitto_path>},
    Field{"run_as_user", string_field<kBroker, &B::run_as_user>},
    Field{"restart_min_ms", int_field<kBroker, &B::restart_min_ms, kRestartMinMs>},
    Field{"restart_max_ms", int_field<kBroker, &B::restart_max_ms, kRestartMaxMs>},
    Field{"reload_command", string_field<kBroker, &B::reload_command>},
    Field{"pid_file", string_field<kBroker, &B::pid_file>},
};
constexpr std::array kLogFields{
    Field{"level", string_field<kLog, &L::level>},
};

constexpr std::array kSections{
    Section{"http", kHttpFields},
    Section{"mqtt", kMqttFields},
    Section{"storage", kStorageFields},
    Section{"auth", kAuthFields},
    Section{"realtime", kRealtimeFields},
    Section{"pki", kPkiFields},
    Section{"provisioning", kProvisioningFields},
    Section{"notify", kNotifyFields},
    Section{"broker", kBrokerFields},
    Section{"log", kLogFields},
};

// Levenshtein distance, ignoring ASCII case ("DataDir" is 1 from "data_dir").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  };
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown key 'mqtt.keepalve_s' (did you mean 'mqtt.keepalive_s'?)"
std::unexpected<Error> unknown_key(std::string_view prefix, std::string_view key,
                                   std::span<const std::string_view> known) {
  const std::string path =
      prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
  std::string msg = "unknown key " + quote(path);
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close misspellings
  for (std::string_view name : known) {
    const std::size_t d = edit_distance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  // Names people guess from other programs.
  if (best.empty() && prefix == "http" && (key == "host" || key == "port" || key == "address")) {
    best = "listen";
  }
  if (best.empty() && prefix == "mqtt" && key == "password") best = "password_file";
  if (!best.empty()) {
    msg +=
        " (did you mean " +
        quote(prefix.empty() ? std::string(best) : std::string(prefix) + "." + std::string(best)) +
        "?)";
  }
  return fail(Errc::invalid_argument, std::move(msg));
}

Result<void> read_section(const Section& section, const Json& j, Config& c) {
  if (!j.is_object()) return invalid(section.name, "must be an object, got " + describe(j));
  for (const auto& [key, value] : j.items()) {
    const auto field = std::find_if(section.fields.begin(), section.fields.end(),
                                    [&](const Field& f) { return f.name == key; });
    if (field == section.fields.end()) {
      std::vector<std::string_view> names;
      for (const Field& f : section.fields) names.push_back(f.name);
      return unknown_key(section.name, key, names);
    }
    if (auto ok = field->read(value, std::string(section.name) + "." + key, c); !ok) return ok;
  }
  return {};
}

// nlohmann keeps the last of duplicate keys silently; in a config file that hides
// an edit, so the parser callback records the first duplicate's path.
class DuplicateKeys {
 public:
  bool on_event(Json::parse_event_t event, const Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        levels_.push_back(Level{true, {}, {}});
        break;
      case Json::parse_event_t::array_start:
        levels_.push_back(Level{false, {}, {}});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!levels_.empty()) levels_.pop_back();
        break;
      case Json::parse_event_t::key: {
        if (levels_.empty() || !parsed.is_string()) break;
        Level& top = levels_.back();
        top.last_key = parsed.get<std::string>();
        if (!top.keys.insert(top.last_key).second && !first_) {
          std::string path;
          for (const Level& level : levels_) {
            if (!level.is_object) continue;
            if (!path.empty()) path += '.';
            path += level.last_key;
          }
          first_ = std::move(path);
        }
        break;
      }
      case Json::parse_event_t::value:
        break;
    }
    return true;
  }
  const std::optional<std::string>& first() const { return first_; }

 private:
  struct Level {
    bool is_object;
    std::set<std::string> keys;
    std::string last_key;
  };
  std::vector<Level> levels_;
  std::optional<std::string> first_;
};

// nlohmann reports the byte offset of the last character it read (1-based, the
// end of input counts as one): turn it into a line and column for people.
std::string position_text(std::string_view text, std::size_t byte) {
  const std::size_t before = std::min(byte == 0 ? 0 : byte - 1, text.size());
  const std::string_view head = text.substr(0, before);
  const auto line = 1 + static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
  const auto last_nl = head.rfind('\n');
  const std::size_t column = last_nl == std::string_view::npos ? before + 1 : before - last_nl;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
// -> "syntax error ..." (the position is reported by position_text()).
std::string parse_error_reason(std::string_view what) {
  const auto at = what.find("parse error");
  if (at != std::string_view::npos) {
    const auto colon = what.find(": ", at);
    if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
  }
  return std::string(what);
}

// ---- files --------------------------------------------------------------------

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// Reads a whole small file; `what` names it in messages ("config file").
Result<std::string> read_small_file(const std::string& path, std::size_t limit,
                                    std::string_view what) {
  const std::string prefix = "cannot read " + std::string(what) + " " + path + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, prefix + errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  std::string data;
  std::array<char, 8192> buf{};
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, prefix + errno_text(errno));
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
    if (data.size() > limit) {
      return fail(Errc::too_large, std::string(what) + " " + path + " is larger than " +
                                       std::to_string(limit) + " bytes");
    }
  }
  return data;
}

}  // namespace

Result<Config> parse(std::string_view json_text) {
  DuplicateKeys duplicates;
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end(),
                       [&duplicates](int /*depth*/, Json::parse_event_t event, Json& parsed) {
                         return duplicates.on_event(event, parsed);
                       });
  } catch (const Json::parse_error& e) {
    return fail(Errc::invalid_argument,
                position_text(json_text, e.byte) + ": " + parse_error_reason(e.what()));
  } catch (const Json::exception& e) {
    return fail(Errc::invalid_argument, parse_error_reason(e.what()));
  }
  if (const auto& dup = duplicates.first()) {
    return fail(Errc::invalid_argument, "duplicate key " + quote(*dup));
  }
  if (!root.is_object()) {
    return fail(Errc::invalid_argument,
                "the top level must be a JSON object, got " + describe(root));
  }

  Config c;
  for (const auto& [key, value] : root.items()) {
    const auto section = std::find_if(kSections.begin(), kSections.end(),
                                      [&](const Section& s) { return s.name == key; });
    if (section == kSections.end()) {
      std::array<std::string_view, kSections.size()> names{};
      std::transform(kSections.begin(), kSections.end(), names.begin(),
                     [](const Section& s) { return s.name; });
      return unknown_key("", key, names);
    }
    if (auto ok = read_section(*section, value, c); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = validate(c); !ok) return std::unexpected(ok.error());
  return c;
}

Result<Config> load_file(const std::string& path) {
  auto text = read_small_file(path, kMaxConfigBytes, "config file");
  if (!text) return std::unexpected(text.error());
  auto config = parse(*text);
  if (!config) {
    return fail(config.error().code, path + ": " + config.error().message);
  }
  return config;
}

Result<void> apply_http_listen(Config& c, std::string_view host_port) {
  auto hp = parse_listen(host_port);
  if (!hp) return std::unexpected(hp.error());
  c.http.host = std::move(hp->host);
  c.http.port = hp->port;
  return {};
}

Result<void> apply_mqtt_uri(Config& c, std::string_view uri) {
  if (auto ok = check_mqtt_uri(uri); !ok) return ok;
  c.mqtt.uri = std::string(uri);
  return {};
}

Result<void> apply_data_dir(Config& c, std::string_view dir) {
  if (dir.empty()) return invalid("storage.data_dir", "must not be empty");
  c.storage.data_dir = std::string(dir);
  return {};
}

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// local@domain, printable ASCII without spaces, angle brackets or quotes (it
// goes into the SMTP envelope as is).
bool plausible_address(std::string_view a) {
  const auto at = a.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= a.size()) return false;
  if (a.find('@', at + 1) != std::string_view::npos || a.size() > 254) return false;
  return std::all_of(a.begin(), a.end(), [](char ch) {
    return ch > ' ' && ch < 0x7f && ch != '<' && ch != '>' && ch != '"' && ch != ',';
  });
}

Result<void> validate_notify(const NotifyConfig& n) {
  if (!n.vapid_subject.empty()) {
    // Lower-case schemes, as notify::Vapid and push services expect them.
    const bool mailto = n.vapid_subject.starts_with("mailto:") && n.vapid_subject.size() > 7;
    const bool https = n.vapid_subject.starts_with("https://") && n.vapid_subject.size() > 8;
    if ((!mailto && !https) || n.vapid_subject.find(' ') != std::string::npos) {
      return invalid("notify.vapid_subject",
                     "must be a mailto: or https: URL where push services can reach the "
                     "operator (RFC 8292), got " +
                         quote(n.vapid_subject));
    }
  }
  if (!n.public_url.empty()) {
    const bool scheme =
        starts_with_ci(n.public_url, "https://") || starts_with_ci(n.public_url, "http://");
    const auto rest = n.public_url.substr(n.public_url.find("//") + 2);
    if (!scheme || rest.empty() || n.public_url.back() == '/' ||
        n.public_url.find_first_of(" ?#") != std::string::npos) {
      return invalid("notify.public_url",
                     "must be http(s)://host[:port][/path] without a trailing slash, got " +
                         quote(n.public_url));
    }
  }
  if (n.initial_backoff_ms > n.max_backoff_ms) {
    return invalid("notify.initial_backoff_ms", "must be <= notify.max_backoff_ms, got " +
                                                    std::to_string(n.initial_backoff_ms) + " > " +
                                                    std::to_string(n.max_backoff_ms));
  }
  if (n.smtp_host.empty()) {
    // Settings of a channel that is off are a mistake, not a default.
    if (!n.smtp_from.empty() || !n.smtp_username.empty() || !n.smtp_password_file.empty()) {
      return invalid("notify.smtp_host",
                     "is needed for e-mail (notify.smtp_from, smtp_username or "
                     "smtp_password_file is set)");
    }
    return {};
  }
  if (auto problem = host_problem(n.smtp_host)) {
    return invalid("notify.smtp_host", *problem + ", got " + quote(n.smtp_host));
  }
  if (n.smtp_from.empty()) {
    return invalid("notify.smtp_from", "is required with notify.smtp_host (the sender address)");
  }
  if (!plausible_address(n.smtp_from)) {
    return invalid("notify.smtp_from",
                   "must be an address local@domain, got " + quote(n.smtp_from));
  }
  if (!n.smtp_password_file.empty() && n.smtp_username.empty()) {
    return invalid("notify.smtp_password_file",
                   "needs notify.smtp_username (a password is sent only with a user name)");
  }
  if (!n.smtp_username.empty() && n.smtp_password_file.empty()) {
    return invalid("notify.smtp_username",
                   "needs notify.smtp_password_file (the password is read from that file)");
  }
  return {};
}

Result<void> validate_broker(const BrokerConfig& b) {
  if (std::find(kBrokerModes.begin(), kBrokerModes.end(), b.mode) == kBrokerModes.end()) {
    return invalid("broker.mode", "must be one of none, managed, external, got " + quote(b.mode));
  }
  if (std::find(kLoopbackAccess.begin(), kLoopbackAccess.end(), b.loopback_access) ==
      kLoopbackAccess.end()) {
    return invalid("broker.loopback_access",
                   "must be read_only or full, got " + quote(b.loopback_access));
  }
  if (auto problem = host_problem(b.listen_host)) {
    return invalid("broker.listen", *problem + ", got " + quote(b.listen_host));
  }
  if (b.loopback_port != 0 && b.loopback_port == b.listen_port) {
    return invalid("broker.loopback_port", "must differ from the port of broker.listen");
  }
  // Mosquitto's config parser splits on whitespace: a path with a space would
  // cut the directive.
  for (const auto& [path, value] :
       {std::pair<std::string_view, const std::string*>{"broker.mosquitto_path", &b.mosquitto_path},
        {"broker.dir", &b.dir}}) {
    if (value->empty()) continue;
    if (value->find_first_of(" \t") != std::string::npos) {
      return invalid(path, "must not contain spaces, got " + quote(*value));
    }
  }
  if (b.mosquitto_path.empty() || b.mosquitto_path.front() != '/') {
    return invalid("broker.mosquitto_path",
                   "must be an absolute path (no PATH search), got " + quote(b.mosquitto_path));
  }
  if (b.restart_min_ms > b.restart_max_ms) {
    return invalid("broker.restart_min_ms", "must be <= broker.restart_max_ms");
  }
  if (b.mode != "external" && (!b.reload_command.empty() || !b.pid_file.empty())) {
    return invalid(b.reload_command.empty() ? "broker.pid_file" : "broker.reload_command",
                   "only used with broker.mode external");
  }
  return {};
}

}  // namespace

Result<void> validate(const Config& c) {
  // Free-text values: control characters are never intended and would garble logs.
  const std::array<std::pair<std::string_view, const std::string*>, 24> texts{{
      {"broker.dir", &c.broker.dir},
      {"broker.mosquitto_path", &c.broker.mosquitto_path},
      {"broker.run_as_user", &c.broker.run_as_user},
      {"broker.reload_command", &c.broker.reload_command},
      {"broker.pid_file", &c.broker.pid_file},
      {"pki.ca_cert_file", &c.pki.ca_cert_file},
      {"pki.ca_key_file", &c.pki.ca_key_file},
      {"http.web_root", &c.http.web_root},
      {"http.tls_cert_file", &c.http.tls_cert_file},
      {"http.tls_key_file", &c.http.tls_key_file},
      {"auth.admin_password_file", &c.auth.admin_password_file},
      {"mqtt.username", &c.mqtt.username},
      {"mqtt.password_file", &c.mqtt.password_file},
      {"storage.data_dir", &c.storage.data_dir},
      {"log.level", &c.log.level},
      {"notify.vapid_key_file", &c.notify.vapid_key_file},
      {"notify.vapid_subject", &c.notify.vapid_subject},
      {"notify.public_url", &c.notify.public_url},
      {"notify.ca_file", &c.notify.ca_file},
      {"notify.smtp_host", &c.notify.smtp_host},
      {"notify.smtp_username", &c.notify.smtp_username},
      {"notify.smtp_password_file", &c.notify.smtp_password_file},
      {"notify.smtp_from", &c.notify.smtp_from},
      {"notify.smtp_from_name", &c.notify.smtp_from_name},
  }};
  for (const auto& [path, text] : texts) {
    if (has_control_chars(*text)) return invalid(path, "must not contain control characters");
  }

  // parse() checked these while reading; again here for values set in code.
  for (const Result<void>& ok : {
           check_range("http.threads", c.http.threads, kThreads),
           check_range("http.body_limit_bytes", c.http.body_limit_bytes, kBodyLimitBytes),
           check_range("http.ws_idle_timeout_s", c.http.ws_idle_timeout_s, kWsIdleTimeoutS),
           check_range("mqtt.keepalive_s", c.mqtt.keepalive_s, kKeepaliveS),
           check_range("mqtt.connect_timeout_s", c.mqtt.connect_timeout_s, kConnectTimeoutS),
           check_range("mqtt.reconnect_min_ms", c.mqtt.reconnect_min_ms, kReconnectMinMs),
           check_range("mqtt.reconnect_max_ms", c.mqtt.reconnect_max_ms, kReconnectMaxMs),
           check_range("mqtt.queue_capacity", c.mqtt.queue_capacity, kQueueCapacity),
           check_range("mqtt.max_message_bytes", c.mqtt.max_message_bytes, kMaxMessageBytes),
           check_range("mqtt.thing_rate", c.mqtt.thing_rate, kThingRate),
           check_range("mqtt.thing_burst", c.mqtt.thing_burst, kThingBurst),
           check_range("mqtt.thing_backlog_bytes", c.mqtt.thing_backlog_bytes, kThingBacklogBytes),
           check_range("storage.dead_letter_limit", c.storage.dead_letter_limit, kDeadLetterLimit),
           check_range("storage.block_cache_mb", c.storage.block_cache_mb, kBlockCacheMb),
           check_range("auth.pbkdf2_iterations", c.auth.pbkdf2_iterations, kPbkdf2Iterations),
           check_range("auth.session_ttl_s", c.auth.session_ttl_s, kSessionTtlS),
           check_range("auth.max_failed_logins", c.auth.max_failed_logins, kMaxFailedLogins),
           check_range("realtime.control_timeout_s", c.realtime.control_timeout_s,
                       kControlTimeoutS),
           check_range("pki.ca_validity_days", c.pki.ca_validity_days, kCaValidityDays),
           check_range("pki.cert_validity_days", c.pki.cert_validity_days, kCertValidityDays),
           check_range("pki.crl_validity_days", c.pki.crl_validity_days, kCrlValidityDays),
           check_range("provisioning.broker_port", c.provisioning.broker_port, kBrokerPort),
           check_range("notify.http_timeout_ms", c.notify.http_timeout_ms, kHttpTimeoutMs),
           check_range("notify.push_ttl_s", c.notify.push_ttl_s, kPushTtlS),
           check_range("notify.max_attempts", c.notify.max_attempts, kMaxAttempts),
           check_range("notify.initial_backoff_ms", c.notify.initial_backoff_ms, kInitialBackoffMs),
           check_range("notify.max_backoff_ms", c.notify.max_backoff_ms, kMaxBackoffMs),
           check_range("notify.smtp_port", c.notify.smtp_port, kSmtpPort),
           check_range("notify.smtp_timeout_s", c.notify.smtp_timeout_s, kSmtpTimeoutS),
           check_range("notify.replay_window_minutes", c.notify.replay_window_minutes,
                       kReplayWindowMinutes),
           check_range("broker.restart_min_ms", c.broker.restart_min_ms, kRestartMinMs),
           check_range("broker.restart_max_ms", c.broker.restart_max_ms, kRestartMaxMs),
       }) {
    if (!ok) return ok;
  }

  if (auto problem = host_problem(c.http.host)) {
    return invalid(kListenPath, *problem + ", got " + quote(c.http.host));
  }

  if (c.http.tls_cert_file.empty() != c.http.tls_key_file.empty()) {
    return invalid(c.http.tls_cert_file.empty() ? "http.tls_cert_file" : "http.tls_key_file",
                   "HTTPS needs both http.tls_cert_file and http.tls_key_file");
  }
  if (c.http.redirect_port != 0) {
    if (!c.http.tls()) {
      return invalid("http.redirect_listen", "needs HTTPS (http.tls_cert_file and tls_key_file)");
    }
    if (auto problem = host_problem(c.http.redirect_host)) {
      return invalid("http.redirect_listen", *problem + ", got " + quote(c.http.redirect_host));
    }
  }

  if (auto ok = check_mqtt_uri(c.mqtt.uri); !ok) return ok;
  const std::string& id = c.mqtt.client_id;
  const bool id_ok =
      !id.empty() && id.size() <= kMaxClientIdChars &&
      std::all_of(id.begin(), id.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      });
  if (!id_ok) {
    return invalid("mqtt.client_id",
                   "must be 1..23 characters of A-Z a-z 0-9 _ -, got " + quote(id));
  }
  if (c.mqtt.username.size() > kMaxUsernameBytes) {
    return invalid("mqtt.username", "must be at most 65535 bytes");
  }
  if (!c.mqtt.password_file.empty() && c.mqtt.username.empty()) {
    return invalid("mqtt.password_file",
                   "needs mqtt.username (MQTT sends a password only with a user name)");
  }
  if (c.mqtt.reconnect_min_ms > c.mqtt.reconnect_max_ms) {
    return invalid("mqtt.reconnect_min_ms", "must be <= mqtt.reconnect_max_ms, got " +
                                                std::to_string(c.mqtt.reconnect_min_ms) + " > " +
                                                std::to_string(c.mqtt.reconnect_max_ms));
  }

  if (c.storage.data_dir.empty()) return invalid("storage.data_dir", "must not be empty");

  // One file given and the other defaulted would pair a key with a certificate
  // from different places; a typo must not make nbmsd create a second CA.
  if (c.pki.ca_cert_file.empty() != c.pki.ca_key_file.empty()) {
    return invalid(c.pki.ca_cert_file.empty() ? "pki.ca_cert_file" : "pki.ca_key_file",
                   "set both pki.ca_cert_file and pki.ca_key_file, or neither (defaults under "
                   "storage.data_dir)");
  }
  if (!c.pki.ca_cert_file.empty() && c.pki.ca_cert_file == c.pki.ca_key_file) {
    return invalid("pki.ca_key_file", "must not be the same file as pki.ca_cert_file");
  }
  if (auto problem = host_problem(c.provisioning.broker_host)) {
    return invalid("provisioning.broker_host",
                   *problem + ", got " + quote(c.provisioning.broker_host));
  }

  if (auto ok = validate_notify(c.notify); !ok) return ok;
  if (auto ok = validate_broker(c.broker); !ok) return ok;

  if (std::find(kLogLevels.begin(), kLogLevels.end(), c.log.level) == kLogLevels.end()) {
    return invalid(
        "log.level",
        "must be one of trace, debug, info, warn, error, critical, off, got " + quote(c.log.level));
  }
  return {};
}

Result<std::string> read_secret(const std::string& path) {
  if (path.empty()) return std::string();
  auto data = read_small_file(path, kMaxSecretBytes, "secret file");
  if (!data) return data;
  // Editors and `echo` end files with a newline; it is never part of the secret.
  while (!data->empty() && (data->back() == '\n' || data->back() == '\r')) data->pop_back();
  // Never quote the contents in a message.
  if (data->empty()) return fail(Errc::invalid_argument, "secret file " + path + " is empty");
  return data;
}

Result<std::string> read_private_secret(const std::string& path) {
  if (path.empty()) return std::string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(Errc::io, "cannot read secret file " + path + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::invalid_argument, "secret file " + path + " is not a regular file");
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(Errc::invalid_argument, "secret file " + path +
                                            " is readable or writable by others (mode " + mode +
                                            "); chmod 600 it");
  }
  return read_secret(path);
}

std::string ca_cert_path(const Config& c) {
  if (!c.pki.ca_cert_file.empty()) return c.pki.ca_cert_file;
  return (std::filesystem::path(c.storage.data_dir) / "pki" / "ca.pem").string();
}

std::string ca_key_path(const Config& c) {
  if (!c.pki.ca_key_file.empty()) return c.pki.ca_key_file;
  return (std::filesystem::path(c.storage.data_dir) / "pki" / "ca.key").string();
}

std::string vapid_key_path(const Config& c) {
  if (!c.notify.vapid_key_file.empty()) return c.notify.vapid_key_file;
  return (std::filesystem::path(c.storage.data_dir) / "notify" / "vapid.key").string();
}

std::string broker_dir(const Config& c) {
  if (!c.broker.dir.empty()) return c.broker.dir;
  return (std::filesystem::path(c.storage.data_dir) / "broker").string();
}

std::string http_listen(const HttpConfig& h) {
  const bool v6 = h.host.find(':') != std::string::npos;
  return (v6 ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.port);
}

std::string to_json(const Config& c) {
  Json j = Json::object();
  j["http"]["listen"] = http_listen(c.http);
  j["http"]["threads"] = c.http.threads;
  j["http"]["body_limit_bytes"] = c.http.body_limit_bytes;
  j["http"]["web_root"] = c.http.web_root;
  j["http"]["tls_cert_file"] = c.http.tls_cert_file;
  j["http"]["tls_key_file"] = c.http.tls_key_file;
  j["http"]["redirect_listen"] =
      c.http.redirect_port == 0
          ? std::string()
          : http_listen(HttpConfig{.host = c.http.redirect_host, .port = c.http.redirect_port});
  j["http"]["ws_idle_timeout_s"] = c.http.ws_idle_timeout_s;
  j["mqtt"]["uri"] = c.mqtt.uri;
  j["mqtt"]["client_id"] = c.mqtt.client_id;
  j["mqtt"]["username"] = c.mqtt.username;
  j["mqtt"]["password_file"] = c.mqtt.password_file;  // the path only
  j["mqtt"]["keepalive_s"] = c.mqtt.keepalive_s;
  j["mqtt"]["connect_timeout_s"] = c.mqtt.connect_timeout_s;
  j["mqtt"]["reconnect_min_ms"] = c.mqtt.reconnect_min_ms;
  j["mqtt"]["reconnect_max_ms"] = c.mqtt.reconnect_max_ms;
  j["mqtt"]["queue_capacity"] = c.mqtt.queue_capacity;
  j["mqtt"]["max_message_bytes"] = c.mqtt.max_message_bytes;
  j["mqtt"]["thing_rate"] = c.mqtt.thing_rate;
  j["mqtt"]["thing_burst"] = c.mqtt.thing_burst;
  j["mqtt"]["thing_backlog_bytes"] = c.mqtt.thing_backlog_bytes;
  j["storage"]["data_dir"] = c.storage.data_dir;
  j["storage"]["sync_writes"] = c.storage.sync_writes;
  j["storage"]["dead_letter_limit"] = c.storage.dead_letter_limit;
  j["storage"]["block_cache_mb"] = c.storage.block_cache_mb;
  j["auth"]["pbkdf2_iterations"] = c.auth.pbkdf2_iterations;
  j["auth"]["session_ttl_s"] = c.auth.session_ttl_s;
  j["auth"]["max_failed_logins"] = c.auth.max_failed_logins;
  j["auth"]["admin_password_file"] = c.auth.admin_password_file;
  j["realtime"]["control_timeout_s"] = c.realtime.control_timeout_s;
  j["pki"]["ca_cert_file"] = c.pki.ca_cert_file;
  j["pki"]["ca_key_file"] = c.pki.ca_key_file;
  j["pki"]["create_ca"] = c.pki.create_ca;
  j["pki"]["ca_validity_days"] = c.pki.ca_validity_days;
  j["pki"]["cert_validity_days"] = c.pki.cert_validity_days;
  j["pki"]["crl_validity_days"] = c.pki.crl_validity_days;
  j["provisioning"]["broker_host"] = c.provisioning.broker_host;
  j["provisioning"]["broker_port"] = c.provisioning.broker_port;
  j["notify"]["vapid_key_file"] = c.notify.vapid_key_file;
  j["notify"]["vapid_subject"] = c.notify.vapid_subject;
  j["notify"]["public_url"] = c.notify.public_url;
  j["notify"]["ca_file"] = c.notify.ca_file;
  j["notify"]["allow_private_addresses"] = c.notify.allow_private_addresses;
  j["notify"]["http_timeout_ms"] = c.notify.http_timeout_ms;
  j["notify"]["push_ttl_s"] = c.notify.push_ttl_s;
  j["notify"]["max_attempts"] = c.notify.max_attempts;
  j["notify"]["initial_backoff_ms"] = c.notify.initial_backoff_ms;
  j["notify"]["max_backoff_ms"] = c.notify.max_backoff_ms;
  j["notify"]["smtp_host"] = c.notify.smtp_host;
  j["notify"]["smtp_port"] = c.notify.smtp_port;
  j["notify"]["smtp_starttls"] = c.notify.smtp_starttls;
  j["notify"]["smtp_username"] = c.notify.smtp_username;
  j["notify"]["smtp_password_file"] = c.notify.smtp_password_file;  // the path only
  j["notify"]["smtp_from"] = c.notify.smtp_from;
  j["notify"]["smtp_from_name"] = c.notify.smtp_from_name;
  j["notify"]["smtp_timeout_s"] = c.notify.smtp_timeout_s;
  j["notify"]["replay_window_minutes"] = c.notify.replay_window_minutes;
  j["broker"]["mode"] = c.broker.mode;
  j["broker"]["dir"] = c.broker.dir;
  j["broker"]["listen"] =
      http_listen(HttpConfig{.host = c.broker.listen_host, .port = c.broker.listen_port});
  j["broker"]["loopback_port"] = c.broker.loopback_port;
  j["broker"]["loopback_access"] = c.broker.loopback_access;
  j["broker"]["mosquitto_path"] = c.broker.mosquitto_path;
  j["broker"]["run_as_user"] = c.broker.run_as_user;
  j["broker"]["restart_min_ms"] = c.broker.restart_min_ms;
  j["broker"]["restart_max_ms"] = c.broker.restart_max_ms;
  j["broker"]["reload_command"] = c.broker.reload_command;
  j["broker"]["pid_file"] = c.broker.pid_file;
  j["log"]["level"] = c.log.level;
  // A path given on the command line need not be UTF-8; never throw for it.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace nbms::config
