// The pure parts of the SMTP client: dot-stuffing, RFC 2047 headers, the message.
#include "nbms/notify/smtp.hpp"

#include <gtest/gtest.h>

#include "nbms/crypto/crypto.hpp"

namespace nbms::notify {
namespace {

TEST(DotStuffing, DoublesLeadingDotsAndNormalisesLineEnds) {
  EXPECT_EQ(dot_stuff(".hidden\r\nok\r\n.\r\n..x"), "..hidden\r\nok\r\n..\r\n...x");
  EXPECT_EQ(dot_stuff("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd");
  EXPECT_EQ(dot_stuff("a.b\n.c"), "a.b\r\n..c");
  EXPECT_EQ(dot_stuff(""), "");
}

TEST(HeaderEncoding, AsciiStaysUtf8IsEncodedAndFolded) {
  EXPECT_EQ(encode_header_text("High temperature"), "High temperature");
  EXPECT_EQ(encode_header_text("Température"),
            "=?UTF-8?B?" + crypto::base64_encode("Température") + "?=");
  // Something that looks like an encoded word must be encoded itself.
  EXPECT_EQ(encode_header_text("=?x?="), "=?UTF-8?B?" + crypto::base64_encode("=?x?=") + "?=");
  // A long UTF-8 text: every word <= 75 characters, no split inside a character,
  // and the decoded words give the text back.
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "é€";
  const auto encoded = encode_header_text(longer);
  std::string decoded;
  std::size_t pos = 0;
  while (pos < encoded.size()) {
    auto end = encoded.find("\r\n ", pos);
    if (end == std::string::npos) end = encoded.size();
    const auto word = encoded.substr(pos, end - pos);
    EXPECT_LE(word.size(), 75u);
    ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
    auto part = crypto::base64_decode(word.substr(10, word.size() - 12));
    ASSERT_TRUE(part);
    // Each part is valid UTF-8 on its own: it does not start with a continuation byte.
    EXPECT_NE(static_cast<unsigned char>((*part)[0]) & 0xC0, 0x80);
    decoded += *part;
    pos = end == encoded.size() ? end : end + 3;
  }
  EXPECT_EQ(decoded, longer);
}

TEST(MailMessageText, HeadersAndBase64Body) {
  SmtpOptions o;
  o.from = "alerts@example.com";
  o.from_name = "nbms";
  MailMessage m;
  m.to = "ann@example.com";
  m.subject = "Alarm: Kühlung";
  m.text = "line one\n.line two";
  m.message_id = "n1.0@example.com";
  m.date_ms = 1'764'162'600'000;  // 2025-11-26 13:10:00 UTC
  const auto text = build_message(o, m);
  EXPECT_NE(text.find("Date: Wed, 26 Nov 2025 13:10:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(text.find("From: nbms <alerts@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("To: <ann@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(text.find("Message-ID: <n1.0@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  const auto body_at = text.find("\r\n\r\n") + 4;
  auto body = text.substr(body_at);
  body.erase(body.find_last_not_of("\r\n") + 1);
  EXPECT_EQ(*crypto::base64_decode(body), m.text);
}

TEST(SmtpClientOptions, RejectsIncompleteOrInjectedOptions) {
  SmtpOptions o;
  o.host = "mail.example.com";
  o.from = "alerts@example.com";
  EXPECT_TRUE(SmtpClient::create(o));
  auto no_host = o;
  no_host.host = "";
  EXPECT_EQ(SmtpClient::create(no_host).error().code, Errc::invalid_argument);
  auto bad_from = o;
  bad_from.from = "alerts";
  EXPECT_FALSE(SmtpClient::create(bad_from));
  auto crlf = o;
  crlf.from_name = "x\r\nBcc: y@z";
  EXPECT_FALSE(SmtpClient::create(crlf));
  auto client = SmtpClient::create(o);
  ASSERT_TRUE(client);
  MailMessage m;
  m.to = "a@b.c>\r\nRCPT TO:<evil@x";
  EXPECT_EQ((*client)->send(m).error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace nbms::notify
