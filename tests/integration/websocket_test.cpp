// The realtime channel end to end with the real nbmsd and Mosquitto: a test MQTT
// client plays the middleware (it receives Subscribe/Unsubscribe/Control on the
// thing's command topic and publishes realtime values and control results), and
// WebSocket clients play browsers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

Json realtime_message(const std::vector<std::pair<std::string, double>>& values) {
  Json m{{"msg_type", "Realtime"}, {"time", "202210041000"}, {"point_count", values.size()}};
  for (std::size_t i = 0; i < values.size(); ++i) {
    m["point_" + std::to_string(i)] = {
        {"point_id", values[i].first},
        {"msg", Json::array({{{"attr_name", "M_Value"}, {"data", values[i].second}}})}};
  }
  return m;
}

bool is_type(const Json& m, const char* type) {
  return m.is_object() && m.value("type", "") == type;
}

std::vector<std::string> sorted_ids(const Json& ids) {
  std::vector<std::string> out = ids.get<std::vector<std::string>>();
  std::sort(out.begin(), out.end());
  return out;
}

class Realtime : public NbmsTest {
 protected:
  void SetUp() override {
    NbmsTest::SetUp();
    register_thing();
    publish(
        topic_of(kThing, "init"),
        init_message("202210040000", {{"AV-1", "AV", "Setpoint", "AHU/AHU_01", "", "degC", true},
                                      {"AI-1", "AI", "Temp", "AHU/AHU_01", "", "degC", false},
                                      {"BV-1", "BV", "Fan", "AHU/AHU_01", "", "", true}}));
    ASSERT_TRUE(messages_reach(1));
    mqtt().subscribe(kThing);  // the MW's command topic
    manager = add_user("mia", "manager", kCustomer);
    viewer = add_user("vic", "viewer", kCustomer);
  }

  // The next command the "MW" receives, parsed; fails the test if none comes.
  Json next_command(const char* msg_type) {
    for (;;) {
      auto m = mqtt().receive();
      if (!m) {
        ADD_FAILURE() << "no " << msg_type << " command reached the middleware";
        return Json();
      }
      EXPECT_EQ(m->topic, kThing);
      Json j = Json::parse(m->payload, nullptr, false);
      if (j.value("msg_type", "") == msg_type) return j;
    }
  }

  std::unique_ptr<WsClient> connect(const std::string& token) {
    auto ws = std::make_unique<WsClient>(nbmsd().http_port(), token);
    auto hello = ws->receive();
    EXPECT_TRUE(hello && is_type(*hello, "hello"));
    return ws;
  }

  static void subscribe(WsClient& ws, const std::vector<std::string>& ids,
                        const char* type = "subscribe") {
    ws.send(Json{{"type", type}, {"thing", kThing}, {"point_ids", ids}});
    const auto ack = ws.receive();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ((*ack)["type"], std::string(type) + "d") << ack->dump();
  }

  std::string manager, viewer;
};

TEST_F(Realtime, ValuesReachExactlyTheWatchersAndTheMwIsAskedOncePerPoint) {
  auto a = connect(manager);
  subscribe(*a, {"AV-1", "AI-1"});
  auto sub = next_command("Subscribe");
  EXPECT_EQ(sorted_ids(sub["point_ids"]), (std::vector<std::string>{"AI-1", "AV-1"}));
  EXPECT_GT(sub["lease"].get<int>(), 0);

  // A second watcher of AV-1: the MW is asked only for the point nobody watched.
  auto b = connect(viewer);
  subscribe(*b, {"AV-1", "BV-1"});
  EXPECT_EQ(next_command("Subscribe")["point_ids"], Json::array({"BV-1"}));

  publish(topic_of(kThing, "realtime"), realtime_message({{"AV-1", 21.5}, {"AI-1", 19.0}}));
  const auto got_a = a->receive_until([](const Json& m) { return is_type(m, "values"); });
  ASSERT_TRUE(got_a);
  ASSERT_EQ((*got_a)["updates"].size(), 1u) << got_a->dump();
  const auto& update_a = (*got_a)["updates"][0];
  EXPECT_EQ(update_a["thing"], kThing);
  std::map<std::string, double> seen_a;
  for (const auto& v : update_a["values"]) seen_a[v["point_id"]] = v["value"];
  EXPECT_EQ(seen_a, (std::map<std::string, double>{{"AI-1", 19.0}, {"AV-1", 21.5}}));
  const auto got_b = b->receive_until([](const Json& m) { return is_type(m, "values"); });
  ASSERT_TRUE(got_b);
  ASSERT_EQ((*got_b)["updates"].size(), 1u) << got_b->dump();
  const auto& values_b = (*got_b)["updates"][0]["values"];
  ASSERT_EQ(values_b.size(), 1u) << got_b->dump();  // b does not watch AI-1
  EXPECT_EQ(values_b[0]["point_id"], "AV-1");

  // The first browser leaves: only what nobody watches any more is unsubscribed.
  a->close();
  EXPECT_EQ(next_command("Unsubscribe")["point_ids"], Json::array({"AI-1"}));
  b->close();
  EXPECT_EQ(sorted_ids(next_command("Unsubscribe")["point_ids"]),
            (std::vector<std::string>{"AV-1", "BV-1"}));
}

