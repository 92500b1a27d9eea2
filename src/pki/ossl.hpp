#pragma once
// RAII owners for the OpenSSL objects nbms::pki uses, and the translation of
// OpenSSL's error queue into nbms::Error. Private to src/pki.
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::pki::ossl {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Crl = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Asn1Int = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using Basic = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using Usage = std::unique_ptr<ASN1_BIT_STRING, Deleter<ASN1_BIT_STRING_free>>;

// `what` followed by the oldest error on this thread's OpenSSL queue (or
// nothing if the queue is empty); clears the queue so a later, unrelated
// failure does not report it again.
inline Error error(Errc code, std::string what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e != 0) {
    char buf[256] = {};
    ERR_error_string_n(e, buf, sizeof buf);
    what += " (";
    what += buf;
    what += ")";
  }
  return Error{code, std::move(what)};
}
inline std::unexpected<Error> fail_ssl(Errc code, std::string what) {
  return std::unexpected<Error>(error(code, std::move(what)));
}

// A read-only memory BIO over `text` (which must outlive it).
inline Bio mem_reader(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Everything written to a memory BIO, as a string.
inline std::string drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace nbms::pki::ossl
