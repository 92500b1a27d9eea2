// The certificate authority: key generation, certificate profiles (CA, thing
// client, service client, server), CSRs and CRLs, over OpenSSL 3's EVP and
// X509 APIs. Every OpenSSL object is owned by an RAII wrapper (ossl.hpp);
// every failure leaves as an nbms::Error naming what was being done.
#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <utility>

#include "nbms/core/certificates.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/pki/pki.hpp"
#include "ossl.hpp"

namespace nbms::pki {

struct CertificateAuthority::Impl {
  ossl::X509Ptr cert;
  std::vector<ossl::X509Ptr> chain;  // certificates above the CA (company intermediate)
  ossl::Pkey key;
};

namespace {

constexpr std::int64_t kMaxValidityDays = 36500;

Result<void> check_times(std::int64_t now_s, std::int64_t days, std::string_view what) {
  if (now_s <= 0) return fail(Errc::invalid_argument, std::string(what) + ": now_s must be > 0");
  if (days < 1 || days > kMaxValidityDays) {
    return fail(Errc::invalid_argument, std::string(what) + ": validity must be 1.." +
                                            std::to_string(kMaxValidityDays) + " days, got " +
                                            std::to_string(days));
  }
  return {};
}

Result<ossl::Pkey> generate_p256() {
  ossl::Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl::fail_ssl(Errc::internal, "cannot generate an EC P-256 key");
  return key;
}

// The message digest to sign with: SHA-256, except for keys that sign whole
// messages (Ed25519/Ed448 company CAs), which take none.
const EVP_MD* digest_for(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
  return EVP_sha256();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

// Serial as lowercase hex without leading zeros.
std::string serial_of(const X509* cert) {
  ossl::Bn bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  if (!hex) return {};
  std::string s = lower(hex);
  OPENSSL_free(hex);
  const auto first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

std::string fingerprint_of(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) return {};
  return to_hex(md.data(), len);
}

std::int64_t seconds_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string name_line(const X509_NAME* name) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return ossl::drain(bio.get());
}

std::string common_name_of(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

Result<std::string> cert_to_pem(X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot write a certificate as PEM");
  }
  return ossl::drain(bio.get());
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot write a private key as PEM");
  }
  return ossl::drain(bio.get());
}

// 1..64 characters (the X.520 upper bound of a CN), no control characters.
Result<void> validate_common_name(std::string_view cn, std::string_view what) {
  if (cn.empty() || cn.size() > 64) {
    return fail(Errc::invalid_argument, std::string(what) + " must be 1..64 bytes");
  }
  for (unsigned char c : cn) {
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_argument, std::string(what) + " contains a control character");
    }
  }
  return {};
}

Result<ossl::Name> make_name(std::string_view cn, std::string_view organization = {}) {
  ossl::Name name(X509_NAME_new());
  if (!name) return ossl::fail_ssl(Errc::internal, "cannot allocate a name");
  auto add = [&](int nid, std::string_view value) {
    return X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!organization.empty() && !add(NID_organizationName, organization)) {
    return ossl::fail_ssl(Errc::invalid_argument, "cannot use organization name");
  }
  if (!add(NID_commonName, cn)) {
    return ossl::fail_ssl(Errc::invalid_argument,
                          "cannot use common name '" + std::string(cn) + "'");
  }
  return name;
}

// A positive random 128-bit serial: top bit clear (positive, so the DER
// integer stays 16 bytes; RFC 5280 allows up to 20), next bit set (never zero,
// always the same length), 126 random bits.
Result<ossl::Asn1Int> random_serial() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot draw a random serial");
  }
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  ossl::Bn bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  ossl::Asn1Int serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return ossl::fail_ssl(Errc::internal, "cannot encode a serial");
  return serial;
}

