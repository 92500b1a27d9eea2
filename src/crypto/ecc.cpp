#include "nbms/crypto/ecc.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "openssl_util.hpp"

namespace nbms::crypto {
namespace {

using detail::openssl_error;
using detail::ubytes;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_clear_free>>;
using BnCtx = std::unique_ptr<BN_CTX, Deleter<BN_CTX, BN_CTX_free>>;
using Group = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP, EC_GROUP_free>>;
using Point = std::unique_ptr<EC_POINT, Deleter<EC_POINT, EC_POINT_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

constexpr char kCurve[] = "prime256v1";

// An EVP_PKEY from the public point and, if given, the private scalar.
Result<Pkey> make_pkey(std::string_view point, const BIGNUM* priv) {
  if (point.size() != kP256PointBytes || point[0] != 0x04) {
    return fail(Errc::invalid_argument, "P-256: a public key must be a 65-byte uncompressed point");
  }
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kCurve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      (priv && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)) {
    return fail(Errc::internal, "P-256 params: " + openssl_error());
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return fail(Errc::internal, "P-256 key: " + openssl_error());
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "P-256: invalid key");
  }
  Pkey key(raw);
  // fromdata decodes the point but does not promise it lies on the curve.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "P-256: the point is not on the curve");
  }
  return key;
}

}  // namespace

struct P256Key::Impl {
  Pkey key;
};

P256Key::P256Key(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
P256Key::P256Key(P256Key&&) noexcept = default;
P256Key& P256Key::operator=(P256Key&&) noexcept = default;
P256Key::~P256Key() = default;

Result<P256Key> P256Key::generate() {
  EVP_PKEY* raw = EVP_EC_gen(kCurve);
  if (!raw) return fail(Errc::internal, "P-256 key generation: " + openssl_error());
  return P256Key(std::make_unique<Impl>(Impl{Pkey(raw)}));
}

Result<P256Key> P256Key::from_private(std::string_view scalar) {
  if (scalar.size() != kP256ScalarBytes) {
    return fail(Errc::invalid_argument, "P-256: a private key must be 32 bytes");
  }
  Group group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  BnCtx bn_ctx(BN_CTX_new());
  Bn d(BN_bin2bn(ubytes(scalar), static_cast<int>(scalar.size()), nullptr));
  if (!group || !bn_ctx || !d) return fail(Errc::internal, "P-256: " + openssl_error());
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return fail(Errc::invalid_argument, "P-256: private key out of range");
  }
  Point pub(EC_POINT_new(group.get()));
  std::string point(kP256PointBytes, '\0');
  if (!pub || EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, ubytes(point),
                         point.size(), bn_ctx.get()) != kP256PointBytes) {
    return fail(Errc::internal, "P-256 public key: " + openssl_error());
  }
  auto key = make_pkey(point, d.get());
  if (!key) return std::unexpected(key.error());
  return P256Key(std::make_unique<Impl>(Impl{std::move(*key)}));
}

std::string P256Key::public_point() const {
  std::string out(kP256PointBytes, '\0');
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(impl_->key.get(), OSSL_PKEY_PARAM_PUB_KEY, ubytes(out),
                                      out.size(), &len) != 1 ||
      len != kP256PointBytes) {
    return {};  // cannot happen for a P-256 key we made; callers check the size
  }
  return out;
}

std::string P256Key::private_scalar() const {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(impl_->key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return {};
  Bn d(raw);
  std::string out(kP256ScalarBytes, '\0');
  if (BN_bn2binpad(d.get(), ubytes(out), static_cast<int>(out.size())) !=
      static_cast<int>(kP256ScalarBytes)) {
    return {};
  }
  return out;
}

Result<std::string> P256Key::derive(std::string_view peer_point) const {
  auto peer = make_pkey(peer_point, nullptr);
  if (!peer) return std::unexpected(peer.error());
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->key.get(), nullptr));
  std::string out(32, '\0');
  std::size_t len = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer->get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), ubytes(out), &len) != 1 || len != out.size()) {
    return fail(Errc::internal, "ECDH: " + openssl_error());
  }
  return out;
}

Result<std::string> P256Key::sign_es256(std::string_view data) const {
  MdCtx md(EVP_MD_CTX_new());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1) {
    return fail(Errc::internal, "ES256: " + openssl_error());
  }
  std::size_t der_len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &der_len, ubytes(data), data.size()) != 1) {
    return fail(Errc::internal, "ES256: " + openssl_error());
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), ubytes(der), &der_len, ubytes(data), data.size()) != 1) {
    return fail(Errc::internal, "ES256: " + openssl_error());
  }
  // OpenSSL gives DER (SEQUENCE of two INTEGERs); JWS wants fixed-size r || s.
  const unsigned char* p = ubytes(der);
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return fail(Errc::internal, "ES256 DER: " + openssl_error());
  std::string out(kEs256SignatureBytes, '\0');
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), ubytes(out), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), ubytes(out) + 32, 32) != 32) {
    return fail(Errc::internal, "ES256: " + openssl_error());
  }
  return out;
}

bool verify_es256(std::string_view public_point, std::string_view data,
                  std::string_view signature) {
  if (signature.size() != kEs256SignatureBytes) return false;
  auto key = make_pkey(public_point, nullptr);
  if (!key) return false;
  EcdsaSig sig(ECDSA_SIG_new());
  Bn r(BN_bin2bn(ubytes(signature), 32, nullptr));
  Bn s(BN_bin2bn(ubytes(signature) + 32, 32, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return false;
  }
  std::unique_ptr<unsigned char, OpenSslFree> der_owner(der);
  MdCtx md(EVP_MD_CTX_new());
  const bool ok = md &&
                  EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key->get()) == 1 &&
                  EVP_DigestVerify(md.get(), der, static_cast<std::size_t>(der_len), ubytes(data),
                                   data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace nbms::crypto
