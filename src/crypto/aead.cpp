#include "nbms/crypto/aead.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "nbms/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace nbms::crypto {
namespace {

using detail::openssl_error;
using detail::ubytes;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Result<void> check_gcm_args(std::string_view key, std::string_view nonce, std::string_view data,
                            std::string_view aad) {
  if (key.size() != 16) return fail(Errc::invalid_argument, "AES-128-GCM: key must be 16 bytes");
  if (nonce.size() != 12) {
    return fail(Errc::invalid_argument, "AES-128-GCM: nonce must be 12 bytes");
  }
  if (data.size() > INT_MAX / 2 || aad.size() > INT_MAX / 2) {
    return fail(Errc::too_large, "AES-128-GCM: input too large");
  }
  return {};
}

}  // namespace

std::string hkdf_extract(std::string_view salt, std::string_view ikm) {
  return hmac_sha256(salt, ikm);
}

Result<std::string> hkdf_expand(std::string_view prk, std::string_view info, std::size_t length) {
  if (length == 0 || length > std::size_t{255} * 32) {
    return fail(Errc::invalid_argument, "HKDF: length must be 1..8160 bytes");
  }
  // T(i) = HMAC(PRK, T(i-1) || info || i), output = T(1) || T(2) || ... (RFC 5869 2.3).
  std::string out;
  std::string t;
  for (unsigned char i = 1; out.size() < length; ++i) {
    std::string block = t;
    block.append(info);
    block.push_back(static_cast<char>(i));
    t = hmac_sha256(prk, block);
    out.append(t);
  }
  out.resize(length);
  return out;
}

Result<std::string> hkdf_sha256(std::string_view salt, std::string_view ikm, std::string_view info,
                                std::size_t length) {
  return hkdf_expand(hkdf_extract(salt, ikm), info, length);
}

Result<std::string> aes128gcm_encrypt(std::string_view key, std::string_view nonce,
                                      std::string_view plaintext, std::string_view aad) {
  if (auto ok = check_gcm_args(key, nonce, plaintext, aad); !ok) return std::unexpected(ok.error());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return fail(Errc::internal, "AES-128-GCM: " + openssl_error());
  std::string out(plaintext.size() + kAesGcmTagBytes, '\0');
  int len = 0;
  int total = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, ubytes(key), ubytes(nonce)) != 1) {
    return fail(Errc::internal, "AES-128-GCM init: " + openssl_error());
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, ubytes(aad), static_cast<int>(aad.size())) != 1) {
    return fail(Errc::internal, "AES-128-GCM aad: " + openssl_error());
  }
  if (EVP_EncryptUpdate(ctx.get(), ubytes(out), &len, ubytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return fail(Errc::internal, "AES-128-GCM encrypt: " + openssl_error());
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ubytes(out) + total, &len) != 1) {
    return fail(Errc::internal, "AES-128-GCM final: " + openssl_error());
  }
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAesGcmTagBytes),
                          ubytes(out) + total) != 1) {
    return fail(Errc::internal, "AES-128-GCM tag: " + openssl_error());
  }
  out.resize(static_cast<std::size_t>(total) + kAesGcmTagBytes);
  return out;
}

Result<std::string> aes128gcm_decrypt(std::string_view key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag, std::string_view aad) {
  if (auto ok = check_gcm_args(key, nonce, ciphertext_and_tag, aad); !ok) {
    return std::unexpected(ok.error());
  }
  if (ciphertext_and_tag.size() < kAesGcmTagBytes) {
    return fail(Errc::invalid_argument, "AES-128-GCM: input shorter than the tag");
  }
  const auto ciphertext = ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kAesGcmTagBytes);
  std::string tag(ciphertext_and_tag.substr(ciphertext.size()));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return fail(Errc::internal, "AES-128-GCM: " + openssl_error());
  std::string out(ciphertext.size(), '\0');
  int len = 0;
  int total = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, ubytes(key), ubytes(nonce)) != 1) {
    return fail(Errc::internal, "AES-128-GCM init: " + openssl_error());
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, ubytes(aad), static_cast<int>(aad.size())) != 1) {
    return fail(Errc::internal, "AES-128-GCM aad: " + openssl_error());
  }
  if (EVP_DecryptUpdate(ctx.get(), ubytes(out), &len, ubytes(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1) {
    return fail(Errc::internal, "AES-128-GCM decrypt: " + openssl_error());
  }
  total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAesGcmTagBytes),
                          ubytes(tag)) != 1) {
    return fail(Errc::internal, "AES-128-GCM tag: " + openssl_error());
  }
  if (EVP_DecryptFinal_ex(ctx.get(), ubytes(out) + total, &len) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "AES-128-GCM: authentication failed");
  }
  total += len;
  out.resize(static_cast<std::size_t>(total));
  return out;
}

}  // namespace nbms::crypto