Result<void> add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::Ext ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl::fail_ssl(Errc::internal,
                          std::string("cannot add extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
  return {};
}

struct Profile {
  std::vector<std::pair<int, std::string>> extensions;  // after SKID/AKID
};

// Builds and signs a certificate for `subject_key` (public part used).
// `issuer` null means self-signed (a new CA).
Result<ossl::X509Ptr> build(const X509_NAME* subject, EVP_PKEY* subject_key, X509* issuer,
                            EVP_PKEY* signing_key, std::int64_t now_s, std::int64_t days,
                            const Profile& profile) {
  ossl::X509Ptr cert(X509_new());
  if (!cert) return ossl::fail_ssl(Errc::internal, "cannot allocate a certificate");
  auto serial = random_serial();
  if (!serial) return std::unexpected(serial.error());
  const auto not_before = static_cast<std::time_t>(now_s - kBackdateSeconds);
  const auto not_after = static_cast<std::time_t>(now_s + days * kSecondsPerDay);
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial->get()) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot fill in a certificate");
  }
  X509* ext_issuer = issuer ? issuer : cert.get();
  if (auto r = add_ext(cert.get(), ext_issuer, NID_subject_key_identifier, "hash"); !r)
    return std::unexpected(r.error());
  // "keyid,issuer": the issuer's key id if it has one (ours always does), else
  // its name and serial (a company CA without a subject key identifier).
  if (auto r = add_ext(cert.get(), ext_issuer, NID_authority_key_identifier,
                       issuer ? "keyid,issuer" : "keyid:always");
      !r) {
    return std::unexpected(r.error());
  }
  for (const auto& [nid, value] : profile.extensions) {
    if (auto r = add_ext(cert.get(), ext_issuer, nid, value); !r) return std::unexpected(r.error());
  }
  if (X509_sign(cert.get(), signing_key, digest_for(signing_key)) <= 0) {
    return ossl::fail_ssl(Errc::internal, "cannot sign the certificate");
  }
  return cert;
}

Result<IssuedCertificate> describe(X509* cert, EVP_PKEY* generated_key) {
  auto pem = cert_to_pem(cert);
  if (!pem) return std::unexpected(pem.error());
  IssuedCertificate out;
  out.common_name = common_name_of(X509_get_subject_name(cert));
  out.cert_pem = std::move(*pem);
  if (generated_key) {
    auto key = key_to_pem(generated_key);
    if (!key) return std::unexpected(key.error());
    out.key_pem = std::move(*key);
  }
  out.serial = serial_of(cert);
  out.fingerprint = fingerprint_of(cert);
  out.not_before_s = seconds_of(X509_get0_notBefore(cert));
  out.not_after_s = seconds_of(X509_get0_notAfter(cert));
  if (out.serial.empty() || out.fingerprint.empty() || out.not_after_s == 0) {
    return ossl::fail_ssl(Errc::internal, "cannot read back the certificate just issued");
  }
  return out;
}

const Profile& client_profile() {
  static const Profile p{{{NID_basic_constraints, "critical,CA:FALSE"},
                          {NID_key_usage, "critical,digitalSignature"},
                          {NID_ext_key_usage, "clientAuth"}}};
  return p;
}

// Keys a thing may bring in a CSR: EC P-256 or RSA of at least 2048 bits.
Result<void> check_client_key(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    std::array<char, 80> group{};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                       &len) != 1) {
      return ossl::fail_ssl(Errc::invalid_argument,
                            "CSR key is EC on an unnamed curve; only P-256 is accepted");
    }
    const std::string_view curve(group.data(), len);
    if (curve != "prime256v1" && curve != "P-256") {
      return fail(Errc::invalid_argument,
                  "CSR key is EC on curve " + std::string(curve) + "; only P-256 is accepted");
    }
    return {};
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < 2048) {
      return fail(Errc::invalid_argument,
                  "CSR key is RSA of " + std::to_string(bits) + " bits; at least 2048 are needed");
    }
    return {};
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return fail(Errc::invalid_argument, std::string("CSR key type ") + (type ? type : "unknown") +
                                          " is not accepted (EC P-256 or RSA >= 2048)");
}

Result<void> validate_dns_name(std::string_view name) {
  // Letters, digits, '-', '.', and a leading "*." wildcard; no ',' or ':' that
  // would change the meaning of the extension text.
  std::string_view rest = name.starts_with("*.") ? name.substr(2) : name;
  if (rest.empty() || name.size() > 253) {
    return fail(Errc::invalid_argument,
                "DNS name '" + std::string(name) + "' is empty or too long");
  }
  for (char c : rest) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return fail(Errc::invalid_argument, "DNS name '" + std::string(name) +
                                              "' may only contain letters, digits, '-' and '.'");
    }
  }
  return {};
}

