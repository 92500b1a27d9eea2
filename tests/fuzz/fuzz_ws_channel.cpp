// Fuzz target: the WebSocket message handler WsChannel::on_text, with a real
// realtime::Hub over a recording command publisher and the unit tests' fakes
// (tests/fuzz/world.hpp).
//
// Input (text): line 1 is the caller (admin, viewer, other = a manager of the
// other customer; anything else: the manager of C000003, which owns the writable
// points); every further line is one WebSocket text message. After the
// messages, the MW side answers: every Control the hub published is answered
// (accepted, with the value written), every subscribed point gets a value, and
// the clock runs past the control timeout.
//
// Invariants:
// - every frame the channel queues is a JSON object with a string "type"; an
//   "error" frame has a non-empty "code" and "message";
// - every command the hub publishes to the MW is a JSON object;
// - after close() the hub holds nothing for the connection (no watches, no
//   pending controls).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/ws_channel.hpp"
#include "nbms/realtime/hub.hpp"
#include "world.hpp"

namespace {

using namespace nbms;
using fuzz::check;
using nlohmann::json;

// What the hub hands to the broker: kept for the simulated MW's answers.
class RecordingCommands final : public CommandPublisher {
 public:
  Result<void> publish(const std::string& topic, std::string payload) override {
    sent.emplace_back(topic, std::move(payload));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> sent;
};

void drain(http::WsChannel& channel) {
  for (std::string frame; channel.next_frame(frame);) {
    const json j = json::parse(frame, nullptr, false);
    check(!j.is_discarded() && j.is_object(), "a queued frame is not a JSON object",
          frame.substr(0, 300));
    check(j.contains("type") && j["type"].is_string(), "a frame without a type",
          frame.substr(0, 300));
    if (j["type"] == "error") {
      check(j.contains("code") && j["code"].is_string() && !j["code"].get<std::string>().empty(),
            "an error frame without a code", frame);
      check(j.contains("message") && j["message"].is_string() &&
                !j["message"].get<std::string>().empty(),
            "an error frame without a message", frame);
    }
  }
}

// The MW's side: answer controls, stream values of what was subscribed.
void answer(realtime::Hub& hub, RecordingCommands& commands) {
  const auto sent = std::exchange(commands.sent, {});
  for (const auto& [topic, payload] : sent) {
    const json j = json::parse(payload, nullptr, false);
    check(!j.is_discarded() && j.is_object(), "a command to the MW is not JSON", payload);
    const auto thing = ThingName::parse(topic);
    check(thing.has_value(), "a command on a topic that is not a thing", topic);
    const auto type = j.value("msg_type", std::string());
    if (type == "Control") {
      ControlResult r;
      r.thing = *thing;
      r.request_id = j.value("request_id", std::string());
      r.point_id = j.value("point_id", std::string());
      r.accepted = true;
      if (j.contains("value") && j["value"].is_number()) r.value = j["value"].get<double>();
      hub.on_control_result(r);
    } else if (type == "Subscribe" && j.contains("point_ids") && j["point_ids"].is_array()) {
      RealtimeUpdate u;
      u.thing = *thing;
      u.received_ms = 1;
      for (const auto& id : j["point_ids"]) {
        if (id.is_string()) u.values.push_back({id.get<std::string>(), 21.5});
      }
      hub.on_realtime(u);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  nbms::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view caller = input.substr(0, nl);
  input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  fuzz::World world;
  RecordingCommands commands;
  realtime::Hub hub(commands, world.clock, realtime::HubOptions{.max_points_per_connection = 50});
  const http::Services services{world.registry, world.points, world.series, world.dead, world.clock,
                                world.auth,     &hub,         {},           {}};
  auth::Principal who{"mgr", std::string(fuzz::kCustomer), Role::manager};
  if (caller == "admin") {
    who = {"admin", "", Role::admin};
  } else if (caller == "viewer") {
    who = {"viewer", std::string(fuzz::kCustomer), Role::viewer};
  } else if (caller == "other") {
    who = {"mgr4", std::string(fuzz::kOtherCustomer), Role::manager};
  }
  auto channel = std::make_shared<http::WsChannel>(
      services, who, auth::Origin{"127.0.0.1"}, [] {}, http::WsLimits{.max_queued_messages = 64});
  channel->open();
  while (!input.empty()) {
    const auto end = input.find('\n');
    channel->on_text(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    answer(hub, commands);
    drain(*channel);
  }
  world.clock.now += 60'000;  // past the control timeout
  hub.tick();
  drain(*channel);
  channel->close();
  const auto stats = hub.stats();
  check(stats.connections == 0 && stats.subscriptions == 0 && stats.pending_controls == 0,
        "the hub holds state of a closed connection");
  return 0;
}
