// provisioning::Service over in-memory ports and a CA made in memory.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nbms/provisioning/service.hpp"
#include "unit/http/fakes.hpp"
#include "unit/provisioning/fake_certificate_store.hpp"

namespace nbms::provisioning {
namespace {

using nlohmann::json;
constexpr const char* kThing = "C000001_B001_01";
constexpr const char* kOther = "C000001_B001_02";

class ProvisioningService : public ::testing::Test {
 protected:
  ProvisioningService() {
    EXPECT_TRUE(registry.create_customer({"C000001", "Customer", 1}));
    EXPECT_TRUE(registry.create_building({"C000001", "B001", "HQ", "", 1}));
    for (const char* t : {kThing, kOther}) {
      EXPECT_TRUE(registry.create_thing({ThingName::parse(t).value(), 1}));
    }
    service.set_permissions_hook([this](const PermissionChange& c) { changes.push_back(c); });
  }

  static pki::CertificateAuthority make_ca() {
    return pki::CertificateAuthority::create({.now_s = 1'699'000'000}).value();
  }
  bool acl_has(std::string_view thing) {
    return service.acl().value().find("user " + std::string(thing) + "\n") != std::string::npos;
  }

  http::testing::FakeRegistry registry;
  testing::FakeCertificateStore store;
  http::testing::FakeClock clock;  // 1'700'000'000'000 ms
  pki::CertificateAuthority ca = make_ca();
  Service service{registry,
                  store,
                  clock,
                  ca,
                  {.broker_host = "broker.example.com",
                   .broker_port = 18883,
                   .cert_validity_days = 10,
                   .full_access = {"nbmsd"}}};
  std::vector<PermissionChange> changes;
};

TEST_F(ProvisioningService, RegisterIssuesTheBundleAndRecordsTheCertificate) {
  auto issued = service.register_thing(kThing);
  ASSERT_TRUE(issued) << issued.error().message;
  const json bundle = json::parse(issued->bundle_json);
  EXPECT_EQ(bundle["thing"], kThing);
  EXPECT_EQ(bundle["mqtt"]["host"], "broker.example.com");
  EXPECT_EQ(bundle["mqtt"]["port"], 18883);
  EXPECT_EQ(bundle["mqtt"]["client_id"], kThing);
  EXPECT_EQ(bundle["tls"]["ca_pem"], ca.chain_pem());
  EXPECT_TRUE(bundle["tls"]["key_pem"].is_string());
  const auto info = pki::inspect_certificate(bundle["tls"]["cert_pem"].get<std::string>()).value();
  EXPECT_EQ(info.common_name, kThing);
  EXPECT_EQ(info.serial, issued->record.serial);
  EXPECT_EQ(info.fingerprint, issued->record.fingerprint);
  EXPECT_EQ(info.not_after_s * 1000, issued->record.not_after_ms);
  EXPECT_EQ(info.not_after_s, clock.now / 1000 + 10 * pki::kSecondsPerDay);
  EXPECT_EQ(issued->record.issued_ms, clock.now);
  EXPECT_TRUE(issued->revoked.empty());

  EXPECT_EQ(store.certificates_of(kThing).value(), std::vector{issued->record});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].thing, kThing);
  EXPECT_FALSE(changes[0].revoked);
  EXPECT_TRUE(acl_has(kThing));
  EXPECT_FALSE(acl_has(kOther));
  EXPECT_TRUE(acl_has("nbmsd"));
  EXPECT_EQ(service.ca_pem(), ca.chain_pem());
}

TEST_F(ProvisioningService, RegisteringAgainRevokesTheOldCertificate) {
  const auto first = service.register_thing(kThing).value();
  clock.now += 1000;
  const auto second = service.register_thing(kThing).value();
  ASSERT_EQ(second.revoked.size(), 1u);
  EXPECT_EQ(second.revoked[0].serial, first.record.serial);
  EXPECT_EQ(second.revoked[0].revoked_ms, clock.now);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[1].revoked);
  const auto revoked = store.revoked_certificates().value();
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].serial, first.record.serial);
  EXPECT_TRUE(acl_has(kThing));
  EXPECT_TRUE(service.crl_pem().value().starts_with("-----BEGIN X509 CRL-----"));
}

