#include "encoding.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace nbms::storage {
namespace {

constexpr std::uint8_t kRowFormat = 1;
constexpr std::uint8_t kBlockFormat = 1;
constexpr std::uint8_t kLatestFormat = 1;
constexpr std::uint8_t kDeadLetterFormat = 1;
constexpr std::uint8_t kValuesRaw = 0;
constexpr std::uint8_t kValuesDecimal = 1;
constexpr int kMaxDecimals = 6;
constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Smallest d such that every value is exactly round(v*10^d)/10^d, or -1.
int decimal_digits(const std::vector<BlockSample>& samples) {
  for (int d = 0; d <= kMaxDecimals; ++d) {
    bool ok = true;
    for (const auto& s : samples) {
      const double scaled = s.value * kPow10[d];
      if (!std::isfinite(scaled) || std::fabs(scaled) > 9.0e15) return -1;
      const double r = std::nearbyint(scaled);
      if (r / kPow10[d] != s.value) {
        ok = false;
        break;
      }
    }
    if (ok) return d;
  }
  return -1;
}

Error corrupt(std::string_view what) {
  return Error{Errc::io, "stored " + std::string(what) + " is corrupt"};
}

}  // namespace

void put_u32be(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
void put_u64be(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_f64(std::string& out, double v) {
  const auto bits = std::bit_cast<std::uint64_t>(v);
  for (int s = 0; s < 64; s += 8) out.push_back(static_cast<char>((bits >> s) & 0xff));
}
void put_part(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

bool Reader::u8(std::uint8_t& v) {
  if (data_.empty()) return false;
  v = static_cast<std::uint8_t>(data_[0]);
  data_.remove_prefix(1);
  return true;
}
bool Reader::u16(std::uint16_t& v) {
  if (data_.size() < 2) return false;
  v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(data_[0]) |
                                 static_cast<std::uint8_t>(data_[1]) << 8);
  data_.remove_prefix(2);
  return true;
}
bool Reader::u32be(std::uint32_t& v) {
  if (data_.size() < 4) return false;
  v = read_u32be(data_.substr(0, 4));
  data_.remove_prefix(4);
  return true;
}
bool Reader::u64be(std::uint64_t& v) {
  if (data_.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(data_[static_cast<std::size_t>(i)]);
  data_.remove_prefix(8);
  return true;
}
bool Reader::varint(std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (data_.empty()) return false;
    const auto b = static_cast<std::uint8_t>(data_[0]);
    data_.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}
bool Reader::skip_varints(std::uint64_t count) {
  std::size_t i = 0;
  for (; count > 0 && i < data_.size(); ++i) {
    if ((static_cast<std::uint8_t>(data_[i]) & 0x80) == 0) --count;
  }
  if (count > 0) return false;
  data_.remove_prefix(i);
  return true;
}
bool Reader::f64(double& v) {
  if (data_.size() < 8) return false;
  std::uint64_t bits = 0;
  for (int i = 7; i >= 0; --i)
    bits = (bits << 8) | static_cast<std::uint8_t>(data_[static_cast<std::size_t>(i)]);
  v = std::bit_cast<double>(bits);
  data_.remove_prefix(8);
  return true;
}
bool Reader::bytes(std::size_t n, std::string_view& v) {
  if (data_.size() < n) return false;
  v = data_.substr(0, n);
  data_.remove_prefix(n);
  return true;
}

std::uint32_t read_u32be(std::string_view four_bytes) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(four_bytes[i]);
  return v;
}

// ---- keys ----
namespace {
std::string with_version() {
  return std::string(1, kKeyVersion);
}
}  // namespace

std::string customer_key(std::string_view customer) {
  return with_version().append(customer);
}
std::string building_prefix(std::string_view customer) {
  auto k = with_version();
  put_part(k, customer);
  return k;
}
std::string building_key(std::string_view customer, std::string_view building) {
  return building_prefix(customer).append(building);
}
std::string thing_key(std::string_view thing) {
  return with_version().append(thing);
}
std::string point_prefix(std::string_view customer, std::string_view building) {
  auto k = building_prefix(customer);
  put_part(k, building);
  return k;
}
std::string point_key(std::string_view customer, std::string_view building,
                      std::string_view point_id) {
  return point_prefix(customer, building).append(point_id);
}
std::string series_prefix(std::string_view thing) {
  auto k = with_version();
  put_part(k, thing);
  return k;
}
std::string series_name_key(std::string_view thing, std::string_view point_id) {
  return series_prefix(thing).append("N").append(point_id);
}
std::string series_ordinal_key(std::string_view thing, std::uint32_t ordinal) {
  auto k = series_prefix(thing).append("O");
  put_u32be(k, ordinal);
  return k;
}
std::string sealed_day_key(std::string_view thing, std::uint32_t day) {
  auto k = series_prefix(thing).append("S");
  put_u32be(k, day);
  return k;
}
std::string row_prefix(std::string_view thing) {
  return series_prefix(thing);
}
std::string row_key(std::string_view thing, std::uint32_t minute) {
  auto k = row_prefix(thing);
  put_u32be(k, minute);
  return k;
}
std::string month_prefix(std::string_view customer, std::string_view building,
                         std::uint32_t yyyymm) {
  auto k = point_prefix(customer, building);
  put_u32be(k, yyyymm);
  return k;
}
std::string block_prefix(std::string_view customer, std::string_view building, std::uint32_t yyyymm,
                         std::string_view point_id) {
  auto k = month_prefix(customer, building, yyyymm);
  put_part(k, point_id);
  return k;
}
std::string block_key(std::string_view customer, std::string_view building, std::uint32_t yyyymm,
                      std::string_view point_id, std::uint32_t day) {
  auto k = block_prefix(customer, building, yyyymm, point_id);
  put_u32be(k, day);
  return k;
}
std::string latest_key(std::string_view thing) {
  return thing_key(thing);
}
std::string dead_letter_key(std::uint64_t seq) {
  auto k = with_version();
  put_u64be(k, seq);
  return k;
}
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& c = prefix.back();
    if (static_cast<unsigned char>(c) != 0xff) {
      c = static_cast<char>(static_cast<unsigned char>(c) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // empty: no upper bound
}

// ---- rows ----
std::string encode_row(const Row& row) {
  std::string out;
  out.reserve(8 + row.entries.size() * 10);
  out.push_back(static_cast<char>(kRowFormat));
  out.push_back(static_cast<char>(row.period & 0xff));
  out.push_back(static_cast<char>(row.period >> 8));
  put_varint(out, row.entries.size());
  std::uint32_t prev = 0;
  for (const auto& e : row.entries) {
    put_varint(out, e.ordinal - prev);
    prev = e.ordinal;
  }
  for (const auto& e : row.entries) put_f64(out, e.value);
  return out;
}

Result<Row> decode_row(std::string_view data) {
  Reader r(data);
  std::uint8_t format = 0;
  Row row;
  std::uint64_t n = 0;
  if (!r.u8(format) || format != kRowFormat || !r.u16(row.period) || !r.varint(n) ||
      n > data.size()) {
    return std::unexpected(corrupt("row"));
  }
  row.entries.resize(n);
  std::uint64_t ord = 0;
  for (auto& e : row.entries) {
    std::uint64_t d = 0;
    if (!r.varint(d)) return std::unexpected(corrupt("row"));
    ord += d;
    e.ordinal = static_cast<std::uint32_t>(ord);
  }
  for (auto& e : row.entries) {
    if (!r.f64(e.value)) return std::unexpected(corrupt("row"));
  }
  return row;
}

std::optional<double> find_in_row(const Row& row, std::uint32_t ordinal) {
  auto it = std::lower_bound(row.entries.begin(), row.entries.end(), ordinal,
                             [](const RowEntry& e, std::uint32_t o) { return e.ordinal < o; });
  if (it == row.entries.end() || it->ordinal != ordinal) return std::nullopt;
  return it->value;
}

namespace {
// Whether the `count` bytes at `p` are all 1 (consecutive ordinals).
bool dense_prefix(const std::uint8_t* p, std::size_t count) {
  static constexpr std::array<std::uint8_t, 256> kOnes = [] {
    std::array<std::uint8_t, 256> a{};
    a.fill(1);
    return a;
  }();
  for (; count > 0;) {
    const std::size_t chunk = std::min(count, kOnes.size());
    if (std::memcmp(p, kOnes.data(), chunk) != 0) return false;
    p += chunk;
    count -= chunk;
  }
  return true;
}
}  // namespace

Result<std::optional<double>> find_in_encoded_row(std::string_view data, std::uint32_t ordinal) {
  Reader r(data);
  std::uint8_t format = 0;
  std::uint16_t period = 0;
  std::uint64_t n = 0;
  if (!r.u8(format) || format != kRowFormat || !r.u16(period) || !r.varint(n) || n > data.size()) {
    return std::unexpected(corrupt("row"));
  }
  // History reads one point of rows of ~900: this is its inner loop. The
  // values are the last n * 8 bytes. When every ordinal delta is one byte (a
  // MW's usual row: all its points, ordinals 0..n-1, or nearly), the delta
  // bytes are summed without varint decoding, and a dense row (0, 1, 1, ...)
  // is recognised by comparing bytes.
  if (n * 8 <= r.left() && r.left() - n * 8 == n) {
    const auto* deltas =
        reinterpret_cast<const std::uint8_t*>(data.data()) + (data.size() - r.left());
    const std::string_view values = data.substr(data.size() - n * 8);
    const auto value_at = [&](std::uint64_t i) {
      double v = 0;
      Reader(values.substr(i * 8)).f64(v);
      return std::optional<double>(v);
    };
    if (ordinal < n && deltas[0] == 0 && dense_prefix(deltas + 1, ordinal))
      return value_at(ordinal);
    std::uint64_t ord = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (deltas[i] & 0x80) return std::unexpected(corrupt("row"));
      ord += deltas[i];
      if (ord >= ordinal) return ord == ordinal ? value_at(i) : std::optional<double>();
    }
    return std::optional<double>();
  }
  // Otherwise: decode the ordinals up to `ordinal`, then only step over the
  // rest to find where the values start.
  std::optional<std::uint64_t> index;
  std::uint64_t ord = 0;
  std::uint64_t i = 0;
  while (i < n) {
    std::uint64_t d = 0;
    if (!r.varint(d)) return std::unexpected(corrupt("row"));
    ord += d;
    ++i;
    if (ord >= ordinal) {
      if (ord == ordinal) index = i - 1;
      break;
    }
  }
  if (!r.skip_varints(n - i)) return std::unexpected(corrupt("row"));
  std::string_view values;
  if (!r.bytes(n * 8, values)) return std::unexpected(corrupt("row"));
  if (!index) return std::optional<double>();
  double v = 0;
  Reader(values.substr(*index * 8)).f64(v);
  return std::optional<double>(v);
}

// ---- blocks ----
std::string encode_block(const std::vector<BlockSample>& samples) {
  std::string out;
  out.reserve(4 + samples.size() * 3);
  out.push_back(static_cast<char>(kBlockFormat));
  put_varint(out, samples.size());
  std::uint16_t prev = 0;
  for (const auto& s : samples) {
    put_varint(out, static_cast<std::uint64_t>(s.minute_of_day - prev));
    prev = s.minute_of_day;
  }
  const int d = decimal_digits(samples);
  if (d < 0) {
    out.push_back(static_cast<char>(kValuesRaw));
    for (const auto& s : samples) put_f64(out, s.value);
    return out;
  }
  out.push_back(static_cast<char>(kValuesDecimal));
  out.push_back(static_cast<char>(d));
  std::int64_t prev_v = 0;
  for (const auto& s : samples) {
    const auto v = static_cast<std::int64_t>(std::nearbyint(s.value * kPow10[d]));
    put_varint(out, zigzag(v - prev_v));
    prev_v = v;
  }
  return out;
}

Result<std::vector<BlockSample>> decode_block(std::string_view data) {
  Reader r(data);
  std::uint8_t format = 0;
  std::uint64_t n = 0;
  if (!r.u8(format) || format != kBlockFormat || !r.varint(n) || n > 1440) {
    return std::unexpected(corrupt("block"));
  }
  std::vector<BlockSample> out(n);
  std::uint64_t minute = 0;
  for (auto& s : out) {
    std::uint64_t d = 0;
    if (!r.varint(d)) return std::unexpected(corrupt("block"));
    minute += d;
    if (minute >= 1440) return std::unexpected(corrupt("block"));
    s.minute_of_day = static_cast<std::uint16_t>(minute);
  }
  std::uint8_t kind = 0;
  if (!r.u8(kind)) return std::unexpected(corrupt("block"));
  if (kind == kValuesRaw) {
    for (auto& s : out) {
      if (!r.f64(s.value)) return std::unexpected(corrupt("block"));
    }
    return out;
  }
  std::uint8_t d = 0;
  if (kind != kValuesDecimal || !r.u8(d) || d > kMaxDecimals) {
    return std::unexpected(corrupt("block"));
  }
  std::int64_t v = 0;
  for (auto& s : out) {
    std::uint64_t z = 0;
    if (!r.varint(z)) return std::unexpected(corrupt("block"));
    v += unzigzag(z);
    s.value = static_cast<double>(v) / kPow10[d];
  }
  return out;
}

std::vector<BlockSample> merge_samples(const std::vector<BlockSample>& older,
                                       const std::vector<BlockSample>& newer) {
  std::vector<BlockSample> out;
  out.reserve(older.size() + newer.size());
  std::size_t i = 0, j = 0;
  while (i < older.size() || j < newer.size()) {
    if (j == newer.size() ||
        (i < older.size() && older[i].minute_of_day < newer[j].minute_of_day)) {
      out.push_back(older[i++]);
    } else {
      if (i < older.size() && older[i].minute_of_day == newer[j].minute_of_day) ++i;
      out.push_back(newer[j++]);
    }
  }
  return out;
}

// ---- latest ----
std::string encode_latest(const Latest& latest) {
  std::string out;
  out.reserve(12 + latest.entries.size() * 14);
  out.push_back(static_cast<char>(kLatestFormat));
  put_u32be(out, latest.max_minute);
  out.push_back(static_cast<char>(latest.period & 0xff));
  out.push_back(static_cast<char>(latest.period >> 8));
  put_varint(out, latest.entries.size());
  for (const auto& e : latest.entries) {
    put_varint(out, e.ordinal);
    put_u32be(out, e.minute);
    put_f64(out, e.value);
  }
  return out;
}

Result<Latest> decode_latest(std::string_view data) {
  Reader r(data);
  std::uint8_t format = 0;
  Latest l;
  std::uint64_t n = 0;
  if (!r.u8(format) || format != kLatestFormat || !r.u32be(l.max_minute) || !r.u16(l.period) ||
      !r.varint(n) || n > data.size()) {
    return std::unexpected(corrupt("latest values"));
  }
  l.entries.resize(n);
  for (auto& e : l.entries) {
    std::uint64_t ord = 0;
    if (!r.varint(ord) || !r.u32be(e.minute) || !r.f64(e.value)) {
      return std::unexpected(corrupt("latest values"));
    }
    e.ordinal = static_cast<std::uint32_t>(ord);
  }
  return l;
}

// ---- dead letters ----
std::string encode_dead_letter(const DeadLetter& letter) {
  std::string out;
  out.push_back(static_cast<char>(kDeadLetterFormat));
  put_u64be(out, static_cast<std::uint64_t>(letter.received_ms));
  for (const auto* s : {&letter.topic, &letter.reason, &letter.payload}) {
    put_varint(out, s->size());
    out.append(*s);
  }
  return out;
}

Result<DeadLetter> decode_dead_letter(std::string_view data) {
  Reader r(data);
  std::uint8_t format = 0;
  std::uint64_t ms = 0;
  DeadLetter d;
  if (!r.u8(format) || format != kDeadLetterFormat || !r.u64be(ms)) {
    return std::unexpected(corrupt("dead letter"));
  }
  d.received_ms = static_cast<std::int64_t>(ms);
  for (auto* s : {&d.topic, &d.reason, &d.payload}) {
    std::uint64_t n = 0;
    std::string_view v;
    if (!r.varint(n) || !r.bytes(n, v)) return std::unexpected(corrupt("dead letter"));
    s->assign(v);
  }
  return d;
}

}  // namespace nbms::storage
