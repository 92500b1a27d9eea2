// Conversions between issued certificates, store records and CRL entries.
#include "nbms/pki/pki.hpp"

namespace nbms::pki {

CertificateRecord record_of(const IssuedCertificate& cert, std::int64_t issued_ms) {
  return CertificateRecord{cert.common_name,        cert.serial, cert.fingerprint, issued_ms,
                           cert.not_after_s * 1000, std::nullopt};
}

std::vector<RevokedSerial> crl_entries(const std::vector<CertificateRecord>& revoked,
                                       std::int64_t now_s) {
  std::vector<RevokedSerial> out;
  for (const auto& r : revoked) {
    if (!r.revoked_ms) continue;
    if (r.not_after_ms / 1000 < now_s) continue;  // expired: refused without the CRL
    // A CRL cannot say "before 1970"; such a date can only be a clock error.
    out.push_back({r.serial, *r.revoked_ms > 0 ? *r.revoked_ms / 1000 : 0});
  }
  return out;
}

}  // namespace nbms::pki
