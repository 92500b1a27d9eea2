#include "ws_channel.hpp"

#include "json_text.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include "api_common.hpp"
#include "log.hpp"
#include "nbms/core/control.hpp"
#include "nbms/core/ids.hpp"

namespace nbms::http {

namespace {

constexpr std::size_t kMaxRefBytes = 64;
constexpr int kDefaultPriority = 8;

std::string_view code_name(Errc code) {
  return error_code_name(status_for(code));
}

// An optional string member of at most `max` bytes; nullopt with `error` set when
// present but not such a string.
std::optional<std::string> string_of(const json& msg, const char* name, std::size_t max,
                                     std::string& error) {
  const auto it = msg.find(name);
  if (it == msg.end()) return std::nullopt;
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max) {
    error =
        std::string("'") + name + "' must be a string of at most " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

struct WsChannel::Pending {
  std::int64_t received_ms = 0;
  bool queued = false;  // in pending_order_
  bool stale = false;   // points were unwatched: forget the entry once sent
  // Point id -> position in `values` while queued (npos otherwise). The entry
  // and its index outlive a frame, so the steady stream of a watched point
  // costs no allocation; `values` points at the map's keys (stable in a
  // node-based map).
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  using Index = std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>>;
  Index index;
  std::vector<std::pair<Index::value_type*, double>> values;  // arrival order
};

WsChannel::WsChannel(const Services& services, auth::Principal who, auth::Origin from,
                     std::function<void()> wake, WsLimits limits,
                     std::shared_ptr<AlarmFeed> alarm_feed)
    : services_(services),
      who_(std::move(who)),
      from_(std::move(from)),
      wake_(std::move(wake)),
      limits_(limits),
      alarms_(alarm_feed
                  ? std::make_shared<AlarmWatch>(std::move(alarm_feed), services, who_, wake_)
                  : nullptr) {}

WsChannel::~WsChannel() {
  close();
}

void WsChannel::open() {
  if (services_.hub) id_ = services_.hub->connect(shared_from_this());
  send({{"type", "hello"}, {"user", to_json(who_)}});
}

void WsChannel::close() {
  if (id_ && services_.hub) services_.hub->disconnect(*id_);
  id_.reset();
  if (alarms_) alarms_->close();
}

void WsChannel::send(const json& msg) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (overflowed_) return;
    if (messages_.size() >= limits_.max_queued_messages) {
      overflowed_ = true;
      wake = true;  // the writer must wake up to close the connection
    } else {
      wake = std::exchange(writer_idle_, false);
      messages_.push_back(dump(msg));
    }
  }
  if (wake) wake_();
}

void WsChannel::send_error(std::string_view ref, Errc code, std::string_view message) {
  json msg{{"type", "error"}, {"code", code_name(code)}, {"message", std::string(message)}};
  if (!ref.empty()) msg["ref"] = std::string(ref);
  send(msg);
}

bool WsChannel::next_frame(std::string& frame) {
  std::lock_guard lock(mu_);
  if (!messages_.empty()) {
    frame.assign(messages_.front());  // keeps the buffer's capacity for the values
    messages_.pop_front();
    return true;
  }
  if (alarms_) {
    if (auto alarm_frame = alarms_->next_frame()) {
      frame.assign(*alarm_frame);
      return true;
    }
  }
  if (pending_order_.empty()) {
    writer_idle_ = true;
    return false;
  }
  // Everything pending goes in one frame: the cost of a frame (a system call,
  // a TCP segment, an Asio operation) dwarfs that of a value
  // (docs/performance.md). Written directly, without a JSON tree.
  frame.clear();
  frame += R"({"type":"values","updates":[)";
  for (auto* entry : pending_order_) {
    auto& [thing, p] = *entry;
    frame += R"({"thing":)";
    append_json_string(frame, thing);
    frame += R"(,"received_ms":)";
    frame += std::to_string(p.received_ms);
    frame += R"(,"values":[)";
    for (const auto& [slot, value] : p.values) {
      frame += R"({"point_id":)";
      append_json_string(frame, slot->first);
      frame += R"(,"value":)";
      append_json_number(frame, value);
      frame += "},";
      slot->second = Pending::npos;
    }
    if (!p.values.empty()) frame.pop_back();
    frame += "]},";
    p.values.clear();
    p.queued = false;
    if (p.stale) pending_.erase(pending_.find(thing));
  }
  pending_order_.clear();
  frame.pop_back();
  frame += "]}";
  return true;
}

void WsChannel::forget_pending(const std::string& thing) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(thing);
  if (it == pending_.end()) return;
  if (it->second.queued) {
    it->second.stale = true;  // its values still go out, then next_frame forgets it
  } else {
    pending_.erase(it);
  }
}

