// Known-answer tests of HKDF-SHA256, AES-128-GCM and the P-256 operations.
#include <gtest/gtest.h>

#include "nbms/crypto/aead.hpp"
#include "nbms/crypto/crypto.hpp"
#include "nbms/crypto/ecc.hpp"

namespace nbms::crypto {
namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string b64u(std::string_view text) {
  auto r = base64url_decode(text);
  EXPECT_TRUE(r.has_value()) << text;
  return r.value_or("");
}

TEST(CryptoHkdf, Rfc5869Case1) {
  const auto ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const auto salt = unhex("000102030405060708090a0b0c");
  const auto info = unhex("f0f1f2f3f4f5f6f7f8f9");
  EXPECT_EQ(to_hex(hkdf_extract(salt, ikm)),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = hkdf_sha256(salt, ikm, info, 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(CryptoHkdf, Rfc5869Case3EmptySaltAndInfo) {
  const auto ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto okm = hkdf_sha256("", ikm, "", 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(CryptoHkdf, RejectsBadLengths) {
  EXPECT_EQ(hkdf_expand(std::string(32, 'k'), "", 0).error().code, Errc::invalid_argument);
  EXPECT_EQ(hkdf_expand(std::string(32, 'k'), "", 8161).error().code, Errc::invalid_argument);
  auto max = hkdf_expand(std::string(32, 'k'), "", 8160);
  ASSERT_TRUE(max);
  EXPECT_EQ(max->size(), 8160u);
}

// NIST GCM test vectors (gcmEncryptExtIV128): AES-128, 96-bit IV.
TEST(CryptoAesGcm, NistVectorEmptyPlaintext) {
  auto out = aes128gcm_encrypt(std::string(16, '\0'), std::string(12, '\0'), "");
  ASSERT_TRUE(out);
  EXPECT_EQ(to_hex(*out), "58e2fccefa7e3061367f1d57a4e7455a");
}

TEST(CryptoAesGcm, NistVectorOneBlock) {
  auto out = aes128gcm_encrypt(std::string(16, '\0'), std::string(12, '\0'), std::string(16, '\0'));
  ASSERT_TRUE(out);
  EXPECT_EQ(to_hex(*out), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
}

TEST(CryptoAesGcm, RoundTripWithAadAndTamperDetection) {
  const std::string key(16, 'k');
  const std::string nonce(12, 'n');
  auto ct = aes128gcm_encrypt(key, nonce, "hello world", "header");
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->size(), 11u + kAesGcmTagBytes);
  auto pt = aes128gcm_decrypt(key, nonce, *ct, "header");
  ASSERT_TRUE(pt);
  EXPECT_EQ(*pt, "hello world");
  EXPECT_EQ(aes128gcm_decrypt(key, nonce, *ct, "other").error().code, Errc::invalid_argument);
  auto tampered = *ct;
  tampered[0] ^= 1;
  EXPECT_EQ(aes128gcm_decrypt(key, nonce, tampered).error().code, Errc::invalid_argument);
  EXPECT_EQ(aes128gcm_decrypt(key, nonce, "short").error().code, Errc::invalid_argument);
  EXPECT_EQ(aes128gcm_encrypt("short", nonce, "x").error().code, Errc::invalid_argument);
  EXPECT_EQ(aes128gcm_encrypt(key, "short", "x").error().code, Errc::invalid_argument);
}

// RFC 8291 Appendix A gives two P-256 key pairs and their ECDH secret.
constexpr std::string_view kAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view kEcdhSecret = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";

TEST(CryptoP256, PublicPointFromPrivateMatchesRfc8291) {
  auto as = P256Key::from_private(b64u(kAsPrivate));
  ASSERT_TRUE(as) << as.error().message;
  EXPECT_EQ(base64url_encode(as->public_point()), kAsPublic);
  EXPECT_EQ(base64url_encode(as->private_scalar()), kAsPrivate);
}

TEST(CryptoP256, EcdhMatchesRfc8291BothWays) {
  auto as = P256Key::from_private(b64u(kAsPrivate));
  auto ua = P256Key::from_private(b64u(kUaPrivate));
  ASSERT_TRUE(as && ua);
  auto s1 = as->derive(b64u(kUaPublic));
  auto s2 = ua->derive(b64u(kAsPublic));
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(base64url_encode(*s1), kEcdhSecret);
  EXPECT_EQ(*s1, *s2);
}

TEST(CryptoP256, GeneratedKeysAgree) {
  auto a = P256Key::generate();
  auto b = P256Key::generate();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->public_point().size(), kP256PointBytes);
  EXPECT_EQ(a->public_point()[0], '\x04');
  EXPECT_NE(a->public_point(), b->public_point());
  EXPECT_EQ(*a->derive(b->public_point()), *b->derive(a->public_point()));
  auto again = P256Key::from_private(a->private_scalar());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_point(), a->public_point());
}

TEST(CryptoP256, RejectsBadKeys) {
  auto a = P256Key::generate();
  ASSERT_TRUE(a);
  EXPECT_EQ(P256Key::from_private("short").error().code, Errc::invalid_argument);
  EXPECT_EQ(P256Key::from_private(std::string(32, '\0')).error().code, Errc::invalid_argument);
  EXPECT_EQ(P256Key::from_private(std::string(32, '\xff')).error().code, Errc::invalid_argument);
  EXPECT_EQ(a->derive("x").error().code, Errc::invalid_argument);
  auto off_curve = a->public_point();
  off_curve[64] ^= 1;
  EXPECT_EQ(a->derive(off_curve).error().code, Errc::invalid_argument);
  auto compressed = a->public_point();
  compressed[0] = 0x02;
  EXPECT_EQ(a->derive(compressed).error().code, Errc::invalid_argument);
}

TEST(CryptoEs256, SignVerifyAndRejectTampering) {
  auto key = P256Key::generate();
  auto other = P256Key::generate();
  ASSERT_TRUE(key && other);
  auto sig = key->sign_es256("header.payload");
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), kEs256SignatureBytes);
  EXPECT_TRUE(verify_es256(key->public_point(), "header.payload", *sig));
  EXPECT_FALSE(verify_es256(key->public_point(), "header.payloaD", *sig));
  EXPECT_FALSE(verify_es256(other->public_point(), "header.payload", *sig));
  auto bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(verify_es256(key->public_point(), "header.payload", bad));
  EXPECT_FALSE(verify_es256(key->public_point(), "header.payload", sig->substr(1)));
  EXPECT_FALSE(verify_es256("junk", "header.payload", *sig));
}

// RFC 7515 Appendix A.3: an ES256 JWS made by someone else verifies with our
// r || s decoding.
TEST(CryptoEs256, VerifiesRfc7515ExampleSignature) {
  const std::string x = b64u("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
  const std::string y = b64u("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  const std::string point = "\x04" + x + y;
  const std::string input =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
      "bS9pc19yb290Ijp0cnVlfQ";
  const std::string sig = b64u(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  EXPECT_TRUE(verify_es256(point, input, sig));
}

}  // namespace
}  // namespace nbms::crypto
