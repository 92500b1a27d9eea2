// nbmsctl: admin CLI for nbmsd's REST API (HTTP/1.1 client on Boost.Beast, over
// plain TCP or TLS with OpenSSL; the server certificate is always verified).
//
// Exit status: 0 on a 2xx answer, 1 on an HTTP error (the server's message goes
// to stderr), 2 on a usage error, 3 if nbmsd cannot be reached.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "nbms/core/ids.hpp"
#include "nbms/pki/pki.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kExitOk = 0;
constexpr int kExitHttpError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

// Whole exchange (connect, send, receive) must finish within this.
constexpr auto kTimeout = 30s;

constexpr std::string_view kUsage = R"(usage: nbmsctl [--url URL] [--cacert FILE] <command> [args]

Admin client for nbmsd's REST API.

commands:
  health                                       state of nbmsd
  customer add <id> <name>                     register a customer
  customer list                                list customers
  building add <customer> <id> <name> [--address A]
                                               register a building
  building list <customer>                     list a customer's buildings
  thing add <thing-name>                       register a middleware, e.g. C000003_B001_01
                                               (customer and building come from the name)
  thing list <customer> <building>             list a building's middlewares
  thing cert <customer> <building> <thing> [--csr FILE] [--out FILE]
                                               issue the thing's certificate (revoking its
                                               older ones) and write its MW bundle to FILE
                                               (default <thing>.json, mode 0600); with --csr,
                                               for the key of that PEM CSR (no key in the bundle)
  thing revoke <customer> <building> <thing>   revoke the thing's certificates
  thing purge <thing-name> --yes               revoke the thing's certificates, then delete
                                               the thing and ALL its data (points, history,
                                               latest values, current alarms) for good; the
                                               certificates' records, the building's alarm
                                               history and the audit log stay
  ca init --cert FILE --key FILE [--cn NAME] [--days N]
                                               create a CA offline (no nbmsd needed): key
                                               mode 0600; never overwrites a file
  points <customer> <building>                 point list of a building
  latest <customer> <building>                 latest value of every point
  history <customer> <building> <point_id> <from> <to>
                                               samples of one point; times YYYYMMDDhhmm
  dead-letters [--limit N]                     messages the router refused (newest first)
  login                                        log in as $NBMS_USER / $NBMS_PASSWORD and print
                                               a session token (export NBMS_TOKEN=$(nbmsctl login))
  user list [customer]                         users you may see
  user add <name> <admin|manager|viewer> [customer]
                                               create a user; password from $NBMS_NEW_PASSWORD
  user password <name>                         set a password from $NBMS_NEW_PASSWORD
  user delete <name>                           delete a user and end its sessions
  audit [customer] [--limit N]                 the audit log (newest first)

options:
  --url URL     nbmsd's address, http:// or https:// (default: $NBMS_URL, else
                http://127.0.0.1:8080)
  --cacert FILE for https: also trust the CA certificate(s) in FILE (PEM), besides the
                system's trust store (default: $NBMS_CACERT). The server certificate
                is always verified, against the host name or IP address of the URL.
  -h, --help    show this help

credentials (every command but login needs them): $NBMS_TOKEN, a session token;
else $NBMS_USER and $NBMS_PASSWORD, with which nbmsctl logs in for the one command.
Passwords are read from the environment only, never from the command line
(where other users of the machine could see them).

exit status: 0 success, 1 HTTP error (or a file that cannot be written), 2 usage
error, 3 nbmsd unreachable
)";

struct UsageError {
  std::string message;
};

struct Endpoint {
  bool tls = false;  // https://
  std::string host;
  std::string port;
  std::string base;  // path prefix without trailing '/', e.g. "" or "/nbms"
  std::string text;  // as given, for messages
};

std::optional<Endpoint> parse_url(std::string_view url) {
  Endpoint e;
  e.tls = url.starts_with("https://");
  if (!e.tls && !url.starts_with("http://")) return std::nullopt;
  const std::string default_port = e.tls ? "443" : "80";
  e.text = std::string(url);
  std::string_view rest = url.substr(url.find("//") + 2);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view base = rest.substr(slash);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    e.base = std::string(base);
  }
  if (authority.empty()) return std::nullopt;
  if (authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    e.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.empty()) {
      e.port = default_port;
    } else if (authority.front() == ':') {
      e.port = std::string(authority.substr(1));
    } else {
      return std::nullopt;
    }
  } else {
    const auto colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    e.port =
        colon == std::string_view::npos ? default_port : std::string(authority.substr(colon + 1));
  }
  if (e.host.empty() || e.port.empty() ||
      e.port.find_first_not_of("0123456789") != std::string::npos || e.port.size() > 5) {
    return std::nullopt;
  }
  return e;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

