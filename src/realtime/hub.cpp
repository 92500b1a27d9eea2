#include "nbms/realtime/hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "nbms/core/ids.hpp"
#include "nbms/protocol/codec.hpp"

namespace nbms::realtime {
namespace {

constexpr std::int64_t kLogWindowMs = 10'000;

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto existing = spdlog::get("realtime");
    return existing ? existing : spdlog::default_logger()->clone("realtime");
  }();
  return log;
}

// Transparent hashing: the fan-out looks points up by the decoded value's own
// string, and nothing on that path should build a key.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// Request ids: a random per-process prefix and a counter. Unique within the
// process, and a late answer addressed to a previous nbmsd process cannot match
// a request of this one.
class RequestIds {
 public:
  RequestIds() {
    std::random_device rd;
    const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
    prefix_ = buf;
  }
  std::string next() { return prefix_ + "-" + std::to_string(++counter_); }

 private:
  std::string prefix_;
  std::atomic<std::uint64_t> counter_{0};
};

struct Conn {
  ConnectionId id = 0;
  std::shared_ptr<Sink> sink;
  StringMap<StringSet> watches;  // thing -> points this connection watches
  std::size_t watched = 0;       // total over things
  // Fan-out scratch: which delivery of the current update is this
  // connection's (valid while `epoch` equals the hub's).
  std::uint64_t epoch = 0;
  std::size_t slot = 0;
};

struct PointWatch {
  // The connections watching the point. A vector: fan-out iterates it for every
  // value; adding and removing a watcher are rare by comparison.
  std::vector<Conn*> watchers;
};

struct ThingWatch {
  StringMap<PointWatch> points;
  std::int64_t renewed_ms = 0;  // last Subscribe that listed every point of the thing
};

struct Pending {
  ConnectionId conn = 0;
  std::string thing;
  std::string point_id;
  std::int64_t deadline_ms = 0;
  bool sent = false;  // published; only then can it time out
};

struct Delivery {
  std::shared_ptr<Sink> sink;
  std::vector<LiveValue> values;
};

using ThingPoints = std::pair<std::string, std::vector<std::string>>;

}  // namespace

std::string_view to_string(ControlStatus status) {
  switch (status) {
    case ControlStatus::accepted:
      return "accepted";
    case ControlStatus::failed:
      return "failed";
    case ControlStatus::timeout:
      return "timeout";
  }
  return "unknown";
}

struct Hub::Impl {
  Impl(CommandPublisher& c, const Clock& k, HubOptions o) : commands(c), clock(k), options(o) {}

  CommandPublisher& commands;
  const Clock& clock;
  const HubOptions options;
  RequestIds request_ids;

  // Held across "decide what to tell the MW, tell it, record it" for every
  // change of MW subscriptions (subscribe, unsubscribe, disconnect, renewal), so
  // that Subscribe and Unsubscribe of a point reach the MW in the order of the
  // state changes. Taken before `mu`. Never held by the fan-out.
  std::mutex ops;
  // Guards everything below. Held only for bookkeeping: sinks and the command
  // publisher are called with it released.
  mutable std::mutex mu;
  std::unordered_map<ConnectionId, Conn> conns;  // node-based: Conn* stay valid
  StringMap<ThingWatch> things;
  StringMap<Pending> pending;  // by request id
  std::size_t subscriptions = 0;
  ConnectionId next_id = 1;
  std::uint64_t epoch = 0;
  std::uint64_t values_in = 0;
  std::uint64_t values_out = 0;
  std::uint64_t unwatched_in = 0;
  std::uint64_t results_unknown = 0;
  // Rate limit of command failure warnings.
  std::int64_t warn_window_start_ms = 0;
  std::uint64_t warned_in_window = 0;

  std::int64_t lease_s() const {
    return std::max<std::int64_t>(1, (options.lease_ms + 999) / 1000);
  }

  // Removes `c` from the watchers of (thing, point); the point goes to `last`
  // when nobody watches it any more. Under `mu`.
  void drop_watcher(const std::string& thing, const std::string& point, Conn* c,
                    std::vector<std::string>& last) {
    auto tw = things.find(thing);
    if (tw == things.end()) return;
    auto pw = tw->second.points.find(point);
    if (pw == tw->second.points.end()) return;
    auto& w = pw->second.watchers;
    if (auto it = std::find(w.begin(), w.end(), c); it != w.end()) {
      *it = w.back();
      w.pop_back();
    }
    if (w.empty()) {
      tw->second.points.erase(pw);
      --subscriptions;
      last.push_back(point);
      if (tw->second.points.empty()) things.erase(tw);
    }
  }

