#include "nbms/ingest/router.hpp"

#include <spdlog/spdlog.h>

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
    case Reject::kCount:
      break;
  }
  return "unknown";
}

Router::Router(Ports ports, RouterOptions options) : ports_(ports), options_(options) {}

Result<Outcome> Router::handle(std::string_view topic, std::string_view payload) {
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
      logger()->info("{}: init with {} points ({} new, {} updated, {} unchanged)", env.thing,
                     init->points.size(), changes->created, changes->updated, changes->unchanged);
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
  DeadLetter letter{ports_.clock.now_ms(), std::string(topic.substr(0, 512)),
                    std::string(to_string(why)) + ": " + detail,
                    std::string(payload.substr(0, std::size_t{64} * 1024))};
  if (auto stored = ports_.dead_letters.put_dead_letter(letter); !stored) {
    return std::unexpected(stored.error());
  }
  ++counters_.messages;
  ++counters_.rejected;
  ++counters_.by_reason[static_cast<std::size_t>(why)];
  log_rejection(topic, why, detail);
  return Outcome{
      .accepted = false, .reason = std::string(to_string(why)), .detail = std::move(detail)};
}

void Router::log_rejection(std::string_view topic, Reject why, const std::string& detail) {
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
    logger()->warn("rejected message on '{}': {}: {}", topic.substr(0, 200), to_string(why),
                   detail);
  } else {
    ++suppressed_;
  }
}

}  // namespace nbms::ingest
