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
// instead of doubling deliveries.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "nbms/core/alarm.hpp"
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

// The notifications of one committed update: one per `raised` transition whose
// alarm is not suppressed and not shelved at `now_ms`. Title is the alarm
// name, body its text and where it comes from; the link opens the building.
std::vector<Notification> alarm_notifications(const AlarmUpdate& update, std::int64_t now_ms);

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

  void start();
  // Enqueues what is still queued, then joins.
  void stop();

  std::uint64_t enqueued() const;  // handed to the dispatcher (new ids)
  std::uint64_t dropped() const;   // lost to a full queue

 private:
  void loop();

  Dispatcher& dispatcher_;
  const Clock& clock_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Notification> queue_;  // under mu_
  bool stopping_ = false;           // under mu_
  std::uint64_t enqueued_ = 0;      // under mu_
  std::uint64_t dropped_ = 0;       // under mu_
  std::thread worker_;
};

}  // namespace nbms::notify
