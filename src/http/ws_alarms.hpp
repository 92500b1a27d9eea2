#pragma once
// Alarm push over /api/v1/ws (docs/api.md, "WebSocket: alarms").
//
// AlarmFeed: one per server. It is the alarm service's listener: every commit
// (MW event, operator action, shelve expiry) is grouped by building and, for a
// building somebody watches, turned into one `alarms` frame that is handed to
// each watching connection. The listener runs on the committing thread under
// the alarm service's mutex, so it only formats and queues: no I/O, no waiting,
// no call back into the service. Owns the table building -> watches (own mutex).
//
// AlarmWatch: the alarm side of one WebSocket connection (WsChannel holds one).
// It checks the caller's scope on `alarms.subscribe`, sends a snapshot of the
// building's current alarms followed by every later transition in commit order,
// and keeps its own bounded queue of frames: when a slow reader lets it fill up,
// the building's queued frames are dropped and one `alarms.resync` tells the
// client to subscribe again (which sends a fresh snapshot). Thread-safety:
// on_message/close run on the connection's strand, push() on committing
// threads, next_frame() on the writer; one mutex guards the queue.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nbms/alarms/service.hpp"
#include "nbms/auth/service.hpp"
#include "nbms/http/server.hpp"

namespace nbms::http {

class AlarmWatch;

class AlarmFeed final : public std::enable_shared_from_this<AlarmFeed> {
 public:
  // Registers the listener with `service`; the service and the clock must
  // outlive every watch. The listener holds the feed weakly: once the feed is
  // gone, commits reach nobody.
  static std::shared_ptr<AlarmFeed> create(alarms::Service& service, const Clock& clock);

  alarms::Service& service() const { return service_; }
  const Clock& clock() const { return clock_; }

  void attach(const std::string& building_key, const std::shared_ptr<AlarmWatch>& watch);
  void detach(const std::string& building_key, const AlarmWatch* watch);
  std::size_t watchers(const std::string& building_key) const;

 private:
  AlarmFeed(alarms::Service& service, const Clock& clock);
  void publish(const AlarmUpdate& update);  // the listener

  alarms::Service& service_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::weak_ptr<AlarmWatch>>> watches_;  // "customer/building"
};

struct AlarmWatchLimits {
  std::size_t max_buildings = 16;       // buildings one connection may watch at once
  std::size_t max_queued_frames = 512;  // beyond: the building is resynced
};

class AlarmWatch final : public std::enable_shared_from_this<AlarmWatch> {
 public:
  // `wake`: called when the queue goes from empty to not empty (an extra wake
  // of a busy WsChannel writer is harmless).
  AlarmWatch(std::shared_ptr<AlarmFeed> feed, const Services& services, auth::Principal who,
             std::function<void()> wake, AlarmWatchLimits limits = {});
  ~AlarmWatch();

  // `alarms.subscribe` / `alarms.unsubscribe` (msg: {"customer","building"}).
  // Answers and errors are queued here, in order with the alarm frames.
  void on_message(std::string_view type, const nlohmann::json& msg);
  std::optional<std::string> next_frame();
  // Stops every watch of this connection. Idempotent.
  void close();

  // From AlarmFeed::publish.
  void push(const std::string& building_key, const std::shared_ptr<const std::string>& frame);

 private:
  struct Building {
    bool syncing = true;     // snapshot not queued yet: frames are held back
    bool resyncing = false;  // queue overflowed: frames dropped until subscribed again
    std::vector<std::shared_ptr<const std::string>> held;
  };
  struct Queued {
    std::string building_key;  // empty: not about one building's alarms
    std::shared_ptr<const std::string> frame;
  };

  void subscribe(const nlohmann::json& msg);
  void unsubscribe(const nlohmann::json& msg);
  void queue(std::string building_key, std::shared_ptr<const std::string> frame);  // under mu_
  void reply(const nlohmann::json& msg);
  void error(std::string_view code, std::string_view message);

  const std::shared_ptr<AlarmFeed> feed_;
  const Services& services_;
  const auth::Principal who_;
  const std::function<void()> wake_;
  const AlarmWatchLimits limits_;

  std::mutex mu_;  // guards everything below
  std::map<std::string, Building> buildings_;
  std::deque<Queued> queue_;
  bool closed_ = false;
};

}  // namespace nbms::http
