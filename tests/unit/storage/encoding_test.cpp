#include "storage/encoding.hpp"

#include <gtest/gtest.h>

#include <random>

namespace nbms::storage {
namespace {

TEST(Keys, StartWithTheLayoutVersion) {
  for (const auto& k :
       {customer_key("C1"), building_key("C1", "B1"), thing_key("C1_B1_01"),
        point_key("C1", "B1", "p"), series_name_key("C1_B1_01", "p"), row_key("C1_B1_01", 5),
        block_key("C1", "B1", 202210, "p", 3), dead_letter_key(9)}) {
    ASSERT_FALSE(k.empty());
    EXPECT_EQ(k[0], kKeyVersion);
  }
}

TEST(Keys, RowsOrderByTime) {
  EXPECT_LT(row_key("T", 255), row_key("T", 256));
  EXPECT_LT(row_key("T", 65535), row_key("T", 65536));
  EXPECT_LT(row_key("T", 0x00ffffff), row_key("T", 0x01000000));
}

TEST(Keys, BlocksOfOnePointAreContiguousWithinAMonth) {
  // Point "a" and "a.b": the terminator keeps "a"'s days together.
  const auto a1 = block_key("C", "B", 202210, "a", 1);
  const auto a9 = block_key("C", "B", 202210, "a", 9);
  const auto ab = block_key("C", "B", 202210, "a.b", 1);
  EXPECT_LT(a1, a9);
  EXPECT_LT(a9, ab);
  EXPECT_TRUE(a9.starts_with(block_prefix("C", "B", 202210, "a")));
  EXPECT_FALSE(ab.starts_with(block_prefix("C", "B", 202210, "a")));
}

TEST(Keys, AMonthIsOneKeyRange) {
  const auto prefix = month_prefix("C", "B", 202210);
  EXPECT_TRUE(block_key("C", "B", 202210, "zzz", 99).starts_with(prefix));
  EXPECT_FALSE(block_key("C", "B", 202211, "a", 0).starts_with(prefix));
  EXPECT_LT(block_key("C", "B", 202210, "zzz", 99), prefix_end(prefix));
  EXPECT_GE(block_key("C", "B", 202211, "a", 0), prefix_end(prefix));
  // Building "B" and "B1" do not overlap.
  EXPECT_FALSE(block_key("C", "B1", 202210, "a", 0).starts_with(point_prefix("C", "B")));
}

TEST(Keys, PrefixEnd) {
  EXPECT_EQ(prefix_end("ab"), "ac");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(std::string("\xff", 1)), "");
}

TEST(Rows, RoundTrip) {
  Row row;
  row.period = 15;
  row.entries = {{0, 1.5}, {1, -2}, {7, 1e300}, {300, 0}};
  auto back = decode_row(encode_row(row));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->entries.size(), 4u);
  EXPECT_EQ(back->period, 15);
  EXPECT_EQ(back->entries[2].ordinal, 7u);
  EXPECT_EQ(back->entries[2].value, 1e300);
  EXPECT_EQ(find_in_row(*back, 300), 0.0);
  EXPECT_EQ(find_in_row(*back, 2), std::nullopt);
}

TEST(Rows, OneValueFromTheEncodedRow) {
  Row row;
  for (std::uint32_t o = 0; o < 900; o += 3) row.entries.push_back({o, o * 0.5});
  const auto data = encode_row(row);
  for (std::uint32_t o = 0; o < 903; ++o) {
    auto v = find_in_encoded_row(data, o);
    ASSERT_TRUE(v) << o;
    EXPECT_EQ(*v, find_in_row(row, o)) << o;
  }
  // Deltas of several varint bytes, before and after the one looked for.
  Row sparse;
  sparse.entries = {{0, 1}, {200, 2}, {70'000, 3}, {70'001, 4}, {5'000'000, 5}};
  const auto sparse_data = encode_row(sparse);
  for (std::uint32_t o : {0u, 1u, 200u, 201u, 69'999u, 70'000u, 70'001u, 5'000'000u, 6'000'000u}) {
    auto v = find_in_encoded_row(sparse_data, o);
    ASSERT_TRUE(v) << o;
    EXPECT_EQ(*v, find_in_row(sparse, o)) << o;
  }
  // One-byte deltas: a dense row (all points), one with gaps, one not from 0.
  for (const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges :
       {std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 900}},
        {{0, 100}, {150, 200}, {201, 202}},
        {{5, 8}},
        {{0, 1}}}) {
    Row r;
    for (const auto& [from, to] : ranges) {
      for (auto o = from; o < to; ++o) r.entries.push_back({o, o + 0.25});
    }
    const auto encoded = encode_row(r);
    for (std::uint32_t o = 0; o < 905; ++o) {
      auto v = find_in_encoded_row(encoded, o);
      ASSERT_TRUE(v) << o;
      EXPECT_EQ(*v, find_in_row(r, o)) << o;
    }
  }
  EXPECT_EQ(*find_in_encoded_row(encode_row(Row{}), 0), std::nullopt);
  EXPECT_FALSE(find_in_encoded_row("", 0));
  EXPECT_FALSE(find_in_encoded_row(data.substr(0, data.size() - 1), 0));
  EXPECT_FALSE(find_in_encoded_row(data.substr(0, 5), 0));
}