struct Reply {
  int status = 0;
  std::string body;
  std::string location;  // of a redirect, which nbmsctl reports but does not follow
};

struct Unreachable {
  std::string message;
};

using Outcome = std::variant<Reply, Unreachable>;

Unreachable transport_error(const beast::error_code& ec) {
  return Unreachable{ec == beast::error::timeout ? "timed out" : ec.message()};
}

// Writes `req` to a connected (for TLS: handshaken) stream and reads the answer.
template <class Stream>
net::awaitable<Outcome> send_receive(Stream& stream,
                                     const bhttp::request<bhttp::string_body>& req) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  co_await bhttp::async_write(stream, req, token);
  if (ec) co_return transport_error(ec);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256u << 20);
  co_await bhttp::async_read(stream, buffer, parser, token);
  if (ec && !(ec == ssl::error::stream_truncated && parser.is_done())) {
    co_return transport_error(ec);
  }
  auto& res = parser.get();
  co_return Reply{static_cast<int>(res.result_int()), std::move(res.body()),
                  std::string(res[bhttp::field::location])};
}

// Why a TLS handshake failed: the certificate check's verdict if it failed.
std::string handshake_error(const SSL* ssl, const beast::error_code& ec) {
  const long verdict = SSL_get_verify_result(ssl);
  if (verdict == X509_V_OK) return "TLS handshake failed: " + transport_error(ec).message;
  std::string text = "certificate verify failed: ";
  text += X509_verify_cert_error_string(verdict);
  if (verdict == X509_V_ERR_HOSTNAME_MISMATCH || verdict == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return text + " (the certificate does not name the URL's host)";
  }
  return text + " (trust a private CA with --cacert FILE or $NBMS_CACERT)";
}

// One request on a fresh connection (TLS if `tls` is given), bounded by kTimeout.
Outcome exchange(const Endpoint& ep, ssl::context* tls, bhttp::verb method,
                 const std::string& target, const std::string& body, const std::string& bearer) {
  bhttp::request<bhttp::string_body> req{method, ep.base + target, 11};
  const bool default_port = ep.port == (ep.tls ? "443" : "80");
  const bool v6 = ep.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + ep.host + "]" : ep.host;
  req.set(bhttp::field::host, default_port ? host : host + ":" + ep.port);
  req.set(bhttp::field::user_agent, "nbmsctl");
  req.set(bhttp::field::accept, "application/json");
  if (!bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer);
  req.keep_alive(false);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();

  net::io_context ioc;
  Outcome result = Unreachable{"no answer"};
  auto run = [&]() -> net::awaitable<void> {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    tcp::resolver resolver(ioc);
    const auto endpoints = co_await resolver.async_resolve(ep.host, ep.port, token);
    if (ec) {
      result = transport_error(ec);
      co_return;
    }
    beast::tcp_stream stream(ioc);
    stream.expires_after(kTimeout);
    co_await stream.async_connect(endpoints, token);
    if (ec) {
      result = transport_error(ec);
      co_return;
    }
    if (!tls) {
      result = co_await send_receive(stream, req);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), *tls);
    beast::error_code not_ip;
    (void)net::ip::make_address(ep.host, not_ip);
    const bool ip_literal = !not_ip;
    // SNI is for DNS names only (RFC 6066); the certificate is checked either way.
    // (SSL_set_tlsext_host_name, without the macro's C-style cast.)
    if (!ip_literal &&
        SSL_ctrl(tls_stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep.host.c_str())) != 1) {
      result = Unreachable{"cannot set the TLS server name"};
      co_return;
    }
    tls_stream.set_verify_callback([check = ssl::host_name_verification(ep.host), ip_literal](
                                       bool preverified, ssl::verify_context& ctx) {
      const bool ok = check(preverified, ctx);
      if (preverified && !ok) {  // record why, for handshake_error()
        X509_STORE_CTX_set_error(ctx.native_handle(), ip_literal ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                                 : X509_V_ERR_HOSTNAME_MISMATCH);
      }
      return ok;
    });
    co_await tls_stream.async_handshake(ssl::stream_base::client, token);
    if (ec) {
      result = Unreachable{handshake_error(tls_stream.native_handle(), ec)};
      co_return;
    }
    result = co_await send_receive(tls_stream, req);
    if (std::holds_alternative<Reply>(result)) {
      // close_notify; the answer is in, so a slow or rude peer does not matter.
      beast::get_lowest_layer(tls_stream).expires_after(2s);
      co_await tls_stream.async_shutdown(token);
    }
  };
  net::co_spawn(ioc, run(), net::detached);
  ioc.run();
  return result;
}

