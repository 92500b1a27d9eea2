// Web Push encryption against RFC 8291's worked example, and VAPID tokens.
#include "nbms/notify/webpush.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nbms/crypto/crypto.hpp"
#include "nbms/notify/url.hpp"

namespace nbms::notify {
namespace {

std::string b64u(std::string_view text) {
  auto r = crypto::base64url_decode(text);
  EXPECT_TRUE(r.has_value()) << text;
  return r.value_or("");
}

// RFC 8291 Appendix A.
constexpr std::string_view kPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_"
    "c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzA"
    "C8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-"
    "fN";

TEST(WebPushEncryption, Rfc8291AppendixAExactCiphertext) {
  auto sender = crypto::P256Key::from_private(b64u(kAsPrivate));
  ASSERT_TRUE(sender);
  auto body = encrypt_push(kPlaintext, b64u(kUaPublic), b64u(kAuth), *sender, b64u(kSalt));
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ(crypto::base64url_encode(*body), kBody);
}

TEST(WebPushEncryption, Rfc8291AppendixADecrypts) {
  auto ua = crypto::P256Key::from_private(b64u(kUaPrivate));
  ASSERT_TRUE(ua);
  auto plain = decrypt_push(b64u(kBody), *ua, b64u(kAuth));
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, kPlaintext);
}

TEST(WebPushEncryption, RandomSenderRoundTripsAndDiffersEachTime) {
  auto ua = crypto::P256Key::generate();
  ASSERT_TRUE(ua);
  const std::string auth(16, 'a');
  auto a = encrypt_push("hello", ua->public_point(), auth);
  auto b = encrypt_push("hello", ua->public_point(), auth);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*decrypt_push(*a, *ua, auth), "hello");
  EXPECT_EQ(*decrypt_push(*b, *ua, auth), "hello");
  // Wrong auth secret or a flipped byte: not authentic.
  EXPECT_FALSE(decrypt_push(*a, *ua, std::string(16, 'b')));
  auto tampered = *a;
  tampered.back() ^= 1;
  EXPECT_FALSE(decrypt_push(tampered, *ua, auth));
  EXPECT_FALSE(decrypt_push(a->substr(0, 50), *ua, auth));
}

TEST(WebPushEncryption, RejectsBadSubscriptionKeysAndOversizedPayload) {
  auto ua = crypto::P256Key::generate();
  ASSERT_TRUE(ua);
  EXPECT_EQ(encrypt_push("x", "not a point", std::string(16, 'a')).error().code,
            Errc::invalid_argument);
  EXPECT_EQ(encrypt_push("x", ua->public_point(), "short").error().code, Errc::invalid_argument);
  const std::string max(kPushMaxPlaintext, 'x');
  auto ok = encrypt_push(max, ua->public_point(), std::string(16, 'a'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), kPushRecordSize);
  EXPECT_EQ(encrypt_push(max + "x", ua->public_point(), std::string(16, 'a')).error().code,
            Errc::too_large);
}

struct Jwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;
  std::string signature;
};

Jwt parse_authorization(const std::string& value, std::string& k) {
  // vapid t=<jwt>, k=<key>
  EXPECT_TRUE(value.starts_with("vapid t="));
  const auto comma = value.find(", k=");
  EXPECT_NE(comma, std::string::npos);
  const std::string jwt = value.substr(8, comma - 8);
  k = value.substr(comma + 4);
  const auto d1 = jwt.find('.');
  const auto d2 = jwt.rfind('.');
  Jwt out;
  out.header = nlohmann::json::parse(b64u(jwt.substr(0, d1)));
  out.claims = nlohmann::json::parse(b64u(jwt.substr(d1 + 1, d2 - d1 - 1)));
  out.signing_input = jwt.substr(0, d2);
  out.signature = b64u(jwt.substr(d2 + 1));
  return out;
}

TEST(Vapid, AuthorizationIsAVerifiableEs256Jwt) {
  auto key = crypto::P256Key::generate();
  ASSERT_TRUE(key);
  const Vapid vapid(std::move(*key), "mailto:ops@example.com");
  auto header =
      vapid.authorization("https://push.example.net:8443/wpush/v2/abc?x=1", 1'700'000'000);
  ASSERT_TRUE(header) << header.error().message;
  std::string k;
  const auto jwt = parse_authorization(*header, k);
  EXPECT_EQ(k, vapid.public_key());
  EXPECT_EQ(b64u(k).size(), 65u);
  EXPECT_EQ(jwt.header["alg"], "ES256");
  EXPECT_EQ(jwt.header["typ"], "JWT");
  EXPECT_EQ(jwt.claims["aud"], "https://push.example.net:8443");
  EXPECT_EQ(jwt.claims["sub"], "mailto:ops@example.com");
  EXPECT_EQ(jwt.claims["exp"], 1'700'000'000 + 12 * 3600);
  EXPECT_TRUE(crypto::verify_es256(b64u(k), jwt.signing_input, jwt.signature));
  EXPECT_FALSE(crypto::verify_es256(b64u(k), jwt.signing_input + "x", jwt.signature));
}

TEST(Vapid, RejectsLongLifetimesAndBadEndpoints) {
  auto key = crypto::P256Key::generate();
  ASSERT_TRUE(key);
  const Vapid vapid(std::move(*key), "mailto:ops@example.com");
  EXPECT_TRUE(vapid.authorization("https://push.example/x", 0, 24 * 3600));
  EXPECT_FALSE(vapid.authorization("https://push.example/x", 0, 24 * 3600 + 1));
  EXPECT_FALSE(vapid.authorization("ftp://push.example/x", 0));
}

TEST(Url, ParsesOriginsAndRejectsJunk) {
  auto u = parse_url("https://Push.example.com/a/b?c=d");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "Push.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/a/b?c=d");
  EXPECT_EQ(u->origin(), "https://Push.example.com");
  auto v = parse_url("http://127.0.0.1:8080");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->target, "/");
  EXPECT_EQ(v->origin(), "http://127.0.0.1:8080");
  auto w = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->origin(), "http://[::1]:9000");
  for (auto bad : {"push.example/x", "ftp://x/y", "https:///x", "https://u:p@x/", "https://x:0/",
                   "https://x:99999/", "https://x/a b", "https://x/#f", "https://[::1/"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace nbms::notify
