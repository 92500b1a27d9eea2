// Messages held back by the ingest limiter (SpoolStore; docs/storage.md).
// Key: 01 thing 00 seq(u64 BE), so a thing's messages sort in arrival order;
// value: topic length (u32 BE), topic, payload. Only the ingest worker writes.
#include "store_impl.hpp"

namespace nbms::storage {
namespace {

std::string spool_prefix(std::string_view thing) {
  std::string k(1, kKeyVersion);
  k.append(thing);
  k.push_back('\0');
  return k;
}

std::string spool_key(std::string_view thing, std::uint64_t seq) {
  auto k = spool_prefix(thing);
  put_u64be(k, seq);
  return k;
}

std::uint64_t read_u64be(std::string_view eight) {
  return (std::uint64_t{read_u32be(eight.substr(0, 4))} << 32) | read_u32be(eight.substr(4, 4));
}

Result<HeldMessage> decode_held(std::uint64_t seq, std::string_view v) {
  if (v.size() < 4) return fail(Errc::io, "held message is corrupt (too short)");
  const auto topic_len = read_u32be(v.substr(0, 4));
  if (v.size() - 4 < topic_len) return fail(Errc::io, "held message is corrupt (topic length)");
  return HeldMessage{seq, std::string(v.substr(4, topic_len)),
                     std::string(v.substr(4 + topic_len))};
}

}  // namespace

Result<void> RocksStore::hold(const std::string& thing, std::uint64_t seq, std::string_view topic,
                              std::string_view payload) {
  std::string value;
  value.reserve(4 + topic.size() + payload.size());
  put_u32be(value, static_cast<std::uint32_t>(topic.size()));
  value.append(topic);
  value.append(payload);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kSpool), spool_key(thing, seq), value);
  return impl_->write(batch);
}

Result<std::optional<HeldMessage>> RocksStore::first_held(const std::string& thing) {
  std::optional<HeldMessage> out;
  Result<void> inner;
  const auto prefix = spool_prefix(thing);
  auto r = impl_->scan(kSpool, prefix, [&](std::string_view k, std::string_view v) {
    if (k.size() != prefix.size() + 8) {
      inner = fail(Errc::io, "held message key is corrupt");
      return false;
    }
    auto m = decode_held(read_u64be(k.substr(prefix.size())), v);
    if (!m) {
      inner = std::unexpected(m.error());
    } else {
      out = std::move(*m);
    }
    return false;
  });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  return out;
}

Result<void> RocksStore::release(const std::string& thing, std::uint64_t seq) {
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kSpool), spool_key(thing, seq));
  return impl_->write(batch);
}

Result<std::vector<HeldBacklog>> RocksStore::held_backlogs() {
  std::vector<HeldBacklog> out;
  Result<void> inner;
  auto r =
      impl_->scan(kSpool, std::string(1, kKeyVersion), [&](std::string_view k, std::string_view v) {
        const auto nul = k.find('\0', 1);
        if (nul == std::string_view::npos || k.size() != nul + 1 + 8) {
          inner = fail(Errc::io, "held message key is corrupt");
          return false;
        }
        const auto thing = k.substr(1, nul - 1);
        if (out.empty() || out.back().thing != thing)
          out.push_back(HeldBacklog{.thing = std::string(thing)});
        auto& b = out.back();
        const auto topic_len = v.size() >= 4 ? read_u32be(v.substr(0, 4)) : 0;
        ++b.messages;
        b.bytes += v.size() >= 4 + topic_len ? v.size() - 4 - topic_len : 0;
        b.next_seq = read_u64be(k.substr(nul + 1)) + 1;
        return true;
      });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  return out;
}

}  // namespace nbms::storage