// The TLS client context: TLS 1.2+, peer verification against the system's
// trust store plus `cacert` (a PEM file) if given.
std::unique_ptr<ssl::context> make_tls_context(const std::string& cacert) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  ctx->set_default_verify_paths();
  if (!cacert.empty()) {
    beast::error_code ec;
    ctx->load_verify_file(cacert, ec);
    if (ec) throw UsageError{"cannot load CA certificates from '" + cacert + "': " + ec.message()};
  }
  return ctx;
}

std::string pretty(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return body;
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

// The server's `{"error":{"message":...}}`, else the raw body; for a redirect,
// where to.
std::string error_message(const Reply& r) {
  if (r.status >= 300 && r.status < 400 && !r.location.empty()) {
    return "redirected to " + r.location + " (not followed: point --url there)";
  }
  const json j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("message") && j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return r.body.empty() ? std::string("(no body)") : r.body.substr(0, 500);
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

struct Cli {
  Endpoint endpoint;
  std::unique_ptr<ssl::context> tls;  // for https:// only
  std::string bearer;                 // session token sent with every call

  // Sends the request and reports the outcome. `added` (for adds) replaces the
  // pretty-printed body on success; `conflict` replaces the server's message on 409.
  int call(bhttp::verb method, const std::string& target, const std::string& body = "",
           const std::string& added = "", const std::string& conflict = "") const {
    const auto outcome = fetch(method, target, body, conflict);
    if (const auto* code = std::get_if<int>(&outcome)) return *code;
    if (!added.empty()) {
      std::cout << added << "\n";
    } else {
      std::cout << pretty(std::get<Reply>(outcome).body) << "\n";
    }
    return kExitOk;
  }

  // The reply to a request answered 2xx; otherwise the failure is reported and
  // its exit code returned. `conflict` replaces the server's message on 409.
  std::variant<Reply, int> fetch(bhttp::verb method, const std::string& target,
                                 const std::string& body, const std::string& conflict = "") const {
    auto outcome = exchange(endpoint, tls.get(), method, target, body, bearer);
    if (const auto* u = std::get_if<Unreachable>(&outcome)) {
      std::cerr << "nbmsctl: cannot reach nbmsd at " << endpoint.text << ": " << u->message << "\n";
      return kExitUnreachable;
    }
    auto& reply = std::get<Reply>(outcome);
    if (reply.status >= 200 && reply.status < 300) return std::move(reply);
    if (reply.status == 409 && !conflict.empty()) {
      std::cerr << "nbmsctl: " << conflict << "\n";
    } else {
      std::cerr << "nbmsctl: " << error_message(reply) << " (HTTP " << reply.status << ")\n";
    }
    return kExitHttpError;
  }

  int get(const std::string& target) const { return call(bhttp::verb::get, target); }
  int del(const std::string& target, const std::string& done) const {
    return call(bhttp::verb::delete_, target, "", done);
  }

  // Logs in with $NBMS_USER / $NBMS_PASSWORD; the token, or an exit code.
  std::variant<std::string, int> login() const {
    const std::string user = env_or_empty("NBMS_USER");
    const std::string password = env_or_empty("NBMS_PASSWORD");
    if (user.empty() || password.empty()) {
      throw UsageError{"set NBMS_TOKEN, or NBMS_USER and NBMS_PASSWORD"};
    }
    const auto outcome = exchange(endpoint, tls.get(), bhttp::verb::post, "/api/v1/auth/login",
                                  json{{"user", user}, {"password", password}}.dump(), "");
    if (const auto* u = std::get_if<Unreachable>(&outcome)) {
      std::cerr << "nbmsctl: cannot reach nbmsd at " << endpoint.text << ": " << u->message << "\n";
      return kExitUnreachable;
    }
    const auto& reply = std::get<Reply>(outcome);
    const json j = json::parse(reply.body, nullptr, false);
    if (reply.status != 200 || !j.is_object() || !j.contains("token") || !j["token"].is_string()) {
      std::cerr << "nbmsctl: login failed: " << error_message(reply) << " (HTTP " << reply.status
                << ")\n";
      return kExitHttpError;
    }
    return j["token"].get<std::string>();
  }
  int post(const std::string& target, const json& body, const std::string& added,
           const std::string& conflict = "") const {
    return call(bhttp::verb::post, target, body.dump(), added, conflict);
  }
};

std::string building_path(const std::string& customer, const std::string& building) {
  return "/api/v1/customers/" + percent_encode(customer) + "/buildings/" + percent_encode(building);
}

void expect_args(const std::vector<std::string>& args, std::size_t n, std::string_view usage) {
  if (args.size() != n) throw UsageError{"usage: nbmsctl " + std::string(usage)};
}

std::string errno_text() {
  return std::generic_category().message(errno);
}

// A file only its owner may read, written in full or not at all: created new
// (never through an existing file or link) as `<path>.tmp` with mode 0600 before
// anything is asked of nbmsd, moved over `path` once the content is in.
class PrivateFile {
 public:
  explicit PrivateFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw UsageError{"cannot create '" + tmp_ + "': " + errno_text()};
  }
  ~PrivateFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;

  // Writes `text` and moves the file into place; false (reported) on failure.
  bool commit(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return report("cannot write '" + tmp_ + "': " + errno_text());
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd_) != 0) return report("cannot write '" + tmp_ + "': " + errno_text());
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const std::string why = errno_text();
      ::unlink(tmp_.c_str());
      return report("cannot move '" + tmp_ + "' to '" + path_ + "': " + why);
    }
    return true;
  }

 private:
  static bool report(const std::string& message) {
    std::cerr << "nbmsctl: " << message << "\n";
    return false;
  }
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
};