  // Publishes outside `mu`; logs failures (rate-limited) and reports success.
  bool publish(const std::string& thing, std::string payload, std::string_view what) {
    auto sent = commands.publish(protocol::command_topic(thing), std::move(payload));
    if (sent) return true;
    bool log = false;
    {
      std::lock_guard lock(mu);
      const auto now = clock.now_ms();
      if (now - warn_window_start_ms >= kLogWindowMs) {
        warn_window_start_ms = now;
        warned_in_window = 0;
      }
      log = warned_in_window++ < 5;
    }
    if (log) logger()->warn("{}: cannot send {}: {}", thing, what, sent.error().message);
    return false;
  }

  using Ended = std::vector<std::pair<std::shared_ptr<Sink>, ControlOutcome>>;
  // Ends the pending controls `ends` selects with `status` and `message`; their
  // outcomes go to `out`, for the sinks to get once `mu` is released. Under `mu`.
  template <class Pred>
  void end_pending(Pred ends, ControlStatus status, const std::string& message, Ended& out) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (!ends(it->second)) {
        ++it;
        continue;
      }
      std::shared_ptr<Sink> sink;
      if (auto c = conns.find(it->second.conn); c != conns.end()) sink = c->second.sink;
      ControlOutcome o;
      o.request_id = it->first;
      o.thing = std::move(it->second.thing);
      o.point_id = std::move(it->second.point_id);
      o.status = status;
      o.message = message;
      out.emplace_back(std::move(sink), std::move(o));
      it = pending.erase(it);
    }
  }

  void unsubscribe_at_mw(const std::vector<ThingPoints>& gone) {
    // A failure is only logged: the MW stops by itself when the lease ends.
    for (const auto& [thing, points] : gone) {
      publish(thing, protocol::encode_unsubscribe(points), "Unsubscribe");
    }
  }
};

Hub::Hub(CommandPublisher& commands, const Clock& clock, HubOptions options)
    : impl_(std::make_unique<Impl>(commands, clock, options)) {}

Hub::~Hub() = default;

ConnectionId Hub::connect(std::shared_ptr<Sink> sink) {
  std::lock_guard lock(impl_->mu);
  const ConnectionId id = impl_->next_id++;
  Conn& c = impl_->conns[id];
  c.id = id;
  c.sink = std::move(sink);
  return id;
}

void Hub::disconnect(ConnectionId id) {
  auto& d = *impl_;
  std::lock_guard ops(d.ops);
  std::vector<ThingPoints> gone;
  std::shared_ptr<Sink> sink;  // released after the locks
  {
    std::lock_guard lock(d.mu);
    auto it = d.conns.find(id);
    if (it == d.conns.end()) return;
    Conn& c = it->second;
    for (const auto& [thing, points] : c.watches) {
      std::vector<std::string> last;
      for (const auto& p : points) d.drop_watcher(thing, p, &c, last);
      if (!last.empty()) gone.emplace_back(thing, std::move(last));
    }
    std::erase_if(d.pending, [id](const auto& kv) { return kv.second.conn == id; });
    sink = std::move(c.sink);
    d.conns.erase(it);
  }
  d.unsubscribe_at_mw(gone);
}

Result<void> Hub::subscribe(ConnectionId id, const ThingName& thing,
                            const std::vector<std::string>& point_ids) {
  auto& d = *impl_;
  const std::string name = thing.full();
  std::lock_guard ops(d.ops);
  std::vector<std::string> fresh;  // new to this connection
  std::vector<std::string> first;  // new to everyone: the MW must be asked
  {
    std::lock_guard lock(d.mu);
    auto it = d.conns.find(id);
    if (it == d.conns.end()) {
      return fail(Errc::not_found, "connection " + std::to_string(id) + " is not connected");
    }
    const Conn& c = it->second;
    const auto cw = c.watches.find(name);
    const StringSet* watched = cw == c.watches.end() ? nullptr : &cw->second;
    const auto tw = d.things.find(name);
    StringSet seen;
    for (const auto& p : point_ids) {
      if (auto ok = validate_point_id(p); !ok) {
        return fail(Errc::invalid_argument, ok.error().message);
      }
      if ((watched && watched->contains(p)) || !seen.insert(p).second) continue;
      fresh.push_back(p);
    }
    if (c.watched + fresh.size() > d.options.max_points_per_connection) {
      return fail(Errc::invalid_argument, "watching " + std::to_string(c.watched + fresh.size()) +
                                              " points would exceed the limit of " +
                                              std::to_string(d.options.max_points_per_connection) +
                                              " per connection");
    }
    for (const auto& p : fresh) {
      if (tw == d.things.end() || !tw->second.points.contains(p)) first.push_back(p);
    }
  }
  if (fresh.empty()) return {};
  if (!first.empty()) {
    auto sent =
        d.commands.publish(protocol::command_topic(name),
                           protocol::encode_subscribe(d.request_ids.next(), first, d.lease_s()));
    if (!sent) {
      return fail(Errc::unavailable,
                  "cannot ask " + name + " for realtime values: " + sent.error().message);
    }
  }
  // `ops` kept the connection and the points' watchers as they were planned.
  std::lock_guard lock(d.mu);
  Conn& c = d.conns.at(id);
  auto& mine = c.watches[name];
  auto [tw, created] = d.things.try_emplace(name);
  if (created) tw->second.renewed_ms = d.clock.now_ms();  // the Subscribe just sent
  for (auto& p : fresh) {
    auto& pw = tw->second.points[p];
    if (pw.watchers.empty()) ++d.subscriptions;
    pw.watchers.push_back(&c);
    mine.insert(std::move(p));
    ++c.watched;
  }
  return {};
}

