#pragma once
// nbmsd's notifications, built from the notify.* settings: the VAPID key, the
// HTTP and SMTP clients, one sender per configured channel, the outbox
// dispatcher (its worker thread) and the alarm notifier (its hand-off thread).
// The daemon creates it after the store, attaches listener() to the alarm
// service, hands services() to the HTTP server, start()s it before events
// flow and stop()s it after the last producer (HTTP, ingest, ticker) stopped.
//
// Owns everything above; the store and clock outlive it. start/stop on the
// daemon's thread; listener() runs on the alarm service's committing thread.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

#include "nbms/alarms/service.hpp"
#include "nbms/config/config.hpp"
#include "nbms/core/error.hpp"
#include "nbms/http/server.hpp"
#include "nbms/notify/alarm_notifier.hpp"
#include "nbms/notify/dispatcher.hpp"
#include "nbms/notify/http_client.hpp"
#include "nbms/notify/smtp.hpp"
#include "nbms/notify/webhook.hpp"
#include "nbms/notify/webpush.hpp"
#include "nbms/notify/webpush_sender.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::app {

class Notifications {
 public:
  // Loads (or creates, owner-only) the VAPID key when Web Push is on, reads
  // the SMTP password file when e-mail is on. Errors name the setting.
  static Result<std::unique_ptr<Notifications>> create(const config::Config& config,
                                                       storage::RocksStore& store,
                                                       const Clock& clock);
  ~Notifications();  // stop()

  // For alarms::Service::add_listener: converts and queues, never blocks.
  alarms::Listener listener();
  const http::NotifyServices& services() const { return services_; }

  // Recovers interrupted deliveries, starts both threads, then queues the
  // restart replay (notify::alarm_replay over notify.replay_window_minutes).
  void start();
  void stop();  // hand off what is queued, let the current send finish, join

  // The `notify` section of /api/v1/health (docs/api.md): the outbox's
  // unfinished deliveries (one bounded scan) and counters since start. Any thread.
  nlohmann::json health() const;

  Notifications(const Notifications&) = delete;
  Notifications& operator=(const Notifications&) = delete;

 private:
  Notifications(storage::RocksStore& store, const Clock& clock, notify::DispatcherOptions options);
  void replay_alarms();

  storage::RocksStore& store_;
  const Clock& clock_;
  std::int64_t replay_window_ms_ = 0;
  std::optional<notify::Vapid> vapid_;
  std::unique_ptr<notify::HttpClient> http_;
  std::unique_ptr<notify::SmtpClient> smtp_;
  std::unique_ptr<notify::WebPushSender> push_;
  std::unique_ptr<notify::WebhookSender> hooks_;
  std::unique_ptr<notify::EmailSender> mail_;
  notify::Dispatcher dispatcher_;
  notify::AlarmNotifier alarm_notifier_;
  http::NotifyServices services_;
  bool started_ = false;
};

}  // namespace nbms::app
