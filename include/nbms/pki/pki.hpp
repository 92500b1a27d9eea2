#pragma once
// nbms's certificate authority over OpenSSL 3: the CA that signs the
// middlewares' client certificates (one per thing, CN = thing name), the
// broker's server certificate, nbmsd's own MQTT client certificate, and the
// CRL the broker enforces. docs/provisioning.md describes the model.
//
// Times are unix epoch seconds and always passed in (no hidden clock), so
// tests and callers decide what "now" is. Keys are EC P-256 unless a CSR
// brings its own (EC P-256 or RSA >= 2048). PEM text is returned as strings;
// nothing here touches the disk except the functions in the "Files" section.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/certificates.hpp"
#include "nbms/core/error.hpp"

namespace nbms::pki {

// Not-before is set this far before "now", so a certificate is already valid
// for a peer whose clock is a little behind.
inline constexpr std::int64_t kBackdateSeconds = 300;
inline constexpr std::int64_t kSecondsPerDay = 86400;

struct CaOptions {
  std::string common_name = "nbms device CA";
  std::string organization;  // optional O= of the subject
  std::int64_t validity_days = 3650;
  std::int64_t now_s = 0;
};

struct IssueOptions {
  std::int64_t validity_days = 730;
  std::int64_t now_s = 0;
};

// What an issued certificate is (also what the certificate store records).
struct IssuedCertificate {
  std::string common_name;
  std::string cert_pem;
  std::string key_pem;      // PKCS#8 PEM of the generated key; empty when issued from a CSR
  std::string serial;       // lowercase hex, no leading zeros
  std::string fingerprint;  // lowercase hex SHA-256 of the DER certificate
  std::int64_t not_before_s = 0;
  std::int64_t not_after_s = 0;
};

// A server certificate (the broker's): subjectAltName entries. At least one
// DNS name or IP address is needed, since clients check the name they dial.
struct ServerCertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // e.g. "localhost", "broker.example.com"
  std::vector<std::string> ip_addresses;  // IPv4 or IPv6 text, e.g. "127.0.0.1"
};

struct RevokedSerial {
  std::string serial;  // lowercase hex as in IssuedCertificate::serial
  std::int64_t revoked_s = 0;
};

struct CrlOptions {
  std::int64_t now_s = 0;              // thisUpdate
  std::int64_t next_update_days = 30;  // nextUpdate = now + this; rewrite the CRL before then
  // CRL number (RFC 5280: monotonically increasing); 0 means use now_s.
  std::int64_t crl_number = 0;
};

// The CA: its certificate (plus, for a company intermediate CA, the chain up
// to the root) and its private key. Immutable once made; const members may be
// called from any thread at the same time. Copies share the OpenSSL objects.
class CertificateAuthority {
 public:
  // A new self-signed CA: EC P-256 key, basicConstraints CA:TRUE (critical),
  // keyUsage keyCertSign + cRLSign (critical), subject key identifier.
  static Result<CertificateAuthority> create(const CaOptions& options);
  // An existing CA from PEM: `cert_pem` holds the CA certificate first, then
  // optionally the certificates above it (intermediate CA: its chain up to the
  // root); `key_pem` its private key (unencrypted). Checks that the key matches
  // the certificate and that the certificate is a CA allowed to sign
  // certificates and CRLs.
  static Result<CertificateAuthority> from_pem(std::string_view cert_pem, std::string_view key_pem);

  // The CA certificate followed by its chain (what clients and the broker trust).
  std::string chain_pem() const;
  std::string cert_pem() const;  // the CA certificate alone
  std::string subject() const;   // one-line RFC 2253 form, e.g. "CN=nbms device CA"
  std::string fingerprint() const;
  std::int64_t not_after_s() const;

  // A thing's client certificate with a new EC P-256 key: CN = thing name
  // (validated as <customer>_<building>_<index>), extendedKeyUsage clientAuth.
  Result<IssuedCertificate> issue_thing(std::string_view thing, const IssueOptions& options) const;
  // The same for a key the thing made itself, sent as a PEM CSR. The CSR's
  // signature is verified and its key must be EC P-256 or RSA >= 2048; its
  // subject and extensions are ignored (CN = thing, clientAuth only).
  Result<IssuedCertificate> issue_thing_from_csr(std::string_view thing, std::string_view csr_pem,
                                                 const IssueOptions& options) const;
  // A client certificate for a service (nbmsd's own MQTT identity): CN = name,
  // 1..64 of [A-Za-z0-9_-], clientAuth. The broker gives it full rights, so
  // the name must not be a thing name (checked by the broker config, which
  // knows the role).
  Result<IssuedCertificate> issue_service_client(std::string_view name,
                                                 const IssueOptions& options) const;
  // A server certificate (the broker's) with a new EC P-256 key, serverAuth,
  // subjectAltName from the request.
  Result<IssuedCertificate> issue_server(const ServerCertRequest& request,
                                         const IssueOptions& options) const;

  // A CRL (v2) signed by the CA listing `revoked`, with an authority key
  // identifier and a CRL number. An empty list gives a valid empty CRL.
  Result<std::string> crl_pem(const std::vector<RevokedSerial>& revoked,
                              const CrlOptions& options) const;

  // The private key as PKCS#8 PEM (for save_ca only; never log it).
  std::string key_pem() const;

 private:
  struct Impl;
  explicit CertificateAuthority(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Facts read from a PEM certificate (for listings and tests).
struct CertificateInfo {
  std::string subject;  // RFC 2253 one-line form
  std::string issuer;
  std::string common_name;
  std::string serial;
  std::string fingerprint;
  std::int64_t not_before_s = 0;
  std::int64_t not_after_s = 0;
  bool is_ca = false;
};
Result<CertificateInfo> inspect_certificate(std::string_view cert_pem);

// ---- Bridging to the certificate store ------------------------------------------

// The store record of a certificate just issued to `owner` at `issued_ms`.
CertificateRecord record_of(const IssuedCertificate& cert, std::int64_t issued_ms);

// The CRL entries for revoked store records. Certificates already past their
// notAfter at `now_s` are left out (RFC 5280 allows it: an expired certificate
// is refused anyway), so the CRL does not grow forever.
std::vector<RevokedSerial> crl_entries(const std::vector<CertificateRecord>& revoked,
                                       std::int64_t now_s);

// ---- Files ---------------------------------------------------------------------

// Writes `text` to `path` through a temporary file in the same directory
// created with `mode` from the start (a key is never readable by others, not
// even for a moment), fsynced, then moved into place. With overwrite false an
// existing `path` is kept and already_exists returned.
Result<void> write_file(const std::filesystem::path& path, std::string_view text, unsigned mode,
                        bool overwrite);

struct CaPaths {
  std::filesystem::path cert;  // written 0644
  std::filesystem::path key;   // written 0600
};
// Writes a CA's certificate chain and key. Never replaces an existing file
// (a CA key that is overwritten invalidates every certificate it issued).
Result<void> save_ca(const CertificateAuthority& ca, const CaPaths& paths);
// Loads a CA written by save_ca or provided by the operator (company CA).
Result<CertificateAuthority> load_ca(const CaPaths& paths);
// Loads the CA if both files exist, creates and saves one if neither does; an
// error if only one of them exists (a lost key must not be replaced silently).
// `created` (if given) says which happened.
Result<CertificateAuthority> load_or_create_ca(const CaPaths& paths, const CaOptions& options,
                                               bool* created = nullptr);

}  // namespace nbms::pki
