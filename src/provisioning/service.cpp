#include "nbms/provisioning/service.hpp"

#include <algorithm>
#include <utility>

#include "nbms/broker/config.hpp"
#include "nbms/core/ids.hpp"

namespace nbms::provisioning {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;

bool current(const CertificateRecord& r, std::int64_t now_ms) {
  return !r.revoked_ms && r.not_after_ms > now_ms;
}

}  // namespace

Service::Service(Registry& registry, CertificateStore& certificates, const Clock& clock,
                 pki::CertificateAuthority ca, ServiceOptions options)
    : registry_(registry),
      certificates_(certificates),
      clock_(clock),
      ca_(std::move(ca)),
      options_(std::move(options)) {}

void Service::set_permissions_hook(PermissionsHook hook) {
  std::lock_guard lock(change_mu_);
  hook_ = std::move(hook);
}

Result<void> Service::check_registered(std::string_view thing) const {
  auto name = ThingName::parse(thing);
  if (!name) return std::unexpected(name.error());
  if (auto got = registry_.thing(thing); !got) {
    if (got.error().code == Errc::not_found) {
      return fail(Errc::not_found, "thing '" + std::string(thing) + "' not found");
    }
    return std::unexpected(got.error());
  }
  return {};
}

void Service::notify(const PermissionChange& change) {
  if (hook_) hook_(change);
}

Result<Issued> Service::issue(std::string_view thing, std::optional<std::string_view> csr_pem) {
  const std::int64_t now_ms = clock_.now_ms();
  const pki::IssueOptions io{.validity_days = options_.cert_validity_days,
                             .now_s = now_ms / kMsPerSecond};
  auto cert = csr_pem ? ca_.issue_thing_from_csr(thing, *csr_pem, io) : ca_.issue_thing(thing, io);
  if (!cert) return std::unexpected(cert.error());
  // The bundle is made before anything is stored: a bundle that cannot be
  // made must not leave a certificate (and a revoked predecessor) behind.
  auto bundle = broker::mw_bundle_json({.thing = std::string(thing),
                                        .broker_host = options_.broker_host,
                                        .broker_port = options_.broker_port,
                                        .ca_pem = ca_.chain_pem(),
                                        .cert_pem = cert->cert_pem,
                                        .key_pem = cert->key_pem});
  if (!bundle) return std::unexpected(bundle.error());
  Issued out{std::move(*bundle), pki::record_of(*cert, now_ms), {}};
  auto revoked = certificates_.replace_certificate(out.record, now_ms);
  if (!revoked) return std::unexpected(revoked.error());
  out.revoked = std::move(*revoked);
  notify({std::string(thing), !out.revoked.empty()});
  return out;
}

Result<Issued> Service::register_thing(std::string_view thing,
                                       std::optional<std::string_view> csr_pem) {
  if (auto ok = check_registered(thing); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(change_mu_);
  return issue(thing, csr_pem);
}

Result<Issued> Service::reissue(std::string_view thing, std::optional<std::string_view> csr_pem) {
  if (auto ok = check_registered(thing); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(change_mu_);
  auto all = certificates_.certificates_of(thing);
  if (!all) return std::unexpected(all.error());
  const std::int64_t now_ms = clock_.now_ms();
  if (std::none_of(all->begin(), all->end(),
                   [&](const CertificateRecord& r) { return current(r, now_ms); })) {
    return fail(Errc::not_found,
                "thing '" + std::string(thing) + "' has no current certificate to reissue");
  }
  return issue(thing, csr_pem);
}

Result<std::vector<CertificateRecord>> Service::remove(std::string_view thing) {
  if (auto ok = check_registered(thing); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(change_mu_);
  auto revoked = certificates_.revoke_certificates_of(thing, clock_.now_ms());
  if (!revoked) return revoked;
  if (!revoked->empty()) notify({std::string(thing), true});
  return revoked;
}

Result<std::vector<CertificateRecord>> Service::certificates(std::string_view thing) const {
  if (auto ok = check_registered(thing); !ok) return std::unexpected(ok.error());
  return certificates_.certificates_of(thing);
}

Result<std::string> Service::crl_pem() const {
  auto revoked = certificates_.revoked_certificates();
  if (!revoked) return std::unexpected(revoked.error());
  const std::int64_t now_s = clock_.now_ms() / kMsPerSecond;
  return ca_.crl_pem(pki::crl_entries(*revoked, now_s),
                     {.now_s = now_s, .next_update_days = options_.crl_validity_days});
}

Result<std::string> Service::acl() const {
  const std::int64_t now_ms = clock_.now_ms();
  std::vector<std::string> things;
  auto customers = registry_.customers();
  if (!customers) return std::unexpected(customers.error());
  for (const auto& c : *customers) {
    auto buildings = registry_.buildings(c.id);
    if (!buildings) return std::unexpected(buildings.error());
    for (const auto& b : *buildings) {
      auto registered = registry_.things(c.id, b.id);
      if (!registered) return std::unexpected(registered.error());
      for (const auto& t : *registered) {
        const std::string name = t.name.full();
        auto certs = certificates_.certificates_of(name);
        if (!certs) return std::unexpected(certs.error());
        if (std::any_of(certs->begin(), certs->end(),
                        [&](const CertificateRecord& r) { return current(r, now_ms); })) {
          things.push_back(name);
        }
      }
    }
  }
  return broker::acl_file(things, options_.full_access);
}

std::string Service::ca_pem() const {
  return ca_.chain_pem();
}

}  // namespace nbms::provisioning
