#include "integration/notify_receivers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "nbms/crypto/crypto.hpp"

namespace nbms::it {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

void ignore_exception(std::exception_ptr) {}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What both receivers share: a loopback listener served by one thread, and
// what it saw (guarded by `mu`, announced through `cv`).
template <class Seen>
struct Receiver {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Seen> seen;

  // Listens on 127.0.0.1 (any free port, returned) and runs `session(socket)`
  // for every connection on the thread.
  template <class Session>
  std::uint16_t start(Session session) {
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.bind(ep);
    acceptor.listen();
    net::co_spawn(ioc, accept_loop(std::move(session)), ignore_exception);
    thread = std::thread([this] { ioc.run(); });
    return acceptor.local_endpoint().port();
  }
  void stop() {
    ioc.stop();
    thread.join();
  }
  std::vector<Seen> wait_for(std::size_t n) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, kEventTimeout, [&] { return seen.size() >= n; });
    return seen;
  }
  std::vector<Seen> seen_so_far() {
    std::lock_guard lock(mu);
    return seen;
  }

 private:
  template <class Session>
  net::awaitable<void> accept_loop(Session session) {
    for (;;) {
      auto socket = co_await acceptor.async_accept(net::use_awaitable);
      net::co_spawn(ioc, session(std::move(socket)), ignore_exception);
    }
  }
};

}  // namespace

void make_test_certificate(const fs::path& dir) {
  fs::create_directories(dir);
  const auto made = run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(),
       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"},
      dir / "openssl.log");
  if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.output);
}

std::unique_ptr<ssl::context> server_tls_context(const fs::path& dir) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain_file((dir / "cert.pem").string());
  ctx->use_private_key_file((dir / "key.pem").string(), ssl::context::pem);
  return ctx;
}

// ---- HTTP ----

struct HttpReceiver::Impl : Receiver<HttpRequestSeen> {
  Handler handler;
  ssl::context* tls;

  template <class Stream>
  net::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    co_await bhttp::async_read(stream, buffer, req, net::use_awaitable);
    HttpRequestSeen r;
    r.target = std::string(req.target());
    for (const auto& f : req)
      r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    r.body = req.body();
    HttpAnswer answer;
    {
      std::lock_guard lock(mu);
      answer = handler(r);
      seen.push_back(std::move(r));
    }
    cv.notify_all();
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(answer.status), 11};
    for (const auto& [k, v] : answer.headers) res.set(k, v);
    res.keep_alive(false);
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, net::use_awaitable);
  }

  net::awaitable<void> session(tcp::socket socket) {
    if (tls == nullptr) {
      co_await serve(socket);
      beast::error_code ec;
      socket.shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    co_await stream.async_handshake(ssl::stream_base::server, net::use_awaitable);
    co_await serve(stream);
    beast::error_code ec;
    co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }
};

HttpReceiver::HttpReceiver(Handler handler, ssl::context* tls) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->tls = tls;
  port_ = impl_->start([impl = impl_.get()](tcp::socket s) { return impl->session(std::move(s)); });
}

HttpReceiver::~HttpReceiver() {
  impl_->stop();
}

std::vector<HttpRequestSeen> HttpReceiver::wait_for(std::size_t n) {
  return impl_->wait_for(n);
}

std::vector<HttpRequestSeen> HttpReceiver::seen() {
  return impl_->seen_so_far();
}

// ---- SMTP ----

struct SmtpReceiver::Impl : Receiver<MailSeen> {
  ssl::context* tls;
  std::string user;
  std::string password;
  std::function<std::string(const std::string&)> rcpt_reply = [](const std::string&) {
    return std::string("250 OK");
  };

  template <class Stream>
  static net::awaitable<std::string> read_line(Stream& s, std::string& buf) {
    const auto n =
        co_await net::async_read_until(s, net::dynamic_buffer(buf), "\r\n", net::use_awaitable);
    std::string line = buf.substr(0, n - 2);
    buf.erase(0, n);
    co_return line;
  }

  template <class Stream>
  static net::awaitable<void> say(Stream& s, const std::string& text) {
    co_await net::async_write(s, net::buffer(text), net::use_awaitable);
  }

  bool credentials_ok(const std::string& u, const std::string& p) const {
    return !user.empty() && u == user && p == password;
  }

