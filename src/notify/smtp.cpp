#include "nbms/notify/smtp.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <vector>

#include "nbms/crypto/crypto.hpp"
#include "tls.hpp"

namespace nbms::notify {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::size_t kMaxReplyBytes = std::size_t{64} * 1024;

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after the code and separator
  std::string text() const {
    std::string out = std::to_string(code);
    for (const auto& l : lines) out += " " + l;
    return out;
  }
};

// A reply as an error of `command`: 4xx transient, 5xx (and anything odd) permanent.
Error reply_error(std::string_view command, const Reply& r) {
  const auto code = r.code >= 400 && r.code < 500 ? Errc::unavailable : Errc::invalid_argument;
  return Error{code, "SMTP " + std::string(command) + ": " + r.text()};
}

Error transport(std::string_view what, const beast::error_code& ec) {
  return Error{Errc::unavailable, "SMTP " + std::string(what) + ": " + ec.message()};
}

// One SMTP conversation on a stream (plain or TLS). `buf` holds bytes read
// past the last reply.
template <class Stream>
class Conversation {
 public:
  Conversation(Stream& stream, std::string& buf) : stream_(stream), buf_(buf) {}

  // Reads one (possibly multi-line) reply: "250-a" ... "250 z".
  net::awaitable<Result<Reply>> read_reply() {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    Reply reply;
    std::size_t total = 0;
    for (;;) {
      const std::size_t n = co_await net::async_read_until(
          stream_, net::dynamic_buffer(buf_, kMaxReplyBytes), "\r\n", token);
      if (ec) co_return std::unexpected(transport("read", ec));
      std::string line = buf_.substr(0, n - 2);
      buf_.erase(0, n);
      total += n;
      if (line.size() < 3 || total > kMaxReplyBytes || line.find_first_not_of("0123456789") < 3 ||
          (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        co_return fail(Errc::unavailable,
                       "SMTP: malformed reply line '" + line.substr(0, 80) + "'");
      }
      const int code = std::stoi(line.substr(0, 3));
      if (reply.code != 0 && code != reply.code) {
        co_return fail(Errc::unavailable, "SMTP: reply codes differ within one reply");
      }
      reply.code = code;
      reply.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
      if (line.size() == 3 || line[3] == ' ') co_return reply;
    }
  }

  net::awaitable<Result<void>> write(std::string_view text) {
    beast::error_code ec;
    co_await net::async_write(stream_, net::buffer(text.data(), text.size()),
                              net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return std::unexpected(transport("write", ec));
    co_return Result<void>{};
  }

  // Sends `line` (CRLF added) and expects a reply code in [lo, hi].
  net::awaitable<Result<Reply>> command(std::string_view line, std::string_view shown, int lo,
                                        int hi) {
    auto w = co_await write(std::string(line) + "\r\n");
    if (!w) co_return std::unexpected(w.error());
    auto r = co_await read_reply();
    if (!r) co_return std::unexpected(r.error());
    if (r->code < lo || r->code > hi) co_return std::unexpected(reply_error(shown, *r));
    co_return r;
  }

  net::awaitable<Result<Reply>> ehlo(const std::string& name) {
    co_return co_await command("EHLO " + name, "EHLO", 250, 250);
  }

 private:
  Stream& stream_;
  std::string& buf_;
};

bool has_extension(const Reply& ehlo, std::string_view keyword, std::string_view arg = {}) {
  // First line is the greeting; the others are "KEYWORD params".
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string line = ehlo.lines[i];
    for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!line.starts_with(keyword)) continue;
    if (line.size() > keyword.size() && line[keyword.size()] != ' ') continue;
    if (arg.empty()) return true;
    if ((" " + line + " ").find(" " + std::string(arg) + " ") != std::string::npos) return true;
  }
  return false;
}

