// The takeover CONNECT's bytes and the CONNACK reader. kick_client()'s I/O
// against a real Mosquitto and against a misbehaving control socket is in
// tests/integration/managed_broker_test.cpp.
#include "nbms/broker/kick.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nbms::broker {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

TEST(ConnectPacket, IsAnMqtt311CleanSessionConnectWithTheClientId) {
  auto p = connect_packet("C1_B1_01");
  ASSERT_TRUE(p) << p.error().message;
  // Fixed header 0x10, remaining length 10 + 2 + 8 = 20; "MQTT", level 4,
  // flags 0x02 (clean session only: no will, no user name, no password),
  // keepalive 10, then the client id with its length.
  const std::string expected =
      bytes({0x10, 20, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, 8}) + "C1_B1_01";
  EXPECT_EQ(*p, expected);
}

TEST(ConnectPacket, LongClientIdUsesTwoLengthBytes) {
  const std::string id(200, 'a');
  auto p = connect_packet(id);
  ASSERT_TRUE(p) << p.error().message;
  // Remaining length 212 = 0x54 + 1 * 128: bytes 0xD4 0x01.
  ASSERT_GE(p->size(), 3u);
  EXPECT_EQ(static_cast<unsigned char>((*p)[1]), 0xD4);
  EXPECT_EQ(static_cast<unsigned char>((*p)[2]), 0x01);
  EXPECT_EQ(p->size(), 3u + 212u);
  EXPECT_EQ(p->substr(p->size() - 200), id);
}

TEST(ConnectPacket, RejectsClientIdsThatAreEmptyTooLongOrNotPrintable) {
  EXPECT_FALSE(connect_packet(""));
  EXPECT_TRUE(connect_packet(std::string(256, 'a')));
  auto too_long = connect_packet(std::string(257, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, Errc::invalid_argument);
  EXPECT_NE(too_long.error().message.find("1..256"), std::string::npos);
  for (const std::string& bad :
       std::vector<std::string>{"a b", std::string("a\0b", 3), "a\nb", "caf\xc3\xa9"}) {
    auto r = connect_packet(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
}

TEST(DisconnectPacket, IsTwoBytes) {
  EXPECT_EQ(disconnect_packet(), bytes({0xE0, 0x00}));
}

TEST(ConnackReader, AcceptsAConnackFedInPieces) {
  ConnackReader r;
  auto s = r.feed(bytes({0x20}));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, ConnackReader::State::need_more);
  s = r.feed(bytes({0x02, 0x00}));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, ConnackReader::State::need_more);
  EXPECT_EQ(r.received(), 3u);
  s = r.feed(bytes({0x00}));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, ConnackReader::State::accepted);
}

TEST(ConnackReader, AcceptsSessionPresent) {
  ConnackReader r;
  auto s = r.feed(bytes({0x20, 0x02, 0x01, 0x00}));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, ConnackReader::State::accepted);
}

TEST(ConnackReader, NothingYetIsNeedMore) {
  ConnackReader r;
  auto s = r.feed("");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, ConnackReader::State::need_more);
  EXPECT_EQ(r.received(), 0u);
}

void expect_malformed(const std::string& input, const std::string& says) {
  ConnackReader r;
  auto s = r.feed(input);
  ASSERT_FALSE(s) << "accepted " << input.size() << " bytes";
  EXPECT_EQ(s.error().code, Errc::malformed);
  EXPECT_NE(s.error().message.find(says), std::string::npos) << s.error().message;
}

TEST(ConnackReader, RejectsBadAnswersPrecisely) {
  expect_malformed(bytes({0x30, 0x02, 0x00, 0x00}),
                   "expected a CONNACK (0x20), got packet byte 0x30");
  expect_malformed(bytes({0x20, 0x03, 0x00, 0x00}), "remaining length must be 2, got 3");
  expect_malformed(bytes({0x20, 0x02, 0x04, 0x00}), "flags must be 0 or 1, got 4");
  expect_malformed(bytes({0x20, 0x02, 0x00, 0x05}), "return code 5 (not authorized)");
  expect_malformed(bytes({0x20, 0x02, 0x00, 0x02}), "return code 2 (identifier rejected)");
  expect_malformed(bytes({0x20, 0x02, 0x00, 0x09}), "return code 9 (unknown return code)");
  expect_malformed(bytes({0x20, 0x02, 0x00, 0x00, 0x30}), "more than a CONNACK");
}

}  // namespace
}  // namespace nbms::broker
