#include "notifications.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <iterator>

namespace nbms::app {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return spdlog::get("nbmsd");
}

}  // namespace

Notifications::Notifications(storage::RocksStore& store, const Clock& clock,
                             notify::DispatcherOptions options)
    : store_(store),
      clock_(clock),
      dispatcher_(store, store, clock, options),
      alarm_notifier_(dispatcher_, clock),
      services_{store, store, {}, {}, {}} {}

Notifications::~Notifications() {
  stop();
}

Result<std::unique_ptr<Notifications>> Notifications::create(const config::Config& config,
                                                             storage::RocksStore& store,
                                                             const Clock& clock) {
  const auto& nc = config.notify;
  notify::DispatcherOptions options;
  options.max_attempts = nc.max_attempts;
  options.initial_backoff_ms = nc.initial_backoff_ms;
  options.max_backoff_ms = nc.max_backoff_ms;
  std::unique_ptr<Notifications> n(new Notifications(store, clock, options));
  n->replay_window_ms_ = std::int64_t{nc.replay_window_minutes} * 60'000;

  auto http = notify::HttpClient::create(
      {.ca_file = nc.ca_file, .allow_private_addresses = nc.allow_private_addresses});
  if (!http) return fail(http.error().code, "notify.ca_file: " + http.error().message);
  n->http_ = std::move(*http);
  const std::chrono::milliseconds timeout(nc.http_timeout_ms);
  n->hooks_ = std::make_unique<notify::WebhookSender>(*n->http_, clock, timeout);
  n->dispatcher_.set_sender(ChannelKind::webhook, n->hooks_.get());
  n->services_.channels.push_back(ChannelKind::webhook);

  if (nc.web_push()) {
    const auto path = config::vapid_key_path(config);
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return fail(Errc::io,
                    "notify.vapid_key_file: cannot create '" + dir.string() + "': " + ec.message());
      }
      ::chmod(dir.c_str(), 0700);
    }
    const bool existed = std::filesystem::exists(path, ec);
    auto vapid = notify::Vapid::load_or_create(path, nc.vapid_subject);
    if (!vapid) return fail(vapid.error().code, "notify.vapid_key_file: " + vapid.error().message);
    n->vapid_.emplace(std::move(*vapid));
    if (!existed)
      logger()->warn("created the VAPID key {}: back it up (browsers subscribed with it)", path);
    n->push_ = std::make_unique<notify::WebPushSender>(*n->vapid_, *n->http_, clock, timeout,
                                                       nc.push_ttl_s);
    n->dispatcher_.set_sender(ChannelKind::web_push, n->push_.get());
    n->services_.vapid_public_key = n->vapid_->public_key();
    n->services_.channels.push_back(ChannelKind::web_push);
  }

  if (nc.email()) {
    auto password = config::read_private_secret(nc.smtp_password_file);
    if (!password) {
      return fail(password.error().code, "notify.smtp_password_file: " + password.error().message);
    }
    notify::SmtpOptions so;
    so.host = nc.smtp_host;
    so.port = nc.smtp_port;
    so.starttls = nc.smtp_starttls;
    so.ca_file = nc.ca_file;
    so.username = nc.smtp_username;
    so.password = std::move(*password);
    so.from = nc.smtp_from;
    so.from_name = nc.smtp_from_name;
    so.timeout = std::chrono::seconds(nc.smtp_timeout_s);
    auto smtp = notify::SmtpClient::create(std::move(so));
    if (!smtp) return fail(smtp.error().code, "notify.smtp_*: " + smtp.error().message);
    n->smtp_ = std::move(*smtp);
    n->mail_ = std::make_unique<notify::EmailSender>(*n->smtp_, clock, nc.public_url);
    n->dispatcher_.set_sender(ChannelKind::email, n->mail_.get());
    n->services_.channels.push_back(ChannelKind::email);
  }

  auto* dispatcher = &n->dispatcher_;
  n->services_.enqueue = [dispatcher](const Notification& note) {
    return dispatcher->enqueue(note);
  };
  std::string names;
  for (auto c : n->services_.channels)
    names += (names.empty() ? "" : ", ") + std::string(to_string(c));
  logger()->info("notifications: channels {}", names);
  return n;
}

alarms::Listener Notifications::listener() {
  return [this](const AlarmUpdate& update) { alarm_notifier_.on_update(update); };
}

void Notifications::start() {
  if (started_) return;
  started_ = true;
  dispatcher_.start();
  alarm_notifier_.start();
  replay_alarms();
}

nlohmann::json Notifications::health() const {
  const auto alarms = alarm_notifier_.stats();
  nlohmann::json j = {
      {"alarm_handoff",
       {{"queued", alarms.queued},
        {"enqueued", alarms.enqueued},
        {"replayed", alarms.replayed},
        {"already_enqueued", alarms.already},
        {"errors", alarms.errors}}},
      {"dropped", alarms.dropped},
  };
  auto outbox = dispatcher_.stats();
  if (!outbox) {
    j["ok"] = false;
    j["error"] = outbox.error().message;
    return j;
  }
  j["ok"] = true;
  j["queued"] = outbox->queued;
  j["queued_capped"] = outbox->queued_capped;
  j["retrying"] = outbox->retrying;
  j["delivered"] = outbox->delivered;
  j["failed"] = outbox->failed;
  j["expired"] = outbox->expired;
  j["oldest_pending_age_s"] =
      outbox->oldest_pending_ms
          ? nlohmann::json(std::max<std::int64_t>(0, clock_.now_ms() - *outbox->oldest_pending_ms) /
                           1000)
          : nlohmann::json();
  return j;
}

void Notifications::replay_alarms() {
  if (replay_window_ms_ <= 0) return;
  std::vector<Building> buildings;
  auto customers = store_.customers();
  if (!customers) {
    logger()->error("notifications: alarm replay skipped: {}", customers.error().message);
    return;
  }
  for (const auto& c : *customers) {
    auto bs = store_.buildings(c.id);
    if (!bs) {
      logger()->error("notifications: alarm replay skipped: {}", bs.error().message);
      return;
    }
    std::move(bs->begin(), bs->end(), std::back_inserter(buildings));
  }
  auto notes = notify::alarm_replay(store_, buildings, clock_.now_ms(), replay_window_ms_);
  if (!notes) {
    logger()->error("notifications: alarm replay skipped: {}", notes.error().message);
    return;
  }
  if (notes->empty()) return;
  const auto found = notes->size();
  const auto queued = alarm_notifier_.replay(std::move(*notes));
  // Most are usually in the outbox already and are refused there by id.
  logger()->info(
      "notifications: {} raised alarms of the last {} min handed to the outbox again ({} queued; "
      "those already there are skipped)",
      found, replay_window_ms_ / 60'000, queued);
}

void Notifications::stop() {
  if (!started_) return;
  started_ = false;
  // The notifier hands its queue to the dispatcher first, so nothing taken
  // from the alarms is left in memory when the outbox stops.
  alarm_notifier_.stop();
  dispatcher_.stop();
  if (const auto dropped = alarm_notifier_.stats().dropped; dropped > 0) {
    logger()->warn("notifications: {} alarm notifications were dropped (queue full)", dropped);
  }
}

}  // namespace nbms::app