TEST_F(ProvisioningService, ReissueNeedsACurrentCertificate) {
  auto none = service.reissue(kThing);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message, "thing 'C000001_B001_01' has no current certificate to reissue");
  const auto first = service.register_thing(kThing).value();
  auto again = service.reissue(kThing);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->revoked.size(), 1u);
  EXPECT_EQ(again->revoked[0].serial, first.record.serial);
}

TEST_F(ProvisioningService, RemoveRevokesEverythingAndDropsTheThingFromTheAcl) {
  const auto issued = service.register_thing(kThing).value();
  ASSERT_TRUE(service.register_thing(kOther));
  changes.clear();
  clock.now += 5000;
  auto removed = service.remove(kThing);
  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].serial, issued.record.serial);
  EXPECT_EQ((*removed)[0].revoked_ms, clock.now);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].thing, kThing);
  EXPECT_TRUE(changes[0].revoked);
  EXPECT_FALSE(acl_has(kThing));
  EXPECT_TRUE(acl_has(kOther));
  // The thing stays registered, with its certificate listed as revoked.
  EXPECT_TRUE(registry.thing(kThing));
  const auto listed = service.certificates(kThing).value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].revoked_ms, clock.now);
  // Nothing left to revoke: no change reported.
  auto again = service.remove(kThing);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(changes.size(), 1u);
}

TEST_F(ProvisioningService, ExpiredCertificatesGiveNoRights) {
  ASSERT_TRUE(service.register_thing(kThing));
  EXPECT_TRUE(acl_has(kThing));
  clock.now += 10 * 86'400'000LL;  // the 10-day validity is over
  EXPECT_FALSE(acl_has(kThing));
  EXPECT_FALSE(service.reissue(kThing));
}

TEST_F(ProvisioningService, RefusesUnknownThingsBadNamesAndBadCsrsWithoutChangingAnything) {
  const auto not_found = service.register_thing("C000001_B001_09");
  ASSERT_FALSE(not_found);
  EXPECT_EQ(not_found.error().code, Errc::not_found);
  EXPECT_EQ(not_found.error().message, "thing 'C000001_B001_09' not found");
  for (const char* bad : {"", "C000001_B001", "C1_B1_01\nuser x", "../x"}) {
    const auto r = service.register_thing(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
    EXPECT_EQ(service.remove(bad).error().code, Errc::invalid_argument) << bad;
    EXPECT_EQ(service.certificates(bad).error().code, Errc::invalid_argument) << bad;
  }
  EXPECT_EQ(service.remove("C000001_B001_09").error().code, Errc::not_found);
  const auto bad_csr = service.register_thing(kThing, std::string_view("not a CSR"));
  ASSERT_FALSE(bad_csr);
  EXPECT_EQ(bad_csr.error().code, Errc::invalid_argument) << bad_csr.error().message;
  EXPECT_TRUE(store.certificates_of(kThing).value().empty());
  EXPECT_TRUE(changes.empty());
}

TEST_F(ProvisioningService, StoreFailuresAreReturnedAndReportNoChange) {
  store.fail_with = Error{Errc::io, "disk on fire"};
  const auto r = service.register_thing(kThing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(service.remove(kThing).error().code, Errc::io);
  EXPECT_EQ(service.crl_pem().error().code, Errc::io);
  EXPECT_EQ(service.acl().error().code, Errc::io);
  EXPECT_TRUE(changes.empty());
}

TEST_F(ProvisioningService, EmptyCrlWhenNothingIsRevoked) {
  auto crl = service.crl_pem();
  ASSERT_TRUE(crl) << crl.error().message;
  EXPECT_TRUE(crl->starts_with("-----BEGIN X509 CRL-----"));
}

}  // namespace
}  // namespace nbms::provisioning
