// routes_provisioning.cpp: a thing's certificate and bundle, revocation, the CA
// and the CRL, against in-memory fakes and a CA made in memory. Who may call
// what is in authz_matrix_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/api.hpp"
#include "provisioning_world.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr const char* kCertPath =
    "/api/v1/customers/C000003/buildings/B001/things/"
    "C000003_B001_01/certificate";

class ProvisioningApi : public ::testing::Test, protected testing::ProvisioningWorld {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(register_world()); }

  Response call(std::string method, std::string target, std::string body = "",
                std::string content_type = "application/json", bool with_service = true) {
    auto services = make_services();
    services.provisioning = with_service ? &service : nullptr;
    return request(services, token, std::move(method), std::move(target), std::move(body),
                   std::move(content_type));
  }
};

TEST_F(ProvisioningApi, IssueReturnsTheBundleAsAnAttachment) {
  const auto r = call("POST", kCertPath);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const auto* disposition = r.header("Content-Disposition");
  ASSERT_NE(disposition, nullptr);
  EXPECT_EQ(*disposition, "attachment; filename=\"C000003_B001_01.json\"");
  const auto* cache = r.header("Cache-Control");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(*cache, "no-store");
  const json bundle = json::parse(r.body);
  EXPECT_EQ(bundle["format"], "nbms-mw-bundle");
  EXPECT_EQ(bundle["thing"], kThing);
  EXPECT_EQ(bundle["mqtt"]["host"], "mqtt.example.com");
  EXPECT_TRUE(bundle["tls"]["key_pem"].get<std::string>().starts_with("-----BEGIN PRIVATE KEY"));
  const auto info = pki::inspect_certificate(bundle["tls"]["cert_pem"].get<std::string>()).value();
  EXPECT_EQ(info.common_name, kThing);

  const auto entries = audit.with_action("thing.certificate.issue");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].ok);
  EXPECT_EQ(entries[0].customer, "C000003");
  EXPECT_EQ(entries[0].target, kThing);
  EXPECT_EQ(entries[0].detail, "serial " + info.serial + ", key by nbms");
  EXPECT_EQ(entries[0].detail.find("PRIVATE"), std::string::npos);
}

TEST_F(ProvisioningApi, RecordHasNoKeyAndShowsRevocation) {
  auto empty = call("GET", kCertPath);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json::parse(empty.body),
            (json{{"thing", kThing}, {"current", nullptr}, {"certificates", json::array()}}));

  const json bundle = json::parse(call("POST", kCertPath).body);
  const auto info = pki::inspect_certificate(bundle["tls"]["cert_pem"].get<std::string>()).value();
  auto got = call("GET", kCertPath);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(got.body.find("BEGIN CERTIFICATE"), std::string::npos);
  json record = json::parse(got.body);
  EXPECT_EQ(record["current"]["serial"], info.serial);
  EXPECT_EQ(record["current"]["fingerprint"], info.fingerprint);
  EXPECT_EQ(record["current"]["not_after_ms"], info.not_after_s * 1000);
  EXPECT_EQ(record["current"]["revoked"], false);

  clock.now += 60'000;
  auto revoked = call("DELETE", kCertPath);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  const json rj = json::parse(revoked.body);
  ASSERT_EQ(rj["revoked"].size(), 1u);
  EXPECT_EQ(rj["revoked"][0]["serial"], info.serial);
  EXPECT_EQ(rj["revoked"][0]["revoked_ms"], clock.now);

  record = json::parse(call("GET", kCertPath).body);
  EXPECT_TRUE(record["current"].is_null());
  ASSERT_EQ(record["certificates"].size(), 1u);
  EXPECT_EQ(record["certificates"][0]["revoked"], true);
  EXPECT_EQ(record["certificates"][0]["revoked_ms"], clock.now);

  const auto entries = audit.with_action("thing.certificate.revoke");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].ok);
  EXPECT_EQ(entries[0].detail, "revoked " + info.serial);

  // Nothing current any more: still 200, nothing revoked.
  auto again = call("DELETE", kCertPath);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(json::parse(again.body)["revoked"].empty());
}

TEST_F(ProvisioningApi, BadRequestsAreRefusedPrecisely) {
  auto bad_csr = call("POST", kCertPath, R"({"csr":"not a CSR"})");
  EXPECT_EQ(bad_csr.status, 400) << bad_csr.body;
  const auto failed = audit.with_action("thing.certificate.issue");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_FALSE(failed[0].ok);

  EXPECT_EQ(error_message(call("POST", kCertPath, R"({"key":"x"})")),
            "unknown member 'key' in request body");
  EXPECT_EQ(error_message(call("POST", kCertPath, R"({"csr":5})")), "'csr' must be a string");
  EXPECT_EQ(error_message(call("POST", kCertPath, R"({"csr":""})")),
            "'csr' must be 1..16384 bytes");
  EXPECT_EQ(call("POST", kCertPath, "[]").status, 400);
  EXPECT_EQ(call("POST", kCertPath, "csr=x", "text/plain").status, 415);

  // A thing of another building, an unregistered thing, a bad name.
  auto other = call("POST",
                    "/api/v1/customers/C000003/buildings/B002/things/"
                    "C000003_B001_01/certificate");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(error_message(other), "thing 'C000003_B001_01' not found in building 'C000003/B002'");
  auto unknown = call("POST",
                      "/api/v1/customers/C000003/buildings/B001/things/"
                      "C000003_B001_07/certificate");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_message(unknown), "thing 'C000003_B001_07' not found");
  EXPECT_EQ(call("DELETE",
                 "/api/v1/customers/C000003/buildings/B001/things/"
                 "C000003_B001_07/certificate")
                .status,
            404);
  EXPECT_EQ(
      call("POST", "/api/v1/customers/C000003/buildings/B001/things/bad%20name/certificate").status,
      400);
  EXPECT_EQ(call("GET",
                 "/api/v1/customers/C000003/buildings/B009/things/"
                 "C000003_B009_01/certificate")
                .status,
            404);
  EXPECT_TRUE(certificates.certificates_of(kThing).value().empty());
}

TEST_F(ProvisioningApi, CaAndCrlArePem) {
  auto ca_r = call("GET", "/api/v1/pki/ca.pem");
  ASSERT_EQ(ca_r.status, 200);
  EXPECT_EQ(ca_r.content_type, "application/x-pem-file");
  EXPECT_EQ(ca_r.body, ca.chain_pem());
  auto crl = call("GET", "/api/v1/pki/crl.pem");
  ASSERT_EQ(crl.status, 200);
  EXPECT_EQ(crl.content_type, "application/x-pem-file");
  EXPECT_TRUE(crl.body.starts_with("-----BEGIN X509 CRL-----")) << crl.body;
}

TEST_F(ProvisioningApi, WithoutAServiceTheRoutesAreUnavailable) {
  for (const auto& [method, path] :
       {std::pair{"POST", kCertPath}, std::pair{"DELETE", kCertPath}, std::pair{"GET", kCertPath},
        std::pair{"GET", "/api/v1/pki/ca.pem"}, std::pair{"GET", "/api/v1/pki/crl.pem"}}) {
    const auto r = call(method, path, "", "application/json", false);
    EXPECT_EQ(r.status, 503) << method << " " << path;
  }
}

TEST_F(ProvisioningApi, StoreFailureIsAnInternalErrorWithoutDetails) {
  certificates.fail_with = Error{Errc::io, "disk on fire"};
  auto r = call("POST", kCertPath);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("disk"), std::string::npos);
}

}  // namespace
}  // namespace nbms::http
