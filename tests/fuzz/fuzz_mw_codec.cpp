// Fuzz target: the MW codec (src/protocol). Input: the first line is the MQTT
// topic, the rest the payload. The topic goes through parse_topic/kind_of; the
// payload through every decoder (a payload sent on the wrong topic must be
// rejected just as cleanly), with the topic's thing when it has a valid one.
//
// Invariants (a violation aborts, so libFuzzer records the input):
// - a rejection carries a non-empty message;
// - what decodes re-encodes (mwsim's message builders, the MW side of the
//   protocol) to a payload that decodes to the same values;
// - the encoders of nbmsd's commands write valid JSON whatever bytes the ids
//   hold, and mwsim's command parser reads back what was written.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mwsim/model.hpp"
#include "nbms/protocol/codec.hpp"

namespace {

using namespace nbms;

[[noreturn]] void violated(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) violated(what, detail);
}

template <class T>
bool rejected_properly(const Result<T>& r, std::string_view what) {
  if (r) return false;
  check(!r.error().message.empty(), what, "rejection without a message");
  return true;
}

bool valid_utf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Decoded values must come back bit-for-bit (both sides write and read doubles
// exactly); -0.0 == 0.0 is fine.
bool same_values(const std::vector<PointValue>& a, const std::vector<PointValue>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].point_id != b[i].point_id || !(a[i].value == b[i].value)) return false;
  }
  return true;
}

mwsim::PointDef def_of(std::string_view point_id) {
  mwsim::PointDef d;
  d.point_id = std::string(point_id);
  return d;
}

const LocalMinute kSomeTime = LocalMinute::parse("202210040945").value();

void periodic_log(protocol::Decoder& decoder, const ThingName& thing, std::string_view payload) {
  const auto log = decoder.periodic_log(thing, payload);
  if (rejected_properly(log, "periodic_log")) return;
  check(log->thing == thing, "periodic_log", "thing not the topic's");
  check(log->period_minutes >= 1 && log->period_minutes <= 1440, "periodic_log", "period");
  std::set<std::string_view> ids;
  for (const auto& v : log->values) {
    check(ids.insert(v.point_id).second, "periodic_log", "point id twice: " + v.point_id);
    check(std::isfinite(v.value), "periodic_log", "non-finite value");
  }
  // mwsim writes values in fixed notation into a 64-byte buffer: beyond 1e60 it
  // writes null (its own values never come near); only compare below that.
  for (const auto& v : log->values) {
    if (std::fabs(v.value) >= 1e60) return;
  }
  std::vector<mwsim::PointDef> defs;
  std::vector<mwsim::Value> values;
  for (const auto& v : log->values) {
    defs.push_back(def_of(v.point_id));
    values.emplace_back(v.value);
  }
  const std::string again =
      mwsim::periodic_log_message(defs, values, log->time, log->period_minutes);
  const auto back = decoder.periodic_log(thing, again);
  check(back.has_value(), "periodic_log round trip rejected",
        back ? std::string_view() : std::string_view(back.error().message));
  check(back->time == log->time && back->period_minutes == log->period_minutes &&
            back->missing == 0 && same_values(back->values, log->values),
        "periodic_log round trip differs", again);
}

void init(protocol::Decoder& decoder, const ThingName& thing, std::string_view payload) {
  const auto msg = decoder.init(thing, payload);
  if (rejected_properly(msg, "init")) return;
  std::vector<mwsim::PointDef> defs;
  for (const auto& p : msg->points) {
    check(p.thing == thing.full() && p.declared, "init", "thing or declared");
    check(!p.point_id.empty() && !p.object_type.empty(), "init", "empty id or type");
    auto d = def_of(p.point_id);
    d.object_type = p.object_type;
    d.name = p.name;
    d.equipment = p.equipment;
    d.location = p.location;
    d.unit = p.unit;
    d.writable = p.writable;
    defs.push_back(std::move(d));
  }
  std::string again;
  try {
    again = mwsim::init_message(defs, msg->time);
  } catch (const nlohmann::json::exception& e) {
    violated("init decoded a string that is not UTF-8", e.what());
  }
  const auto back = decoder.init(thing, again);
  check(back.has_value(), "init round trip rejected",
        back ? std::string_view() : std::string_view(back.error().message));
  check(back->time == msg->time && back->points == msg->points, "init round trip differs", again);
}

void remove(protocol::Decoder& decoder, std::string_view payload) {
  const auto msg = decoder.remove(payload);
  if (rejected_properly(msg, "delete")) return;
  // mwsim has no Delete builder; the message is simple enough to write here.
  nlohmann::json j{{"msg_type", "Delete"},
                   {"time", msg->time.to_string()},
                   {"point_count", msg->point_ids.size()}};
  for (std::size_t i = 0; i < msg->point_ids.size(); ++i) {
    j["point_" + std::to_string(i)] = {{"point_id", msg->point_ids[i]}};
  }
  const auto back = decoder.remove(j.dump());
  check(back.has_value(), "delete round trip rejected",
        back ? std::string_view() : std::string_view(back.error().message));
  check(back->time == msg->time && back->point_ids == msg->point_ids, "delete round trip differs");
}

