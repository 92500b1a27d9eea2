#pragma once
// Small cryptographic primitives over OpenSSL (libcrypto): random bytes,
// hashes, PBKDF2, HMAC and text encodings. Byte strings are std::string holding
// raw bytes. Thread-safe; no state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::crypto {

// `n` bytes from OpenSSL's CSPRNG; internal error if it fails.
Result<std::string> random_bytes(std::size_t n);

std::string sha256(std::string_view data);                             // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
// PBKDF2-HMAC-SHA256 (RFC 8018) giving `length` raw bytes.
Result<std::string> pbkdf2_sha256(std::string_view password, std::string_view salt,
                                  std::uint32_t iterations, std::size_t length);

// Comparison whose time does not depend on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

std::string to_hex(std::string_view bytes);                   // lowercase
std::string base64url_encode(std::string_view bytes);         // no padding (RFC 4648 section 5)
Result<std::string> base64url_decode(std::string_view text);  // padding optional
std::string base64_encode(std::string_view bytes);            // standard, padded
Result<std::string> base64_decode(std::string_view text);

}  // namespace nbms::crypto
