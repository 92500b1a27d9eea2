#include "alarm_json.hpp"

#include <cstdio>

#include "api_common.hpp"

namespace nbms::http {

std::string_view to_string(AlarmKind k) {
  switch (k) {
    case AlarmKind::point:
      return "point";
    case AlarmKind::disconnect:
      return "disconnect";
    case AlarmKind::stale:
      return "stale";
  }
  return "point";
}

namespace {

json stamp_json(const std::optional<EventStamp>& s) {
  return s ? json(s->time_string()) : json(nullptr);
}

json key_json(const AlarmKey& k) {
  return {{"thing", k.thing.full()}, {"alarm_id", k.alarm_id}};
}

json count_json(const AlarmCount& c) {
  json j = key_json(c.key);
  j["point_id"] = c.point_id;
  j["name"] = c.name;
  j["raises"] = c.raises;
  j["peak_per_window"] = c.peak_per_window;
  return j;
}

}  // namespace

json alarm_json(const Alarm& a, std::int64_t now_ms) {
  json comments = json::array();
  for (const auto& c : a.comments) {
    comments.push_back({{"at_ms", c.at_ms}, {"user", c.user}, {"text", c.text}});
  }
  return {{"thing", a.key.thing.full()},
          {"alarm_id", a.key.alarm_id},
          {"kind", to_string(a.kind)},
          {"point_id", a.point_id},
          {"device", a.device},
          {"name", a.name},
          {"priority", a.priority},
          {"event_state", a.event_state},
          {"text", a.text},
          {"active", a.active},
          {"acknowledged", a.acknowledged},
          {"acknowledged_ms", a.acknowledged ? json(a.acknowledged_ms) : json(nullptr)},
          {"acknowledged_by", a.acknowledged_by},
          {"shelved", a.shelved(now_ms)},
          {"shelved_until_ms", a.shelved_until_ms ? json(*a.shelved_until_ms) : json(nullptr)},
          {"shelved_by", a.shelved_by},
          {"suppressed", a.suppressed},
          {"raised_at", a.raised_at.time_string()},
          {"last_event", a.last_event.time_string()},
          {"raised_ms", a.raised_ms},
          {"updated_ms", a.updated_ms},
          {"comments", std::move(comments)}};
}

json transition_json(const AlarmTransition& t, std::int64_t now_ms) {
  return {{"kind", to_string(t.kind)},           {"at_ms", t.at_ms}, {"user", t.user},
          {"event", stamp_json(t.event)},        {"text", t.text},   {"removed", t.removed},
          {"alarm", alarm_json(t.alarm, now_ms)}};
}

json link_json(const LinkState& l) {
  return {{"thing", l.thing.full()},
          {"device", l.device},
          {"connected", l.connected},
          {"since_ms", l.since_ms},
          {"last_event", stamp_json(l.last_event)},
          {"text", l.text}};
}

json health_json(const AlarmHealth& h, std::int64_t bucket_ms, std::int64_t now_ms) {
  json buckets = json::array();
  for (const auto& b : h.buckets)
    buckets.push_back({{"start_ms", b.start_ms}, {"raises", b.raises}});
  json floods = json::array();
  for (const auto& f : h.floods) {
    floods.push_back(
        {{"start_ms", f.start_ms}, {"end_ms", f.end_ms}, {"raises", f.raises}, {"peak", f.peak}});
  }
  json chattering = json::array();
  for (const auto& c : h.chattering) chattering.push_back(count_json(c));
  json top = json::array();
  for (const auto& c : h.top) top.push_back(count_json(c));
  json stale = json::array();
  for (const auto& a : h.stale) stale.push_back(alarm_json(a, now_ms));
  return {{"from_ms", h.from_ms},
          {"to_ms", h.to_ms},
          {"raises", h.raises},
          {"bucket_ms", bucket_ms},
          {"buckets", std::move(buckets)},
          {"floods", std::move(floods)},
          {"flood_ms", h.flood_ms},
          {"chattering", std::move(chattering)},
          {"stale", std::move(stale)},
          {"top", std::move(top)}};
}

namespace {

void csv_field(std::string& out, std::string_view v) {
  const bool formula = !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@');
  const bool quote = formula || v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string iso_utc(std::int64_t ms) {
  // Civil date from days since the epoch (Howard Hinnant's algorithm).
  const std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const std::int64_t sod = secs - days * 86400;
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(((ms % 1000) + 1000) % 1000));
  return buf;
}

}  // namespace

std::string history_csv(const std::vector<AlarmTransition>& transitions) {
  std::string out =
      "time_utc,at_ms,transition,thing,alarm_id,kind,point_id,device,name,priority,event_state,"
      "active,acknowledged,suppressed,user,mw_time,text,alarm_text\r\n";
  out.reserve(out.size() + transitions.size() * 160);
  for (const auto& t : transitions) {
    const Alarm& a = t.alarm;
    const auto field = [&](std::string_view v) {
      csv_field(out, v);
      out += ',';
    };
    field(iso_utc(t.at_ms));
    field(std::to_string(t.at_ms));
    field(to_string(t.kind));
    field(a.key.thing.full());
    field(a.key.alarm_id);
    field(to_string(a.kind));
    field(a.point_id);
    field(a.device);
    field(a.name);
    field(std::to_string(a.priority));
    field(a.event_state);
    field(a.active ? "true" : "false");
    field(a.acknowledged ? "true" : "false");
    field(a.suppressed ? "true" : "false");
    field(t.user);
    field(t.event ? t.event->time_string() : "");
    field(t.text);
    csv_field(out, a.text);
    out += "\r\n";
  }
  return out;
}

}  // namespace nbms::http