// After EHLO: AUTH if configured, then the envelope and the data.
template <class Stream>
net::awaitable<Result<void>> submit(Conversation<Stream>& c, const Reply& ehlo,
                                    const SmtpOptions& o, const std::string& data,
                                    const std::string& to) {
  if (!o.username.empty()) {
    if (has_extension(ehlo, "AUTH", "PLAIN")) {
      std::string creds;
      creds.push_back('\0');
      creds.append(o.username).push_back('\0');
      creds.append(o.password);
      auto r =
          co_await c.command("AUTH PLAIN " + crypto::base64_encode(creds), "AUTH PLAIN", 235, 235);
      if (!r) co_return std::unexpected(r.error());
    } else if (has_extension(ehlo, "AUTH", "LOGIN")) {
      auto r = co_await c.command("AUTH LOGIN", "AUTH LOGIN", 334, 334);
      if (r) r = co_await c.command(crypto::base64_encode(o.username), "AUTH LOGIN user", 334, 334);
      if (r) r = co_await c.command(crypto::base64_encode(o.password), "AUTH LOGIN", 235, 235);
      if (!r) co_return std::unexpected(r.error());
    } else {
      co_return fail(Errc::invalid_argument,
                     "SMTP: the server offers neither AUTH PLAIN nor AUTH LOGIN");
    }
  }
  auto r = co_await c.command("MAIL FROM:<" + o.from + ">", "MAIL FROM", 250, 250);
  if (r) r = co_await c.command("RCPT TO:<" + to + ">", "RCPT TO", 250, 251);
  if (r) r = co_await c.command("DATA", "DATA", 354, 354);
  if (!r) co_return std::unexpected(r.error());
  std::string stuffed = dot_stuff(data);
  if (!stuffed.ends_with("\r\n")) stuffed += "\r\n";
  stuffed += ".\r\n";
  auto w = co_await c.write(stuffed);
  if (!w) co_return std::unexpected(w.error());
  auto done = co_await c.read_reply();
  if (!done) co_return std::unexpected(done.error());
  if (done->code != 250) co_return std::unexpected(reply_error("end of DATA", *done));
  // The message is accepted; QUIT is a courtesy whose failure changes nothing.
  (void)co_await c.command("QUIT", "QUIT", 221, 221);
  co_return Result<void>{};
}