// DELETE .../things/{t}?confirm= under open WebSocket clients while the thing
// still streams: whoever watched it is told (`thing_removed`), a client that
// did not is not, and the overview's "last seen" of the name, noted on the
// ingest worker for registered things only, does not come back from a message
// that raced the purge: registered again, the name is `unknown`.
TEST_F(Realtime, APurgedThingsWatchersAreToldAndItsLastSeenDoesNotComeBack) {
  const auto overview_thing = [this] {
    const Json o = get_ok(std::string("/api/v1/customers/") + kCustomer + "/overview");
    for (const auto& b : o["buildings"]) {
      for (const auto& t : b["things"]) {
        if (t["name"] == kThing) return t;
      }
    }
    return Json();
  };
  auto watcher = connect(manager);
  subscribe(*watcher, {"AV-1", "AI-1"});
  next_command("Subscribe");
  auto bystander = connect(viewer);
  publish(topic_of(kThing, "realtime"), realtime_message({{"AV-1", 21.5}}));
  ASSERT_TRUE(watcher->receive_until([](const Json& m) { return is_type(m, "values"); }));
  EXPECT_EQ(overview_thing()["state"], "online");

  // Messages of the thing still arriving while it is purged.
  constexpr int kRacing = 200;
  for (int i = 0; i < kRacing; ++i) {
    publish(topic_of(kThing, "realtime"), realtime_message({{"AV-1", i}, {"AI-1", i}}));
  }
  const auto purged =
      nbmsd().request("DELETE", building_path() + "/things/" + kThing + "?confirm=" + kThing,
                      std::nullopt, nbmsd().admin_token());
  ASSERT_EQ(purged.status, 200) << purged.body;

  const auto removed =
      watcher->receive_until([](const Json& m) { return is_type(m, "thing_removed"); });
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, (Json{{"type", "thing_removed"},
                            {"thing", kThing},
                            {"point_ids", Json::array({"AI-1", "AV-1"})}}));
  // The bystander's first message since the purge is the answer to this one.
  bystander->send_text("not json");
  const auto first = bystander->receive();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["type"], "error") << first->dump();
  EXPECT_EQ(nbmsd().health()["realtime"]["subscriptions"], 0);

  // Every racing message handled (those after the purge rejected as
  // unregistered); then the name registered again has not been seen.
  ASSERT_TRUE(messages_reach(1 + 1 + kRacing));
  auto again = nbmsd().post(building_path() + "/things", {{"name", kThing}});
  ASSERT_EQ(again.status, 201) << again.body;
  const Json fresh = overview_thing();
  EXPECT_EQ(fresh["state"], "unknown") << fresh.dump();
  EXPECT_TRUE(fresh["last_seen_ms"].is_null()) << fresh.dump();
  // Until it sends something.
  publish(topic_of(kThing, "realtime"), realtime_message({{"AV-1", 1}}));
  ASSERT_TRUE(messages_reach(1 + 1 + kRacing + 1));
  EXPECT_EQ(overview_thing()["state"], "online");
}