Result<void> validate_ip(std::string_view ip) {
  std::array<unsigned char, 16> buf{};
  const std::string s(ip);
  if (inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
      inet_pton(AF_INET6, s.c_str(), buf.data()) == 1) {
    return {};
  }
  return fail(Errc::invalid_argument, "'" + s + "' is not an IPv4 or IPv6 address");
}

// Service names: what MQTT client ids allow everywhere, so CN = client id.
Result<void> validate_service_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return fail(Errc::invalid_argument, "service name must be 1..64 characters");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return fail(Errc::invalid_argument, "service name '" + std::string(name) +
                                              "' may only contain letters, digits, '_' and '-'");
    }
  }
  return {};
}

Result<ossl::Bn> serial_to_bn(const std::string& serial) {
  if (auto ok = validate_certificate_serial(serial); !ok) return std::unexpected(ok.error());
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, serial.c_str()) != static_cast<int>(serial.size())) {
    BN_free(raw);
    return ossl::fail_ssl(Errc::invalid_argument, "cannot read serial '" + serial + "'");
  }
  return ossl::Bn(raw);
}

// PEM password callback that refuses: an encrypted key is an error, never a
// prompt on the terminal.
int no_password(char*, int, int, void*) {
  return 0;
}

}  // namespace

// ---- CertificateAuthority ----

CertificateAuthority::CertificateAuthority(std::shared_ptr<const Impl> impl)
    : impl_(std::move(impl)) {}

Result<CertificateAuthority> CertificateAuthority::create(const CaOptions& options) {
  if (auto ok = check_times(options.now_s, options.validity_days, "CA"); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = validate_common_name(options.common_name, "CA common name"); !ok) {
    return std::unexpected(ok.error());
  }
  if (!options.organization.empty()) {
    if (auto ok = validate_common_name(options.organization, "CA organization"); !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto key = generate_p256();
  if (!key) return std::unexpected(key.error());
  auto name = make_name(options.common_name, options.organization);
  if (!name) return std::unexpected(name.error());
  const Profile profile{{{NID_basic_constraints, "critical,CA:TRUE"},
                         {NID_key_usage, "critical,keyCertSign,cRLSign"}}};
  auto cert = build(name->get(), key->get(), nullptr, key->get(), options.now_s,
                    options.validity_days, profile);
  if (!cert) return std::unexpected(cert.error());
  auto impl = std::make_shared<Impl>();
  impl->cert = std::move(*cert);
  impl->key = std::move(*key);
  return CertificateAuthority(std::move(impl));
}

Result<CertificateAuthority> CertificateAuthority::from_pem(std::string_view cert_pem,
                                                            std::string_view key_pem) {
  auto impl = std::make_shared<Impl>();
  {
    auto bio = ossl::mem_reader(cert_pem);
    while (true) {
      ossl::X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
      if (!c) break;
      if (!impl->cert) {
        impl->cert = std::move(c);
      } else {
        impl->chain.push_back(std::move(c));
      }
    }
    ERR_clear_error();  // the end of the input reads as "no start line"
  }
  if (!impl->cert) {
    return fail(Errc::invalid_argument, "CA certificate: no PEM certificate found");
  }
  {
    auto bio = ossl::mem_reader(key_pem);
    impl->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!impl->key) {
      return ossl::fail_ssl(Errc::invalid_argument,
                            "CA key: no unencrypted PEM private key found (an encrypted key must "
                            "be decrypted first, e.g. with openssl pkey)");
    }
  }
  if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    return ossl::fail_ssl(Errc::invalid_argument,
                          "CA key does not match the CA certificate (" +
                              name_line(X509_get_subject_name(impl->cert.get())) + ")");
  }
  const std::string subject = name_line(X509_get_subject_name(impl->cert.get()));
  ossl::Basic bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(impl->cert.get(), NID_basic_constraints, nullptr, nullptr)));
  if (!bc || !bc->ca) {
    ERR_clear_error();
    return fail(Errc::invalid_argument,
                "certificate '" + subject + "' is not a CA (basicConstraints CA:TRUE missing)");
  }
  const std::uint32_t usage = X509_get_key_usage(impl->cert.get());
  if (!(usage & KU_KEY_CERT_SIGN) || !(usage & KU_CRL_SIGN)) {
    return fail(Errc::invalid_argument, "CA certificate '" + subject +
                                            "' may not sign certificates and CRLs (keyUsage "
                                            "needs keyCertSign and cRLSign)");
  }
  return CertificateAuthority(std::move(impl));
}

