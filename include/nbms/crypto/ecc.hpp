#pragma once
// NIST P-256 keys over OpenSSL 3 (EVP): ECDH key agreement (Web Push payload
// encryption, RFC 8291) and ECDSA with SHA-256 in the JWS "ES256" form, r || s
// (VAPID, RFC 8292). Points are exchanged as the 65-byte uncompressed encoding
// (0x04 || X || Y), private keys as the 32-byte big-endian scalar.
//
// P256Key owns one EVP_PKEY. Its const methods are thread-safe; the free
// functions have no state.
#include <memory>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::crypto {

constexpr std::size_t kP256PointBytes = 65;
constexpr std::size_t kP256ScalarBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 64;

class P256Key {
 public:
  // A fresh key pair from OpenSSL's CSPRNG.
  static Result<P256Key> generate();
  // The key pair of a 32-byte private scalar (the public point is recomputed);
  // invalid_argument for a wrong size or a scalar outside 1..n-1.
  static Result<P256Key> from_private(std::string_view scalar);

  P256Key(P256Key&&) noexcept;
  P256Key& operator=(P256Key&&) noexcept;
  ~P256Key();

  std::string public_point() const;    // 65 bytes, uncompressed
  std::string private_scalar() const;  // 32 bytes; a secret

  // ECDH shared secret (the X coordinate, 32 bytes) with a peer's public point;
  // invalid_argument if the point is not a valid P-256 point.
  Result<std::string> derive(std::string_view peer_point) const;

  // ECDSA-SHA256 signature of `data` as r || s, each 32 bytes big-endian (JWS ES256).
  Result<std::string> sign_es256(std::string_view data) const;

 private:
  struct Impl;
  explicit P256Key(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True if `signature` (r || s, 64 bytes) is a valid ES256 signature of `data`
// by the key with public point `public_point`. Malformed input is false.
bool verify_es256(std::string_view public_point, std::string_view data, std::string_view signature);

}  // namespace nbms::crypto
