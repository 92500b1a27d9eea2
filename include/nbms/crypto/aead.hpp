#pragma once
// HKDF-SHA256 (RFC 5869) and AES-128-GCM over OpenSSL, as Web Push message
// encryption (RFC 8188/8291) needs them. Byte strings are std::string holding
// raw bytes. Thread-safe; no state.
#include <cstddef>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::crypto {

// HKDF-Extract: PRK = HMAC-SHA256(salt, ikm); 32 bytes.
std::string hkdf_extract(std::string_view salt, std::string_view ikm);
// HKDF-Expand of `prk` to `length` bytes (1..8160).
Result<std::string> hkdf_expand(std::string_view prk, std::string_view info, std::size_t length);
// Extract then expand.
Result<std::string> hkdf_sha256(std::string_view salt, std::string_view ikm, std::string_view info,
                                std::size_t length);

constexpr std::size_t kAesGcmTagBytes = 16;

// AES-128-GCM with a 16-byte key and 12-byte nonce. Returns ciphertext || tag
// (16 bytes).
Result<std::string> aes128gcm_encrypt(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad = {});
// Inverse of aes128gcm_encrypt; invalid_argument if the tag does not verify
// (wrong key, nonce or tampered data).
Result<std::string> aes128gcm_decrypt(std::string_view key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag,
                                      std::string_view aad = {});

}  // namespace nbms::crypto
