#pragma once
// The gtest fixture every broker + nbmsd test uses, MW message builders
// (docs/mw-protocol.md) and REST helpers. Each test gets its own temp dir,
// Mosquitto, nbmsd and MQTT client; nothing is shared between tests.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness.hpp"

namespace nbms::it {

inline constexpr const char* kCustomer = "C000003";
inline constexpr const char* kBuilding = "B001";
inline constexpr const char* kThing = "C000003_B001_01";

// ---- MW messages --------------------------------------------------------------

struct PointDecl {
  std::string point_id;
  std::string object_type;
  std::string name;
  std::string info;      // Point_Info (equipment)
  std::string location;  // Point_Location
  std::string unit;      // Point_Unit
  bool writable = false;
};

Json init_message(const std::string& time, const std::vector<PointDecl>& points);
// One M_Value per point; `data` is a number, a boolean or null.
Json log_message(const std::string& time, const std::vector<std::pair<std::string, Json>>& values,
                 int period = 15);
Json delete_message(const std::string& time, const std::vector<std::string>& point_ids);

inline std::string topic_of(const std::string& thing, const std::string& point) {
  return thing + "/" + point;
}

// ---- REST shapes ----------------------------------------------------------------

// One history sample or latest value, comparable in assertions.
struct TimedValue {
  std::string time;
  double value = 0;
  bool operator==(const TimedValue&) const = default;
};
void PrintTo(const TimedValue& v, std::ostream* os);

// The member of a {"points":[...]} array with this point_id, or nullptr.
const Json* find_point(const Json& points, const std::string& point_id);

// ---- fixture ------------------------------------------------------------------------

class NbmsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Called before nbmsd starts: change nbmsd().config() here.
  virtual void configure(Nbmsd&) {}
  // Creates a user through the REST API as the admin (201) and logs it in.
  std::string add_user(const std::string& name, const std::string& role,
                       const std::string& customer);

  Broker& broker() { return *broker_; }
  Nbmsd& nbmsd() { return *nbmsd_; }
  MqttClient& mqtt() { return *mqtt_; }
  const fs::path& dir() const { return tmp_->path(); }
  // A fresh MQTT client (after the broker restarted under the old one).
  void reconnect_mqtt();

  // Registers customer, building and thing through the REST API (201 each).
  void register_thing(const std::string& customer = kCustomer,
                      const std::string& building = kBuilding, const std::string& thing = kThing);

  static std::string building_path(const std::string& customer = kCustomer,
                                   const std::string& building = kBuilding);
  // GET that must answer 200 with JSON; the parsed body.
  Json get_ok(const std::string& target);
  Json points();  // the "points" array of GET .../points
  Json latest();  // the "points" array of GET .../latest
  std::vector<TimedValue> history(const std::string& point_id, const std::string& from,
                                  const std::string& to);
  std::uint64_t ingest_counter(const std::string& name);  // health.ingest.<name>

  void publish(const std::string& topic, const Json& message) {
    publish_raw(topic, message.dump());
  }
  void publish_raw(const std::string& topic, const std::string& payload) {
    mqtt().publish(topic, payload);
  }

  // Waits until health.ingest.messages reaches `n`; fails if it does not, or
  // if it goes past `n`.
  ::testing::AssertionResult messages_reach(std::uint64_t n);

 private:
  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Nbmsd> nbmsd_;
  std::unique_ptr<MqttClient> mqtt_;
};

}  // namespace nbms::it
