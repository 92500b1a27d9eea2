#include "ws_alarms.hpp"

#include <algorithm>
#include <utility>

#include "alarm_json.hpp"
#include "api_common.hpp"
#include "nbms/core/ids.hpp"

namespace nbms::http {
namespace {

std::string building_key(std::string_view customer, std::string_view building) {
  return std::string(customer) + "/" + std::string(building);
}

std::string key_of(const ThingName& t) {
  return building_key(t.customer, t.building);
}

std::string_view code_name(Errc code) {
  return error_code_name(status_for(code));
}

// What one commit changed in one building.
struct Part {
  std::vector<const AlarmTransition*> transitions;
  std::vector<const Alarm*> alarms;
  std::vector<const AlarmKey*> removed;
  std::vector<const LinkState*> links;
};

}  // namespace

// ---- AlarmFeed -----------------------------------------------------------------

AlarmFeed::AlarmFeed(alarms::Service& service, const Clock& clock)
    : service_(service), clock_(clock) {}

std::shared_ptr<AlarmFeed> AlarmFeed::create(alarms::Service& service, const Clock& clock) {
  std::shared_ptr<AlarmFeed> feed(new AlarmFeed(service, clock));
  service.add_listener([weak = std::weak_ptr<AlarmFeed>(feed)](const AlarmUpdate& update) {
    if (auto f = weak.lock()) f->publish(update);
  });
  return feed;
}

void AlarmFeed::attach(const std::string& key, const std::shared_ptr<AlarmWatch>& watch) {
  std::lock_guard lock(mu_);
  auto& list = watches_[key];
  std::erase_if(list, [&](const std::weak_ptr<AlarmWatch>& w) {
    auto p = w.lock();
    return !p || p == watch;
  });
  list.push_back(watch);
}

void AlarmFeed::detach(const std::string& key, const AlarmWatch* watch) {
  std::lock_guard lock(mu_);
  const auto it = watches_.find(key);
  if (it == watches_.end()) return;
  std::erase_if(it->second, [&](const std::weak_ptr<AlarmWatch>& w) {
    auto p = w.lock();
    return !p || p.get() == watch;
  });
  if (it->second.empty()) watches_.erase(it);
}

std::size_t AlarmFeed::watchers(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = watches_.find(key);
  return it == watches_.end() ? 0 : it->second.size();
}

void AlarmFeed::publish(const AlarmUpdate& update) {
  // Which watched buildings this commit touches, and who watches them.
  std::map<std::string, std::vector<std::shared_ptr<AlarmWatch>>> targets;
  {
    std::lock_guard lock(mu_);
    if (watches_.empty()) return;
    const auto note = [&](const ThingName& t) {
      const auto key = key_of(t);
      if (targets.contains(key)) return;
      const auto it = watches_.find(key);
      if (it == watches_.end()) return;
      auto& out = targets[key];
      for (const auto& w : it->second) {
        if (auto p = w.lock()) out.push_back(std::move(p));
      }
    };
    for (const auto& t : update.history) note(t.alarm.key.thing);
    for (const auto& a : update.put) note(a.key.thing);
    for (const auto& k : update.erase) note(k.thing);
    for (const auto& l : update.links) note(l.thing);
  }
  if (targets.empty()) return;
  std::map<std::string, Part> parts;
  for (const auto& t : update.history) {
    if (targets.contains(key_of(t.alarm.key.thing))) {
      parts[key_of(t.alarm.key.thing)].transitions.push_back(&t);
    }
  }
  for (const auto& a : update.put) {
    if (targets.contains(key_of(a.key.thing))) parts[key_of(a.key.thing)].alarms.push_back(&a);
  }
  for (const auto& k : update.erase) {
    if (targets.contains(key_of(k.thing))) parts[key_of(k.thing)].removed.push_back(&k);
  }
  for (const auto& l : update.links) {
    if (targets.contains(key_of(l.thing))) parts[key_of(l.thing)].links.push_back(&l);
  }
  const auto now = clock_.now_ms();
  for (const auto& [key, part] : parts) {
    const auto slash = key.find('/');
    json transitions = json::array();
    for (const auto* t : part.transitions) transitions.push_back(transition_json(*t, now));
    json alarms = json::array();
    for (const auto* a : part.alarms) alarms.push_back(alarm_json(*a, now));
    json removed = json::array();
    for (const auto* k : part.removed) {
      removed.push_back({{"thing", k->thing.full()}, {"alarm_id", k->alarm_id}});
    }
    json links = json::array();
    for (const auto* l : part.links) links.push_back(link_json(*l));
    const auto frame =
        std::make_shared<const std::string>(dump({{"type", "alarms"},
                                                  {"customer", key.substr(0, slash)},
                                                  {"building", key.substr(slash + 1)},
                                                  {"now_ms", now},
                                                  {"transitions", std::move(transitions)},
                                                  {"alarms", std::move(alarms)},
                                                  {"removed", std::move(removed)},
                                                  {"links", std::move(links)}}));
    for (const auto& watch : targets[key]) watch->push(key, frame);
  }
}

// ---- AlarmWatch ----------------------------------------------------------------

AlarmWatch::AlarmWatch(std::shared_ptr<AlarmFeed> feed, const Services& services,
                       auth::Principal who, std::function<void()> wake, AlarmWatchLimits limits)
    : feed_(std::move(feed)),
      services_(services),
      who_(std::move(who)),
      wake_(std::move(wake)),
      limits_(limits) {}

AlarmWatch::~AlarmWatch() {
  close();
}

void AlarmWatch::close() {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (const auto& [key, b] : buildings_) keys.push_back(key);
    buildings_.clear();
  }
  for (const auto& key : keys) feed_->detach(key, this);
}