void Hub::unsubscribe(ConnectionId id, const ThingName& thing,
                      const std::vector<std::string>& point_ids) {
  auto& d = *impl_;
  const std::string name = thing.full();
  std::lock_guard ops(d.ops);
  std::vector<ThingPoints> gone(1);
  gone[0].first = name;
  {
    std::lock_guard lock(d.mu);
    auto it = d.conns.find(id);
    if (it == d.conns.end()) return;
    Conn& c = it->second;
    auto cw = c.watches.find(name);
    if (cw == c.watches.end()) return;
    for (const auto& p : point_ids) {
      auto mine = cw->second.find(p);
      if (mine == cw->second.end()) continue;
      d.drop_watcher(name, p, &c, gone[0].second);
      cw->second.erase(mine);
      --c.watched;
    }
    if (cw->second.empty()) c.watches.erase(cw);
  }
  if (!gone[0].second.empty()) d.unsubscribe_at_mw(gone);
}

Result<std::string> Hub::control(ConnectionId id, const ThingName& thing, std::string_view point_id,
                                 double value, int priority) {
  auto& d = *impl_;
  if (auto ok = validate_point_id(point_id); !ok) {
    return fail(Errc::invalid_argument, ok.error().message);
  }
  const std::string name = thing.full();
  std::string request_id = d.request_ids.next();
  {
    // Pending before the publish: the MW may answer before publish() returns.
    std::lock_guard lock(d.mu);
    if (!d.conns.contains(id)) {
      return fail(Errc::not_found, "connection " + std::to_string(id) + " is not connected");
    }
    d.pending.emplace(request_id, Pending{id, name, std::string(point_id), 0, false});
  }
  auto sent = d.commands.publish(protocol::command_topic(name),
                                 protocol::encode_control(request_id, point_id, value, priority));
  std::lock_guard lock(d.mu);
  auto it = d.pending.find(request_id);
  if (!sent) {
    if (it != d.pending.end()) d.pending.erase(it);
    return fail(Errc::unavailable,
                "cannot send the control to " + name + ": " + sent.error().message);
  }
  if (it != d.pending.end()) {
    it->second.sent = true;
    it->second.deadline_ms = d.clock.now_ms() + d.options.control_timeout_ms;
  }
  return request_id;
}

void Hub::on_realtime(const RealtimeUpdate& update) {
  auto& d = *impl_;
  const std::string thing = update.thing.full();
  // The deliveries of one update, reused by the next one on this thread: the
  // vectors keep their capacity, so the steady fan-out allocates nothing.
  thread_local std::vector<Delivery> out;
  std::size_t used = 0;
  {
    std::lock_guard lock(d.mu);
    d.values_in += update.values.size();
    auto tw = d.things.find(thing);
    if (tw == d.things.end()) {
      d.unwatched_in += update.values.size();
      return;
    }
    const auto& points = tw->second.points;
    const std::uint64_t epoch = ++d.epoch;
    for (const auto& v : update.values) {
      auto pw = points.find(v.point_id);
      if (pw == points.end()) {
        ++d.unwatched_in;
        continue;
      }
      for (Conn* c : pw->second.watchers) {
        if (c->epoch != epoch) {
          c->epoch = epoch;
          c->slot = used++;
          if (out.size() < used) out.emplace_back();
          out[c->slot].sink = c->sink;
          out[c->slot].values.clear();
        }
        out[c->slot].values.push_back(LiveValue{v.point_id, v.value});
      }
      d.values_out += pw->second.watchers.size();
    }
  }
  for (std::size_t i = 0; i < used; ++i) {
    auto& delivery = out[i];
    if (delivery.sink) delivery.sink->values(thing, update.received_ms, delivery.values);
    delivery.sink.reset();  // a closed connection must not live on in the scratch
  }
}

