// Known-answer tests of the OpenSSL-backed primitives and the text encodings.
#include "nbms/crypto/crypto.hpp"

#include <gtest/gtest.h>

#include <set>

namespace nbms::crypto {
namespace {

std::string hex(std::string_view bytes) {
  return to_hex(bytes);
}

TEST(CryptoSha256, KnownVectors) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abc").size(), 32u);
}

TEST(CryptoHmacSha256, Rfc4231Case1) {
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(CryptoHmacSha256, Rfc4231Case2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoHmacSha256, EmptyKeyAndData) {
  EXPECT_EQ(hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoPbkdf2, KnownVectors) {
  auto c1 = pbkdf2_sha256("password", "salt", 1, 32);
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_EQ(hex(*c1), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  auto c2 = pbkdf2_sha256("password", "salt", 2, 32);
  ASSERT_TRUE(c2);
  EXPECT_EQ(hex(*c2), "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
  auto c4096 = pbkdf2_sha256("password", "salt", 4096, 32);
  ASSERT_TRUE(c4096);
  EXPECT_EQ(hex(*c4096), "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
  // Longer than one HMAC block of output, longer password and salt.
  auto long_out =
      pbkdf2_sha256("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40);
  ASSERT_TRUE(long_out);
  EXPECT_EQ(hex(*long_out),
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9");
}

TEST(CryptoPbkdf2, EmptyPasswordAndSaltWork) {
  auto a = pbkdf2_sha256("", "", 1, 32);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->size(), 32u);
}

TEST(CryptoPbkdf2, RejectsBadParameters) {
  EXPECT_EQ(pbkdf2_sha256("p", "s", 0, 32).error().code, Errc::invalid_argument);
  EXPECT_EQ(pbkdf2_sha256("p", "s", 1, 0).error().code, Errc::invalid_argument);
  EXPECT_EQ(pbkdf2_sha256("p", "s", 0x80000000u, 32).error().code, Errc::invalid_argument);
}

TEST(CryptoConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(CryptoHex, Lowercase) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(CryptoBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, plain);
    // base64url of these is the same text without padding.
    std::string unpadded(encoded);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64url_encode(plain), unpadded);
    EXPECT_EQ(*base64url_decode(unpadded), plain);
    EXPECT_EQ(*base64url_decode(encoded), plain);  // padding optional
  }
}

TEST(CryptoBase64, AlphabetsDiffer) {
  const std::string bytes("\xfb\xff\xfe", 3);
  EXPECT_EQ(base64_encode(bytes), "+//+");
  EXPECT_EQ(base64url_encode(bytes), "-__-");
  EXPECT_EQ(*base64_decode("+//+"), bytes);
  EXPECT_EQ(*base64url_decode("-__-"), bytes);
  EXPECT_FALSE(base64_decode("-__-"));
  EXPECT_FALSE(base64url_decode("+//+"));
}

TEST(CryptoBase64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 17) {
    const auto part = all.substr(0, n);
    EXPECT_EQ(*base64_decode(base64_encode(part)), part);
    EXPECT_EQ(*base64url_decode(base64url_encode(part)), part);
  }
}

TEST(CryptoBase64, RejectsMalformedText) {
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "====", "Zm9v\n", " Zm9v", "Zm9v=", "Zm=v", "Zh==", "Zm9=", "Zm*v"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
  for (const char* bad :
       {"Z", "Zg=", "Zg===", "Z===", "Zh", "Zm9", "Zm9v=", "Zm=v", "Zm9v\n", "Zm+v", "Zm/v"}) {
    EXPECT_FALSE(base64url_decode(bad)) << bad;
  }
  EXPECT_EQ(base64_decode("Zg").error().code, Errc::invalid_argument);
}

TEST(CryptoRandom, LengthAndDistinctness) {
  EXPECT_EQ(random_bytes(0)->size(), 0u);
  EXPECT_EQ(random_bytes(1)->size(), 1u);
  EXPECT_EQ(random_bytes(1000)->size(), 1000u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto r = random_bytes(32);
    ASSERT_TRUE(r);
    EXPECT_TRUE(seen.insert(*r).second);
  }
}

}  // namespace
}  // namespace nbms::crypto
