// Issued client certificates of RocksStore (CertificateStore).
//
// Key layout (docs/storage.md, "Certificates"), column family `certificates`:
//   v | 'S' | serial                -> JSON record
//   v | 'T' | thing 0 | serial      -> empty (the certificates of a thing)
// v is kKeyVersion (0x01); serial is lowercase hex without leading zeros. A
// record and its index key are always written in the same WriteBatch.
//
// Certificates are few (one or two per middleware), so the list of revoked
// ones (the CRL) is a scan of the 'S' range rather than a second index.
#include "store_impl.hpp"

namespace nbms::storage {
namespace {

std::string cert_key(std::string_view serial) {
  std::string k(1, kKeyVersion);
  k.push_back('S');
  k.append(serial);
  return k;
}
std::string thing_prefix(std::string_view thing) {
  std::string k(1, kKeyVersion);
  k.push_back('T');
  put_part(k, thing);
  return k;
}
std::string thing_key(std::string_view thing, std::string_view serial) {
  return thing_prefix(thing).append(serial);
}

std::string encode_cert(const CertificateRecord& r) {
  return json{{"thing", r.thing},
              {"serial", r.serial},
              {"fingerprint", r.fingerprint},
              {"issued_ms", r.issued_ms},
              {"not_after_ms", r.not_after_ms},
              {"revoked_ms", r.revoked_ms ? json(*r.revoked_ms) : json(nullptr)}}
      .dump();
}

Result<CertificateRecord> decode_cert(std::string_view data) {
  return decode_json(data, "certificate record", [](const json& j) {
    CertificateRecord r{j.at("thing"),     j.at("serial"),       j.at("fingerprint"),
                        j.at("issued_ms"), j.at("not_after_ms"), std::nullopt};
    if (!j.at("revoked_ms").is_null()) r.revoked_ms = j.at("revoked_ms").get<std::int64_t>();
    return r;
  });
}

Result<void> validate(const CertificateRecord& r) {
  if (r.thing.empty() || r.thing.size() > 200 || r.thing.find('\0') != std::string::npos) {
    return fail(Errc::invalid_argument, "certificate owner must be 1..200 bytes without NUL");
  }
  if (auto ok = validate_certificate_serial(r.serial); !ok) return ok;
  if (r.fingerprint.size() != 64 ||
      r.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return fail(Errc::invalid_argument,
                "certificate fingerprint must be 64 lowercase hex digits (SHA-256)");
  }
  return {};
}

}  // namespace

namespace {

// Records of `thing` (by its index keys), in serial order. A template because
// RocksStore::Impl is private to RocksStore.
template <class Impl>
Result<std::vector<CertificateRecord>> records_of(Impl& impl, std::string_view thing) {
  std::vector<CertificateRecord> out;
  if (thing.find('\0') != std::string_view::npos) return out;
  const auto prefix = thing_prefix(thing);
  std::vector<std::string> serials;
  auto r = impl.scan(kCertificates, prefix, [&](std::string_view k, std::string_view) {
    serials.emplace_back(k.substr(prefix.size()));
    return true;
  });
  if (!r) return std::unexpected(r.error());
  for (const auto& s : serials) {
    auto raw = impl.get(kCertificates, cert_key(s));
    if (!raw) return std::unexpected(raw.error());
    if (!*raw) return fail(Errc::io, "certificate index names serial " + s + " with no record");
    auto rec = decode_cert(**raw);
    if (!rec) return std::unexpected(rec.error());
    out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace

Result<void> RocksStore::put_certificate(const CertificateRecord& record) {
  if (auto ok = validate(record); !ok) return ok;
  std::lock_guard lock(impl_->cert_mu);
  const auto key = cert_key(record.serial);
  auto existing = impl_->get(kCertificates, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    return fail(Errc::already_exists, "certificate serial " + record.serial + " already recorded");
  }
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kCertificates), key, encode_cert(record));
  batch.Put(impl_->cf(kCertificates), thing_key(record.thing, record.serial), "");
  return impl_->write(batch);
}

Result<std::vector<CertificateRecord>> RocksStore::replace_certificate(
    const CertificateRecord& record, std::int64_t revoked_ms) {
  if (auto ok = validate(record); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(impl_->cert_mu);
  const auto key = cert_key(record.serial);
  auto existing = impl_->get(kCertificates, key);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    return fail(Errc::already_exists, "certificate serial " + record.serial + " already recorded");
  }
  auto old = records_of(*impl_, record.thing);
  if (!old) return std::unexpected(old.error());
  // One batch: the new certificate never exists beside a still-valid old one.
  rocksdb::WriteBatch batch;
  std::vector<CertificateRecord> revoked;
  for (auto& r : *old) {
    if (r.revoked_ms) continue;
    r.revoked_ms = revoked_ms;
    batch.Put(impl_->cf(kCertificates), cert_key(r.serial), encode_cert(r));
    revoked.push_back(std::move(r));
  }
  batch.Put(impl_->cf(kCertificates), key, encode_cert(record));
  batch.Put(impl_->cf(kCertificates), thing_key(record.thing, record.serial), "");
  if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  return revoked;
}

Result<CertificateRecord> RocksStore::certificate(std::string_view serial) {
  if (auto ok = validate_certificate_serial(serial); !ok) return std::unexpected(ok.error());
  auto raw = impl_->get(kCertificates, cert_key(serial));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw)
    return fail(Errc::not_found, "certificate serial " + std::string(serial) + " not found");
  return decode_cert(**raw);
}

Result<std::vector<CertificateRecord>> RocksStore::certificates_of(std::string_view thing) {
  return records_of(*impl_, thing);
}

Result<CertificateRecord> RocksStore::revoke_certificate(std::string_view serial,
                                                         std::int64_t revoked_ms) {
  if (auto ok = validate_certificate_serial(serial); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(impl_->cert_mu);
  const auto key = cert_key(serial);
  auto raw = impl_->get(kCertificates, key);
  if (!raw) return std::unexpected(raw.error());
  if (!*raw)
    return fail(Errc::not_found, "certificate serial " + std::string(serial) + " not found");
  auto rec = decode_cert(**raw);
  if (!rec) return rec;
  if (rec->revoked_ms) return rec;  // keeps the first revocation date
  rec->revoked_ms = revoked_ms;
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kCertificates), key, encode_cert(*rec));
  if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  return rec;
}