void Hub::on_control_result(const ControlResult& result) {
  auto& d = *impl_;
  std::shared_ptr<Sink> sink;
  ControlOutcome outcome;
  {
    std::lock_guard lock(d.mu);
    auto it = d.pending.find(result.request_id);
    // A result from another thing (or for another point) than the request went
    // to is not an answer to it, whatever id it carries.
    if (it == d.pending.end() || it->second.thing != result.thing.full() ||
        it->second.point_id != result.point_id) {
      ++d.results_unknown;
      return;
    }
    if (auto c = d.conns.find(it->second.conn); c != d.conns.end()) sink = c->second.sink;
    outcome.request_id = result.request_id;
    outcome.thing = std::move(it->second.thing);
    outcome.point_id = std::move(it->second.point_id);
    outcome.status = result.accepted ? ControlStatus::accepted : ControlStatus::failed;
    outcome.value = result.value;
    outcome.message = result.message;
    d.pending.erase(it);
  }
  if (sink) sink->control_outcome(outcome);
}

void Hub::forget_thing(const std::string& thing) {
  auto& d = *impl_;
  std::lock_guard ops(d.ops);
  Impl::Ended ended;
  std::vector<std::pair<std::shared_ptr<Sink>, std::vector<std::string>>> watchers;
  {
    std::lock_guard lock(d.mu);
    if (auto tw = d.things.find(thing); tw != d.things.end()) {
      d.subscriptions -= std::min(d.subscriptions, tw->second.points.size());
      d.things.erase(tw);
    }
    for (auto& [id, c] : d.conns) {
      auto cw = c.watches.find(thing);
      if (cw == c.watches.end()) continue;
      c.watched -= std::min(c.watched, cw->second.size());
      std::vector<std::string> points(std::make_move_iterator(cw->second.begin()),
                                      std::make_move_iterator(cw->second.end()));
      std::sort(points.begin(), points.end());
      watchers.emplace_back(c.sink, std::move(points));
      c.watches.erase(cw);
    }
    d.end_pending([&](const Pending& p) { return p.thing == thing; }, ControlStatus::failed,
                  "the thing was deleted", ended);
  }
  for (const auto& [sink, outcome] : ended) {
    if (sink) sink->control_outcome(outcome);
  }
  for (const auto& [sink, points] : watchers) {
    if (sink) sink->thing_removed(thing, points);
  }
}

void Hub::tick() {
  auto& d = *impl_;
  const std::int64_t now = d.clock.now_ms();

  Impl::Ended timeouts;
  {
    std::lock_guard lock(d.mu);
    d.end_pending(
        [now](const Pending& p) { return p.sent && p.deadline_ms <= now; }, ControlStatus::timeout,
        "no answer from the MW within " + std::to_string(d.options.control_timeout_ms) + " ms",
        timeouts);
  }
  for (const auto& [sink, outcome] : timeouts) {
    if (sink) sink->control_outcome(outcome);
  }

  std::lock_guard ops(d.ops);
  std::vector<ThingPoints> renew;
  {
    std::lock_guard lock(d.mu);
    for (const auto& [thing, tw] : d.things) {
      if (now - tw.renewed_ms < d.options.renew_ms) continue;
      std::vector<std::string> points;
      points.reserve(tw.points.size());
      for (const auto& [p, w] : tw.points) points.push_back(p);
      renew.emplace_back(thing, std::move(points));
    }
  }
  if (renew.empty()) return;
  std::vector<const std::string*> renewed;
  for (const auto& [thing, points] : renew) {
    // A failed renewal is retried on the next tick; the lease outlasts a few.
    if (d.publish(thing, protocol::encode_subscribe(d.request_ids.next(), points, d.lease_s()),
                  "Subscribe (renewal)")) {
      renewed.push_back(&thing);
    }
  }
  std::lock_guard lock(d.mu);
  for (const auto* thing : renewed) {
    if (auto tw = d.things.find(*thing); tw != d.things.end()) tw->second.renewed_ms = now;
  }
}

HubStats Hub::stats() const {
  const auto& d = *impl_;
  std::lock_guard lock(d.mu);
  HubStats s;
  s.connections = d.conns.size();
  s.subscriptions = d.subscriptions;
  s.pending_controls = d.pending.size();
  s.values_in = d.values_in;
  s.values_out = d.values_out;
  s.unwatched_in = d.unwatched_in;
  s.results_unknown = d.results_unknown;
  return s;
}

}  // namespace nbms::realtime