bool WsChannel::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

void WsChannel::values(const std::string& thing, std::int64_t received_ms,
                       const std::vector<realtime::LiveValue>& values) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (overflowed_) return;
    wake = std::exchange(writer_idle_, false);
    auto it = pending_.find(thing);
    if (it == pending_.end()) it = pending_.try_emplace(thing).first;
    Pending& p = it->second;
    if (!p.queued) {
      p.queued = true;
      pending_order_.push_back(&*it);
    }
    p.received_ms = received_ms;
    for (const auto& v : values) {
      auto pos = p.index.find(v.point_id);
      if (pos == p.index.end()) {
        pos = p.index.emplace(std::string(v.point_id), Pending::npos).first;
      }
      if (pos->second == Pending::npos) {
        pos->second = p.values.size();
        p.values.emplace_back(&*pos, v.value);
      } else {
        p.values[pos->second].second = v.value;  // coalesce: newest wins
      }
    }
  }
  if (wake) wake_();
}

void WsChannel::control_outcome(const realtime::ControlOutcome& outcome) {
  Control c;
  {
    std::lock_guard lock(mu_);
    auto node = controls_.extract(outcome.request_id);
    if (node.empty()) return;  // the connection forgot it (cannot happen: the hub owns ids)
    c = std::move(node.mapped());
  }
  const json detail{{"value", c.value},
                    {"priority", c.priority},
                    {"request_id", outcome.request_id},
                    {"status", realtime::to_string(outcome.status)},
                    {"present_value", outcome.value ? json(*outcome.value) : json(nullptr)},
                    {"message", outcome.message}};
  if (auto r = services_.auth.record(who_, c.customer, "control",
                                     outcome.thing + "/" + outcome.point_id, dump(detail),
                                     outcome.status == realtime::ControlStatus::accepted, from_);
      !r) {
    logger().error("audit entry for control {} not written: {}", outcome.request_id,
                   r.error().message);
  }
  send({{"type", "control_result"},
        {"ref", c.ref},
        {"request_id", outcome.request_id},
        {"thing", outcome.thing},
        {"point_id", outcome.point_id},
        {"status", realtime::to_string(outcome.status)},
        {"value", outcome.value ? json(*outcome.value) : json(nullptr)},
        {"message", outcome.message}});
}

void WsChannel::thing_removed(const std::string& thing, const std::vector<std::string>& point_ids) {
  {
    // Values of the thing still waiting would reach the client after the
    // notice (other messages go first) and show the deleted thing as live.
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(thing); it != pending_.end()) {
      if (it->second.queued) std::erase(pending_order_, &*it);
      pending_.erase(it);
    }
  }
  send({{"type", "thing_removed"}, {"thing", thing}, {"point_ids", point_ids}});
}

void WsChannel::on_text(std::string_view text) {
  const json msg = json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) {
    send_error("", Errc::invalid_argument, "a message must be a JSON object");
    return;
  }
  std::string error;
  const auto type = string_of(msg, "type", 32, error);
  if (!type) {
    send_error("", Errc::invalid_argument, error.empty() ? "'type' is required" : error);
    return;
  }
  if (*type == "subscribe" || *type == "unsubscribe") {
    subscribe(msg, *type == "subscribe");
  } else if (*type == "control") {
    control(msg);
  } else if (type->starts_with("alarms.")) {
    if (!alarms_) return send_error("", Errc::unavailable, "alarms are not available");
    alarms_->on_message(*type, msg);
  } else {
    send_error("", Errc::invalid_argument, "unknown message type '" + type->substr(0, 32) + "'");
  }
}

// Resolves the thing of a message within the caller's scope: a thing of another
// customer reads as not found, exactly like a thing that does not exist.
static Result<ThingName> scoped_thing(const Services& s, const auth::Principal& who,
                                      const json& msg) {
  std::string error;
  const auto name = string_of(msg, "thing", 64, error);
  if (!name) {
    return fail(Errc::invalid_argument, error.empty() ? "'thing' is required" : error);
  }
  auto thing = ThingName::parse(*name);
  if (!thing) return fail(Errc::invalid_argument, thing.error().message);
  const auto not_found = [&] { return fail(Errc::not_found, "thing '" + *name + "' not found"); };
  if (!who.can_read(thing->customer)) return not_found();
  if (auto t = s.registry.thing(*name); !t) {
    if (t.error().code == Errc::not_found) return not_found();
    return std::unexpected(t.error());
  }
  return thing;
}

