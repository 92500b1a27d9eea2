// The realtime bench's WebSocket reader (tools/bench/ws_frame.hpp): server
// frames of every length form, fragmentation, control frames, what must be
// refused, masked client frames, and the upgrade answer's check.
#include "bench/ws_frame.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace nbms::bench {
namespace {

// A server frame (unmasked) built byte by byte from the RFC's layout, with
// the length in the form `length_form` (7, 16 or 64 bits).
std::string server_frame(std::uint8_t first_byte, std::string_view payload, int length_form = 0) {
  std::string f(1, static_cast<char>(first_byte));
  const std::uint64_t n = payload.size();
  if (length_form == 0) length_form = n < 126 ? 7 : n <= 0xFFFF ? 16 : 64;
  if (length_form == 7) {
    f.push_back(static_cast<char>(n));
  } else if (length_form == 16) {
    f.push_back(static_cast<char>(126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      f.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  f.append(payload);
  return f;
}

std::string text(std::string_view payload) {
  return server_frame(0x81, payload);
}

// Every message `reader` yields now, as "<opcode>:<payload>"; "ERROR:<message>" ends the list.
std::vector<std::string> drain(WsReader& reader) {
  std::vector<std::string> out;
  for (;;) {
    auto m = reader.next();
    if (!m) {
      out.push_back("ERROR:" + m.error().message);
      return out;
    }
    if (!*m) return out;
    out.push_back(std::to_string(static_cast<int>((*m)->opcode)) + ":" +
                  std::string((*m)->payload));
  }
}

std::string error_of(std::string_view bytes) {
  auto r = parse_server_frame(bytes);
  if (r) return "no error";
  return r.error().message;
}

TEST(WsFrame, ParsesTheThreeLengthForms) {
  for (const std::size_t n : {std::size_t{0}, std::size_t{125}, std::size_t{126},
                              std::size_t{65535}, std::size_t{65536}, std::size_t{200000}}) {
    const std::string payload(n, 'x');
    const std::string bytes = text(payload) + "tail";
    auto r = parse_server_frame(bytes);
    ASSERT_TRUE(r) << n << ": " << r.error().message;
    ASSERT_TRUE(*r) << n;
    EXPECT_TRUE((*r)->fin);
    EXPECT_EQ((*r)->opcode, WsOpcode::text);
    EXPECT_EQ((*r)->payload.size(), n);
    const std::size_t header = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    EXPECT_EQ((*r)->size, header + n);
    EXPECT_EQ(bytes.substr((*r)->size), "tail");
  }
}

TEST(WsFrame, AskForMoreBytesUntilTheFrameIsWhole) {
  const std::string bytes = text(std::string(300, 'y'));  // 16-bit length
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = parse_server_frame(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(r) << cut;
    EXPECT_FALSE(*r) << cut;
  }
  auto whole = parse_server_frame(bytes);
  ASSERT_TRUE(whole && *whole);
  EXPECT_EQ((*whole)->size, bytes.size());
}

TEST(WsFrame, RefusesWhatAServerMustNotSend) {
  EXPECT_NE(error_of("\x81\x85"
                     "abcdhello")
                .find("masked"),
            std::string::npos);
  EXPECT_NE(error_of(server_frame(0xC1, "x")).find("RSV"), std::string::npos);  // RSV1
  EXPECT_NE(error_of(server_frame(0x83, "x")).find("reserved opcode 0x3"), std::string::npos);
  EXPECT_NE(error_of(server_frame(0x8B, "x")).find("reserved opcode 0xb"), std::string::npos);
  EXPECT_NE(error_of(server_frame(0x81, "short", 16)).find("shortest"), std::string::npos);
  EXPECT_NE(error_of(server_frame(0x81, std::string(300, 'z'), 64)).find("shortest"),
            std::string::npos);
  EXPECT_NE(error_of(server_frame(0x09, "x")).find("fragmented control"), std::string::npos);
  EXPECT_NE(error_of(server_frame(0x89, std::string(126, 'p'))).find("at most 125"),
            std::string::npos);
  std::string top_bit = "\x81\x7f";
  top_bit += std::string("\x80\0\0\0\0\0\0\0", 8);
  EXPECT_NE(error_of(top_bit).find("top bit"), std::string::npos);
  std::string huge = "\x81\x7f";
  huge += std::string("\0\0\0\0\x40\0\0\0", 8);  // 1 GiB: refused before any allocation
  const auto r = parse_server_frame(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
}

TEST(WsReader, ReassemblesFragmentsAroundControlFrames) {
  WsReader reader;
  reader.append(server_frame(0x01, "{\"type\":") + server_frame(0x89, "ping-1") +
                server_frame(0x00, "\"values\"") + server_frame(0x80, "}") + text("next"));
  EXPECT_EQ(drain(reader),
            (std::vector<std::string>{"9:ping-1", "1:{\"type\":\"values\"}", "1:next"}));
}

TEST(WsReader, FeedsOneByteAtATime) {
  const std::string bytes = text("a") +
                            server_frame(0x88,
                                         "\x03\xe8"
                                         "bye") +
                            server_frame(0x8A, "") + text(std::string(70000, 'b'));
  WsReader reader;
  std::vector<std::string> got;
  for (const char byte : bytes) {
    auto room = reader.writable(1);
    ASSERT_GE(room.size(), 1u);
    room[0] = byte;
    reader.commit(1);
    for (auto& m : drain(reader)) got.push_back(m.substr(0, 12));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"1:a",
                                           "8:\x03\xe8"
                                           "bye",
                                           "10:", "1:bbbbbbbbbb"}));
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(WsReader, RefusesABrokenSequence) {
  WsReader orphan;
  orphan.append(server_frame(0x80, "tail"));
  EXPECT_EQ(drain(orphan).back(), "ERROR:continuation frame with no message started");
  WsReader interleaved;
  interleaved.append(server_frame(0x01, "part") + text("whole"));
  EXPECT_EQ(drain(interleaved).back(), "ERROR:new message 0x1 inside a fragmented message");
  WsReader close1;
  close1.append(server_frame(0x88, "\x03"));
  EXPECT_EQ(drain(close1).back(), "ERROR:close frame with a 1-byte payload");
  WsReader big;
  const std::string half(kWsMaxPayload / 2 + 1, 'q');
  big.append(server_frame(0x01, half) + server_frame(0x80, half));
  EXPECT_NE(drain(big).back().find("ERROR:fragmented message over"), std::string::npos);
}

TEST(WsFrame, ClientFramesAreMasked) {
  const std::array<std::uint8_t, 4> mask{0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 5.7's example
  const std::string f = client_frame(WsOpcode::text, "Hello", mask);
  EXPECT_EQ(f, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  for (const std::size_t n : {std::size_t{126}, std::size_t{70000}}) {
    const std::string payload(n, 'm');
    const std::string g = client_frame(WsOpcode::text, payload, mask);
    const std::size_t header = n <= 0xFFFF ? 8 : 14;
    ASSERT_EQ(g.size(), header + n);
    EXPECT_EQ(static_cast<std::uint8_t>(g[1]), n <= 0xFFFF ? 0xFE : 0xFF);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(static_cast<std::uint8_t>(g[header + i]) ^ mask[i % 4], 'm') << i;
    }
  }
}

TEST(WsHandshake, AcceptValueOfTheRfcExample) {
  EXPECT_EQ(ws_accept_value("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ChecksTheAnswer) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, "
      "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_TRUE(check_upgrade_response(ok, key));
  auto error = [&](const std::string& head) {
    auto r = check_upgrade_response(head, key);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(error("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n").find("refused"),
            std::string::npos);
  std::string wrong = ok;
  wrong.replace(wrong.find("s3pP"), 4, "AAAA");
  EXPECT_NE(error(wrong).find("wrong Sec-WebSocket-Accept"), std::string::npos);
  std::string deflate = ok;
  deflate.insert(deflate.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  EXPECT_NE(error(deflate).find("unrequested"), std::string::npos);
  std::string no_upgrade = ok;
  no_upgrade.replace(no_upgrade.find("upgrade: WebSocket"), 18, "X-Other: WebSocket");
  EXPECT_NE(error(no_upgrade).find("Upgrade: websocket"), std::string::npos);
  EXPECT_NE(error(ok.substr(0, ok.size() - 2)).find("incomplete"), std::string::npos);
}

TEST(WsHandshake, RequestCarriesTheHeaders) {
  const std::string r = ws_upgrade_request("127.0.0.1:8080", "/api/v1/ws", "tok", "a2V5");
  EXPECT_TRUE(r.starts_with("GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  EXPECT_NE(r.find("\r\nAuthorization: Bearer tok\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Key: a2V5\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
}

TEST(WsClose, Describes) {
  EXPECT_EQ(describe_close(std::string("\x03\xe9going away", 12)), "1001 going away");
  EXPECT_EQ(describe_close(""), "no status code");
}

}  // namespace
}  // namespace nbms::bench