std::string CertificateAuthority::cert_pem() const {
  auto pem = cert_to_pem(impl_->cert.get());
  return pem ? *pem : std::string();
}

std::string CertificateAuthority::chain_pem() const {
  std::string out = cert_pem();
  for (const auto& c : impl_->chain) {
    if (auto pem = cert_to_pem(c.get())) out += *pem;
  }
  return out;
}

std::string CertificateAuthority::key_pem() const {
  auto pem = key_to_pem(impl_->key.get());
  return pem ? *pem : std::string();
}

std::string CertificateAuthority::subject() const {
  return name_line(X509_get_subject_name(impl_->cert.get()));
}

std::string CertificateAuthority::fingerprint() const {
  return fingerprint_of(impl_->cert.get());
}

std::int64_t CertificateAuthority::not_after_s() const {
  return seconds_of(X509_get0_notAfter(impl_->cert.get()));
}

Result<IssuedCertificate> CertificateAuthority::issue_thing(std::string_view thing,
                                                            const IssueOptions& options) const {
  auto parsed = ThingName::parse(thing);
  if (!parsed) return std::unexpected(parsed.error());
  if (auto ok = check_times(options.now_s, options.validity_days, "client certificate"); !ok) {
    return std::unexpected(ok.error());
  }
  auto key = generate_p256();
  if (!key) return std::unexpected(key.error());
  auto name = make_name(thing);
  if (!name) return std::unexpected(name.error());
  auto cert = build(name->get(), key->get(), impl_->cert.get(), impl_->key.get(), options.now_s,
                    options.validity_days, client_profile());
  if (!cert) return std::unexpected(cert.error());
  return describe(cert->get(), key->get());
}

