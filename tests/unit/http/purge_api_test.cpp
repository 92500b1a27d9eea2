// DELETE /api/v1/customers/{c}/buildings/{b}/things/{t}?confirm={t}
// (routes_provisioning.cpp): the confirmation, the order (certificates
// revoked first, then the purge service), the answer and the audit entry,
// against in-memory fakes. Who may call it is in authz_matrix_test.cpp; what
// the purge deletes is in tests/integration/purge_store_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api.hpp"
#include "provisioning_world.hpp"

namespace nbms::http {
namespace {

using nlohmann::json;

constexpr const char* kPath = "/api/v1/customers/C000003/buildings/B001/things/C000003_B001_01";
constexpr const char* kConfirmed =
    "/api/v1/customers/C000003/buildings/B001/things/C000003_B001_01?confirm=C000003_B001_01";

class PurgeApi : public ::testing::Test, protected testing::ProvisioningWorld {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(register_world());
    counts.points = 3;
    counts.periodic_blocks = 180;
    counts.rows = 12;
    counts.current_alarms = 2;
    counts.shared_points_kept = 1;
  }

  Response call(std::string method, std::string target, bool with_provisioning = true,
                bool with_purge = true) {
    auto services = make_services();
    services.provisioning = with_provisioning ? &service : nullptr;
    if (with_purge) {
      services.purge_thing = [this](const ThingName& t) -> Result<PurgedData> {
        purged.push_back(t.full());
        // The certificates were revoked before the data goes.
        const auto certs = certificates.certificates_of(t.full()).value();
        revoked_first = std::ranges::none_of(
            certs, [](const CertificateRecord& r) { return !r.revoked_ms.has_value(); });
        if (purge_fails) return std::unexpected(*purge_fails);
        registry.remove_thing(t.full());
        return counts;
      };
    }
    return request(services, token, std::move(method), std::move(target));
  }

  PurgedData counts;
  std::vector<std::string> purged;
  bool revoked_first = false;
  std::optional<Error> purge_fails;
};

TEST_F(PurgeApi, RevokesThenPurgesAndAnswersWhatWasDeleted) {
  const auto issued = service.register_thing(kThing);
  ASSERT_TRUE(issued) << issued.error().message;
  const auto r = call("DELETE", kConfirmed);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(purged, std::vector<std::string>{kThing});
  EXPECT_TRUE(revoked_first);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["thing"], kThing);
  ASSERT_EQ(body["revoked"].size(), 1u);
  EXPECT_EQ(body["revoked"][0]["serial"], issued->record.serial);
  EXPECT_EQ(body["deleted"], (json{{"thing", 0},
                                   {"points", 3},
                                   {"series", 0},
                                   {"sealed_days", 0},
                                   {"rows", 12},
                                   {"periodic_blocks", 180},
                                   {"latest", 0},
                                   {"spool", 0},
                                   {"current_alarms", 2},
                                   {"alarm_marks", 0},
                                   {"links", 0}}));
  EXPECT_EQ(body["shared_points_kept"], 1);
  EXPECT_EQ(registry.thing(kThing).error().code, Errc::not_found);
  // The certificate record stays (the CRL lists it until it expires).
  const auto certs = certificates.certificates_of(kThing).value();
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_TRUE(certs[0].revoked_ms.has_value());

  const auto entries = audit.with_action("thing.purge");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].ok);
  EXPECT_EQ(entries[0].customer, "C000003");
  EXPECT_EQ(entries[0].target, kThing);
  EXPECT_EQ(entries[0].detail,
            "revoked " + issued->record.serial +
                "; deleted 3 points, 180 periodic blocks, 12 unsealed rows, 0 series entries, 0 "
                "sealed days, 0 latest, 0 held messages, 2 current alarms, 0 alarm marks, 0 "
                "links; kept 1 points shared with another thing");

  // Gone now: a second purge is 404 and purges nothing.
  const auto again = call("DELETE", kConfirmed);
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(purged.size(), 1u);
}

TEST_F(PurgeApi, WithoutTheThingsNameAsConfirmationNothingHappens) {
  ASSERT_TRUE(service.register_thing(kThing));
  for (const std::string query : {"", "?confirm=", "?confirm=yes", "?confirm=C000003_B001_02",
                                  "?confirm=c000003_b001_01", "?Confirm=C000003_B001_01"}) {
    const auto r = call("DELETE", kPath + query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_EQ(error_message(r),
              "purging deletes the history of 'C000003_B001_01' for good: repeat its name as "
              "?confirm=C000003_B001_01");
  }
  EXPECT_TRUE(purged.empty());
  EXPECT_TRUE(registry.thing(kThing).has_value());
  const auto certs = certificates.certificates_of(kThing).value();
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_FALSE(certs[0].revoked_ms.has_value());
  EXPECT_TRUE(audit.with_action("thing.purge").empty());
  // A broken query string is refused as such.
  EXPECT_EQ(call("DELETE", std::string(kPath) + "?confirm=%zz").status, 400);
}

TEST_F(PurgeApi, UnknownThingsAndOtherBuildingsAreNotFound) {
  const auto unknown = call(
      "DELETE",
      "/api/v1/customers/C000003/buildings/B001/things/C000003_B001_07?confirm=C000003_B001_07");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  const auto other = call(
      "DELETE",
      "/api/v1/customers/C000003/buildings/B002/things/C000003_B001_01?confirm=C000003_B001_01");
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(error_message(other), "thing 'C000003_B001_01' not found in building 'C000003/B002'");
  EXPECT_EQ(call("DELETE", "/api/v1/customers/C000003/buildings/B001/things/bad%20name").status,
            400);
  EXPECT_TRUE(purged.empty());
  EXPECT_TRUE(audit.with_action("thing.purge").empty());
}

TEST_F(PurgeApi, AFailedPurgeIsAuditedAndCanBeRepeated) {
  ASSERT_TRUE(service.register_thing(kThing));
  purge_fails = Error{Errc::io, "disk on fire"};
  const auto r = call("DELETE", kConfirmed);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("disk"), std::string::npos);
  auto entries = audit.with_action("thing.purge");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].ok);
  EXPECT_NE(entries[0].detail.find("purge failed: disk on fire"), std::string::npos)
      << entries[0].detail;
  // Revoked already (the first step); the thing and its data are still
  // there, and the purge can simply be asked again.
  EXPECT_TRUE(registry.thing(kThing).has_value());
  purge_fails.reset();
  const auto retry = call("DELETE", kConfirmed);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_TRUE(json::parse(retry.body)["revoked"].empty());
  EXPECT_EQ(purged.size(), 2u);
}

TEST_F(PurgeApi, WithoutProvisioningOrAPurgeServiceItIsUnavailable) {
  EXPECT_EQ(call("DELETE", kConfirmed, false, true).status, 503);
  EXPECT_EQ(call("DELETE", kConfirmed, true, false).status, 503);
  EXPECT_TRUE(purged.empty());
  EXPECT_TRUE(registry.thing(kThing).has_value());
}

}  // namespace
}  // namespace nbms::http
