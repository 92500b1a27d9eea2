// Alarms of RocksStore (AlarmStore).
//
// Key layout (docs/storage.md, "Alarms"); v is kKeyVersion (0x01):
//   current_alarms: v | customer 0 | building 0 | thing 0 | alarm_id      -> JSON alarm
//   alarm_marks:    v | customer 0 | building 0 | thing 0 | alarm_id      -> 01 | seconds u64be |
//   seq u32be alarm_history:  v | customer 0 | building 0 | yyyymm u32be | at_ms u64be | seq u64be
//   -> JSON transition links:          v | customer 0 | building 0 | thing 0 | device       -> JSON
//   link (device "" = the MW) default:        "nbms.alarm_seq" -> u64be, last history seq used
// A building's current alarms, links and history months are each one prefix
// range; a month of history is one DeleteRange. yyyymm is the UTC month of
// at_ms (nbmsd's clock), so the key order is time order.
#include "store_impl.hpp"

namespace nbms::storage {
namespace {

constexpr std::string_view kAlarmSeqKey = "nbms.alarm_seq";
constexpr char kMarkFormat = 0x01;

std::string building_part(std::string_view customer, std::string_view building) {
  std::string k(1, kKeyVersion);
  put_part(k, customer);
  put_part(k, building);
  return k;
}
std::string thing_part(const ThingName& t) {
  auto k = building_part(t.customer, t.building);
  put_part(k, t.full());
  return k;
}
std::string alarm_key(const AlarmKey& key) {
  return thing_part(key.thing).append(key.alarm_id);
}
std::string link_key(const ThingName& t, std::string_view device) {
  return thing_part(t).append(device);
}
std::uint64_t history_time(std::int64_t ms) {
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}
std::string history_key(std::string_view customer, std::string_view building, std::int64_t at_ms,
                        std::uint64_t seq) {
  auto k = building_part(customer, building);
  put_u32be(k, utc_yyyymm(at_ms));
  put_u64be(k, history_time(at_ms));
  put_u64be(k, seq);
  return k;
}
std::uint64_t read_u64(std::string_view eight) {
  return (std::uint64_t{read_u32be(eight.substr(0, 4))} << 32) | read_u32be(eight.substr(4, 4));
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json stamp_json(const EventStamp& s) {
  return json{{"time", s.time_string()}, {"seq", s.seq}};
}
EventStamp stamp_from(const json& j) {
  auto s = EventStamp::parse(j.at("time").get<std::string>(), j.at("seq").get<std::uint32_t>());
  if (!s) throw std::runtime_error(s.error().message);
  return *s;
}
ThingName thing_from(const json& j) {
  auto t = ThingName::parse(j.get<std::string>());
  if (!t) throw std::runtime_error(t.error().message);
  return *t;
}

json alarm_json(const Alarm& a) {
  json comments = json::array();
  for (const auto& c : a.comments) {
    comments.push_back({{"at_ms", c.at_ms}, {"user", c.user}, {"text", c.text}});
  }
  return json{{"thing", a.key.thing.full()},
              {"alarm_id", a.key.alarm_id},
              {"kind", a.kind == AlarmKind::disconnect ? "disconnect"
                       : a.kind == AlarmKind::stale    ? "stale"
                                                       : "point"},
              {"point_id", a.point_id},
              {"device", a.device},
              {"name", a.name},
              {"priority", a.priority},
              {"event_state", a.event_state},
              {"text", a.text},
              {"active", a.active},
              {"acknowledged", a.acknowledged},
              {"acknowledged_ms", a.acknowledged_ms},
              {"acknowledged_by", a.acknowledged_by},
              {"shelved_until_ms", a.shelved_until_ms ? json(*a.shelved_until_ms) : json()},
              {"shelved_by", a.shelved_by},
              {"suppressed", a.suppressed},
              {"raised_at", stamp_json(a.raised_at)},
              {"last_event", stamp_json(a.last_event)},
              {"raised_ms", a.raised_ms},
              {"updated_ms", a.updated_ms},
              {"comments", comments}};
}

Alarm alarm_from(const json& j) {
  Alarm a;
  a.key = AlarmKey{thing_from(j.at("thing")), j.at("alarm_id")};
  const std::string kind = j.at("kind");
  if (kind == "disconnect") {
    a.kind = AlarmKind::disconnect;
  } else if (kind == "stale") {
    a.kind = AlarmKind::stale;
  } else if (kind == "point") {
    a.kind = AlarmKind::point;
  } else {
    throw std::runtime_error("unknown alarm kind '" + kind + "'");
  }
  a.point_id = j.at("point_id");
  a.device = j.at("device");
  a.name = j.at("name");
  a.priority = j.at("priority");
  a.event_state = j.at("event_state");
  a.text = j.at("text");
  a.active = j.at("active");
  a.acknowledged = j.at("acknowledged");
  a.acknowledged_ms = j.at("acknowledged_ms");
  a.acknowledged_by = j.at("acknowledged_by");
  if (const auto& s = j.at("shelved_until_ms"); !s.is_null()) a.shelved_until_ms = s;
  a.shelved_by = j.at("shelved_by");
  a.suppressed = j.at("suppressed");
  a.raised_at = stamp_from(j.at("raised_at"));
  a.last_event = stamp_from(j.at("last_event"));
  a.raised_ms = j.at("raised_ms");
  a.updated_ms = j.at("updated_ms");
  for (const auto& c : j.at("comments")) {
    a.comments.push_back(AlarmComment{c.at("at_ms"), c.at("user"), c.at("text")});
  }
  return a;
}

json transition_json(const AlarmTransition& t) {
  return json{{"kind", std::string(to_string(t.kind))},
              {"at_ms", t.at_ms},
              {"user", t.user},
              {"event", t.event ? stamp_json(*t.event) : json()},
              {"text", t.text},
              {"removed", t.removed},
              {"alarm", alarm_json(t.alarm)}};
}

AlarmTransition transition_from(const json& j) {
  AlarmTransition t;
  auto kind = transition_kind_from(j.at("kind").get<std::string>());
  if (!kind) throw std::runtime_error("unknown transition kind");
  t.kind = *kind;
  t.at_ms = j.at("at_ms");
  t.user = j.at("user");
  if (const auto& e = j.at("event"); !e.is_null()) t.event = stamp_from(e);
  t.text = j.at("text");
  t.removed = j.at("removed");
  t.alarm = alarm_from(j.at("alarm"));
  return t;
}

json link_json(const LinkState& l) {
  return json{{"thing", l.thing.full()},
              {"device", l.device},
              {"connected", l.connected},
              {"since_ms", l.since_ms},
              {"last_event", l.last_event ? stamp_json(*l.last_event) : json()},
              {"text", l.text}};
}

LinkState link_from(const json& j) {
  LinkState l;
  l.thing = thing_from(j.at("thing"));
  l.device = j.at("device");
  l.connected = j.at("connected");
  l.since_ms = j.at("since_ms");
  if (const auto& e = j.at("last_event"); !e.is_null()) l.last_event = stamp_from(e);
  l.text = j.at("text");
  return l;
}

std::string encode_mark(const EventStamp& s) {
  std::string v(1, kMarkFormat);
  put_u64be(v, s.seconds);
  put_u32be(v, s.seq);
  return v;
}

Result<EventStamp> decode_mark(std::string_view v) {
  if (v.size() != 13 || v[0] != kMarkFormat) return fail(Errc::io, "stored alarm mark is corrupt");
  return EventStamp{read_u64(v.substr(1, 8)), read_u32be(v.substr(9, 4))};
}

// Every record under `prefix`, decoded with `from`.
template <class Impl, class Fn>
auto scan_all(Impl& impl, Cf which, const std::string& prefix, std::string_view what, Fn&& from) {
  return impl.scan_decoded(which, prefix,
                           [&](std::string_view v) { return decode_json(v, what, from); });
}

}  // namespace

Result<std::vector<Alarm>> RocksStore::current_alarms(std::string_view customer,
                                                      std::string_view building) {
  return scan_all(*impl_, kCurrentAlarms, building_part(customer, building), "alarm", alarm_from);
}

Result<std::vector<Alarm>> RocksStore::current_alarms_of(const ThingName& thing) {
  return scan_all(*impl_, kCurrentAlarms, thing_part(thing), "alarm", alarm_from);
}

Result<std::optional<Alarm>> RocksStore::current_alarm(const AlarmKey& key) {
  auto raw = impl_->get(kCurrentAlarms, alarm_key(key));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return std::optional<Alarm>{};
  auto a = decode_json(**raw, "alarm", alarm_from);
  if (!a) return std::unexpected(a.error());
  return std::optional<Alarm>(std::move(*a));
}

Result<std::optional<EventStamp>> RocksStore::alarm_mark(const AlarmKey& key) {
  auto raw = impl_->get(kAlarmMarks, alarm_key(key));
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return std::optional<EventStamp>{};
  auto m = decode_mark(**raw);
  if (!m) return std::unexpected(m.error());
  return std::optional<EventStamp>(*m);
}

Result<std::vector<AlarmTransition>> RocksStore::alarm_history(const AlarmHistoryQuery& q) {
  std::vector<AlarmTransition> out;
  if (q.to_ms <= q.from_ms || q.limit == 0) return out;
  const std::string lo = history_key(q.customer, q.building, q.from_ms, 0);
  const std::string hi = history_key(q.customer, q.building, q.to_ms, 0);  // exclusive
  rocksdb::ReadOptions ro;
  rocksdb::Slice lo_slice(lo), hi_slice(hi);
  ro.iterate_lower_bound = &lo_slice;
  ro.iterate_upper_bound = &hi_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(kAlarmHistory)));
  if (q.newest_first) {
    it->SeekToLast();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid() && out.size() < q.limit; q.newest_first ? it->Prev() : it->Next()) {
    auto t = decode_json(std::string_view(it->value().data(), it->value().size()), "alarm history",
                         transition_from);
    if (!t) return std::unexpected(t.error());
    out.push_back(std::move(*t));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "scan alarm history"));
  return out;
}