TEST_F(Realtime, ControlReachesTheMwAndItsResultComesBackAudited) {
  auto ws = connect(manager);
  ws->send(Json{{"type", "control"},
                {"ref", "r1"},
                {"thing", kThing},
                {"point_id", "AV-1"},
                {"value", 22.5},
                {"priority", 8}});
  const auto control = next_command("Control");
  EXPECT_EQ(control["point_id"], "AV-1");
  EXPECT_EQ(control["value"], 22.5);
  EXPECT_EQ(control["priority"], 8);
  const std::string request_id = control["request_id"];
  ASSERT_FALSE(request_id.empty());

  publish(topic_of(kThing, "control_result"), Json{{"msg_type", "Control_Result"},
                                                   {"request_id", request_id},
                                                   {"point_id", "AV-1"},
                                                   {"result", "accepted"},
                                                   {"value", 22.5}});
  const auto result = ws->receive_until([](const Json& m) { return is_type(m, "control_result"); });
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["ref"], "r1");
  EXPECT_EQ((*result)["request_id"], request_id);
  EXPECT_EQ((*result)["status"], "accepted");
  EXPECT_EQ((*result)["value"], 22.5);

  const auto trail = nbmsd().get("/api/v1/audit?customer=C000003");
  ASSERT_EQ(trail.status, 200);
  const auto& e = trail.json["entries"][0];
  EXPECT_EQ(e["action"], "control");
  EXPECT_EQ(e["user"], "mia");
  EXPECT_EQ(e["target"], std::string(kThing) + "/AV-1");
  EXPECT_TRUE(e["ok"].get<bool>());
  EXPECT_NE(e["detail"].get<std::string>().find("accepted"), std::string::npos);
}

TEST_F(Realtime, ControlsThatMustNotReachTheMw) {
  auto ws = connect(manager);
  const auto expect_error = [&](WsClient& client, Json control, const char* code) {
    control["type"] = "control";
    control["ref"] = "x";
    control["thing"] = control.value("thing", kThing);
    client.send(control);
    const auto m = client.receive();
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["type"], "error") << m->dump();
    EXPECT_EQ((*m)["code"], code) << m->dump();
    EXPECT_EQ((*m)["ref"], "x");
  };
  expect_error(*ws, {{"point_id", "AI-1"}, {"value", 1}}, "bad_request");  // not writable
  expect_error(*ws, {{"point_id", "BV-1"}, {"value", 2}}, "bad_request");  // binary: 0 or 1
  expect_error(*ws, {{"point_id", "AV-1"}, {"value", 1}, {"priority", 1}}, "bad_request");
  expect_error(*ws, {{"point_id", "AV-9"}, {"value", 1}}, "not_found");
  expect_error(*ws, {{"point_id", "AV-1"}, {"value", "1"}}, "bad_request");

  auto as_viewer = connect(viewer);
  expect_error(*as_viewer, {{"point_id", "AV-1"}, {"value", 1}}, "forbidden");

  register_thing("C000004", kBuilding, "C000004_B001_01");
  auto stranger = connect(add_user("otto", "manager", "C000004"));
  expect_error(*stranger, {{"thing", kThing}, {"point_id", "AV-1"}, {"value", 1}}, "not_found");
  stranger->send(Json{{"type", "subscribe"}, {"thing", kThing}, {"point_ids", {"AV-1"}}});
  const auto m = stranger->receive();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "not_found");

  // None of them produced a command: the next one the MW sees is this Subscribe.
  subscribe(*ws, {"AV-1"});
  EXPECT_EQ(next_command("Subscribe")["point_ids"], Json::array({"AV-1"}));
}

TEST_F(Realtime, BadMessagesGetPreciseErrorsAndTheConnectionStays) {
  auto ws = connect(manager);
  for (const char* text : {"not json", "[1]", "{\"type\":5}", "{\"type\":\"dance\"}",
                           "{\"type\":\"subscribe\",\"thing\":\"C000003_B001_01\"}"}) {
    ws->send_text(text);
  }
  // Each of the five got an error, in order, and the channel still works.
  for (int i = 0; i < 5; ++i) {
    const auto m = ws->receive();
    ASSERT_TRUE(m) << i;
    EXPECT_EQ((*m)["type"], "error") << m->dump();
    EXPECT_EQ((*m)["code"], "bad_request");
  }
  subscribe(*ws, {"AV-1"});
}

