#pragma once
// The middleware (MW) wire format: topics and JSON payloads, decoded into core
// types with strict validation and precise error messages. The only module that
// knows the wire format (docs/mw-protocol.md describes it for people).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/alarm.hpp"
#include "nbms/core/error.hpp"
#include "nbms/core/model.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::protocol {

// `<thing>/<point>` or the old basic-ingest form
// `$aws/rules/Rule_<thing>/<thing>/<point>`, both normalised to thing + point.
struct Envelope {
  std::string thing;
  std::string point;
  bool basic_ingest = false;  // arrived on the $aws/rules/... form
};
Result<Envelope> parse_topic(std::string_view topic);

// What the `point` part of a topic names.
enum class Kind {
  init,
  remove,  // `delete`
  periodic_log,
  timestamp_last,
  realtime,        // values of subscribed points, streamed (not stored)
  control_result,  // the MW's answer to a Control
  alarm,           // alarm raise / update / clear
  disconnect,      // a MW or a device behind it lost / back (also the MW's last will)
  // Reserved names whose handling comes later: schedule, calendar.
  reserved,
  unknown,
};
Kind kind_of(std::string_view point);

struct InitMessage {
  LocalMinute time;
  std::vector<PointInfo> points;  // thing is filled in, declared = true
};

struct DeleteMessage {
  LocalMinute time;
  std::vector<std::string> point_ids;
};

struct TimestampLastRequest {
  std::string request_id;  // echoed in the answer; may be empty
};

// Limits that protect the decoder; the router enforces the payload size first.
struct DecodeLimits {
  std::size_t max_points = 20000;
};

// Decodes payloads. Owns a reusable parser, so one Decoder per thread.
class Decoder {
 public:
  explicit Decoder(DecodeLimits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  Result<PeriodicLog> periodic_log(const ThingName& thing, std::string_view payload);
  Result<InitMessage> init(const ThingName& thing, std::string_view payload);
  Result<DeleteMessage> remove(std::string_view payload);
  Result<TimestampLastRequest> timestamp_last(std::string_view payload);
  // received_ms is left 0: the caller stamps it with its clock.
  Result<RealtimeUpdate> realtime(const ThingName& thing, std::string_view payload);
  Result<ControlResult> control_result(const ThingName& thing, std::string_view payload);
  Result<AlarmEvent> alarm(const ThingName& thing, std::string_view payload);
  // The stamp is absent when the message has no `time` (the MQTT last will).
  Result<DisconnectEvent> disconnect(const ThingName& thing, std::string_view payload);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The answer to timestamp_last, published on the thing's command topic.
// `last` is the newest stored log (nullopt: nothing stored yet).
std::string encode_timestamp_last_reply(const TimestampLastRequest& request,
                                        std::optional<LastLog> last);

// Commands to a MW (published on its command topic). Point ids are written as
// given (escaped), so the output is valid JSON whatever they hold.

// Asks the MW to stream the listed points for `lease_s` seconds; a later
// Subscribe naming a point again renews its lease.
std::string encode_subscribe(std::string_view request_id, const std::vector<std::string>& point_ids,
                             std::int64_t lease_s);
std::string encode_unsubscribe(const std::vector<std::string>& point_ids);
// Writes `value` to the point at BACnet `priority`; the MW answers with a Control_Result
// carrying the same request id. A non-finite value is written as null.
std::string encode_control(std::string_view request_id, std::string_view point_id, double value,
                           int priority);

// The MW's command topic: the topic the thing itself subscribes to.
inline std::string command_topic(std::string_view thing) {
  return std::string(thing);
}

}  // namespace nbms::protocol