  // Returns true when the client asked for STARTTLS (and was told to go ahead).
  template <class Stream>
  net::awaitable<bool> dialog(Stream& s, std::string& buf, bool secure) {
    MailSeen mail;
    mail.tls = secure;
    for (;;) {
      const std::string line = co_await read_line(s, buf);
      const std::string verb = lower(line.substr(0, line.find(' ')));
      if (verb == "ehlo") {
        std::string reply = "250-localhost greets you\r\n";
        if (tls != nullptr && !secure) reply += "250-STARTTLS\r\n";
        if (!user.empty()) reply += "250-AUTH PLAIN LOGIN\r\n";
        reply += "250 8BITMIME\r\n";
        co_await say(s, reply);
      } else if (verb == "starttls") {
        if (tls == nullptr || secure) {
          co_await say(s, "502 5.5.1 not here\r\n");
        } else {
          co_await say(s, "220 2.0.0 Ready to start TLS\r\n");
          co_return true;
        }
      } else if (line.starts_with("AUTH PLAIN ")) {
        auto creds = crypto::base64_decode(line.substr(11)).value_or("");
        const auto a = creds.find('\0');
        const auto b = creds.find('\0', a + 1);
        const bool ok = a != std::string::npos && b != std::string::npos &&
                        credentials_ok(creds.substr(a + 1, b - a - 1), creds.substr(b + 1));
        if (ok) mail.user = user;
        co_await say(s, ok ? "235 2.7.0 Authentication successful\r\n"
                           : "535 5.7.8 Authentication credentials invalid\r\n");
      } else if (line == "AUTH LOGIN") {
        co_await say(s, "334 VXNlcm5hbWU6\r\n");
        const auto u = crypto::base64_decode(co_await read_line(s, buf)).value_or("");
        co_await say(s, "334 UGFzc3dvcmQ6\r\n");
        const auto p = crypto::base64_decode(co_await read_line(s, buf)).value_or("");
        const bool ok = credentials_ok(u, p);
        if (ok) mail.user = user;
        co_await say(s, ok ? "235 2.7.0 Authentication successful\r\n"
                           : "535 5.7.8 Authentication credentials invalid\r\n");
      } else if (verb == "mail") {
        if (tls != nullptr && !secure) {
          co_await say(s, "530 5.7.0 Must issue a STARTTLS command first\r\n");
        } else if (!user.empty() && mail.user.empty()) {
          co_await say(s, "530 5.7.0 Authentication required\r\n");
        } else {
          mail.from = line.substr(line.find('<') + 1, line.find('>') - line.find('<') - 1);
          co_await say(s, "250 2.1.0 OK\r\n");
        }
      } else if (verb == "rcpt") {
        const auto to = line.substr(line.find('<') + 1, line.find('>') - line.find('<') - 1);
        std::string reply;
        {
          std::lock_guard lock(mu);
          reply = rcpt_reply(to);
        }
        if (reply.starts_with("25")) mail.to.push_back(to);
        // A multi-line reply, to exercise the client's parser.
        co_await say(s, reply.substr(0, 3) + "-" + to + "\r\n" + reply + "\r\n");
      } else if (verb == "data") {
        co_await say(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
        std::string data;
        for (;;) {
          std::string l = co_await read_line(s, buf);
          if (l == ".") break;
          if (l.starts_with(".")) l.erase(0, 1);  // un-stuff
          data += l + "\r\n";
        }
        mail.data = data;
        {
          std::lock_guard lock(mu);
          seen.push_back(mail);
        }
        cv.notify_all();
        co_await say(s, "250 2.0.0 OK queued\r\n");
      } else if (verb == "quit") {
        co_await say(s, "221 2.0.0 Bye\r\n");
        co_return false;
      } else {
        co_await say(s, "500 5.5.2 what?\r\n");
      }
    }
  }

  net::awaitable<void> session(tcp::socket socket) {
    std::string buf;
    co_await say(socket, "220 localhost ESMTP test\r\n");
    if (!co_await dialog(socket, buf, false)) co_return;
    ssl::stream<tcp::socket&> secure(socket, *tls);
    co_await secure.async_handshake(ssl::stream_base::server, net::use_awaitable);
    buf.clear();
    (void)co_await dialog(secure, buf, true);
    beast::error_code ec;
    co_await secure.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }
};

SmtpReceiver::SmtpReceiver(ssl::context* tls, std::string user, std::string password)
    : impl_(std::make_unique<Impl>()) {
  impl_->tls = tls;
  impl_->user = std::move(user);
  impl_->password = std::move(password);
  port_ = impl_->start([impl = impl_.get()](tcp::socket s) { return impl->session(std::move(s)); });
}

SmtpReceiver::~SmtpReceiver() {
  impl_->stop();
}

void SmtpReceiver::set_rcpt_reply(std::function<std::string(const std::string&)> fn) {
  std::lock_guard lock(impl_->mu);
  impl_->rcpt_reply = std::move(fn);
}

std::vector<MailSeen> SmtpReceiver::wait_for(std::size_t n) {
  return impl_->wait_for(n);
}

std::vector<MailSeen> SmtpReceiver::seen() {
  return impl_->seen_so_far();
}

}  // namespace nbms::it