std::string read_small_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read '" + path + "'"};
  std::string text;
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw UsageError{"cannot read '" + path + "'"};
  if (text.size() > limit) {
    throw UsageError{"'" + path + "' is larger than " + std::to_string(limit) + " bytes"};
  }
  return text;
}

// The path of .../things/<thing>/certificate, after checking that the thing
// belongs to the building (as nbmsd would).
std::string certificate_path(const std::vector<std::string>& args, std::string_view usage) {
  expect_args(args, 5, usage);
  const auto name = nbms::ThingName::parse(args[4]);
  if (!name) throw UsageError{name.error().message};
  if (name->customer != args[2] || name->building != args[3]) {
    throw UsageError{"thing '" + args[4] + "' does not belong to building '" + args[2] + "/" +
                     args[3] + "'"};
  }
  return building_path(args[2], args[3]) + "/things/" + percent_encode(args[4]) + "/certificate";
}

struct CaInit {
  std::optional<std::string> cert, key, cn, days;
};

// `nbmsctl ca init`: a new CA with the pki module, written without replacing
// anything (pki::save_ca), the key 0600.
int ca_init(const std::vector<std::string>& args, const CaInit& o) {
  expect_args(args, 2, "ca init --cert FILE --key FILE [--cn NAME] [--days N]");
  if (!o.cert || !o.key || o.cert->empty() || o.key->empty()) {
    throw UsageError{"usage: nbmsctl ca init --cert FILE --key FILE [--cn NAME] [--days N]"};
  }
  nbms::pki::CaOptions options;
  options.now_s = static_cast<std::int64_t>(std::time(nullptr));
  if (o.cn) options.common_name = *o.cn;
  if (o.days) {
    std::int64_t days = 0;
    const auto* end = o.days->data() + o.days->size();
    const auto [ptr, ec] = std::from_chars(o.days->data(), end, days);
    if (o.days->empty() || ec != std::errc() || ptr != end || days < 1 || days > 36500) {
      throw UsageError{"--days must be an integer 1..36500"};
    }
    options.validity_days = days;
  }
  std::error_code ec;
  for (const auto& path : {*o.cert, *o.key}) {
    if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
      std::cerr << "nbmsctl: '" << path << "' exists; a CA is never overwritten\n";
      return kExitHttpError;
    }
  }
  auto ca = nbms::pki::CertificateAuthority::create(options);
  if (!ca) {
    std::cerr << "nbmsctl: cannot create the CA: " << ca.error().message << "\n";
    return kExitHttpError;
  }
  if (auto saved = nbms::pki::save_ca(*ca, {*o.cert, *o.key}); !saved) {
    std::cerr << "nbmsctl: cannot write the CA: " << saved.error().message << "\n";
    return kExitHttpError;
  }
  std::cout << "CA " << ca->subject() << " created: certificate " << *o.cert << ", key " << *o.key
            << " (mode 0600; back it up)\nSHA-256 fingerprint " << ca->fingerprint() << "\n";
  return kExitOk;
}