TEST_F(Realtime, UpgradeNeedsASessionAndTheSameOrigin) {
  EXPECT_EQ(ws_refusal_status(nbmsd().http_port(), ""), 401);
  EXPECT_EQ(ws_refusal_status(nbmsd().http_port(), "bogus-token"), 401);
  EXPECT_EQ(ws_refusal_status(nbmsd().http_port(), manager, "http://evil.example"), 403);
  const std::string own = "http://127.0.0.1:" + std::to_string(nbmsd().http_port());
  EXPECT_EQ(ws_refusal_status(nbmsd().http_port(), manager, own), 0);
}

class RealtimeShortTimeout : public Realtime {
 protected:
  void configure(Nbmsd& n) override { n.config()["realtime"] = {{"control_timeout_s", 1}}; }
};

TEST_F(RealtimeShortTimeout, AControlWithoutAnswerTimesOut) {
  auto ws = connect(manager);
  ws->send(Json{
      {"type", "control"}, {"ref", "t1"}, {"thing", kThing}, {"point_id", "BV-1"}, {"value", 1}});
  EXPECT_EQ(next_command("Control")["point_id"], "BV-1");
  const auto result = ws->receive_until([](const Json& m) { return is_type(m, "control_result"); });
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["ref"], "t1");
  EXPECT_EQ((*result)["status"], "timeout");
  EXPECT_TRUE((*result)["value"].is_null());
}

// docs/reliability.md, "Slow and dead WebSocket clients": a browser whose peer
// vanished without closing TCP (a network cut, a stopped process: the kernel
// still acknowledges, nobody reads) answers no ping. With a 2 s idle timeout
// nbmsd pings after 1 s of silence and drops the connection when nothing came
// back by 2 s, which releases its subscriptions; a quiet client that is alive
// answers the pings (Beast does while a read is pending) and stays.
class RealtimeDeadClients : public Realtime {
 protected:
  static constexpr auto kIdle = 2s;
  void configure(Nbmsd& n) override { n.config()["http"]["ws_idle_timeout_s"] = 2; }
  Json realtime_health() { return nbmsd().health()["realtime"]; }
};

TEST_F(RealtimeDeadClients, AClientThatAnswersNothingIsDroppedAndAQuietLiveOneStays) {
  auto live = connect(manager);
  subscribe(*live, {"BV-1"});
  EXPECT_EQ(next_command("Subscribe")["point_ids"], Json::array({"BV-1"}));
  const auto live_quiet_since = std::chrono::steady_clock::now();
  // From here `live` sends nothing; its pending read answers nbmsd's pings.
  auto live_values = std::async(std::launch::async, [&live] {
    return live->receive_until([](const Json& m) { return is_type(m, "values"); });
  });

  auto dead = connect(viewer);
  subscribe(*dead, {"AV-1"});
  const auto dead_since = std::chrono::steady_clock::now();
  EXPECT_EQ(next_command("Subscribe")["point_ids"], Json::array({"AV-1"}));
  EXPECT_EQ(realtime_health()["connections"], 2);
  // `dead` never reads again, so it answers no ping: only the timeout can end it.

  EXPECT_EQ(next_command("Unsubscribe")["point_ids"], Json::array({"AV-1"}));
  const auto dropped_after = std::chrono::steady_clock::now() - dead_since;
  EXPECT_GE(dropped_after, kIdle / 2) << "dropped before a ping could be answered";
  EXPECT_LT(dropped_after, kIdle + 5s);
  EXPECT_TRUE(wait_until([&] {
    const auto h = realtime_health();
    return h["connections"] == 1 && h["subscriptions"] == 1;
  })) << realtime_health().dump();

  // The live client has to stay quiet past the timeout for the claim to mean
  // anything: that is the time under test, not a wait for an event.
  std::this_thread::sleep_until(live_quiet_since + 2 * kIdle);
  publish(topic_of(kThing, "realtime"), realtime_message({{"BV-1", 1}}));
  const auto got = live_values.get();
  ASSERT_TRUE(got) << "the quiet live client was dropped";
  ASSERT_EQ((*got)["updates"].size(), 1u) << got->dump();
  EXPECT_EQ((*got)["updates"][0]["values"][0]["point_id"], "BV-1");
  EXPECT_EQ(realtime_health()["connections"], 1);
}

}  // namespace
}  // namespace nbms::it