Result<IssuedCertificate> CertificateAuthority::issue_thing_from_csr(
    std::string_view thing, std::string_view csr_pem, const IssueOptions& options) const {
  auto parsed = ThingName::parse(thing);
  if (!parsed) return std::unexpected(parsed.error());
  if (auto ok = check_times(options.now_s, options.validity_days, "client certificate"); !ok) {
    return std::unexpected(ok.error());
  }
  auto bio = ossl::mem_reader(csr_pem);
  ossl::Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, no_password, nullptr));
  if (!req) {
    return ossl::fail_ssl(Errc::invalid_argument,
                          "CSR is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) return ossl::fail_ssl(Errc::invalid_argument, "CSR public key cannot be read");
  if (auto ok = check_client_key(key); !ok) return std::unexpected(ok.error());
  if (X509_REQ_verify(req.get(), key) != 1) {
    return ossl::fail_ssl(Errc::invalid_argument,
                          "CSR signature does not verify with its own public key");
  }
  auto name = make_name(thing);
  if (!name) return std::unexpected(name.error());
  auto cert = build(name->get(), key, impl_->cert.get(), impl_->key.get(), options.now_s,
                    options.validity_days, client_profile());
  if (!cert) return std::unexpected(cert.error());
  return describe(cert->get(), nullptr);
}

Result<IssuedCertificate> CertificateAuthority::issue_service_client(
    std::string_view name, const IssueOptions& options) const {
  if (auto ok = validate_service_name(name); !ok) return std::unexpected(ok.error());
  if (auto ok = check_times(options.now_s, options.validity_days, "client certificate"); !ok) {
    return std::unexpected(ok.error());
  }
  auto key = generate_p256();
  if (!key) return std::unexpected(key.error());
  auto subject = make_name(name);
  if (!subject) return std::unexpected(subject.error());
  auto cert = build(subject->get(), key->get(), impl_->cert.get(), impl_->key.get(), options.now_s,
                    options.validity_days, client_profile());
  if (!cert) return std::unexpected(cert.error());
  return describe(cert->get(), key->get());
}

Result<IssuedCertificate> CertificateAuthority::issue_server(const ServerCertRequest& request,
                                                             const IssueOptions& options) const {
  if (auto ok = validate_common_name(request.common_name, "server common name"); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = check_times(options.now_s, options.validity_days, "server certificate"); !ok) {
    return std::unexpected(ok.error());
  }
  if (request.dns_names.empty() && request.ip_addresses.empty()) {
    return fail(Errc::invalid_argument,
                "server certificate needs at least one DNS name or IP address");
  }
  std::string san;
  for (const auto& d : request.dns_names) {
    if (auto ok = validate_dns_name(d); !ok) return std::unexpected(ok.error());
    san += (san.empty() ? "DNS:" : ",DNS:") + d;
  }
  for (const auto& ip : request.ip_addresses) {
    if (auto ok = validate_ip(ip); !ok) return std::unexpected(ok.error());
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  }
  auto key = generate_p256();
  if (!key) return std::unexpected(key.error());
  auto subject = make_name(request.common_name);
  if (!subject) return std::unexpected(subject.error());
  const Profile profile{{{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_key_usage, "critical,digitalSignature"},
                         {NID_ext_key_usage, "serverAuth"},
                         {NID_subject_alt_name, san}}};
  auto cert = build(subject->get(), key->get(), impl_->cert.get(), impl_->key.get(), options.now_s,
                    options.validity_days, profile);
  if (!cert) return std::unexpected(cert.error());
  return describe(cert->get(), key->get());
}

Result<std::string> CertificateAuthority::crl_pem(const std::vector<RevokedSerial>& revoked,
                                                  const CrlOptions& options) const {
  if (auto ok = check_times(options.now_s, options.next_update_days, "CRL"); !ok) {
    return std::unexpected(ok.error());
  }
  if (options.crl_number < 0) return fail(Errc::invalid_argument, "CRL number must be >= 0");
  ossl::Crl crl(X509_CRL_new());
  ossl::Asn1Time this_update(ASN1_TIME_set(nullptr, static_cast<std::time_t>(options.now_s)));
  ossl::Asn1Time next_update(ASN1_TIME_set(
      nullptr,
      static_cast<std::time_t>(options.now_s + options.next_update_days * kSecondsPerDay)));
  if (!crl || !this_update || !next_update ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(impl_->cert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot fill in the CRL");
  }
  for (const auto& r : revoked) {
    auto bn = serial_to_bn(r.serial);
    if (!bn) return std::unexpected(bn.error());
    if (r.revoked_s < 0) {
      return fail(Errc::invalid_argument, "revocation time of serial " + r.serial + " is negative");
    }
    ossl::Asn1Int serial(BN_to_ASN1_INTEGER(bn->get(), nullptr));
    ossl::Asn1Time when(ASN1_TIME_set(nullptr, static_cast<std::time_t>(r.revoked_s)));
    ossl::Revoked entry(X509_REVOKED_new());
    if (!serial || !when || !entry ||
        X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
      return ossl::fail_ssl(Errc::internal, "cannot add serial " + r.serial + " to the CRL");
    }
    (void)entry.release();  // owned by the CRL now
  }
  X509_CRL_sort(crl.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, impl_->cert.get(), nullptr, nullptr, crl.get(), 0);
  ossl::Ext akid(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid,issuer"));
  ossl::Asn1Int number(ASN1_INTEGER_new());
  if (!akid || !number || X509_CRL_add_ext(crl.get(), akid.get(), -1) != 1 ||
      ASN1_INTEGER_set_int64(number.get(),
                             options.crl_number ? options.crl_number : options.now_s) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot add the CRL extensions");
  }
  if (X509_CRL_sign(crl.get(), impl_->key.get(), digest_for(impl_->key.get())) <= 0) {
    return ossl::fail_ssl(Errc::internal, "cannot sign the CRL");
  }
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) {
    return ossl::fail_ssl(Errc::internal, "cannot write the CRL as PEM");
  }
  return ossl::drain(bio.get());
}

// ---- inspect ----

Result<CertificateInfo> inspect_certificate(std::string_view cert_pem) {
  auto bio = ossl::mem_reader(cert_pem);
  ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
  if (!cert) return ossl::fail_ssl(Errc::invalid_argument, "no PEM certificate found");
  CertificateInfo info;
  info.subject = name_line(X509_get_subject_name(cert.get()));
  info.issuer = name_line(X509_get_issuer_name(cert.get()));
  info.common_name = common_name_of(X509_get_subject_name(cert.get()));
  info.serial = serial_of(cert.get());
  info.fingerprint = fingerprint_of(cert.get());
  info.not_before_s = seconds_of(X509_get0_notBefore(cert.get()));
  info.not_after_s = seconds_of(X509_get0_notAfter(cert.get()));
  ossl::Basic bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)));
  info.is_ca = bc && bc->ca;
  ERR_clear_error();
  return info;
}

}  // namespace nbms::pki
