#pragma once
// The application side of one /api/v1/ws connection: parses the client's JSON
// messages, applies the caller's customer scope and role, talks to the realtime
// hub, audits controls, and queues what goes back to the client. server.cpp owns
// the socket: it feeds frames in with on_text() and drains next_frame().
//
// The send queue is bounded: live values are coalesced per (thing, point), so a
// slow reader gets the newest value of each point instead of every change;
// other messages (answers, results, errors) are kept in order up to
// `max_queued_messages`, beyond which the channel is marked overflowed and the
// transport closes the connection (1008, "send queue overflow").
//
// Lifetime: shared by the transport and the hub (as its Sink) until close().
// Thread-safety: open/on_text/close run on the connection's strand; the Sink
// methods run on whatever thread the hub calls from; the queue has its own mutex.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nbms/auth/service.hpp"
#include "nbms/http/server.hpp"
#include "nbms/realtime/hub.hpp"
#include "ws_alarms.hpp"

namespace nbms::http {

struct WsLimits {
  std::size_t max_queued_messages = 256;
};

class WsChannel final : public realtime::Sink, public std::enable_shared_from_this<WsChannel> {
 public:
  // `wake` is called (from any thread) when something is queued while the
  // writer is idle (its last next_frame() found nothing), once per idle
  // period; it must only schedule the writer, never write itself.
  // `alarm_feed` (optional) serves the alarms.* messages (ws_alarms.hpp).
  WsChannel(const Services& services, auth::Principal who, auth::Origin from,
            std::function<void()> wake, WsLimits limits = {},
            std::shared_ptr<AlarmFeed> alarm_feed = nullptr);
  ~WsChannel() override;

  // Registers with the hub and queues the hello message.
  void open();
  void on_text(std::string_view text);
  // Unregisters from the hub (its watches are released). Idempotent.
  void close();

  // Puts the next frame to send into `frame` (its capacity is reused) and
  // returns true, or returns false when nothing is queued.
  bool next_frame(std::string& frame);
  bool overflowed() const;

  // realtime::Sink
  void values(const std::string& thing, std::int64_t received_ms,
              const std::vector<realtime::LiveValue>& values) override;
  void control_outcome(const realtime::ControlOutcome& outcome) override;
  // Drops the thing's waiting values and queues `thing_removed`.
  void thing_removed(const std::string& thing, const std::vector<std::string>& point_ids) override;

 private:
  struct Pending;  // coalesced values of one thing
  struct Control {
    std::string ref;
    std::string customer;
    double value = 0;
    int priority = 0;
  };

  void subscribe(const nlohmann::json& msg, bool watch);
  void control(const nlohmann::json& msg);
  void send(const nlohmann::json& msg);
  void send_error(std::string_view ref, Errc code, std::string_view message);
  // Drops the thing's coalescing entry (after its queued values are sent), so
  // it holds only points still watched.
  void forget_pending(const std::string& thing);

  const Services& services_;
  const auth::Principal who_;
  const auth::Origin from_;
  const std::function<void()> wake_;
  const WsLimits limits_;
  std::optional<realtime::ConnectionId> id_;  // set by open(), cleared by close()
  const std::shared_ptr<AlarmWatch> alarms_;  // nullptr without an alarm feed

  mutable std::mutex mu_;  // guards everything below
  std::deque<std::string> messages_;
  // Per thing the connection gets values of, kept between frames (entries are
  // node-stable: pending_order_ points into the map).
  std::unordered_map<std::string, Pending> pending_;
  std::vector<std::pair<const std::string, Pending>*> pending_order_;  // queued, oldest first
  // The writer drained the queue and waits to be woken. A writer busy with a
  // write comes back for the next frame by itself: waking it would cost a
  // post and a timer cancel per value for nothing.
  bool writer_idle_ = true;
  std::unordered_map<std::string, Control> controls_;  // by hub request id
  bool overflowed_ = false;
};

}  // namespace nbms::http