void timestamp_last(protocol::Decoder& decoder, std::string_view payload) {
  const auto req = decoder.timestamp_last(payload);
  if (rejected_properly(req, "timestamp_last")) return;
  const auto back = decoder.timestamp_last(mwsim::timestamp_last_request(req->request_id));
  check(back && back->request_id == req->request_id, "timestamp_last round trip");
  // The answer nbmsd sends reads back in the MW's parser.
  for (const bool stored : {false, true}) {
    const std::optional<LastLog> last =
        stored ? std::optional<LastLog>(LastLog{kSomeTime, 15}) : std::nullopt;
    const auto answer = mwsim::parse_command(protocol::encode_timestamp_last_reply(*req, last));
    check(answer.has_value(), "timestamp_last answer unreadable");
    check(answer->msg_type == "Timestamp_Last" && answer->request_id == req->request_id &&
              answer->time.has_value() == stored,
          "timestamp_last answer differs");
  }
}

void realtime(protocol::Decoder& decoder, const ThingName& thing, std::string_view payload) {
  const auto update = decoder.realtime(thing, payload);
  if (rejected_properly(update, "realtime")) return;
  check(update->received_ms == 0, "realtime", "received_ms stamped by the decoder");
  std::vector<mwsim::PointDef> defs;
  std::vector<std::pair<std::size_t, mwsim::Value>> values;
  for (const auto& v : update->values) {
    check(std::isfinite(v.value), "realtime", "non-finite value");
    values.emplace_back(defs.size(), v.value);
    defs.push_back(def_of(v.point_id));
  }
  const auto back = decoder.realtime(thing, mwsim::realtime_message(defs, values, kSomeTime));
  check(back.has_value(), "realtime round trip rejected",
        back ? std::string_view() : std::string_view(back.error().message));
  check(same_values(back->values, update->values), "realtime round trip differs");
}

void control_result(protocol::Decoder& decoder, const ThingName& thing, std::string_view payload) {
  const auto res = decoder.control_result(thing, payload);
  if (rejected_properly(res, "control_result")) return;
  check(!res->request_id.empty() && !res->point_id.empty(), "control_result", "empty ids");
  check(!res->value || std::isfinite(*res->value), "control_result", "non-finite value");
  const auto back = decoder.control_result(
      thing, mwsim::control_result_message(res->request_id, res->point_id, res->accepted,
                                           res->value, res->message));
  check(back.has_value(), "control_result round trip rejected",
        back ? std::string_view() : std::string_view(back.error().message));
  check(back->request_id == res->request_id && back->point_id == res->point_id &&
            back->accepted == res->accepted && back->value == res->value &&
            back->message == res->message,
        "control_result round trip differs");
  // The Control that would have caused it reads back in the MW's parser.
  const auto control = mwsim::parse_command(
      protocol::encode_control(res->request_id, res->point_id, res->value.value_or(0), 8));
  check(control && control->msg_type == "Control" && control->request_id == res->request_id &&
            control->point_id == res->point_id && control->value == res->value.value_or(0) &&
            control->priority == 8,
        "Control round trip differs");
}

// nbmsd's commands carry ids that may come from a browser: any bytes. The
// output is JSON whatever they hold; valid UTF-8 comes back unchanged.
void commands(std::string_view a, std::string_view b) {
  const std::vector<std::string> ids{std::string(a), std::string(b)};
  const bool exact = valid_utf8(a) && valid_utf8(b);
  const auto sub = mwsim::parse_command(protocol::encode_subscribe(b, ids, 60));
  check(sub.has_value(), "Subscribe is not JSON");
  check(sub->msg_type == "Subscribe" && sub->lease_s == 60 && sub->point_ids.size() == 2,
        "Subscribe differs");
  if (exact) check(sub->point_ids == ids && sub->request_id == b, "Subscribe ids differ");
  const auto unsub = mwsim::parse_command(protocol::encode_unsubscribe(ids));
  check(unsub && unsub->msg_type == "Unsubscribe", "Unsubscribe is not JSON");
  if (exact) check(unsub->point_ids == ids, "Unsubscribe ids differ");
  const auto control =
      nlohmann::json::parse(protocol::encode_control(a, b, std::nan(""), 16), nullptr, false);
  check(!control.is_discarded() && control["value"].is_null(), "Control with NaN");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view topic = input.substr(0, newline);
  const std::string_view payload =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  static const ThingName kDefaultThing = ThingName::parse("C000003_B001_01").value();
  ThingName thing = kDefaultThing;
  const auto envelope = protocol::parse_topic(topic);
  if (!rejected_properly(envelope, "parse_topic")) {
    const auto parsed = ThingName::parse(envelope->thing);
    check(parsed.has_value(), "parse_topic accepted a thing ThingName rejects", envelope->thing);
    check(!envelope->point.empty(), "parse_topic", "empty point");
    thing = *parsed;
    (void)protocol::kind_of(envelope->point);
  }

  static protocol::Decoder decoder(protocol::DecodeLimits{.max_points = 200});
  periodic_log(decoder, thing, payload);
  init(decoder, thing, payload);
  remove(decoder, payload);
  timestamp_last(decoder, payload);
  realtime(decoder, thing, payload);
  control_result(decoder, thing, payload);
  commands(topic, payload.substr(0, 256));
  return 0;
}
