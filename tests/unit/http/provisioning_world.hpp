#pragma once
// The world of the provisioning routes' tests (provisioning_api_test.cpp,
// purge_api_test.cpp): ApiWorld with the admin logged in (`token`), customer
// C000003 with buildings B001 and B002 and the thing kThing registered, a fake
// certificate store, a CA made in memory and a provisioning service over them.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "nbms/pki/pki.hpp"
#include "nbms/provisioning/service.hpp"
#include "unit/provisioning/fake_certificate_store.hpp"

namespace nbms::http::testing {

struct ProvisioningWorld : ApiWorld {
  static constexpr std::string_view kPassword = "admin-password-1";
  static constexpr const char* kThing = "C000003_B001_01";

  // Call from SetUp() through ASSERT_NO_FATAL_FAILURE.
  void register_world() {
    ASSERT_TRUE(auth.bootstrap_admin(std::string(kPassword)));
    token = auth.login("admin", kPassword, auth::Origin{"127.0.0.1"}).value().token;
    ASSERT_TRUE(registry.create_customer({"C000003", "Acme", 1}));
    ASSERT_TRUE(registry.create_building({"C000003", "B001", "HQ", "", 2}));
    ASSERT_TRUE(registry.create_building({"C000003", "B002", "Annex", "", 2}));
    ASSERT_TRUE(registry.create_thing({ThingName::parse(kThing).value(), 3}));
  }

  static std::string error_message(const Response& r) {
    return nlohmann::json::parse(r.body)["error"]["message"].get<std::string>();
  }

  nbms::testing::FakeCertificateStore certificates;
  pki::CertificateAuthority ca =
      pki::CertificateAuthority::create({.now_s = 1'690'000'000}).value();
  provisioning::Service service{
      registry, certificates, clock, ca, {.broker_host = "mqtt.example.com", .broker_port = 8883}};
  std::string token;
};

}  // namespace nbms::http::testing