Result<std::vector<CertificateRecord>> RocksStore::revoke_certificates_of(std::string_view thing,
                                                                          std::int64_t revoked_ms) {
  std::lock_guard lock(impl_->cert_mu);
  auto all = records_of(*impl_, thing);
  if (!all) return all;
  rocksdb::WriteBatch batch;
  std::vector<CertificateRecord> revoked;
  for (auto& r : *all) {
    if (r.revoked_ms) continue;
    r.revoked_ms = revoked_ms;
    batch.Put(impl_->cf(kCertificates), cert_key(r.serial), encode_cert(r));
    revoked.push_back(std::move(r));
  }
  if (revoked.empty()) return revoked;
  if (auto w = impl_->write(batch); !w) return std::unexpected(w.error());
  return revoked;
}

Result<std::vector<CertificateRecord>> RocksStore::revoked_certificates() {
  std::vector<CertificateRecord> out;
  Result<void> inner;
  std::string prefix(1, kKeyVersion);
  prefix.push_back('S');
  auto r = impl_->scan(kCertificates, prefix, [&](std::string_view, std::string_view v) {
    auto rec = decode_cert(v);
    if (!rec) {
      inner = std::unexpected(rec.error());
      return false;
    }
    if (rec->revoked_ms) out.push_back(std::move(*rec));
    return true;
  });
  if (!r) return std::unexpected(r.error());
  if (!inner) return std::unexpected(inner.error());
  return out;
}

}  // namespace nbms::storage