void AlarmWatch::queue(std::string building_key, std::shared_ptr<const std::string> frame) {
  queue_.push_back(Queued{std::move(building_key), std::move(frame)});
}

void AlarmWatch::reply(const json& msg) {
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    was_empty = queue_.empty();
    queue("", std::make_shared<const std::string>(dump(msg)));
  }
  if (was_empty) wake_();
}

void AlarmWatch::error(std::string_view code, std::string_view message) {
  reply({{"type", "error"}, {"code", std::string(code)}, {"message", std::string(message)}});
}

void AlarmWatch::push(const std::string& key, const std::shared_ptr<const std::string>& frame) {
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    const auto it = buildings_.find(key);
    if (closed_ || it == buildings_.end() || it->second.resyncing) return;
    Building& b = it->second;
    const std::size_t held = [&] {
      std::size_t n = 0;
      for (const auto& [k, other] : buildings_) n += other.held.size();
      return n;
    }();
    if (queue_.size() + held < limits_.max_queued_frames) {
      was_empty = queue_.empty();
      if (b.syncing) {
        b.held.push_back(frame);
      } else {
        queue(key, frame);
      }
    } else {
      // Too far behind: what is queued for this building is of no use without
      // the rest; the client subscribes again for a fresh snapshot.
      std::erase_if(queue_, [&](const Queued& q) { return q.building_key == key; });
      b.held.clear();
      b.resyncing = true;
      was_empty = queue_.empty();
      const auto slash = key.find('/');
      queue("", std::make_shared<const std::string>(dump({{"type", "alarms.resync"},
                                                          {"customer", key.substr(0, slash)},
                                                          {"building", key.substr(slash + 1)}})));
    }
  }
  if (was_empty) wake_();
}

std::optional<std::string> AlarmWatch::next_frame() {
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  auto frame = std::move(queue_.front().frame);
  queue_.pop_front();
  return *frame;
}

void AlarmWatch::on_message(std::string_view type, const json& msg) {
  if (type == "alarms.subscribe") {
    subscribe(msg);
  } else if (type == "alarms.unsubscribe") {
    unsubscribe(msg);
  } else {
    error("bad_request", "unknown message type '" + std::string(type.substr(0, 32)) + "'");
  }
}