void WsChannel::subscribe(const json& msg, bool watch) {
  auto thing = scoped_thing(services_, who_, msg);
  if (!thing) return send_error("", thing.error().code, thing.error().message);
  const auto ids = msg.find("point_ids");
  if (ids == msg.end() || !ids->is_array() || ids->empty()) {
    return send_error("", Errc::invalid_argument, "'point_ids' must be a non-empty array");
  }
  std::vector<std::string> points;
  points.reserve(ids->size());
  for (const auto& id : *ids) {
    if (!id.is_string()) {
      return send_error("", Errc::invalid_argument, "'point_ids' must hold strings");
    }
    if (auto v = validate_point_id(id.get_ref<const std::string&>()); !v) {
      return send_error("", Errc::invalid_argument, v.error().message);
    }
    points.push_back(id.get<std::string>());
  }
  if (!services_.hub || !id_) {
    return send_error("", Errc::unavailable, "realtime values are not available");
  }
  if (watch) {
    if (auto r = services_.hub->subscribe(*id_, *thing, points); !r) {
      return send_error("", r.error().code, r.error().message);
    }
  } else {
    services_.hub->unsubscribe(*id_, *thing, points);
    forget_pending(thing->full());
  }
  send({{"type", watch ? "subscribed" : "unsubscribed"},
        {"thing", thing->full()},
        {"point_ids", std::move(points)}});
}

void WsChannel::control(const json& msg) {
  std::string error;
  const std::string ref = string_of(msg, "ref", kMaxRefBytes, error).value_or("");
  if (!error.empty()) return send_error("", Errc::invalid_argument, error);
  auto thing = scoped_thing(services_, who_, msg);
  if (!thing) return send_error(ref, thing.error().code, thing.error().message);
  const auto point_id = string_of(msg, "point_id", 200, error);
  if (!point_id) {
    return send_error(ref, Errc::invalid_argument,
                      error.empty() ? "'point_id' is required" : error);
  }
  const auto value = msg.find("value");
  if (value == msg.end() || !value->is_number()) {
    return send_error(ref, Errc::invalid_argument, "'value' must be a number");
  }
  int priority = kDefaultPriority;
  if (const auto p = msg.find("priority"); p != msg.end()) {
    if (!p->is_number_integer() || p->get<std::int64_t>() < 1 || p->get<std::int64_t>() > 16) {
      return send_error(ref, Errc::invalid_argument, "'priority' must be an integer 1..16");
    }
    priority = p->get<int>();
  }
  const std::string target = thing->full() + "/" + *point_id;
  if (!who_.can_operate(thing->customer)) {
    if (auto r = services_.auth.record(who_, thing->customer, "control", target,
                                       "denied: role may not control points", false, from_);
        !r) {
      logger().error("audit entry for a denied control not written: {}", r.error().message);
    }
    return send_error(ref, Errc::forbidden,
                      "role '" + std::string(to_string(who_.role)) + "' may not control points");
  }
  auto points = services_.points.points(thing->customer, thing->building);
  if (!points) return send_error(ref, points.error().code, points.error().message);
  const PointInfo* point = nullptr;
  for (const auto& p : *points) {
    if (p.point_id == *point_id && p.thing == thing->full()) point = &p;
  }
  if (!point) {
    return send_error(ref, Errc::not_found,
                      "point '" + *point_id + "' not found on thing '" + thing->full() + "'");
  }
  const double v = value->get<double>();
  if (auto ok = validate_control(*point, v, priority); !ok) {
    return send_error(ref, ok.error().code, ok.error().message);
  }
  if (!services_.hub || !id_) {
    return send_error(ref, Errc::unavailable, "control is not available");
  }
  // Held across hub->control() so that an answer racing back from the MW finds
  // its request (the hub calls control_outcome without its own lock held).
  std::unique_lock lock(mu_);
  auto request = services_.hub->control(*id_, *thing, *point_id, v, priority);
  if (request) {
    controls_.emplace(*request, Control{ref, thing->customer, v, priority});
    return;
  }
  lock.unlock();
  send_error(ref, request.error().code, request.error().message);
}

}  // namespace nbms::http
