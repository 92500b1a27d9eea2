#pragma once
// Helpers shared by the OpenSSL-backed translation units of src/crypto
// (private to the module).
#include <openssl/err.h>

#include <array>
#include <string>
#include <string_view>

namespace nbms::crypto::detail {

// The oldest error on this thread's OpenSSL error queue, as text; clears the
// queue so a later, unrelated call does not report it again.
inline std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

inline const unsigned char* ubytes(std::string_view s) {
  // OpenSSL dereferences some pointers even for zero lengths; never pass null.
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

inline unsigned char* ubytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

}  // namespace nbms::crypto::detail
