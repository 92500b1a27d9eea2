// REST errors through the real server (the HTTP module has its own unit tests;
// this checks the wiring and the error shape end to end).
#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

void expect_error(const HttpResponse& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  ASSERT_TRUE(r.json.contains("error")) << r.body;
  EXPECT_EQ(r.json["error"].value("code", ""), code) << r.body;
  ASSERT_TRUE(r.json["error"]["message"].is_string()) << r.body;
  EXPECT_FALSE(r.json["error"]["message"].get<std::string>().empty()) << r.body;
}

TEST_F(NbmsTest, RestApiErrors) {
  ASSERT_NO_FATAL_FAILURE(register_thing());

  // Unknown building / customer.
  expect_error(nbmsd().get(building_path(kCustomer, "NOPE") + "/points"), 404, "not_found");
  expect_error(nbmsd().get(building_path("C999", kBuilding) + "/latest"), 404, "not_found");

  // Bad history ranges.
  const std::string history =
      building_path() + "/points/" + percent_encode("01.0.AV-101:01_Elec") + "/history";
  expect_error(nbmsd().get(history + "?from=202210050000&to=202210040000"), 400, "bad_request");
  expect_error(nbmsd().get(history + "?from=202302301200&to=202303010000"), 400, "bad_request");
  expect_error(nbmsd().get(history + "?from=2022&to=202210040000"), 400, "bad_request");
  expect_error(nbmsd().get(history + "?to=202210040000"), 400, "bad_request");
  // A good range answers 200 with no samples.
  EXPECT_EQ(nbmsd().get(history + "?from=202210040000&to=202210050000").status, 200);

  // A thing whose name names another building.
  expect_error(nbmsd().post(building_path() + "/things", {{"name", "C000003_B002_01"}}), 400,
               "bad_request");
  // Duplicates.
  expect_error(nbmsd().post("/api/v1/customers", {{"id", kCustomer}, {"name", "Again"}}), 409,
               "conflict");
  expect_error(nbmsd().post(building_path() + "/things", {{"name", kThing}}), 409, "conflict");
  // Nothing above changed the registry.
  const Json things = get_ok(building_path() + "/things");
  ASSERT_TRUE(things["things"].is_array()) << things.dump();
  EXPECT_EQ(things["things"].size(), 1u) << things.dump();
}

}  // namespace
}  // namespace nbms::it
