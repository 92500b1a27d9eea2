#include "nbms/core/notification.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

namespace nbms {
namespace {

template <class E, std::size_t N>
Result<E> parse_enum(std::string_view text, const std::array<std::pair<E, std::string_view>, N>& t,
                     std::string_view what) {
  for (const auto& [value, name] : t) {
    if (name == text) return value;
  }
  return fail(Errc::invalid_argument,
              "unknown " + std::string(what) + " '" + std::string(text) + "'");
}

template <class E, std::size_t N>
std::string_view name_of(E value, const std::array<std::pair<E, std::string_view>, N>& t) {
  for (const auto& [v, name] : t) {
    if (v == value) return name;
  }
  return "?";
}

constexpr std::array<std::pair<NotificationKind, std::string_view>, 2> kKinds{
    {{NotificationKind::alarm, "alarm"}, {NotificationKind::notice, "notice"}}};
constexpr std::array<std::pair<NotificationPriority, std::string_view>, 4> kPriorities{
    {{NotificationPriority::low, "low"},
     {NotificationPriority::medium, "medium"},
     {NotificationPriority::high, "high"},
     {NotificationPriority::urgent, "urgent"}}};
constexpr std::array<std::pair<ChannelKind, std::string_view>, 3> kChannels{
    {{ChannelKind::web_push, "web_push"},
     {ChannelKind::webhook, "webhook"},
     {ChannelKind::email, "email"}}};
constexpr std::array<std::pair<DeliveryState, std::string_view>, 5> kStates{
    {{DeliveryState::pending, "pending"},
     {DeliveryState::in_flight, "in_flight"},
     {DeliveryState::sent, "sent"},
     {DeliveryState::failed, "failed"},
     {DeliveryState::expired, "expired"}}};

bool is_token(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Text that must fit on one line (a mail header, an HTTP header).
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

}  // namespace

std::string_view to_string(NotificationKind kind) {
  return name_of(kind, kKinds);
}
Result<NotificationKind> parse_notification_kind(std::string_view text) {
  return parse_enum(text, kKinds, "notification kind");
}
std::string_view to_string(NotificationPriority priority) {
  return name_of(priority, kPriorities);
}
Result<NotificationPriority> parse_notification_priority(std::string_view text) {
  return parse_enum(text, kPriorities, "priority");
}
std::string_view to_string(ChannelKind kind) {
  return name_of(kind, kChannels);
}
Result<ChannelKind> parse_channel_kind(std::string_view text) {
  return parse_enum(text, kChannels, "channel");
}
std::string_view to_string(DeliveryState state) {
  return name_of(state, kStates);
}
Result<DeliveryState> parse_delivery_state(std::string_view text) {
  return parse_enum(text, kStates, "delivery state");
}

Result<void> validate(const Notification& n) {
  if (!is_token(n.id, 100)) {
    return fail(Errc::invalid_argument,
                "notification id must be 1..100 characters of A-Z a-z 0-9 . _ -");
  }
  if (n.customer.empty() || has_nul(n.customer) || has_nul(n.building)) {
    return fail(Errc::invalid_argument, "notification needs a customer");
  }
  if (n.title.empty() || n.title.size() > 200 || has_control(n.title)) {
    return fail(Errc::invalid_argument,
                "notification title must be 1..200 bytes without control characters");
  }
  if (n.body.size() > 10000 || has_nul(n.body)) {
    return fail(Errc::invalid_argument, "notification body must be at most 10000 bytes");
  }
  if (n.author.size() > 64 || has_control(n.author)) {
    return fail(Errc::invalid_argument,
                "notification author must be at most 64 bytes without control characters");
  }
  if (n.link.size() > 2000 || has_control(n.link)) {
    return fail(Errc::invalid_argument, "notification link must be one line of at most 2000 bytes");
  }
  return {};
}

Result<void> validate(const Endpoint& e) {
  if (e.user.empty() || has_nul(e.user))
    return fail(Errc::invalid_argument, "endpoint needs a user");
  if (!is_token(e.id, 64)) {
    return fail(Errc::invalid_argument,
                "endpoint id must be 1..64 characters of A-Z a-z 0-9 . _ -");
  }
  if (e.address.empty() || e.address.size() > 2000 || has_control(e.address)) {
    return fail(Errc::invalid_argument, "endpoint address must be one line of 1..2000 bytes");
  }
  switch (e.kind) {
    case ChannelKind::web_push:
      if (!e.address.starts_with("https://") && !e.address.starts_with("http://")) {
        return fail(Errc::invalid_argument, "push endpoint must be an http(s) URL");
      }
      if (e.p256dh.empty() || e.auth.empty()) {
        return fail(Errc::invalid_argument, "push endpoint needs the keys p256dh and auth");
      }
      break;
    case ChannelKind::webhook:
      if (!e.address.starts_with("https://") && !e.address.starts_with("http://")) {
        return fail(Errc::invalid_argument, "webhook must be an http(s) URL");
      }
      if (e.secret.size() < 16) {
        return fail(Errc::invalid_argument, "webhook secret must be at least 16 bytes");
      }
      break;
    case ChannelKind::email: {
      const auto at = e.address.find('@');
      if (at == std::string::npos || at == 0 || at + 1 == e.address.size() ||
          e.address.find_first_of(" <>,;\"") != std::string::npos) {
        return fail(Errc::invalid_argument, "'" + e.address + "' is not an e-mail address");
      }
      break;
    }
  }
  return {};
}

Result<void> validate(const Subscription& s) {
  if (s.user.empty() || has_nul(s.user)) {
    return fail(Errc::invalid_argument, "subscription needs a user");
  }
  if (s.customer.empty() || has_nul(s.customer) || has_nul(s.building)) {
    return fail(Errc::invalid_argument, "subscription needs a customer");
  }
  std::set<ChannelKind> seen;
  for (auto c : s.channels) {
    if (!seen.insert(c).second) {
      return fail(Errc::invalid_argument,
                  "subscription lists channel '" + std::string(to_string(c)) + "' twice");
    }
  }
  return {};
}

std::vector<Delivery> fan_out(const Notification& n, const std::vector<Subscription>& subscriptions,
                              const std::vector<Endpoint>& endpoints, std::int64_t now_ms) {
  const auto wants = [&](const Subscription& s) {
    const bool kind_on = n.kind == NotificationKind::alarm ? s.alarms : s.notices;
    return kind_on && n.priority >= s.min_priority;
  };
  // The subscription that speaks for each user, users in first-seen order:
  // - n has a building: the user's subscription for it, else the customer-wide one;
  // - n is customer-wide: the user's customer-wide subscription, else the first
  //   building subscription that wants n (a notice to the customer reaches
  //   everyone who follows any of its buildings).
  std::vector<std::string> users;
  std::map<std::string, const Subscription*> chosen;
  for (const auto& s : subscriptions) {
    if (s.customer != n.customer) continue;
    if (!n.building.empty() && !s.building.empty() && s.building != n.building) continue;
    auto [it, inserted] = chosen.emplace(s.user, &s);
    if (inserted) {
      users.push_back(s.user);
      continue;
    }
    const Subscription& current = *it->second;
    if (!n.building.empty()) {
      if (!s.building.empty()) it->second = &s;  // the building's own subscription wins
    } else if (!current.building.empty()) {
      if (s.building.empty() || (!wants(current) && wants(s))) it->second = &s;
    }
  }
  std::vector<Delivery> out;
  for (const auto& user : users) {
    const Subscription& s = *chosen[user];
    if (!wants(s)) continue;
    std::set<std::string> sent_to;
    for (const auto& e : endpoints) {
      if (e.user != user || e.expired_ms != 0) continue;
      if (std::find(s.channels.begin(), s.channels.end(), e.kind) == s.channels.end()) continue;
      if (!sent_to.insert(e.id).second) continue;
      Delivery d;
      d.id = n.id + "." + std::to_string(out.size());
      d.notification_id = n.id;
      d.user = user;
      d.endpoint_id = e.id;
      d.channel = e.kind;
      d.state = DeliveryState::pending;
      d.created_ms = now_ms;
      d.next_attempt_ms = now_ms;
      d.updated_ms = now_ms;
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace nbms
