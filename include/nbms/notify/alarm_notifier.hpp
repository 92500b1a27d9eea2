#pragma once
// Alarms -> notifications. The pure part says which alarm transitions notify
// and how (alarm_notifications, notification_priority); AlarmNotifier hands
// them from the alarm service's listener to the dispatcher.
//
// The alarm service calls its listeners on the committing thread with its
// mutex held, so the listener must not block: on_update() only converts and
// queues (bounded; O(transitions)). AlarmNotifier owns one thread that takes
// the queue and calls Dispatcher::enqueue (fan-out reads and one RocksDB
// write) outside the alarm mutex. Notification ids are stable per alarm
// occurrence, so a repeated hand-off is refused by the outbox (already_exists)
// instead of doubling deliveries. That is what makes the restart replay
// (replay_notifications) safe: the queue is lost in a crash, the alarms are not.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nbms/core/alarm.hpp"
#include "nbms/core/alarm_ports.hpp"
#include "nbms/core/model.hpp"
#include "nbms/core/notification.hpp"
#include "nbms/notify/dispatcher.hpp"

namespace nbms::notify {

// BACnet priorities (0..255, lower is more urgent) onto the four notification
// levels, in bands of 64 after the BACnet event classes:
//   0..63 urgent (life safety), 64..127 high (property safety; nbmsd's own
//   disconnect alarms are 64), 128..191 medium (supervisory), 192..255 low
//   (trouble, maintenance). Out-of-range values are clamped.
NotificationPriority notification_priority(int bacnet_priority);

// "alarm.<customer>.<building>.<24 hex>": the hex is SHA-256 of the thing, the
// alarm id, the stamp of the raise that opened the occurrence and the time
// nbmsd recorded it (raised_ms; stored with the alarm), so the same
// occurrence always gets the same id and a new occurrence a new one.
std::string alarm_notification_id(const Alarm& a);

// The notification of one transition, if the listener rule says so: a
// `raised` transition whose alarm is not suppressed and not shelved at
// `now_ms`. Title is the alarm name, body its text and where it comes from;
// the link opens the building.
std::optional<Notification> alarm_notification(const AlarmTransition& t, std::int64_t now_ms);

// The notifications of one committed update (alarm_notification of each
// transition, in order).
std::vector<Notification> alarm_notifications(const AlarmUpdate& update, std::int64_t now_ms);

// Replay after a restart. The listener's hand-off is in memory, so an alarm
// committed just before a crash may never have reached the outbox. At start
// nbmsd hands the outbox again every notification the listener would have
// made for an alarm that is still raised:
// - a `raised` transition of `history` with now - window_ms <= at_ms <= now,
//   that passed the listener rule at its own time (alarm_notification(t, t.at_ms));
// - whose occurrence (same raise stamp and raised_ms) is still in `current`,
//   active, unacknowledged, not suppressed and not shelved at `now_ms`.
// The result equals what the listener made (same ids, same content, oldest
// raise first), so the outbox refuses the ones it already has
// (already_exists) and nothing is sent twice. window_ms <= 0: none.
std::vector<Notification> replay_notifications(const std::vector<Alarm>& current,
                                               const std::vector<AlarmTransition>& history,
                                               std::int64_t now_ms, std::int64_t window_ms);

// replay_notifications over the given buildings, read from `alarms`: the
// current alarms of each building and, where one was raised within the
// window, its history over the window.
Result<std::vector<Notification>> alarm_replay(AlarmStore& alarms,
                                               const std::vector<Building>& buildings,
                                               std::int64_t now_ms, std::int64_t window_ms);

// What the notifier did since it was created.
struct AlarmNotifierStats {
  std::uint64_t enqueued = 0;  // handed to the dispatcher under a new id (replays included)
  std::uint64_t replayed = 0;  // of those, from replay()
  std::uint64_t already = 0;   // refused by the outbox: that id was handed off before
  std::uint64_t errors = 0;    // the dispatcher failed (logged; the alarm is stored)
  std::uint64_t dropped = 0;   // lost to a full queue
  std::size_t queued = 0;      // waiting in the queue now
};

class AlarmNotifier {
 public:
  // `dispatcher` and `clock` are not owned and must outlive this.
  AlarmNotifier(Dispatcher& dispatcher, const Clock& clock, std::size_t capacity = 10000);
  ~AlarmNotifier();  // stop()
  AlarmNotifier(const AlarmNotifier&) = delete;
  AlarmNotifier& operator=(const AlarmNotifier&) = delete;

  // The alarm service's listener: never blocks. When the queue is full the
  // notification is dropped and counted (the alarm itself is stored; a flood
  // must not stall alarm ingest).
  void on_update(const AlarmUpdate& update);
  // Queues notifications found by alarm_replay (bounded like on_update);
  // returns how many were queued.
  std::size_t replay(std::vector<Notification> notes);

  void start();
  // Enqueues what is still queued, then joins.
  void stop();

  AlarmNotifierStats stats() const;

 private:
  struct Item {
    Notification note;
    bool replay = false;
  };
  std::size_t push(std::vector<Notification> notes, bool replay);
  void loop();

  Dispatcher& dispatcher_;
  const Clock& clock_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;     // under mu_
  bool stopping_ = false;      // under mu_
  AlarmNotifierStats counts_;  // under mu_ (queued is filled in by stats())
  std::thread worker_;
};

}  // namespace nbms::notify