Result<std::vector<LinkState>> RocksStore::links(std::string_view customer,
                                                 std::string_view building) {
  return scan_all(*impl_, kLinks, building_part(customer, building), "link", link_from);
}

Result<std::vector<LinkState>> RocksStore::links_of(const ThingName& thing) {
  return scan_all(*impl_, kLinks, thing_part(thing), "link", link_from);
}

Result<void> RocksStore::commit(const AlarmUpdate& u) {
  if (u.empty()) return {};
  std::lock_guard lock(impl_->alarm_mu);
  auto& impl = *impl_;
  if (!impl.next_alarm_seq) {
    auto raw = impl.get(kDefault, std::string(kAlarmSeqKey));
    if (!raw) return std::unexpected(raw.error());
    if (*raw && (*raw)->size() != 8) return fail(Errc::io, "stored alarm sequence is corrupt");
    impl.next_alarm_seq = *raw ? read_u64(**raw) + 1 : 1;
  }
  rocksdb::WriteBatch batch;
  for (const auto& a : u.put) {
    batch.Put(impl.cf(kCurrentAlarms), alarm_key(a.key), dump(alarm_json(a)));
  }
  for (const auto& k : u.erase) batch.Delete(impl.cf(kCurrentAlarms), alarm_key(k));
  for (const auto& [k, s] : u.marks) batch.Put(impl.cf(kAlarmMarks), alarm_key(k), encode_mark(s));
  for (const auto& l : u.links) {
    batch.Put(impl.cf(kLinks), link_key(l.thing, l.device), dump(link_json(l)));
  }
  std::uint64_t seq = *impl.next_alarm_seq;
  for (const auto& t : u.history) {
    const auto& thing = t.alarm.key.thing;
    batch.Put(impl.cf(kAlarmHistory), history_key(thing.customer, thing.building, t.at_ms, seq++),
              dump(transition_json(t)));
  }
  if (seq != *impl.next_alarm_seq) {
    std::string last;
    put_u64be(last, seq - 1);
    batch.Put(impl.cf(kDefault), std::string(kAlarmSeqKey), last);
  }
  if (auto w = impl.write(batch); !w) return w;
  impl.next_alarm_seq = seq;
  return {};
}

Result<void> RocksStore::drop_alarm_month(std::string_view customer, std::string_view building,
                                          std::uint32_t yyyymm) {
  std::lock_guard lock(impl_->alarm_mu);
  auto begin = building_part(customer, building);
  put_u32be(begin, yyyymm);
  rocksdb::WriteBatch batch;
  batch.DeleteRange(impl_->cf(kAlarmHistory), begin, prefix_end(begin));
  return impl_->write(batch);
}

}  // namespace nbms::storage