int run(const std::vector<std::string>& argv) {
  const char* env_url = std::getenv("NBMS_URL");
  std::string url = env_url && *env_url ? env_url : "http://127.0.0.1:8080";
  std::string cacert = env_or_empty("NBMS_CACERT");
  std::optional<std::string> address;
  std::optional<std::string> limit;
  std::optional<std::string> csr_file, out_file;
  bool yes = false;
  CaInit ca;
  std::vector<std::string> args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto value = [&](std::string_view name) -> std::string {
      const std::string prefix = std::string(name) + "=";
      if (a.starts_with(prefix)) return a.substr(prefix.size());
      if (i + 1 >= argv.size()) throw UsageError{std::string(name) + " needs a value"};
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (a == "--url" || a.starts_with("--url=")) {
      url = value("--url");
    } else if (a == "--cacert" || a.starts_with("--cacert=")) {
      cacert = value("--cacert");
    } else if (a == "--address" || a.starts_with("--address=")) {
      address = value("--address");
    } else if (a == "--limit" || a.starts_with("--limit=")) {
      limit = value("--limit");
    } else if (a == "--csr" || a.starts_with("--csr=")) {
      csr_file = value("--csr");
    } else if (a == "--out" || a.starts_with("--out=")) {
      out_file = value("--out");
    } else if (a == "--yes") {
      yes = true;
    } else if (a == "--cert" || a.starts_with("--cert=")) {
      ca.cert = value("--cert");
    } else if (a == "--key" || a.starts_with("--key=")) {
      ca.key = value("--key");
    } else if (a == "--cn" || a.starts_with("--cn=")) {
      ca.cn = value("--cn");
    } else if (a == "--days" || a.starts_with("--days=")) {
      ca.days = value("--days");
    } else if (a == "--") {
      args.insert(args.end(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError{"unknown option '" + a + "'"};
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) throw UsageError{"no command given"};
  const bool is_ca_init = args[0] == "ca" && args.size() > 1 && args[1] == "init";
  if ((ca.cert || ca.key || ca.cn || ca.days) && !is_ca_init) {
    throw UsageError{"--cert, --key, --cn and --days only apply to 'ca init'"};
  }
  const bool is_thing_cert = args[0] == "thing" && args.size() > 1 && args[1] == "cert";
  if ((csr_file || out_file) && !is_thing_cert) {
    throw UsageError{"--csr and --out only apply to 'thing cert'"};
  }
  const bool is_thing_purge = args[0] == "thing" && args.size() > 1 && args[1] == "purge";
  if (yes && !is_thing_purge) throw UsageError{"--yes only applies to 'thing purge'"};
  if (is_thing_purge) {
    expect_args(args, 3, "thing purge <thing-name> --yes");
    if (!nbms::ThingName::parse(args[2])) {
      throw UsageError{nbms::ThingName::parse(args[2]).error().message};
    }
    if (!yes) {
      throw UsageError{"'thing purge' deletes " + args[2] +
                       " and all its data for good; add --yes to do it"};
    }
  }
  // Offline: no URL, no credentials.
  if (is_ca_init) return ca_init(args, ca);
  if (args[0] == "ca") throw UsageError{"usage: nbmsctl ca init --cert FILE --key FILE"};
  const auto endpoint = parse_url(url);
  if (!endpoint) {
    throw UsageError{"invalid URL '" + url + "' (expected http[s]://host[:port][/prefix])"};
  }
  Cli cli{*endpoint, endpoint->tls ? make_tls_context(cacert) : nullptr,
          env_or_empty("NBMS_TOKEN")};
  const std::string& cmd = args[0];
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (cmd == "login") {
    expect_args(args, 1, "login");
    const auto token = cli.login();
    if (const auto* code = std::get_if<int>(&token)) return *code;
    std::cout << std::get<std::string>(token) << "\n";
    return kExitOk;
  }
  if (cli.bearer.empty()) {
    const auto token = cli.login();
    if (const auto* code = std::get_if<int>(&token)) return *code;
    cli.bearer = std::get<std::string>(token);
  }
  const auto new_password = [] {
    std::string p = env_or_empty("NBMS_NEW_PASSWORD");
    if (p.empty()) throw UsageError{"set NBMS_NEW_PASSWORD to the new password"};
    return p;
  };
  if (address && !(cmd == "building" && sub == "add")) {
    throw UsageError{"--address only applies to 'building add'"};
  }
  if (limit && cmd != "dead-letters" && cmd != "audit") {
    throw UsageError{"--limit only applies to 'dead-letters' and 'audit'"};
  }

  if (cmd == "health") {
    expect_args(args, 1, "health");
    return cli.get("/api/v1/health");
  }
  if (cmd == "customer" && sub == "add") {
    expect_args(args, 4, "customer add <id> <name>");
    const auto& id = args[2];
    // Scripts provisioning idempotently may treat exit 1 + this message as fine.
    return cli.post("/api/v1/customers", json{{"id", id}, {"name", args[3]}},
                    "customer " + id + " created", "customer " + id + " already exists");
  }
  if (cmd == "customer" && sub == "list") {
    expect_args(args, 2, "customer list");
    return cli.get("/api/v1/customers");
  }
  if (cmd == "building" && sub == "add") {
    expect_args(args, 5, "building add <customer> <id> <name> [--address A]");
    json body{{"id", args[3]}, {"name", args[4]}};
    if (address) body["address"] = *address;
    return cli.post("/api/v1/customers/" + percent_encode(args[2]) + "/buildings", body,
                    "building " + args[2] + "/" + args[3] + " created");
  }
  if (cmd == "building" && sub == "list") {
    expect_args(args, 3, "building list <customer>");
    return cli.get("/api/v1/customers/" + percent_encode(args[2]) + "/buildings");
  }
  if (cmd == "thing" && sub == "add") {
    expect_args(args, 3, "thing add <thing-name>");
    const auto name = nbms::ThingName::parse(args[2]);
    if (!name) throw UsageError{name.error().message};
    return cli.post(building_path(name->customer, name->building) + "/things",
                    json{{"name", args[2]}}, "thing " + args[2] + " created");
  }
  if (cmd == "thing" && sub == "list") {
    expect_args(args, 4, "thing list <customer> <building>");
    return cli.get(building_path(args[2], args[3]) + "/things");
  }
  if (cmd == "thing" && sub == "cert") {
    const auto target = certificate_path(
        args, "thing cert <customer> <building> <thing> [--csr FILE] [--out FILE]");
    json body = json::object();
    if (csr_file) body["csr"] = read_small_file(*csr_file, std::size_t{16} * 1024);
    const std::string out = out_file.value_or(args[4] + ".json");
    PrivateFile file(out);  // before asking: a bundle that cannot be saved is not issued
    const auto reply = cli.fetch(bhttp::verb::post, target, body.empty() ? "" : body.dump());
    if (const auto* code = std::get_if<int>(&reply)) return *code;
    if (!file.commit(std::get<Reply>(reply).body)) return kExitHttpError;
    std::cout << "certificate of " << args[4] << " issued; bundle written to " << out
              << " (mode 0600" << (csr_file ? ", no key: the MW keeps its own" : ", holds the key")
              << ")\n";
    return kExitOk;
  }
  if (cmd == "thing" && sub == "revoke") {
    const auto target = certificate_path(args, "thing revoke <customer> <building> <thing>");
    const auto reply = cli.fetch(bhttp::verb::delete_, target, "");
    if (const auto* code = std::get_if<int>(&reply)) return *code;
    const json j = json::parse(std::get<Reply>(reply).body, nullptr, false);
    std::string serials;
    if (j.is_object() && j.contains("revoked") && j["revoked"].is_array()) {
      for (const auto& r : j["revoked"]) {
        if (r.is_object() && r.contains("serial") && r["serial"].is_string()) {
          serials += " " + r["serial"].get<std::string>();
        }
      }
    }
    if (serials.empty()) {
      std::cout << args[4] << " had no certificate to revoke\n";
    } else {
      std::cout << "revoked certificate(s) of " << args[4] << ":" << serials << "\n";
    }
    return kExitOk;
  }
  if (cmd == "thing" && sub == "purge") {
    const auto name = nbms::ThingName::parse(args[2]).value();
    // The confirmation nbmsd wants is the thing's name again: --yes gave it.
    const auto target = building_path(name.customer, name.building) + "/things/" +
                        percent_encode(args[2]) + "?confirm=" + percent_encode(args[2]);
    const auto reply = cli.fetch(bhttp::verb::delete_, target, "");
    if (const auto* code = std::get_if<int>(&reply)) return *code;
    const json j = json::parse(std::get<Reply>(reply).body, nullptr, false);
    std::cout << "purged " << args[2];
    if (j.is_object() && j.contains("revoked") && j["revoked"].is_array()) {
      std::string serials;
      for (const auto& r : j["revoked"]) {
        if (r.is_object() && r.contains("serial") && r["serial"].is_string()) {
          serials += " " + r["serial"].get<std::string>();
        }
      }
      std::cout << (serials.empty() ? "; no certificate to revoke" : "; revoked" + serials);
    }
    if (j.is_object() && j.contains("deleted") && j["deleted"].is_object()) {
      std::cout << "; deleted";
      bool first = true;
      for (const auto& [kind, n] : j["deleted"].items()) {
        std::cout << (first ? " " : ", ") << kind << " " << n.dump();
        first = false;
      }
    }
    std::cout << "\n";
    return kExitOk;
  }
  if (cmd == "points" || cmd == "latest") {
    expect_args(args, 3, cmd + " <customer> <building>");
    return cli.get(building_path(args[1], args[2]) + "/" + cmd);
  }
  if (cmd == "history") {
    expect_args(args, 6, "history <customer> <building> <point_id> <from> <to>");
    return cli.get(building_path(args[1], args[2]) + "/points/" + percent_encode(args[3]) +
                   "/history?from=" + percent_encode(args[4]) + "&to=" + percent_encode(args[5]));
  }
  if (cmd == "dead-letters") {
    expect_args(args, 1, "dead-letters [--limit N]");
    std::string target = "/api/v1/dead-letters";
    if (limit) target += "?limit=" + percent_encode(*limit);
    return cli.get(target);
  }
  if (cmd == "user" && sub == "list") {
    if (args.size() > 3) throw UsageError{"usage: nbmsctl user list [customer]"};
    return cli.get("/api/v1/users" +
                   (args.size() == 3 ? "?customer=" + percent_encode(args[2]) : std::string()));
  }
  if (cmd == "user" && sub == "add") {
    if (args.size() < 4 || args.size() > 5) {
      throw UsageError{"usage: nbmsctl user add <name> <admin|manager|viewer> [customer]"};
    }
    json body{{"name", args[2]}, {"password", new_password()}, {"role", args[3]}};
    if (args.size() == 5) body["customer"] = args[4];
    return cli.post("/api/v1/users", body, "user " + args[2] + " created",
                    "user " + args[2] + " already exists");
  }
  if (cmd == "user" && sub == "password") {
    expect_args(args, 3, "user password <name>");
    return cli.call(bhttp::verb::post, "/api/v1/users/" + percent_encode(args[2]) + "/password",
                    json{{"password", new_password()}}.dump(), "password of " + args[2] + " set");
  }
  if (cmd == "user" && sub == "delete") {
    expect_args(args, 3, "user delete <name>");
    return cli.del("/api/v1/users/" + percent_encode(args[2]), "user " + args[2] + " deleted");
  }
  if (cmd == "audit") {
    if (args.size() > 2) throw UsageError{"usage: nbmsctl audit [customer] [--limit N]"};
    std::string target = "/api/v1/audit?limit=" + percent_encode(limit.value_or("100"));
    if (args.size() == 2) target += "&customer=" + percent_encode(args[1]);
    return cli.get(target);
  }
  if (cmd == "customer" || cmd == "building" || cmd == "thing" || cmd == "user") {
    throw UsageError{"usage: nbmsctl " + cmd +
                     (cmd == "thing" ? " add|list|cert|revoke|purge ..." : " add|list ...")};
  }
  throw UsageError{"unknown command '" + cmd + "'"};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "nbmsctl: " << e.message << "\n(see nbmsctl --help)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "nbmsctl: " << e.what() << "\n";
    return kExitHttpError;
  }
}
