#pragma once
// TLS client plumbing shared by the HTTP and SMTP clients (private to src/notify).
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "nbms/core/error.hpp"

namespace nbms::notify::detail {

namespace ssl = boost::asio::ssl;

// TLS 1.2+, peer verification against the system store plus `ca_file`.
inline Result<std::unique_ptr<ssl::context>> make_client_context(const std::string& ca_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);  // a machine without a store still works with ca_file
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      return fail(Errc::invalid_argument,
                  "cannot load CA certificates from '" + ca_file + "': " + ec.message());
    }
  }
  return ctx;
}

// Sets SNI (DNS names only, RFC 6066) and the host name check on `stream`.
template <class Stream>
Result<void> prepare_client_stream(Stream& stream, const std::string& host) {
  boost::system::error_code not_ip;
  (void)boost::asio::ip::make_address(host, not_ip);
  const bool ip_literal = !not_ip;
  if (!ip_literal && SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                              TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) != 1) {
    return fail(Errc::internal, "cannot set the TLS server name");
  }
  stream.set_verify_callback([check = ssl::host_name_verification(host), ip_literal](
                                 bool preverified, ssl::verify_context& ctx) {
    const bool ok = check(preverified, ctx);
    if (preverified && !ok) {
      X509_STORE_CTX_set_error(ctx.native_handle(), ip_literal ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                               : X509_V_ERR_HOSTNAME_MISMATCH);
    }
    return ok;
  });
  return {};
}

// Why a handshake failed: the certificate verdict if that was it.
inline std::string handshake_error(const SSL* ssl, const boost::system::error_code& ec) {
  const long verdict = SSL_get_verify_result(ssl);
  if (verdict == X509_V_OK) return "TLS handshake failed: " + ec.message();
  return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
}

}  // namespace nbms::notify::detail
