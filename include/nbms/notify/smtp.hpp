#pragma once
// E-mail channel: an SMTP submission client (RFC 5321) on Boost.Asio with
// STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), and RFC 5322 messages
// with RFC 2047 encoded UTF-8 headers.
//
// SmtpClient owns a TLS client context and its options; send() is synchronous
// (its own io_context on the calling thread, one connection per message), so it
// is thread-safe. EmailSender runs on the dispatcher's thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/notify/channel.hpp"

namespace nbms::notify {

struct SmtpOptions {
  std::string host;
  std::uint16_t port = 587;
  // STARTTLS is required (a server that does not offer it is an error) unless
  // this is false, for a relay on localhost or a trusted network only.
  bool starttls = true;
  std::string ca_file;   // extra trusted CAs for the server certificate
  std::string username;  // empty: no AUTH
  std::string password;  // read by the caller from a file; never logged
  std::string from;      // envelope and header sender address
  std::string from_name = "nbms";
  std::string helo_name = "nbms.localdomain";  // the EHLO argument
  std::chrono::milliseconds timeout{30000};    // for the whole session
};

struct MailMessage {
  std::string to;
  std::string subject;     // UTF-8
  std::string text;        // UTF-8 plain text body
  std::string message_id;  // "local@domain", without the angle brackets
  std::int64_t date_ms = 0;
};

// RFC 2047 "B" encoded-words for a UTF-8 header value, folded so that no
// encoded-word exceeds 75 characters; plain printable ASCII stays as is.
std::string encode_header_text(std::string_view utf8);
// The RFC 5322 Date form, e.g. "Thu, 26 Nov 2026 13:10:00 +0000".
std::string mail_date(std::int64_t unix_ms);
// The whole message (headers and base64 body), CRLF line endings, not yet dot-stuffed.
std::string build_message(const SmtpOptions& options, const MailMessage& m);
// Normalises bare LF and CR to CRLF and doubles a leading '.' on every line
// (RFC 5321 section 4.5.2); does not add the terminating ".".
std::string dot_stuff(std::string_view text);

class SmtpClient {
 public:
  // invalid_argument if the CA file cannot be loaded or the options are incomplete.
  static Result<std::unique_ptr<SmtpClient>> create(SmtpOptions options);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Delivers one message to the server. Errors: unavailable for a transient
  // failure (4xx reply, connection, TLS or timeout): try again later;
  // invalid_argument for a permanent one (5xx reply, no STARTTLS offered,
  // authentication refused). The message names the command and the reply.
  Result<void> send(const MailMessage& message) const;
  const SmtpOptions& options() const;

 private:
  struct Impl;
  explicit SmtpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Mails a notification to an e-mail endpoint. The Message-ID is
// "<delivery id>@<sender domain>", the same on every retry, so a mail store
// or reader can drop a repeat. `public_url` (e.g. https://nbms.example.com)
// turns a relative notification link into an absolute one.
class EmailSender final : public ChannelSender {
 public:
  EmailSender(const SmtpClient& smtp, const Clock& clock, std::string public_url);
  SendResult send(const Notification& n, const Delivery& d, const Endpoint& e) override;

 private:
  const SmtpClient& smtp_;
  const Clock& clock_;
  std::string public_url_;
};

}  // namespace nbms::notify