namespace {

// The building of a message within the caller's scope: one of another customer
// is not found, exactly like one that does not exist.
Result<std::pair<std::string, std::string>> scoped_building(const Services& s,
                                                            const auth::Principal& who,
                                                            const json& msg) {
  const auto c = msg.find("customer");
  const auto b = msg.find("building");
  if (c == msg.end() || b == msg.end() || !c->is_string() || !b->is_string()) {
    return fail(Errc::invalid_argument, "'customer' and 'building' (strings) are required");
  }
  const auto& customer = c->get_ref<const std::string&>();
  const auto& building = b->get_ref<const std::string&>();
  if (auto v = validate_customer_id(customer); !v) return std::unexpected(v.error());
  if (auto v = validate_building_id(building); !v) return std::unexpected(v.error());
  const auto not_found = [&] {
    return fail(Errc::not_found, "building '" + customer + "/" + building + "' not found");
  };
  if (!who.can_read(customer)) return not_found();
  if (auto got = s.registry.building(customer, building); !got) {
    if (got.error().code == Errc::not_found) return not_found();
    return std::unexpected(got.error());
  }
  return std::pair{customer, building};
}

}  // namespace

void AlarmWatch::subscribe(const json& msg) {
  auto where = scoped_building(services_, who_, msg);
  if (!where) return error(code_name(where.error().code), where.error().message);
  const auto& [customer, building] = *where;
  const auto key = building_key(customer, building);
  bool too_many = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    too_many = !buildings_.contains(key) && buildings_.size() >= limits_.max_buildings;
    // Subscribing again (after alarms.resync) starts over with a fresh snapshot.
    if (!too_many) buildings_[key] = Building{};
  }
  if (too_many) {
    return error("bad_request", "at most " + std::to_string(limits_.max_buildings) +
                                    " buildings may be watched at once");
  }
  feed_->attach(key, shared_from_this());
  // Every commit after attach() is held back until the snapshot is queued, and
  // every commit before it is in the snapshot (both run under the service's
  // mutex): snapshot + held frames, in order, are exactly the alarm state.
  auto current = feed_->service().current(customer, building);
  const auto now = feed_->clock().now_ms();
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    const auto it = buildings_.find(key);
    if (closed_ || it == buildings_.end()) return;  // unsubscribed meanwhile
    was_empty = queue_.empty();
    if (!current) {
      buildings_.erase(it);
      queue("", std::make_shared<const std::string>(
                    dump({{"type", "error"},
                          {"code", code_name(current.error().code)},
                          {"message", "alarms of '" + key + "' cannot be read"}})));
    } else {
      json alarms = json::array();
      for (const auto& a : *current) alarms.push_back(alarm_json(a, now));
      queue(key, std::make_shared<const std::string>(dump({{"type", "alarms.snapshot"},
                                                           {"customer", customer},
                                                           {"building", building},
                                                           {"now_ms", now},
                                                           {"alarms", std::move(alarms)}})));
      for (auto& f : it->second.held) queue(key, std::move(f));
      it->second.held.clear();
      it->second.syncing = false;
    }
  }
  if (!current) feed_->detach(key, this);
  if (was_empty) wake_();
}

void AlarmWatch::unsubscribe(const json& msg) {
  auto where = scoped_building(services_, who_, msg);
  if (!where) return error(code_name(where.error().code), where.error().message);
  const auto key = building_key(where->first, where->second);
  {
    std::lock_guard lock(mu_);
    buildings_.erase(key);
    std::erase_if(queue_, [&](const Queued& q) { return q.building_key == key; });
  }
  feed_->detach(key, this);
  reply({{"type", "alarms.unsubscribed"}, {"customer", where->first}, {"building", where->second}});
}

}  // namespace nbms::http
