#pragma once
// Binary encodings of keys and values in the RocksDB column families.
// Every key starts with a layout version byte (kKeyVersion) so layouts can
// evolve side by side; every value starts with a format byte. docs/storage.md
// shows the same layouts for people.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/model.hpp"

namespace nbms::storage {

inline constexpr char kKeyVersion = 0x01;

// ---- primitive writers / readers -------------------------------------------
void put_u32be(std::string& out, std::uint32_t v);
void put_u64be(std::string& out, std::uint64_t v);
void put_varint(std::string& out, std::uint64_t v);
void put_f64(std::string& out, double v);  // little-endian IEEE 754
// Appends `s` followed by a 0x00 terminator (ids never contain NUL).
void put_part(std::string& out, std::string_view s);

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(std::uint8_t& v);
  bool u16(std::uint16_t& v);
  bool u32be(std::uint32_t& v);
  bool u64be(std::uint64_t& v);
  bool varint(std::uint64_t& v);
  // Steps over `count` varints (each ends with its one byte below 0x80).
  bool skip_varints(std::uint64_t count);
  bool f64(double& v);
  bool bytes(std::size_t n, std::string_view& v);
  bool done() const { return data_.empty(); }
  std::size_t left() const { return data_.size(); }

 private:
  std::string_view data_;
};

std::uint32_t read_u32be(std::string_view four_bytes);

// ---- keys ------------------------------------------------------------------
// customers:   v | customer
// buildings:   v | customer 0 | building
// things:      v | thing-name
// points:      v | customer 0 | building 0 | point_id
// series:      v | thing 0 | 'N' | point_id     -> ordinal (u32be)
//              v | thing 0 | 'O' | ordinal u32be -> point_id
//              v | thing 0 | 'S' | day u32be     -> "" (the day was sealed once)
// rows:        v | thing 0 | minute u32be       -> Row (unsealed periodic log)
// periodic:    v | customer 0 | building 0 | yyyymm u32be | point_id 0 | day u32be -> Block
// latest:      v | thing                        -> Latest
// dead_letters: v | seq u64be                   -> DeadLetter
std::string customer_key(std::string_view customer);
std::string building_prefix(std::string_view customer);
std::string building_key(std::string_view customer, std::string_view building);
std::string thing_key(std::string_view thing);
std::string point_prefix(std::string_view customer, std::string_view building);
std::string point_key(std::string_view customer, std::string_view building,
                      std::string_view point_id);
std::string series_prefix(std::string_view thing);
std::string series_name_key(std::string_view thing, std::string_view point_id);
std::string series_ordinal_key(std::string_view thing, std::uint32_t ordinal);
std::string sealed_day_key(std::string_view thing, std::uint32_t day);
std::string row_prefix(std::string_view thing);
std::string row_key(std::string_view thing, std::uint32_t minute);
std::string month_prefix(std::string_view customer, std::string_view building,
                         std::uint32_t yyyymm);
std::string block_prefix(std::string_view customer, std::string_view building, std::uint32_t yyyymm,
                         std::string_view point_id);
std::string block_key(std::string_view customer, std::string_view building, std::uint32_t yyyymm,
                      std::string_view point_id, std::uint32_t day);
std::string latest_key(std::string_view thing);
std::string dead_letter_key(std::uint64_t seq);
// The smallest key greater than every key that starts with `prefix`.
std::string prefix_end(std::string prefix);

// ---- values ----------------------------------------------------------------
// Row: one periodic log of one thing, values by series ordinal (ascending).
struct RowEntry {
  std::uint32_t ordinal;
  double value;
};
struct Row {
  std::uint16_t period = 15;
  std::vector<RowEntry> entries;  // sorted by ordinal, unique
};
std::string encode_row(const Row& row);
Result<Row> decode_row(std::string_view data);
std::optional<double> find_in_row(const Row& row, std::uint32_t ordinal);
// The same from the encoded row, without decoding (or allocating) the others:
// a history read wants one point of rows that hold every point of the thing.
Result<std::optional<double>> find_in_encoded_row(std::string_view data, std::uint32_t ordinal);

// Block: one point's samples of one day, sorted by minute of day, unique.
// Values are stored as zig-zag varint deltas of value*10^d when every value of
// the block is exactly a decimal with d <= 6 digits (most BMS values are), else
// as raw doubles.
struct BlockSample {
  std::uint16_t minute_of_day;
  double value;
  bool operator==(const BlockSample&) const = default;
};
std::string encode_block(const std::vector<BlockSample>& samples);
Result<std::vector<BlockSample>> decode_block(std::string_view data);
// Union of two sorted sample lists; `newer` wins on equal minutes.
std::vector<BlockSample> merge_samples(const std::vector<BlockSample>& older,
                                       const std::vector<BlockSample>& newer);

// Latest: the newest value of each ordinal of one thing, plus its newest log time.
struct LatestEntry {
  std::uint32_t ordinal;
  std::uint32_t minute;
  double value;
};
struct Latest {
  std::uint32_t max_minute = 0;
  std::uint16_t period = 15;
  std::vector<LatestEntry> entries;  // sorted by ordinal
};
std::string encode_latest(const Latest& latest);
Result<Latest> decode_latest(std::string_view data);

std::string encode_dead_letter(const DeadLetter& letter);
Result<DeadLetter> decode_dead_letter(std::string_view data);

}  // namespace nbms::storage