TEST(Rows, CorruptDataIsAnError) {
  EXPECT_FALSE(decode_row(""));
  EXPECT_FALSE(decode_row(std::string("\x02", 1)));
  auto good = encode_row(Row{15, {{0, 1.0}, {1, 2.0}}});
  EXPECT_FALSE(decode_row(good.substr(0, good.size() - 1)));
}

std::vector<BlockSample> day_of(std::function<double(int)> value) {
  std::vector<BlockSample> s;
  for (int i = 0; i < 96; ++i) s.push_back({static_cast<std::uint16_t>(i * 15), value(i)});
  return s;
}

TEST(Blocks, RoundTripExactlyForDecimalsAndRawDoubles) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-50, 50);
  const std::vector<std::vector<BlockSample>> cases = {
      day_of([](int i) { return i % 2; }),                            // binary
      day_of([](int i) { return 20.0 + i * 0.1; }),                   // one decimal
      day_of([](int i) { return 1234567.89 + i * 0.37; }),            // meter, 2 decimals
      day_of([&](int) { return u(rng); }),                            // arbitrary doubles
      day_of([](int i) { return i == 3 ? 1e-300 : -0.000001 * i; }),  // tiny
      {{0, 5.0}},                                                     // one sample
      {},                                                             // empty
  };
  for (const auto& samples : cases) {
    auto back = decode_block(encode_block(samples));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, samples);
  }
}

TEST(Blocks, DecimalValuesAreCompact) {
  const auto binary = encode_block(day_of([](int i) { return (i / 8) % 2; }));
  const auto analog = encode_block(day_of([](int i) { return 21.0 + (i % 7) * 0.1; }));
  // 96 samples: 1 byte time delta + 1 byte value delta each, plus a small header.
  EXPECT_LE(binary.size(), 200u);
  EXPECT_LE(analog.size(), 200u);
}

TEST(Blocks, MergeNewerWins) {
  std::vector<BlockSample> older{{0, 1}, {15, 2}, {30, 3}};
  std::vector<BlockSample> newer{{15, 20}, {45, 4}};
  EXPECT_EQ(merge_samples(older, newer),
            (std::vector<BlockSample>{{0, 1}, {15, 20}, {30, 3}, {45, 4}}));
  EXPECT_EQ(merge_samples({}, newer), newer);
  EXPECT_EQ(merge_samples(older, {}), older);
}

TEST(Blocks, CorruptDataIsAnError) {
  EXPECT_FALSE(decode_block(""));
  auto good = encode_block({{0, 1.5}, {15, 2.5}});
  EXPECT_FALSE(decode_block(good.substr(0, good.size() - 1)));
  // format 1, one sample, minute 1440 (past the day), decimal values, d=0, value 1.
  EXPECT_FALSE(decode_block(std::string("\x01\x01\xa0\x0b\x01\x00\x02", 7)));
  EXPECT_TRUE(decode_block(std::string("\x01\x01\x9f\x0b\x01\x00\x02", 7)));  // 1439
}

TEST(Latest, RoundTrip) {
  Latest l{123456, 15, {{0, 100, 1.5}, {4, 120, -3}}};
  auto back = decode_latest(encode_latest(l));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->max_minute, 123456u);
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_EQ(back->entries[1].ordinal, 4u);
  EXPECT_EQ(back->entries[1].minute, 120u);
  EXPECT_EQ(back->entries[1].value, -3);
}

TEST(DeadLetters, RoundTripArbitraryBytes) {
  DeadLetter d{1700000000000, "C_B_01/periodic_log", "malformed: x", std::string("\0\xff{", 3)};
  auto back = decode_dead_letter(encode_dead_letter(d));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->received_ms, d.received_ms);
  EXPECT_EQ(back->topic, d.topic);
  EXPECT_EQ(back->reason, d.reason);
  EXPECT_EQ(back->payload, d.payload);
}

}  // namespace
}  // namespace nbms::storage
