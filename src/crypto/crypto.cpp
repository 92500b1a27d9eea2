#include "nbms/crypto/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace nbms::crypto {
namespace {

// The oldest error on this thread's OpenSSL error queue, as text; clears the
// queue so a later, unrelated call does not report it again.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

// SHA-256 and HMAC over memory fail only when OpenSSL cannot allocate or its
// provider is missing. Their signatures promise a digest, and an empty or
// partial one would silently match the wrong session, so such a failure is
// fatal, like running out of memory.
[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "nbms: fatal: %s failed: %s\n", what, openssl_error().c_str());
  std::abort();
}

const unsigned char* bytes_of(std::string_view s) {
  // OpenSSL dereferences some pointers even for zero lengths; never pass null.
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Reverse table of an alphabet: 0..63, or kNotInAlphabet.
constexpr std::uint8_t kNotInAlphabet = 0xff;
constexpr std::array<std::uint8_t, 256> reverse_of(const char* alphabet) {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = kNotInAlphabet;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
  return table;
}
constexpr auto kBase64Reverse = reverse_of(kBase64);
constexpr auto kBase64UrlReverse = reverse_of(kBase64Url);

std::string encode_base64(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
        static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes unpadded base64 text in `alphabet`. Strict: characters outside the
// alphabet, an impossible length and non-zero unused bits are rejected, so each
// byte string has exactly one accepted encoding (a token cannot be respelled).
Result<std::string> decode_unpadded(std::string_view text,
                                    const std::array<std::uint8_t, 256>& reverse,
                                    std::string_view what) {
  if (text.size() % 4 == 1) return fail(Errc::invalid_argument, std::string(what) + ": bad length");
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::uint8_t v = reverse[static_cast<unsigned char>(c)];
    if (v == kNotInAlphabet) {
      return fail(Errc::invalid_argument, std::string(what) + ": invalid character");
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return fail(Errc::invalid_argument, std::string(what) + ": non-zero padding bits");
  }
  return out;
}

}  // namespace

Result<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const int chunk = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), chunk) != 1) {
      return fail(Errc::internal, "random bytes: " + openssl_error());
    }
    done += static_cast<std::size_t>(chunk);
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(bytes_of(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    fatal("SHA-256");
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  if (key.size() > INT_MAX) fatal("HMAC-SHA256 (key too long)");
  std::string out(32, '\0');
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), bytes_of(key), static_cast<int>(key.size()), bytes_of(data), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
      len != out.size()) {
    fatal("HMAC-SHA256");
  }
  return out;
}

Result<std::string> pbkdf2_sha256(std::string_view password, std::string_view salt,
                                  std::uint32_t iterations, std::size_t length) {
  if (iterations == 0 || iterations > INT_MAX) {
    return fail(Errc::invalid_argument, "PBKDF2: iterations must be 1..2^31-1");
  }
  if (length == 0 || length > 1024) {
    return fail(Errc::invalid_argument, "PBKDF2: length must be 1..1024 bytes");
  }
  if (password.size() > INT_MAX || salt.size() > INT_MAX) {
    return fail(Errc::invalid_argument, "PBKDF2: password or salt too long");
  }
  std::string out(length, '\0');
  if (PKCS5_PBKDF2_HMAC(
          reinterpret_cast<const char*>(bytes_of(password)), static_cast<int>(password.size()),
          bytes_of(salt), static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
          static_cast<int>(length), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return fail(Errc::internal, "PBKDF2: " + openssl_error());
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Only the length may leak; our callers compare fixed-size digests.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  return encode_base64(bytes, kBase64Url, false);
}

Result<std::string> base64url_decode(std::string_view text) {
  // Padding is optional, but if present it must be exactly what the length needs.
  const auto pad_at = text.find('=');
  if (pad_at != std::string_view::npos) {
    const auto padding = text.substr(pad_at);
    if (text.size() % 4 != 0 || padding.size() > 2 ||
        padding.find_first_not_of('=') != std::string_view::npos) {
      return fail(Errc::invalid_argument, "base64url: bad padding");
    }
    text = text.substr(0, pad_at);
  }
  return decode_unpadded(text, kBase64UrlReverse, "base64url");
}

std::string base64_encode(std::string_view bytes) {
  return encode_base64(bytes, kBase64, true);
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return fail(Errc::invalid_argument, "base64: length not a multiple of 4");
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  return decode_unpadded(text.substr(0, text.size() - padding), kBase64Reverse, "base64");
}

}  // namespace nbms::crypto