bool header_safe(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

std::string encode_header_text(std::string_view utf8) {
  bool plain = utf8.find("=?") == std::string_view::npos;
  for (unsigned char c : utf8) {
    if (c < 0x20 || c >= 0x7f) plain = false;
  }
  if (plain) return std::string(utf8);
  // At most 45 bytes per word: 60 base64 characters + 12 of "=?UTF-8?B?" "?=" = 72.
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = std::min(utf8.size(), i + 45);
    // Never split a UTF-8 sequence: back off continuation bytes.
    while (end < utf8.size() && end > i + 1 &&
           (static_cast<unsigned char>(utf8[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + crypto::base64_encode(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string mail_date(std::int64_t unix_ms) {
  const auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string build_message(const SmtpOptions& o, const MailMessage& m) {
  std::string out;
  out += "Date: " + mail_date(m.date_ms) + "\r\n";
  out += "From: " + encode_header_text(o.from_name) + " <" + o.from + ">\r\n";
  out += "To: <" + m.to + ">\r\n";
  out += "Subject: " + encode_header_text(m.subject) + "\r\n";
  out += "Message-ID: <" + m.message_id + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "\r\n";
  const auto body = crypto::base64_encode(m.text);
  for (std::size_t i = 0; i < body.size(); i += 76) out += body.substr(i, 76) + "\r\n";
  return out;
}

std::string dot_stuff(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 64 + 2);
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = false;
  }
  return out;
}

struct SmtpClient::Impl {
  SmtpOptions options;
  std::unique_ptr<detail::ssl::context> tls;
};

SmtpClient::SmtpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpClient::~SmtpClient() = default;

Result<std::unique_ptr<SmtpClient>> SmtpClient::create(SmtpOptions options) {
  if (options.host.empty()) return fail(Errc::invalid_argument, "SMTP: host is required");
  if (options.from.find('@') == std::string::npos || !header_safe(options.from) ||
      options.from.find_first_of(" <>") != std::string::npos) {
    return fail(Errc::invalid_argument, "SMTP: 'from' must be an e-mail address");
  }
  if (!header_safe(options.from_name) || !header_safe(options.helo_name) ||
      !header_safe(options.username) || !header_safe(options.password)) {
    return fail(Errc::invalid_argument, "SMTP: options must not contain line breaks");
  }
  auto ctx = detail::make_client_context(options.ca_file);
  if (!ctx) return std::unexpected(ctx.error());
  return std::unique_ptr<SmtpClient>(
      new SmtpClient(std::make_unique<Impl>(Impl{std::move(options), std::move(*ctx)})));
}

const SmtpOptions& SmtpClient::options() const {
  return impl_->options;
}

Result<void> SmtpClient::send(const MailMessage& message) const {
  const auto& o = impl_->options;
  if (!header_safe(message.to) || message.to.find_first_of(" <>") != std::string::npos ||
      !header_safe(message.message_id)) {
    return fail(Errc::invalid_argument, "SMTP: bad recipient or message id");
  }
  const std::string data = build_message(o, message);
  net::io_context ioc;
  Result<void> result = fail(Errc::unavailable, "SMTP: no answer");
  auto run = [&]() -> net::awaitable<void> {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    net::steady_timer resolve_timer(ioc);
    tcp::resolver resolver(ioc);
    resolve_timer.expires_at(deadline);
    resolve_timer.async_wait([&](beast::error_code e) {
      if (!e) resolver.cancel();
    });
    const auto endpoints = co_await resolver.async_resolve(o.host, std::to_string(o.port), token);
    resolve_timer.cancel();
    if (ec) {
      result = std::unexpected(transport("resolve " + o.host, ec));
      co_return;
    }
    beast::tcp_stream stream(ioc);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, token);
    if (ec) {
      result = std::unexpected(transport("connect " + o.host, ec));
      co_return;
    }
    std::string buf;
    Conversation plain(stream, buf);
    auto greeting = co_await plain.read_reply();
    if (!greeting) {
      result = std::unexpected(greeting.error());
      co_return;
    }
    if (greeting->code != 220) {
      result = std::unexpected(reply_error("greeting", *greeting));
      co_return;
    }
    auto ehlo = co_await plain.ehlo(o.helo_name);
    if (!ehlo) {
      result = std::unexpected(ehlo.error());
      co_return;
    }
    if (!o.starttls) {
      result = co_await submit(plain, *ehlo, o, data, message.to);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    if (!has_extension(*ehlo, "STARTTLS")) {
      result = fail(Errc::invalid_argument,
                    "SMTP: " + o.host + " does not offer STARTTLS (required by the configuration)");
      co_return;
    }
    auto go = co_await plain.command("STARTTLS", "STARTTLS", 220, 220);
    if (!go) {
      result = std::unexpected(go.error());
      co_return;
    }
    if (!buf.empty()) {
      // Bytes sent before the handshake would be trusted as if protected (the
      // STARTTLS command injection attack): refuse.
      result = fail(Errc::unavailable, "SMTP: data after the STARTTLS reply; closing");
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), *impl_->tls);
    beast::get_lowest_layer(tls_stream).expires_at(deadline);
    if (auto ok = detail::prepare_client_stream(tls_stream, o.host); !ok) {
      result = std::unexpected(ok.error());
      co_return;
    }
    co_await tls_stream.async_handshake(detail::ssl::stream_base::client, token);
    if (ec) {
      result = fail(Errc::unavailable, "SMTP " + o.host + ": " +
                                           detail::handshake_error(tls_stream.native_handle(), ec));
      co_return;
    }
    Conversation secure(tls_stream, buf);
    // The EHLO before TLS cannot be trusted (RFC 3207 section 4.2): ask again.
    auto ehlo2 = co_await secure.ehlo(o.helo_name);
    if (!ehlo2) {
      result = std::unexpected(ehlo2.error());
      co_return;
    }
    result = co_await submit(secure, *ehlo2, o, data, message.to);
    beast::get_lowest_layer(tls_stream).expires_after(std::chrono::seconds(2));
    co_await tls_stream.async_shutdown(token);
  };
  net::co_spawn(ioc, run(), net::detached);
  ioc.run();
  return result;
}

EmailSender::EmailSender(const SmtpClient& smtp, const Clock& clock, std::string public_url)
    : smtp_(smtp), clock_(clock), public_url_(std::move(public_url)) {}

SendResult EmailSender::send(const Notification& n, const Delivery& d, const Endpoint& e) {
  MailMessage m;
  m.to = e.address;
  const std::string prefix = n.kind == NotificationKind::alarm ? "[nbms alarm] " : "[nbms] ";
  m.subject = prefix + n.title;
  m.text = n.title + "\n\n";
  if (!n.body.empty()) m.text += n.body + "\n\n";
  m.text += "Customer: " + n.customer + "\n";
  if (!n.building.empty()) m.text += "Building: " + n.building + "\n";
  m.text += "Priority: " + std::string(to_string(n.priority)) + "\n";
  m.text += "Time: " + mail_date(n.created_ms) + "\n";
  if (!n.link.empty()) {
    const bool relative = n.link.starts_with("/");
    m.text += "\n" + (relative ? public_url_ + n.link : n.link) + "\n";
  }
  const auto& from = smtp_.options().from;
  m.message_id = d.id + "@" + from.substr(from.find('@') + 1);
  m.date_ms = clock_.now_ms();
  auto r = smtp_.send(m);
  if (r) return {SendOutcome::delivered, "accepted by " + smtp_.options().host};
  const auto outcome =
      r.error().code == Errc::unavailable ? SendOutcome::retry : SendOutcome::rejected;
  return {outcome, r.error().message};
}

}  // namespace nbms::notify
