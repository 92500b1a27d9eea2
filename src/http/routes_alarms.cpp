// Routes of the alarm console, per building: current alarms, history (JSON and
// CSV), operator actions (acknowledge, shelve, unshelve, comment), health
// figures and the state of the building's MW/device links. Reads need only the
// customer scope; operator actions need a manager of the customer (or the
// admin) and are written to the audit log, refusals included.
#include <charconv>
#include <cstdint>
#include <optional>

#include "alarm_json.hpp"
#include "api_common.hpp"
#include "nbms/alarms/service.hpp"
#include "nbms/core/ids.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000;
constexpr std::int64_t kMaxRangeMs = 400 * kDay;
constexpr std::size_t kDefaultHistoryLimit = 1000;
constexpr std::size_t kMaxHistoryLimit = 10'000;
constexpr std::size_t kMaxCsvRows = 100'000;
constexpr std::size_t kMaxBulk = 1000;
constexpr std::size_t kMaxReasonBytes = 1000;

Response no_alarms() {
  return error_response(503, "alarms are not available");
}

Result<std::int64_t> int_param(const Query& q, const char* name, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
  const auto text = q.get(name);
  if (!text) return fallback;
  std::int64_t v = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (text->empty() || ec != std::errc() || ptr != end || v < min || v > max) {
    return fail(Errc::invalid_argument, std::string("'") + name + "' must be an integer " +
                                            std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

Result<bool> bool_param(const Query& q, const char* name, bool fallback) {
  const auto text = q.get(name);
  if (!text) return fallback;
  if (*text == "true" || *text == "1") return true;
  if (*text == "false" || *text == "0") return false;
  return fail(Errc::invalid_argument, std::string("'") + name + "' must be true or false");
}

struct Range {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
};

// `from` and `to` in unix ms (to exclusive); by default the last 24 hours, now included.
Result<Range> range_param(const Ctx& x, const Query& q) {
  const std::int64_t now = x.s.clock.now_ms();
  auto to = int_param(q, "to", now + 1, 0, INT64_MAX / 2);
  if (!to) return std::unexpected(to.error());
  auto from = int_param(q, "from", *to - kDay, 0, INT64_MAX / 2);
  if (!from) return std::unexpected(from.error());
  if (*from >= *to) return fail(Errc::invalid_argument, "'from' must be before 'to'");
  if (*to - *from > kMaxRangeMs) {
    return fail(Errc::invalid_argument, "range from..to must be at most 400 days");
  }
  return Range{*from, *to};
}

// Validated ids of the building in the path; then its scope and existence.
Result<void> building_of(const Ctx& x, Need need) {
  return check_building(x, x.params[0], x.params[1], need);
}

// The alarm named by the path (.../alarms/{thing}/{alarm_id}/...), which must be
// a thing of the path's building; not_found otherwise.
Result<AlarmKey> alarm_key(const Ctx& x, const std::string& thing, const std::string& id) {
  const auto not_found = [&] {
    return fail(Errc::not_found, "alarm '" + thing + "/" + id + "' not found");
  };
  auto t = ThingName::parse(thing);
  if (!t || t->customer != x.params[0] || t->building != x.params[1]) return not_found();
  if (!validate_alarm_id(id)) return not_found();
  return AlarmKey{std::move(*t), id};
}

std::string key_text(const AlarmKey& k) {
  return k.thing.full() + "/" + k.alarm_id;
}

// An operator action: the ids of the path checked, then the caller's right to
// operate on the customer (a refusal is audited, as for controls), then the building.
Result<void> may_operate(const Ctx& x, std::string_view action) {
  const auto& c = x.params[0];
  if (auto v = validate_customer_id(c); !v) return v;
  if (auto v = validate_building_id(x.params[1]); !v) return v;
  if (auto a = allow(x, c, Need::operate); !a) {
    if (a.error().code == Errc::forbidden) {
      audit(x, c, action, c + "/" + x.params[1], "denied: " + a.error().message, false);
    }
    return a;
  }
  return building_of(x, Need::operate);
}

Response list_current(const Ctx& x) {
  if (auto v = building_of(x, Need::read); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  alarms::ListFilter f;
  if (auto t = q->get("thing")) f.thing = *t;
  if (auto e = q->get("equipment")) f.equipment = *e;
  if (q->get("max_priority")) {
    auto p = int_param(*q, "max_priority", 255, 0, 255);
    if (!p) return error_from(p.error());
    f.max_priority = static_cast<int>(*p);
  }
  auto shelved = bool_param(*q, "shelved", true);
  if (!shelved) return error_from(shelved.error());
  auto suppressed = bool_param(*q, "suppressed", true);
  if (!suppressed) return error_from(suppressed.error());
  f.include_shelved = *shelved;
  f.include_suppressed = *suppressed;
  auto list = x.s.alarms->current(x.params[0], x.params[1], f);
  if (!list) return error_from(list.error());
  const auto now = x.s.clock.now_ms();
  json out = json::array();
  for (const auto& a : *list) out.push_back(alarm_json(a, now));
  return json_response(200, {{"alarms", std::move(out)}, {"now_ms", now}});
}

// History, as JSON or (format=csv) as a CSV download. At most `limit` rows
// (JSON) or kMaxCsvRows (CSV); `truncated` says the range held more.
Response history_of(const Ctx& x, bool csv) {
  if (auto v = building_of(x, Need::read); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  if (const auto format = q->get("format")) {
    if (*format == "csv") {
      csv = true;
    } else if (*format != "json") {
      return error_response(400, "'format' must be json or csv");
    }
  }
  auto range = range_param(x, *q);
  if (!range) return error_from(range.error());
  auto limit = int_param(*q, "limit", csv ? kMaxCsvRows : kDefaultHistoryLimit, 1,
                         csv ? kMaxCsvRows : kMaxHistoryLimit);
  if (!limit) return error_from(limit.error());
  bool newest_first = true;
  if (const auto order = q->get("order")) {
    if (*order != "asc" && *order != "desc") {
      return error_response(400, "'order' must be asc or desc");
    }
    newest_first = *order == "desc";
  }
  const auto n = static_cast<std::size_t>(*limit);
  auto rows = x.s.alarms->history(AlarmHistoryQuery{x.params[0], x.params[1], range->from_ms,
                                                    range->to_ms, n + 1, newest_first});
  if (!rows) return error_from(rows.error());
  const bool truncated = rows->size() > n;
  if (truncated) rows->resize(n);
  if (csv) {
    Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = history_csv(*rows);
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"alarms-" + x.params[0] +
                                                      "-" + x.params[1] + "-" +
                                                      std::to_string(range->from_ms) + "-" +
                                                      std::to_string(range->to_ms) + ".csv\"");
    r.headers.emplace_back("X-Truncated", truncated ? "true" : "false");
    return r;
  }
  const auto now = x.s.clock.now_ms();
  json out = json::array();
  for (const auto& t : *rows) out.push_back(transition_json(t, now));
  return json_response(200, {{"from_ms", range->from_ms},
                             {"to_ms", range->to_ms},
                             {"order", newest_first ? "desc" : "asc"},
                             {"limit", n},
                             {"truncated", truncated},
                             {"transitions", std::move(out)}});
}

Response history_json(const Ctx& x) {
  return history_of(x, false);
}
Response history_csv_route(const Ctx& x) {
  return history_of(x, true);
}

// `{"alarms":[{"thing":..,"alarm_id":..},...]}` (1..kMaxBulk).
Response acknowledge_bulk(const Ctx& x) {
  if (auto v = may_operate(x, "alarm.ack"); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto body = parse_object(x.req, {"alarms"});
  if (!body) return std::move(body.error());
  const auto list = body->find("alarms");
  if (list == body->end() || !list->is_array() || list->empty() || list->size() > kMaxBulk) {
    return error_response(400, "'alarms' must be an array of 1.." + std::to_string(kMaxBulk) +
                                   " {\"thing\",\"alarm_id\"} objects");
  }
  std::vector<AlarmKey> keys;
  json not_found = json::array();  // also what is not of this building: never acknowledged
  for (const auto& item : *list) {
    if (!item.is_object() || item.size() != 2 || !item.contains("thing") ||
        !item.contains("alarm_id") || !item["thing"].is_string() || !item["alarm_id"].is_string()) {
      return error_response(400, "each of 'alarms' must be {\"thing\":..,\"alarm_id\":..}");
    }
    const auto& thing = item["thing"].get_ref<const std::string&>();
    const auto& id = item["alarm_id"].get_ref<const std::string&>();
    if (thing.size() > 64 || id.size() > 128) {
      return error_response(400, "'thing' or 'alarm_id' too long");
    }
    auto key = alarm_key(x, thing, id);
    if (!key) {
      not_found.push_back({{"thing", thing}, {"alarm_id", id}});
      continue;
    }
    keys.push_back(std::move(*key));
  }
  alarms::AckResult result;
  if (!keys.empty()) {
    auto r = x.s.alarms->acknowledge(keys, x.who->user);
    if (!r) return error_from(r.error());
    result = std::move(*r);
  }
  for (const auto& k : result.not_found) {
    not_found.push_back({{"thing", k.thing.full()}, {"alarm_id", k.alarm_id}});
  }
  audit(x, x.params[0], "alarm.ack", x.params[0] + "/" + x.params[1],
        dump({{"acknowledged", result.acknowledged},
              {"already", result.already},
              {"not_found", not_found.size()},
              {"requested", list->size()}}),
        true);
  return json_response(200, {{"acknowledged", result.acknowledged},
                             {"already", result.already},
                             {"not_found", std::move(not_found)}});
}

// The alarm of a single-alarm route, with the caller's right to act on it.
Result<AlarmKey> single(const Ctx& x, std::string_view action) {
  if (auto v = may_operate(x, action); !v) return std::unexpected(v.error());
  if (!x.s.alarms) return fail(Errc::unavailable, "alarms are not available");
  return alarm_key(x, x.params[2], x.params[3]);
}

// The answer to a single-alarm action, audited either way (but a refusal of the
// caller's role, which may_operate audited already).
Response acted(const Ctx& x, std::string_view action, const AlarmKey& key, const Result<Alarm>& r,
               std::string_view detail) {
  audit(x, x.params[0], action, key_text(key),
        r ? std::string(detail) : std::string(detail) + " failed: " + r.error().message,
        r.has_value());
  if (!r) return error_from(r.error());
  return json_response(200, {{"alarm", alarm_json(*r, x.s.clock.now_ms())}});
}

Response acknowledge_one(const Ctx& x) {
  auto key = single(x, "alarm.ack");
  if (!key) return error_from(key.error());
  if (!x.req.body.empty()) {
    auto body = parse_object(x.req, {});
    if (!body) return std::move(body.error());
  }
  auto r = x.s.alarms->acknowledge({*key}, x.who->user);
  if (!r) return error_from(r.error());
  if (!r->not_found.empty()) {
    return acted(x, "alarm.ack", *key,
                 fail(Errc::not_found, "alarm '" + key_text(*key) + "' is not current"),
                 "acknowledge");
  }
  // Acknowledged (now or before): the alarm as it is, unless that returned it
  // to normal (it was cleared already) and it left the current set.
  auto list = x.s.alarms->current(x.params[0], x.params[1], {.thing = key->thing.full()});
  if (!list) return error_from(list.error());
  const char* detail = r->already ? "already acknowledged" : "acknowledged";
  for (auto& a : *list) {
    if (a.key == *key) return acted(x, "alarm.ack", *key, std::move(a), detail);
  }
  audit(x, x.params[0], "alarm.ack", key_text(*key), "acknowledged; returned to normal", true);
  return json_response(200, {{"alarm", nullptr}, {"removed", true}});
}

Response shelve(const Ctx& x) {
  auto key = single(x, "alarm.shelve");
  if (!key) return error_from(key.error());
  auto body = parse_object(x.req, {"until_ms", "reason"});
  if (!body) return std::move(body.error());
  const auto until = body->find("until_ms");
  if (until == body->end()) {
    return error_response(400, "'until_ms' (expiry of the shelve, unix ms) is required");
  }
  if (!until->is_number_integer()) return error_response(400, "'until_ms' must be an integer");
  const auto until_ms = until->get<std::int64_t>();
  auto reason = string_member(*body, "reason", false, 0, kMaxReasonBytes);
  if (!reason) return error_from(reason.error());
  // Bounds (after now, at most 30 days ahead) are the domain's (nbms::shelve).
  auto r = x.s.alarms->shelve(*key, x.who->user, until_ms, reason->value_or(""));
  return acted(x, "alarm.shelve", *key, r,
               dump({{"until_ms", until_ms}, {"reason", reason->value_or("")}}));
}

Response unshelve(const Ctx& x) {
  auto key = single(x, "alarm.unshelve");
  if (!key) return error_from(key.error());
  if (!x.req.body.empty()) {
    auto body = parse_object(x.req, {});
    if (!body) return std::move(body.error());
  }
  auto r = x.s.alarms->unshelve(*key, x.who->user);
  return acted(x, "alarm.unshelve", *key, r, "unshelved");
}

Response comment(const Ctx& x) {
  auto key = single(x, "alarm.comment");
  if (!key) return error_from(key.error());
  auto body = parse_object(x.req, {"text"});
  if (!body) return std::move(body.error());
  auto text = string_member(*body, "text", true, 1, kMaxCommentBytes);
  if (!text) return error_from(text.error());
  auto r = x.s.alarms->comment(*key, x.who->user, **text);
  return acted(x, "alarm.comment", *key, r, **text);
}

Response health(const Ctx& x) {
  if (auto v = building_of(x, Need::read); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  auto range = range_param(x, *q);
  if (!range) return error_from(range.error());
  if (range->to_ms - range->from_ms > 31 * kDay) {
    return error_response(400, "health range must be at most 31 days");
  }
  const HealthOptions options;
  auto h = x.s.alarms->health(x.params[0], x.params[1], range->from_ms, range->to_ms, options);
  if (!h) return error_from(h.error());
  return json_response(200, health_json(*h, options.bucket_ms, x.s.clock.now_ms()));
}

Response links(const Ctx& x) {
  if (auto v = building_of(x, Need::read); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto all = x.s.alarms->links(x.params[0], x.params[1]);
  if (!all) return error_from(all.error());
  json out = json::array();
  for (const auto& l : *all) out.push_back(link_json(l));
  return json_response(200, {{"links", std::move(out)}});
}

Response link_history(const Ctx& x) {
  if (auto v = building_of(x, Need::read); !v) return error_from(v.error());
  if (!x.s.alarms) return no_alarms();
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  auto range = range_param(x, *q);
  if (!range) return error_from(range.error());
  auto h = x.s.alarms->link_history(x.params[0], x.params[1], range->from_ms, range->to_ms);
  if (!h) return error_from(h.error());
  const auto now = x.s.clock.now_ms();
  json out = json::array();
  for (const auto& t : *h) {
    // A disconnect alarm raised = the link went down; cleared = it came back.
    out.push_back({{"at_ms", t.at_ms},
                   {"thing", t.alarm.key.thing.full()},
                   {"device", t.alarm.device},
                   {"connected", t.kind == TransitionKind::cleared},
                   {"text", t.alarm.text},
                   {"transition", transition_json(t, now)}});
  }
  return json_response(200,
                       {{"from_ms", range->from_ms}, {"to_ms", range->to_ms}, {"changes", out}});
}

}  // namespace

const std::vector<Route>& alarm_routes() {
  static const std::vector<Route> kRoutes{
      {"GET", {"customers", "{}", "buildings", "{}", "alarms"}, list_current},
      {"GET", {"customers", "{}", "buildings", "{}", "alarms", "history"}, history_json},
      {"GET", {"customers", "{}", "buildings", "{}", "alarms", "history.csv"}, history_csv_route},
      {"GET", {"customers", "{}", "buildings", "{}", "alarms", "health"}, health},
      {"POST", {"customers", "{}", "buildings", "{}", "alarms", "ack"}, acknowledge_bulk},
      {"POST",
       {"customers", "{}", "buildings", "{}", "alarms", "{}", "{}", "ack"},
       acknowledge_one},
      {"POST", {"customers", "{}", "buildings", "{}", "alarms", "{}", "{}", "shelve"}, shelve},
      {"POST", {"customers", "{}", "buildings", "{}", "alarms", "{}", "{}", "unshelve"}, unshelve},
      {"POST", {"customers", "{}", "buildings", "{}", "alarms", "{}", "{}", "comments"}, comment},
      {"GET", {"customers", "{}", "buildings", "{}", "links"}, links},
      {"GET", {"customers", "{}", "buildings", "{}", "links", "history"}, link_history},
  };
  return kRoutes;
}

}  // namespace nbms::http
