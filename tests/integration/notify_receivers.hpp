#pragma once
// Local receivers for the notification channels: an HTTP(S) server that
// records each POST and answers from a handler (webhook and Web Push
// receivers), and an SMTP server with optional STARTTLS and AUTH. Each owns an
// io_context and the thread that runs it; recorded data is guarded by a mutex.
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"

namespace nbms::it {

struct HttpRequestSeen {
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Makes a self-signed P-256 certificate for 127.0.0.1 in `dir` (cert.pem,
// key.pem) with /usr/bin/openssl; throws on failure.
void make_test_certificate(const fs::path& dir);
// A TLS server context with that certificate.
std::unique_ptr<boost::asio::ssl::context> server_tls_context(const fs::path& dir);

class HttpReceiver {
 public:
  using Handler = std::function<HttpAnswer(const HttpRequestSeen&)>;
  // Listens on 127.0.0.1 (a free port); TLS if `tls` is given (not owned).
  explicit HttpReceiver(Handler handler, boost::asio::ssl::context* tls = nullptr);
  ~HttpReceiver();
  std::uint16_t port() const { return port_; }
  // Waits (kEventTimeout at most) until `n` requests arrived; returns all so far.
  std::vector<HttpRequestSeen> wait_for(std::size_t n);
  std::vector<HttpRequestSeen> seen();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

struct MailSeen {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // un-dot-stuffed, CRLF line ends
  bool tls = false;
  std::string user;  // authenticated user, empty if none
};

class SmtpReceiver {
 public:
  // With `tls`, STARTTLS is offered and required before MAIL. AUTH PLAIN and
  // LOGIN accept exactly (user, password) when `user` is not empty.
  SmtpReceiver(boost::asio::ssl::context* tls, std::string user, std::string password);
  ~SmtpReceiver();
  std::uint16_t port() const { return port_; }
  // The reply to RCPT TO for an address (default "250 OK").
  void set_rcpt_reply(std::function<std::string(const std::string&)> fn);
  std::vector<MailSeen> wait_for(std::size_t n);
  std::vector<MailSeen> seen();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace nbms::it
