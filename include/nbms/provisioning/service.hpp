#pragma once
// Device provisioning (issue 5): registering a middleware's thing with the
// broker (a client certificate with CN = thing name, its topic permissions, the
// bundle it downloads) and removing it (revocation). The use cases over the
// core ports (Registry, CertificateStore, Clock), the CA (nbms::pki) and the
// broker texts (nbms::broker); no HTTP, no files. docs/provisioning.md.
//
// Thread-safety: every member may be called from any thread. Changes
// (register, reissue, remove) are serialized by one mutex, and the
// permissions hook runs under it, so the broker sees changes in order.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/certificates.hpp"
#include "nbms/core/error.hpp"
#include "nbms/core/ports.hpp"
#include "nbms/pki/pki.hpp"

namespace nbms::provisioning {

struct ServiceOptions {
  // The broker's TLS listener as the middlewares dial it (goes into bundles).
  std::string broker_host = "localhost";
  std::uint16_t broker_port = 8883;
  std::int64_t cert_validity_days = 730;  // of a thing's certificate
  std::int64_t crl_validity_days = 30;    // nextUpdate of the CRL
  // Identities the ACL gives every topic (nbmsd's own MQTT client id).
  std::vector<std::string> full_access{"nbmsd"};
};

// A certificate just issued to a thing.
struct Issued {
  std::string bundle_json;                 // broker::mw_bundle_json: holds the key (no CSR)
  CertificateRecord record;                // what the store keeps
  std::vector<CertificateRecord> revoked;  // older certificates of the thing, now revoked
};

// What changed in the broker's permissions: the ACL always (a thing gained or
// lost its rights), the CRL when `revoked` is true.
struct PermissionChange {
  std::string thing;
  bool revoked = false;
};

class Service {
 public:
  using PermissionsHook = std::function<void(const PermissionChange&)>;

  Service(Registry& registry, CertificateStore& certificates, const Clock& clock,
          pki::CertificateAuthority ca, ServiceOptions options);

  // Called after every change of permissions (the managed broker rewrites its
  // ACL/CRL files and sends SIGHUP). Runs on the caller's thread, under the
  // change mutex: it may call acl() and crl_pem(), not register/remove.
  void set_permissions_hook(PermissionsHook hook);

  // Issues a certificate for a registered thing (CreateIoTDevice): a new
  // EC P-256 key, or for the key of `csr_pem` (a PEM CERTIFICATE REQUEST);
  // records it, revoking the thing's older certificates in the same write;
  // returns the bundle. invalid_argument (bad name or CSR), not_found (thing
  // not registered).
  Result<Issued> register_thing(std::string_view thing,
                                std::optional<std::string_view> csr_pem = std::nullopt);
  // The same for a thing that already holds a current (unrevoked) certificate;
  // not_found if it has none.
  Result<Issued> reissue(std::string_view thing,
                         std::optional<std::string_view> csr_pem = std::nullopt);
  // Revokes every certificate of the thing (DeleteIoTDevice); returns those
  // revoked now (empty if none was current). not_found if not registered.
  // The thing and its history stay in the registry.
  Result<std::vector<CertificateRecord>> remove(std::string_view thing);

  // Every certificate issued to the thing, oldest serial first. not_found if
  // the thing is not registered.
  Result<std::vector<CertificateRecord>> certificates(std::string_view thing) const;
  // The CRL of every revoked, unexpired certificate, signed now.
  Result<std::string> crl_pem() const;
  // The broker's ACL: every registered thing holding a current certificate,
  // plus the full-access identities.
  Result<std::string> acl() const;
  // The CA chain the broker and the MWs trust.
  std::string ca_pem() const;

 private:
  Result<void> check_registered(std::string_view thing) const;
  Result<Issued> issue(std::string_view thing, std::optional<std::string_view> csr_pem);
  void notify(const PermissionChange& change);

  Registry& registry_;
  CertificateStore& certificates_;
  const Clock& clock_;
  const pki::CertificateAuthority ca_;
  const ServiceOptions options_;
  std::mutex change_mu_;  // serializes changes and the hook
  PermissionsHook hook_;
};

}  // namespace nbms::provisioning
