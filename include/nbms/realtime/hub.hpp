#pragma once
// The realtime hub: which WebSocket connection watches which points of which
// thing, the reference-counted MW subscriptions behind them, fan-out of the MW's
// realtime values to exactly the connections that watch them, and controls in
// flight (request id -> requesting connection, with a timeout).
//
// One subscription per (thing, point) across all connections: the MW is asked
// to stream a point when the first connection watches it and told to stop when
// the last one leaves. MW subscriptions are leases (docs/mw-protocol.md): the hub
// renews them from tick(), so a MW stops streaming by itself when nbmsd is gone.
//
// Thread-safety: all methods may be called from any thread (one internal mutex).
// Sinks are called with the mutex released, on the caller's thread; they must
// not block and must not call back into the hub.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"
#include "nbms/core/model.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::realtime {

using ConnectionId = std::uint64_t;

// One value delivered to a Sink. The point id views the MW's update (one copy
// for all watchers): it is valid only during the Sink::values call.
struct LiveValue {
  std::string_view point_id;
  double value = 0;
};

enum class ControlStatus {
  accepted,  // the MW wrote the point
  failed,    // the MW could not write it (message says why)
  timeout,   // no answer within HubOptions::control_timeout_ms
};
std::string_view to_string(ControlStatus status);

struct ControlOutcome {
  std::string request_id;
  std::string thing;
  std::string point_id;
  ControlStatus status = ControlStatus::timeout;
  std::optional<double> value;  // present value reported by the MW
  std::string message;
};

// A connection as the hub sees it. Implemented by the WebSocket session, which
// queues (and coalesces) what it is given and writes it on its own strand.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void values(const std::string& thing, std::int64_t received_ms,
                      const std::vector<LiveValue>& values) = 0;
  virtual void control_outcome(const ControlOutcome& outcome) = 0;
  // The thing was deleted (purged) while this connection watched `point_ids`
  // of it (sorted): the watches are gone, no value of it follows.
  virtual void thing_removed(const std::string& thing,
                             const std::vector<std::string>& point_ids) = 0;
};

struct HubOptions {
  std::int64_t control_timeout_ms = 10'000;
  std::int64_t lease_ms = 60'000;  // subscription lease sent to the MW
  std::int64_t renew_ms = 20'000;  // renew leases this often (from tick)
  std::size_t max_points_per_connection = 5'000;
};

struct HubStats {
  std::size_t connections = 0;
  std::size_t subscriptions = 0;  // distinct (thing, point) pairs watched
  std::size_t pending_controls = 0;
  std::uint64_t values_in = 0;        // values received from MWs
  std::uint64_t values_out = 0;       // values handed to sinks
  std::uint64_t unwatched_in = 0;     // values nobody watched (dropped)
  std::uint64_t results_unknown = 0;  // control results with no pending request
};

class Hub final : public LiveSink {
 public:
  Hub(CommandPublisher& commands, const Clock& clock, HubOptions options = {});
  ~Hub() override;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  ConnectionId connect(std::shared_ptr<Sink> sink);
  // Forgets the connection: its watches are released (points nobody watches any
  // more are unsubscribed at the MW) and its pending controls are dropped.
  void disconnect(ConnectionId id);

  // invalid_argument beyond max_points_per_connection or for a malformed point
  // id; unavailable when the subscribe command could not be queued (nothing is
  // recorded then); not_found for an unknown connection. Watching a point twice
  // is a no-op.
  Result<void> subscribe(ConnectionId id, const ThingName& thing,
                         const std::vector<std::string>& point_ids);
  void unsubscribe(ConnectionId id, const ThingName& thing,
                   const std::vector<std::string>& point_ids);

  // Publishes a control already authorised and validated by the caller; returns
  // the request id. The outcome reaches the connection's sink exactly once
  // (accepted, failed or timeout) and may arrive before this returns. Errors
  // (no outcome follows): unavailable when the command could not be queued,
  // not_found for an unknown connection, invalid_argument for a malformed point id.
  Result<std::string> control(ConnectionId id, const ThingName& thing, std::string_view point_id,
                              double value, int priority);

  // LiveSink (from the ingest worker).
  void on_realtime(const RealtimeUpdate& update) override;
  void on_control_result(const ControlResult& result) override;

  // Forgets a purged thing: every connection's watches of it (without telling
  // the MW, whose certificate is revoked), and its controls in flight, which
  // end with a `failed` outcome; then each connection that watched it is told
  // (Sink::thing_removed), so that a page does not go on showing its last
  // values as if they were current. A thing registered again under the name
  // is watched anew.
  void forget_thing(const std::string& thing);

  // Periodic work (call every second or so): control timeouts, lease renewal.
  void tick();

  HubStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::realtime
