#pragma once
// Web Push message encryption (RFC 8291, "aes128gcm" content coding of RFC
// 8188) and VAPID (RFC 8292). Byte strings are std::string of raw bytes.
//
// Vapid owns nbmsd's application server key pair; its const methods are
// thread-safe. The free functions have no state.
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"
#include "nbms/crypto/ecc.hpp"

namespace nbms::notify {

constexpr std::uint32_t kPushRecordSize = 4096;
// Header (salt 16, rs 4, idlen 1, keyid 65) + tag 16 + padding delimiter 1:
// what a single 4096-byte record leaves for the plaintext.
constexpr std::size_t kPushMaxPlaintext = kPushRecordSize - 86 - 16 - 1;

// Encrypts `plaintext` for a browser subscription with public key `ua_public`
// (65-byte point, the subscription's p256dh) and `auth_secret` (16 bytes), as
// one record. `sender` is a fresh key pair per message and `salt` 16 random
// bytes; this overload exists so known-answer tests can fix them.
Result<std::string> encrypt_push(std::string_view plaintext, std::string_view ua_public,
                                 std::string_view auth_secret, const crypto::P256Key& sender,
                                 std::string_view salt);
// Same, with a fresh sender key and salt.
Result<std::string> encrypt_push(std::string_view plaintext, std::string_view ua_public,
                                 std::string_view auth_secret);
// What a browser does: decrypts an aes128gcm body with the subscription's
// private key and auth secret (single record, as Web Push sends). For tests and
// receivers; invalid_argument for anything malformed or not authentic.
Result<std::string> decrypt_push(std::string_view body, const crypto::P256Key& ua,
                                 std::string_view auth_secret);

class Vapid {
 public:
  // `subject` is a mailto: or https: URL where push services can reach the operator.
  Vapid(crypto::P256Key key, std::string subject);
  // The key pair stored at `path` (base64url of the 32-byte private scalar),
  // or a new one written there with mode 0600 if the file does not exist.
  // Refuses a file that others can read.
  static Result<Vapid> load_or_create(const std::string& path, std::string subject);

  // The public key as base64url of the uncompressed point: the dashboard passes
  // it to pushManager.subscribe() as applicationServerKey.
  std::string public_key() const;
  // `vapid t=<JWT>, k=<public key>` for a request to `endpoint`: aud is the
  // endpoint's origin, exp now + `lifetime_s` (at most 24 h), sub the subject.
  Result<std::string> authorization(std::string_view endpoint, std::int64_t now_s,
                                    std::int64_t lifetime_s = 12LL * 3600) const;
  const crypto::P256Key& key() const { return key_; }

 private:
  crypto::P256Key key_;
  std::string subject_;
  std::string public_b64_;
};

}  // namespace nbms::notify
