#include "integration/fixture.hpp"

#include <iostream>

namespace nbms::it {

Json init_message(const std::string& time, const std::vector<PointDecl>& points) {
  Json m{{"msg_type", "Init"}, {"time", time}, {"point_count", points.size()}};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    m["point_" + std::to_string(i)] = {
        {"point_id", p.point_id}, {"object_type", p.object_type}, {"name", p.name},
        {"Point_Info", p.info},   {"Point_Location", p.location}, {"Point_Unit", p.unit},
        {"writable", p.writable}};
  }
  return m;
}

Json log_message(const std::string& time, const std::vector<std::pair<std::string, Json>>& values,
                 int period) {
  Json m{{"msg_type", "Periodic_Log"}, {"time", time}, {"point_count", values.size()}};
  for (std::size_t i = 0; i < values.size(); ++i) {
    m["point_" + std::to_string(i)] = {
        {"msg", Json::array({{{"attr_name", "M_Value"}, {"data", values[i].second}}})},
        {"period", period},
        {"point_id", values[i].first}};
  }
  return m;
}

Json delete_message(const std::string& time, const std::vector<std::string>& point_ids) {
  Json m{{"msg_type", "Delete"}, {"time", time}, {"point_count", point_ids.size()}};
  for (std::size_t i = 0; i < point_ids.size(); ++i) {
    m["point_" + std::to_string(i)] = {{"point_id", point_ids[i]}};
  }
  return m;
}

void PrintTo(const TimedValue& v, std::ostream* os) {
  *os << "{" << v.time << ", " << v.value << "}";
}

const Json* find_point(const Json& points, const std::string& point_id) {
  if (!points.is_array()) return nullptr;
  for (const auto& p : points) {
    if (p.is_object() && p.value("point_id", "") == point_id) return &p;
  }
  return nullptr;
}

void NbmsTest::SetUp() {
  tmp_ = std::make_unique<TempDir>();
  broker_ = std::make_unique<Broker>(dir() / "broker");
  broker_->start();
  nbmsd_ = std::make_unique<Nbmsd>(dir() / "nbmsd", broker_->uri());
  configure(*nbmsd_);
  nbmsd_->start();
  mqtt_ = std::make_unique<MqttClient>(broker_->uri());
}

std::string NbmsTest::add_user(const std::string& name, const std::string& role,
                               const std::string& customer) {
  const std::string password = name + "-password";
  const auto r = nbmsd().post(
      "/api/v1/users",
      Json{{"name", name}, {"password", password}, {"role", role}, {"customer", customer}});
  EXPECT_EQ(r.status, 201) << r.body;
  return nbmsd().login(name, password);
}

void NbmsTest::TearDown() {
  mqtt_.reset();
  // A clean SIGTERM exit is part of every test.
  if (nbmsd_ && nbmsd_->running()) nbmsd_->stop();
  if (broker_) broker_->stop();
  if (HasFailure() && tmp_) {
    tmp_->keep();
    std::cout << "\n==== kept " << dir().string() << " ====\n";
    if (nbmsd_) {
      std::cout << "==== tail of " << nbmsd_->log_file().string() << " ====\n"
                << tail_of(nbmsd_->log_file(), 60);
    }
    if (broker_) {
      std::cout << "==== tail of " << broker_->log_file().string() << " ====\n"
                << tail_of(broker_->log_file(), 30);
    }
    std::cout << "==== end of logs ====" << std::endl;
  }
  nbmsd_.reset();
  broker_.reset();
  tmp_.reset();
}

void NbmsTest::reconnect_mqtt() {
  mqtt_.reset();  // one Paho client at a time
  mqtt_ = std::make_unique<MqttClient>(broker_->uri());
}

void NbmsTest::register_thing(const std::string& customer, const std::string& building,
                              const std::string& thing) {
  auto c = nbmsd().post("/api/v1/customers", {{"id", customer}, {"name", "Customer " + customer}});
  ASSERT_EQ(c.status, 201) << c.body;
  auto b = nbmsd().post("/api/v1/customers/" + customer + "/buildings",
                        {{"id", building}, {"name", "Building " + building}});
  ASSERT_EQ(b.status, 201) << b.body;
  auto t = nbmsd().post(building_path(customer, building) + "/things", {{"name", thing}});
  ASSERT_EQ(t.status, 201) << t.body;
}

std::string NbmsTest::building_path(const std::string& customer, const std::string& building) {
  return "/api/v1/customers/" + percent_encode(customer) + "/buildings/" + percent_encode(building);
}

Json NbmsTest::get_ok(const std::string& target) {
  auto r = nbmsd().get(target);
  EXPECT_EQ(r.status, 200) << "GET " << target << ": " << r.body;
  EXPECT_FALSE(r.json.is_discarded()) << "GET " << target << " is not JSON: " << r.body;
  return r.json.is_discarded() ? Json() : std::move(r.json);
}

Json NbmsTest::points() {
  auto j = get_ok(building_path() + "/points");
  return j.is_object() ? j.value("points", Json::array()) : Json::array();
}

Json NbmsTest::latest() {
  auto j = get_ok(building_path() + "/latest");
  return j.is_object() ? j.value("points", Json::array()) : Json::array();
}

std::vector<TimedValue> NbmsTest::history(const std::string& point_id, const std::string& from,
                                          const std::string& to) {
  const auto j = get_ok(building_path() + "/points/" + percent_encode(point_id) +
                        "/history?from=" + from + "&to=" + to);
  std::vector<TimedValue> out;
  if (!j.is_object()) return out;
  EXPECT_EQ(j.value("point_id", ""), point_id);
  for (const auto& s : j.value("samples", Json::array())) {
    EXPECT_TRUE(s["value"].is_number()) << s.dump();
    out.push_back(
        {s.value("time", ""), s["value"].is_number() ? s["value"].get<double>() : -1e300});
  }
  return out;
}

std::uint64_t NbmsTest::ingest_counter(const std::string& name) {
  return nbmsd().health()["ingest"][name].get<std::uint64_t>();
}

::testing::AssertionResult NbmsTest::messages_reach(std::uint64_t n) {
  std::uint64_t seen = 0;
  const bool reached = wait_until([&] {
    seen = ingest_counter("messages");
    return seen >= n;
  });
  if (!reached) {
    return ::testing::AssertionFailure()
           << "health.ingest.messages is " << seen << ", expected " << n
           << " within the timeout; health: " << nbmsd().health().dump();
  }
  if (seen != n) {
    return ::testing::AssertionFailure()
           << "health.ingest.messages is " << seen << ", more than the " << n << " expected";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace nbms::it
