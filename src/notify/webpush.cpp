#include "nbms/notify/webpush.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "nbms/crypto/aead.hpp"
#include "nbms/crypto/crypto.hpp"
#include "nbms/notify/url.hpp"

namespace nbms::notify {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kAuthBytes = 16;
constexpr std::size_t kHeaderBytes = kSaltBytes + 4 + 1 + crypto::kP256PointBytes;

struct Keys {
  std::string cek;
  std::string nonce;
};

// RFC 8291 section 3.4 then RFC 8188 section 2.2/2.3.
Result<Keys> derive_keys(std::string_view ecdh_secret, std::string_view auth_secret,
                         std::string_view ua_public, std::string_view as_public,
                         std::string_view salt) {
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(ua_public).append(as_public);
  auto ikm = crypto::hkdf_sha256(auth_secret, ecdh_secret, key_info, 32);
  if (!ikm) return std::unexpected(ikm.error());
  const auto prk = crypto::hkdf_extract(salt, *ikm);
  auto cek = crypto::hkdf_expand(prk, std::string_view("Content-Encoding: aes128gcm\0", 28), 16);
  auto nonce = crypto::hkdf_expand(prk, std::string_view("Content-Encoding: nonce\0", 24), 12);
  if (!cek || !nonce) return fail(Errc::internal, "HKDF failed");
  return Keys{std::move(*cek), std::move(*nonce)};
}

void put_u32be(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

Result<std::string> encrypt_push(std::string_view plaintext, std::string_view ua_public,
                                 std::string_view auth_secret, const crypto::P256Key& sender,
                                 std::string_view salt) {
  if (plaintext.size() > kPushMaxPlaintext) {
    return fail(Errc::too_large,
                "push message: plaintext exceeds " + std::to_string(kPushMaxPlaintext) + " bytes");
  }
  if (auth_secret.size() != kAuthBytes) {
    return fail(Errc::invalid_argument, "push subscription: auth secret must be 16 bytes");
  }
  if (salt.size() != kSaltBytes) return fail(Errc::invalid_argument, "push: salt must be 16 bytes");
  auto secret = sender.derive(ua_public);
  if (!secret) {
    return fail(Errc::invalid_argument,
                "push subscription: bad p256dh key: " + secret.error().message);
  }
  const auto as_public = sender.public_point();
  auto keys = derive_keys(*secret, auth_secret, ua_public, as_public, salt);
  if (!keys) return std::unexpected(keys.error());
  // One record, so it is the last: the padding delimiter is 0x02, no padding.
  std::string record(plaintext);
  record.push_back('\x02');
  auto sealed = crypto::aes128gcm_encrypt(keys->cek, keys->nonce, record);
  if (!sealed) return std::unexpected(sealed.error());
  std::string body(salt);
  put_u32be(body, kPushRecordSize);
  body.push_back(static_cast<char>(as_public.size()));
  body.append(as_public);
  body.append(*sealed);
  return body;
}

Result<std::string> encrypt_push(std::string_view plaintext, std::string_view ua_public,
                                 std::string_view auth_secret) {
  auto sender = crypto::P256Key::generate();
  if (!sender) return std::unexpected(sender.error());
  auto salt = crypto::random_bytes(kSaltBytes);
  if (!salt) return std::unexpected(salt.error());
  return encrypt_push(plaintext, ua_public, auth_secret, *sender, *salt);
}

Result<std::string> decrypt_push(std::string_view body, const crypto::P256Key& ua,
                                 std::string_view auth_secret) {
  if (body.size() < kHeaderBytes + crypto::kAesGcmTagBytes + 1) {
    return fail(Errc::invalid_argument, "push message: too short");
  }
  const auto salt = body.substr(0, kSaltBytes);
  const auto idlen = static_cast<unsigned char>(body[kSaltBytes + 4]);
  if (idlen != crypto::kP256PointBytes) {
    return fail(Errc::invalid_argument, "push message: keyid is not a P-256 point");
  }
  std::uint32_t rs = 0;
  for (std::size_t i = 0; i < 4; ++i)
    rs = (rs << 8) | static_cast<unsigned char>(body[kSaltBytes + i]);
  const auto as_public = body.substr(kSaltBytes + 5, idlen);
  const auto record = body.substr(kHeaderBytes);
  if (rs < 18 || record.size() > rs) {
    return fail(Errc::invalid_argument, "push message: not a single record");
  }
  auto secret = ua.derive(as_public);
  if (!secret) return std::unexpected(secret.error());
  auto keys = derive_keys(*secret, auth_secret, ua.public_point(), as_public, salt);
  if (!keys) return std::unexpected(keys.error());
  auto plain = crypto::aes128gcm_decrypt(keys->cek, keys->nonce, record);
  if (!plain) return std::unexpected(plain.error());
  // Strip padding: trailing zeros, then the delimiter, which must be 0x02 (last record).
  const auto end = plain->find_last_not_of('\0');
  if (end == std::string::npos || (*plain)[end] != '\x02') {
    return fail(Errc::invalid_argument, "push message: bad padding delimiter");
  }
  plain->resize(end);
  return std::move(*plain);
}

Vapid::Vapid(crypto::P256Key key, std::string subject)
    : key_(std::move(key)),
      subject_(std::move(subject)),
      public_b64_(crypto::base64url_encode(key_.public_point())) {}

Result<Vapid> Vapid::load_or_create(const std::string& path, std::string subject) {
  if (!subject.starts_with("mailto:") && !subject.starts_with("https://")) {
    return fail(Errc::invalid_argument, "VAPID subject must be a mailto: or https: URL");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      return fail(Errc::invalid_argument,
                  "VAPID key file '" + path + "' is readable by others; chmod 600 it");
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return fail(Errc::io, "cannot read VAPID key file '" + path + "'");
    std::string b64 = text.str();
    while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r' || b64.back() == ' ')) {
      b64.pop_back();
    }
    auto scalar = crypto::base64url_decode(b64);
    if (!scalar) return fail(Errc::io, "VAPID key file '" + path + "' is corrupt");
    auto key = crypto::P256Key::from_private(*scalar);
    if (!key) return fail(Errc::io, "VAPID key file '" + path + "': " + key.error().message);
    return Vapid(std::move(*key), std::move(subject));
  }
  if (errno != ENOENT) {
    return fail(Errc::io, "cannot stat '" + path + "': " + std::generic_category().message(errno));
  }
  auto key = crypto::P256Key::generate();
  if (!key) return std::unexpected(key.error());
  // O_EXCL: two processes starting at once never overwrite each other's key.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail(Errc::io,
                "cannot create '" + path + "': " + std::generic_category().message(errno));
  const std::string text = crypto::base64url_encode(key->private_scalar()) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return fail(Errc::io, "cannot write '" + path + "'");
  }
  return Vapid(std::move(*key), std::move(subject));
}

std::string Vapid::public_key() const {
  return public_b64_;
}

Result<std::string> Vapid::authorization(std::string_view endpoint, std::int64_t now_s,
                                         std::int64_t lifetime_s) const {
  if (lifetime_s <= 0 || lifetime_s > 24LL * 3600) {
    return fail(Errc::invalid_argument, "VAPID token lifetime must be 1 s..24 h");
  }
  auto url = parse_url(endpoint);
  if (!url) return std::unexpected(url.error());
  const std::string header = R"({"typ":"JWT","alg":"ES256"})";
  const nlohmann::json claims = {
      {"aud", url->origin()}, {"exp", now_s + lifetime_s}, {"sub", subject_}};
  const std::string input =
      crypto::base64url_encode(header) + "." + crypto::base64url_encode(claims.dump());
  auto sig = key_.sign_es256(input);
  if (!sig) return std::unexpected(sig.error());
  return "vapid t=" + input + "." + crypto::base64url_encode(*sig) + ", k=" + public_b64_;
}

}  // namespace nbms::notify
