#include "nbms/ingest/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace nbms::ingest {
namespace {

constexpr std::int64_t kLogWindowMs = 10'000;
constexpr std::uint64_t kLogBurst = 20;

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto existing = spdlog::get("ingest");
    return existing ? existing : spdlog::default_logger()->clone("ingest");
  }();
  return log;
}

}  // namespace

std::string_view to_string(Reject r) {
  switch (r) {
    case Reject::bad_topic:
      return "bad_topic";
    case Reject::unregistered:
      return "unregistered";
    case Reject::unknown_type:
      return "unknown_type";
    case Reject::reserved:
      return "reserved";
    case Reject::too_large:
      return "too_large";
    case Reject::malformed:
      return "malformed";
    case Reject::throttled:
      return "throttled";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

Router::Router(Ports ports, RouterOptions options) : ports_(ports), options_(options) {}

Result<Outcome> Router::handle(std::string_view topic, std::string_view payload) {
  return admit(topic, payload, true);
}

Result<void> Router::load_backlog() {
  if (ports_.spool == nullptr) return {};
  auto backlogs = ports_.spool->held_backlogs();
  if (!backlogs) return std::unexpected(backlogs.error());
  for (const auto& b : *backlogs) {
    auto& flow = flows_[b.thing];
    flow.held = b.messages;
    flow.held_bytes = b.bytes;
    flow.next_seq = b.next_seq;
    counters_.held += b.messages;
    logger()->info("{}: {} messages ({} bytes) held back from the previous run", b.thing,
                   b.messages, b.bytes);
  }
  return {};
}

void Router::refill(Flow& flow) {
  const auto now = ports_.clock.now_ms();
  if (!flow.seen) {
    flow.seen = true;
    flow.tokens = options_.thing_burst;
  } else if (now > flow.refilled_ms) {
    flow.tokens =
        std::min(options_.thing_burst, flow.tokens + static_cast<double>(now - flow.refilled_ms) *
                                                         options_.thing_rate / 1000.0);
  }
  flow.refilled_ms = now;
}

Result<Outcome> Router::hold_back(Flow& flow, const std::string& thing, std::string_view topic,
                                  std::string_view payload) {
  if (flow.held_bytes + payload.size() > options_.thing_backlog_bytes) {
    return reject(topic, payload, Reject::throttled,
                  "thing '" + thing + "' is over its rate of " +
                      std::to_string(static_cast<std::uint64_t>(options_.thing_rate)) +
                      " messages/s and already has " + std::to_string(flow.held) + " messages (" +
                      std::to_string(flow.held_bytes) + " bytes) held back; the limit is " +
                      std::to_string(options_.thing_backlog_bytes) + " bytes");
  }
  if (auto held = ports_.spool->hold(thing, flow.next_seq, topic, payload); !held) {
    return std::unexpected(held.error());
  }
  ++flow.next_seq;
  ++flow.held;
  flow.held_bytes += payload.size();
  ++counters_.deferred;
  ++counters_.held;
  if (flow.held == 1) {
    logger()->warn("{}: over its rate of {} messages/s; holding its messages back", thing,
                   options_.thing_rate);
  }
  return Outcome{.accepted = true, .reason = "held", .detail = {}, .samples = 0};
}

Result<bool> Router::release_one(bool idle) {
  if (!has_backlog() || flows_.empty()) return false;
  // Round robin: the first thing after the cursor (wrapping) that may go.
  auto it = flows_.upper_bound(cursor_);
  for (std::size_t n = 0; n < flows_.size(); ++n, ++it) {
    if (it == flows_.end()) it = flows_.begin();
    auto& flow = it->second;
    if (flow.held == 0) continue;
    if (!idle) {
      refill(flow);
      if (flow.tokens < 1) continue;
    }
    const std::string thing = it->first;
    auto first = ports_.spool->first_held(thing);
    if (!first) return std::unexpected(first.error());
    if (!*first) {  // the counts disagree with the spool: trust the spool
      counters_.held -= std::min(counters_.held.load(), flow.held);
      flow.held = 0;
      flow.held_bytes = 0;
      return true;
    }
    auto outcome = admit((*first)->topic, (*first)->payload, false);
    if (!outcome) return std::unexpected(outcome.error());
    // A crash here handles the message once more on the next start: storing a
    // log or an alarm event twice changes nothing.
    if (auto released = ports_.spool->release(thing, (*first)->seq); !released) {
      return std::unexpected(released.error());
    }
    if (!idle) flow.tokens -= 1;
    --flow.held;
    flow.held_bytes -= std::min<std::uint64_t>(flow.held_bytes, (*first)->payload.size());
    --counters_.held;
    cursor_ = thing;
    if (flow.held == 0) logger()->info("{}: every held-back message handled", thing);
    return true;
  }
  return false;
}

void Router::forget_thing(const std::string& thing) {
  const auto it = flows_.find(thing);
  if (it == flows_.end()) return;
  counters_.held -= std::min(counters_.held.load(), it->second.held);
  flows_.erase(it);
}

Result<Outcome> Router::admit(std::string_view topic, std::string_view payload, bool limit) {
  auto env = protocol::parse_topic(topic);
  if (!env) {
    const bool thing_part = env.error().code == Errc::invalid_argument;
    return reject(topic, payload, thing_part ? Reject::unregistered : Reject::bad_topic,
                  env.error().message);
  }
  if (payload.size() > options_.max_message_bytes) {
    return reject(topic, payload, Reject::too_large,
                  "payload of " + std::to_string(payload.size()) + " bytes is over the limit of " +
                      std::to_string(options_.max_message_bytes));
  }
  auto registered = ports_.registry.thing(env->thing);
  if (!registered) {
    if (registered.error().code != Errc::not_found) return std::unexpected(registered.error());
    return reject(topic, payload, Reject::unregistered,
                  "thing '" + env->thing + "' is not registered");
  }
  // `limit` is set for arriving messages only: one held back was seen already.
  if (limit && ports_.activity != nullptr) {
    ports_.activity->on_activity(env->thing, ports_.clock.now_ms());
  }
  if (limit && limited()) {
    auto flow = flows_.find(env->thing);
    if (flow == flows_.end()) flow = flows_.emplace(env->thing, Flow{}).first;
    refill(flow->second);
    // Behind its own held-back messages, or over its rate: wait in the spool.
    if (flow->second.held > 0 || flow->second.tokens < 1) {
      return hold_back(flow->second, env->thing, topic, payload);
    }
    flow->second.tokens -= 1;
  }
  return dispatch(*env, registered->name, payload);
}

Result<Outcome> Router::dispatch(const protocol::Envelope& env, const ThingName& thing,
                                 std::string_view payload) {
  const std::string topic = env.thing + "/" + env.point;
  Outcome ok{.accepted = true};
  switch (protocol::kind_of(env.point)) {
    case protocol::Kind::periodic_log: {
      auto log = decoder_.periodic_log(thing, payload);
      if (!log) return reject(topic, payload, Reject::malformed, log.error().message);
      auto stored = ports_.series.append(*log);
      if (!stored) return std::unexpected(stored.error());
      if (auto r = refuse_points(topic, payload, stored->conflicts, "values"); !r) {
        return std::unexpected(r.error());
      }
      if (ports_.alarms != nullptr) {
        // Liveness; a failure retries the log, whose second append is harmless.
        if (auto live = ports_.alarms->on_periodic_log(thing, log->period_minutes); !live) {
          return std::unexpected(live.error());
        }
      }
      ok.samples = stored->samples;
      counters_.samples += stored->samples;
      counters_.missing += log->missing;
      break;
    }
    case protocol::Kind::init: {
      auto init = decoder_.init(thing, payload);
      if (!init) return reject(topic, payload, Reject::malformed, init.error().message);
      auto changes = ports_.points.upsert_points(thing, init->points);
      if (!changes) return std::unexpected(changes.error());
      if (auto r = refuse_points(topic, payload, changes->conflicts, "points"); !r) {
        return std::unexpected(r.error());
      }
      logger()->info("{}: init with {} points ({} new, {} updated, {} unchanged, {} refused)",
                     env.thing, init->points.size(), changes->created, changes->updated,
                     changes->unchanged, changes->conflicts.size());
      break;
    }
    case protocol::Kind::remove: {
      auto del = decoder_.remove(payload);
      if (!del) return reject(topic, payload, Reject::malformed, del.error().message);
      auto changes = ports_.points.remove_points(thing, del->point_ids);
      if (!changes) return std::unexpected(changes.error());
      logger()->info("{}: delete removed {} points ({} unknown)", env.thing, changes->removed,
                     changes->unknown);
      break;
    }
    case protocol::Kind::timestamp_last: {
      auto req = decoder_.timestamp_last(payload);
      if (!req) return reject(topic, payload, Reject::malformed, req.error().message);
      auto last = ports_.series.last_log(thing);
      if (!last) return std::unexpected(last.error());
      auto sent = ports_.commands.publish(protocol::command_topic(env.thing),
                                          protocol::encode_timestamp_last_reply(*req, *last));
      if (!sent) {
        logger()->warn("{}: cannot answer timestamp_last: {}", env.thing, sent.error().message);
      }
      break;
    }
    case protocol::Kind::realtime: {
      if (ports_.live == nullptr) {
        return reject(topic, payload, Reject::reserved, env.point + " is not handled yet");
      }
      auto update = decoder_.realtime(thing, payload);
      if (!update) return reject(topic, payload, Reject::malformed, update.error().message);
      update->received_ms = ports_.clock.now_ms();
      ports_.live->on_realtime(*update);
      ++counters_.realtime;
      break;
    }
    case protocol::Kind::control_result: {
      if (ports_.live == nullptr) {
        return reject(topic, payload, Reject::reserved, env.point + " is not handled yet");
      }
      auto result = decoder_.control_result(thing, payload);
      if (!result) return reject(topic, payload, Reject::malformed, result.error().message);
      ports_.live->on_control_result(*result);
      ++counters_.control_results;
      break;
    }
    case protocol::Kind::alarm: {
      if (ports_.alarms == nullptr) {
        return reject(topic, payload, Reject::reserved, env.point + " is not handled yet");
      }
      auto event = decoder_.alarm(thing, payload);
      if (!event) return reject(topic, payload, Reject::malformed, event.error().message);
      auto applied = ports_.alarms->on_alarm(*event);
      if (!applied) {
        // The decoder checked the message; what is left is storage (retry).
        if (applied.error().code == Errc::invalid_argument) {
          return reject(topic, payload, Reject::malformed, applied.error().message);
        }
        return std::unexpected(applied.error());
      }
      ++(*applied == EventResult::applied ? counters_.alarms : counters_.alarms_ignored);
      break;
    }
    case protocol::Kind::disconnect: {
      if (ports_.alarms == nullptr) {
        return reject(topic, payload, Reject::reserved, env.point + " is not handled yet");
      }
      auto event = decoder_.disconnect(thing, payload);
      if (!event) return reject(topic, payload, Reject::malformed, event.error().message);
      auto applied = ports_.alarms->on_disconnect(*event);
      if (!applied) {
        if (applied.error().code == Errc::invalid_argument) {
          return reject(topic, payload, Reject::malformed, applied.error().message);
        }
        return std::unexpected(applied.error());
      }
      if (*applied == EventResult::applied) {
        ++counters_.disconnects;
        logger()->info(
            "{}: {} {}", env.thing,
            event->device.empty() ? std::string("middleware") : "device " + event->device,
            event->connected ? "connected" : "disconnected");
      } else {
        ++counters_.alarms_ignored;
      }
      break;
    }
    case protocol::Kind::reserved:
      return reject(topic, payload, Reject::reserved, env.point + " is not handled yet");
    case protocol::Kind::unknown:
      return reject(topic, payload, Reject::unknown_type,
                    "unknown message type '" + env.point.substr(0, 64) + "'");
  }
  ++counters_.messages;
  return ok;
}

Result<Outcome> Router::reject(std::string_view topic, std::string_view payload, Reject why,
                               std::string detail) {
  if (auto stored = put_dead_letter(topic, payload, to_string(why), detail); !stored) {
    return std::unexpected(stored.error());
  }
  ++counters_.messages;
  ++counters_.rejected;
  ++counters_.by_reason[static_cast<std::size_t>(why)];
  return Outcome{
      .accepted = false, .reason = std::string(to_string(why)), .detail = std::move(detail)};
}

Result<void> Router::refuse_points(std::string_view topic, std::string_view payload,
                                   const std::vector<PointConflict>& conflicts,
                                   std::string_view what) {
  if (conflicts.empty()) return {};
  constexpr std::size_t kNamed = 10;
  std::string detail = std::to_string(conflicts.size()) + " " + std::string(what) +
                       " not stored: their point ids belong to another thing of the building (";
  for (std::size_t i = 0; i < conflicts.size() && i < kNamed; ++i) {
    if (i > 0) detail += ", ";
    detail += "'" + conflicts[i].point_id.substr(0, 128) + "' of " + conflicts[i].holder;
  }
  if (conflicts.size() > kNamed) detail += ", ...";
  detail += ")";
  if (auto stored = put_dead_letter(topic, payload, "point_conflict", detail); !stored) {
    return stored;
  }
  counters_.point_conflicts += conflicts.size();
  return {};
}

Result<void> Router::put_dead_letter(std::string_view topic, std::string_view payload,
                                     std::string_view reason, const std::string& detail) {
  DeadLetter letter{ports_.clock.now_ms(), std::string(topic.substr(0, 512)),
                    std::string(reason) + ": " + detail,
                    std::string(payload.substr(0, std::size_t{64} * 1024))};
  if (auto stored = ports_.dead_letters.put_dead_letter(letter); !stored) return stored;
  log_dead_letter(topic, reason, detail);
  return {};
}

void Router::log_dead_letter(std::string_view topic, std::string_view reason,
                             const std::string& detail) {
  const auto now = ports_.clock.now_ms();
  if (now - log_window_start_ms_ >= kLogWindowMs) {
    if (suppressed_ > 0) {
      logger()->warn("{} more rejected messages were not logged", suppressed_);
    }
    log_window_start_ms_ = now;
    logged_in_window_ = 0;
    suppressed_ = 0;
  }
  if (logged_in_window_ < kLogBurst) {
    ++logged_in_window_;
    logger()->warn("dead letter for '{}': {}: {}", topic.substr(0, 200), reason, detail);
  } else {
    ++suppressed_;
  }
}

}  // namespace nbms::ingest
