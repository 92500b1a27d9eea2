#pragma once
// Records of the client certificates nbms issued to things (the old IoT Core
// certificate registry) and the port that keeps them. The certificates
// themselves are made by nbms::pki; this is only what must be remembered to
// list, revoke and publish a CRL. Plain values, no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms {

struct CertificateRecord {
  std::string thing;        // CN of the certificate: the thing (or service) it was issued to
  std::string serial;       // lowercase hex, no leading zeros (as nbms::pki reports it)
  std::string fingerprint;  // lowercase hex SHA-256 of the DER certificate
  std::int64_t issued_ms = 0;
  std::int64_t not_after_ms = 0;
  std::optional<std::int64_t> revoked_ms;  // set once revoked; never cleared
  bool operator==(const CertificateRecord&) const = default;
};

// Validates a serial as nbms::pki writes it: 1..40 lowercase hex digits
// without leading zeros (X.509 allows at most 20 octets).
Result<void> validate_certificate_serial(std::string_view serial);

// Issued and revoked certificates. Thread-safe.
class CertificateStore {
 public:
  virtual ~CertificateStore() = default;
  // Records a newly issued certificate. already_exists if its serial is known.
  virtual Result<void> put_certificate(const CertificateRecord& record) = 0;
  // Records a new certificate of `record.thing` and revokes, in the same write,
  // every certificate of that thing not yet revoked (re-issuing revokes the old
  // one). Returns the records it revoked, with revoked_ms set.
  virtual Result<std::vector<CertificateRecord>> replace_certificate(
      const CertificateRecord& record, std::int64_t revoked_ms) = 0;
  virtual Result<CertificateRecord> certificate(std::string_view serial) = 0;  // not_found
  // Every certificate issued to `thing`, in serial order.
  virtual Result<std::vector<CertificateRecord>> certificates_of(std::string_view thing) = 0;
  // Marks one certificate revoked at `revoked_ms`; revoking a revoked
  // certificate keeps its first date. Returns the record. not_found if unknown.
  virtual Result<CertificateRecord> revoke_certificate(std::string_view serial,
                                                       std::int64_t revoked_ms) = 0;
  // Revokes every certificate of `thing` not yet revoked (removing a thing);
  // returns those it revoked now.
  virtual Result<std::vector<CertificateRecord>> revoke_certificates_of(
      std::string_view thing, std::int64_t revoked_ms) = 0;
  // Every revoked certificate, in serial order: the content of the CRL.
  virtual Result<std::vector<CertificateRecord>> revoked_certificates() = 0;
};

}  // namespace nbms
