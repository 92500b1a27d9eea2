// Routes over the registry and the stored data: customers, buildings, things,
// points, latest values, history, the overview, health and dead letters.
#include <charconv>
#include <cstdint>
#include <optional>

#include "api_common.hpp"
#include "json_text.hpp"
#include "nbms/core/ids.hpp"
#include "nbms/core/time.hpp"
#include "url.hpp"

namespace nbms::http {
namespace {

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxAddressBytes = 500;
constexpr std::uint32_t kMaxHistoryDays = 400;
constexpr std::size_t kDefaultDeadLetterLimit = 100;
constexpr std::size_t kMaxDeadLetterLimit = 1000;

Response get_health(const Ctx& x) {
  if (!x.s.health) return json_response(200, {{"status", "ok"}});
  return json_response(200, x.s.health());
}

Response list_customers(const Ctx& x) {
  auto all = x.s.registry.customers();
  if (!all) return error_from(all.error());
  std::erase_if(*all, [&](const Customer& c) { return !x.who->can_read(c.id); });
  return json_response(200, {{"customers", array_of(*all)}});
}

Response create_customer(const Ctx& x) {
  auto body = parse_object(x.req, {"id", "name"});
  if (!body) return std::move(body.error());
  auto id = string_member(*body, "id", true, 0, SIZE_MAX);
  if (!id) return error_from(id.error());
  if (auto v = validate_customer_id(**id); !v) return error_from(v.error());
  auto name = string_member(*body, "name", true, 1, kMaxNameBytes);
  if (!name) return error_from(name.error());
  const Customer c{**id, **name, x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_customer(c); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "customer '" + c.id + "' already exists");
    }
    return error_from(r.error());
  }
  audit(x, c.id, "customer.create", c.id, c.name, true);
  auto res = json_response(201, to_json(c));
  res.headers.emplace_back("Location", "/api/v1/customers/" + percent_encode(c.id));
  return res;
}

Response get_customer(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = check_customer(x, c); !v) return error_from(v.error());
  auto got = x.s.registry.customer(c);
  if (!got) return error_from(got.error());
  return json_response(200, to_json(*got));
}

Response list_buildings(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = check_customer(x, c); !v) return error_from(v.error());
  auto all = x.s.registry.buildings(c);
  if (!all) return error_from(all.error());
  return json_response(200, {{"buildings", array_of(*all)}});
}

Response create_building(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = allow(x, c, Need::operate); !v) return error_from(v.error());
  auto body = parse_object(x.req, {"id", "name", "address"});
  if (!body) return std::move(body.error());
  auto id = string_member(*body, "id", true, 0, SIZE_MAX);
  if (!id) return error_from(id.error());
  if (auto v = validate_building_id(**id); !v) return error_from(v.error());
  auto name = string_member(*body, "name", true, 1, kMaxNameBytes);
  if (!name) return error_from(name.error());
  auto address = string_member(*body, "address", false, 0, kMaxAddressBytes);
  if (!address) return error_from(address.error());
  if (auto v = check_customer(x, c, Need::operate); !v) return error_from(v.error());
  const Building b{c, **id, **name, address->value_or(""), x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_building(b); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "building '" + c + "/" + b.id + "' already exists");
    }
    return error_from(r.error());
  }
  audit(x, c, "building.create", c + "/" + b.id, b.name, true);
  auto res = json_response(201, to_json(b));
  res.headers.emplace_back(
      "Location", "/api/v1/customers/" + percent_encode(c) + "/buildings/" + percent_encode(b.id));
  return res;
}

Response get_building(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = check_building(x, c, b); !v) return error_from(v.error());
  auto got = x.s.registry.building(c, b);
  if (!got) return error_from(got.error());
  return json_response(200, to_json(*got));
}

// GET of a list that belongs to one building: 404 unless the building exists,
// then {"<member>": [...]} from `read(customer, building)`.
template <class Read>
Response building_list(const Ctx& x, const char* member, Read&& read) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = check_building(x, c, b); !v) return error_from(v.error());
  auto all = read(c, b);
  if (!all) return error_from(all.error());
  return json_response(200, {{member, array_of(*all)}});
}

Response list_things(const Ctx& x) {
  return building_list(x, "things",
                       [&](const auto& c, const auto& b) { return x.s.registry.things(c, b); });
}

Response create_thing(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = validate_building_id(b); !v) return error_from(v.error());
  if (auto v = allow(x, c, Need::operate); !v) return error_from(v.error());
  auto body = parse_object(x.req, {"name"});
  if (!body) return std::move(body.error());
  auto name = string_member(*body, "name", true, 0, SIZE_MAX);
  if (!name) return error_from(name.error());
  auto parsed = ThingName::parse(**name);
  if (!parsed) return error_response(400, parsed.error().message);
  if (parsed->customer != c || parsed->building != b) {
    return error_response(400, "thing '" + **name + "' belongs to building '" + parsed->customer +
                                   "/" + parsed->building + "', not '" + c + "/" + b + "'");
  }
  if (auto v = check_building(x, c, b, Need::operate); !v) return error_from(v.error());
  const Thing t{*parsed, x.s.clock.now_ms()};
  if (auto r = x.s.registry.create_thing(t); !r) {
    if (r.error().code == Errc::already_exists) {
      return error_response(409, "thing '" + t.name.full() + "' already exists");
    }
    return error_from(r.error());
  }
  audit(x, c, "thing.create", t.name.full(), "", true);
  return json_response(201, to_json(t));
}

Response list_points(const Ctx& x) {
  return building_list(x, "points",
                       [&](const auto& c, const auto& b) { return x.s.points.points(c, b); });
}

// latest and history write their JSON directly: for 883 points or a month of
// samples, an nlohmann tree costs more than the storage read (docs/performance.md).
// Members in the order dump() gives them (sorted), so the text is unchanged.
Response latest(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  if (auto v = check_building(x, c, b); !v) return error_from(v.error());
  std::string body;
  body.reserve(std::size_t{64} << 10);
  JsonMinutes minutes;
  body += R"({"points":[)";
  bool any = false;
  auto visited = x.s.series.visit_latest(c, b, [&](const SeriesStore::LatestView& v) {
    body += R"({"point_id":)";
    append_json_string(body, v.point_id);
    body += R"(,"time":)";
    minutes.append(body, v.time);
    body += R"(,"value":)";
    append_json_number(body, v.value);
    body += "},";
    any = true;
  });
  if (!visited) return error_from(visited.error());
  if (any) body.pop_back();
  body += "]}";
  return json_text_response(200, std::move(body));
}

Result<LocalMinute> time_param(const Query& q, const char* name) {
  const auto text = q.get(name);
  if (!text) {
    return fail(Errc::invalid_argument,
                std::string("query parameter '") + name + "' (YYYYMMDDhhmm) is required");
  }
  auto t = LocalMinute::parse(*text);
  if (!t) return fail(Errc::invalid_argument, std::string(name) + ": " + t.error().message);
  return t;
}

Response history(const Ctx& x) {
  const auto& c = x.params[0];
  const auto& b = x.params[1];
  const auto& point = x.params[2];
  if (auto v = validate_customer_id(c); !v) return error_from(v.error());
  if (auto v = validate_building_id(b); !v) return error_from(v.error());
  if (auto v = validate_point_id(point); !v) return error_response(400, v.error().message);
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  auto from = time_param(*q, "from");
  if (!from) return error_from(from.error());
  auto to = time_param(*q, "to");
  if (!to) return error_from(to.error());
  if (*from > *to) return error_response(400, "'from' must not be after 'to'");
  if (to->minutes() - from->minutes() > kMaxHistoryDays * 1440) {
    return error_response(
        400, "range from..to must be at most " + std::to_string(kMaxHistoryDays) + " days");
  }
  if (auto v = check_building(x, c, b); !v) return error_from(v.error());
  auto samples = x.s.series.history(c, b, point, *from, *to);
  if (!samples) return error_from(samples.error());
  std::string body;
  body.reserve(128 + samples->size() * 40);
  JsonMinutes minutes;
  body += R"({"from":)";
  minutes.append(body, *from);
  body += R"(,"point_id":)";
  append_json_string(body, point);
  body += R"(,"samples":[)";
  for (const auto& s : *samples) {
    body += R"({"time":)";
    minutes.append(body, s.time);
    body += R"(,"value":)";
    append_json_number(body, s.value);
    body += "},";
  }
  if (!samples->empty()) body.pop_back();
  body += R"(],"to":)";
  minutes.append(body, *to);
  body += '}';
  return json_text_response(200, std::move(body));
}

Response dead_letters(const Ctx& x) {
  auto q = Query::parse(x.query);
  if (!q) return error_from(q.error());
  std::size_t limit = kDefaultDeadLetterLimit;
  if (const auto text = q->get("limit")) {
    std::size_t n = 0;
    const auto* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, n);
    if (text->empty() || ec != std::errc() || ptr != end || n < 1 || n > kMaxDeadLetterLimit) {
      return error_response(400,
                            "'limit' must be an integer 1.." + std::to_string(kMaxDeadLetterLimit));
    }
    limit = n;
  }
  auto all = x.s.dead_letters.dead_letters(limit);
  if (!all) return error_from(all.error());
  return json_response(200, {{"dead_letters", array_of(*all)}});
}

// A thing is online when a message arrived within two periods of its periodic
// log plus a minute of slack for the broker and clocks.
std::string_view thing_state(std::optional<std::int64_t> last_seen_ms,
                             const std::optional<LastLog>& last, std::int64_t now_ms) {
  if (!last_seen_ms) return "unknown";
  const std::int64_t period_ms = std::int64_t{last ? last->period_minutes : 15} * 60'000;
  return now_ms - *last_seen_ms <= 2 * period_ms + 60'000 ? "online" : "offline";
}

Response overview(const Ctx& x) {
  const auto& c = x.params[0];
  if (auto v = check_customer(x, c); !v) return error_from(v.error());
  auto customer = x.s.registry.customer(c);
  if (!customer) return error_from(customer.error());
  auto buildings = x.s.registry.buildings(c);
  if (!buildings) return error_from(buildings.error());
  const std::int64_t now = x.s.clock.now_ms();
  json out_buildings = json::array();
  for (const auto& b : *buildings) {
    auto points = x.s.points.points(c, b.id);
    if (!points) return error_from(points.error());
    auto things = x.s.registry.things(c, b.id);
    if (!things) return error_from(things.error());
    json out_things = json::array();
    std::optional<LocalMinute> newest;
    for (const auto& t : *things) {
      auto last = x.s.series.last_log(t.name);
      if (!last) return error_from(last.error());
      const auto seen = x.s.last_seen ? x.s.last_seen(t.name.full()) : std::nullopt;
      if (*last && (!newest || (*last)->time > *newest)) newest = (*last)->time;
      out_things.push_back({{"name", t.name.full()},
                            {"state", thing_state(seen, *last, now)},
                            {"last_seen_ms", seen ? json(*seen) : json(nullptr)},
                            {"last_log", *last ? json((*last)->time.to_string()) : json(nullptr)}});
    }
    out_buildings.push_back({{"id", b.id},
                             {"name", b.name},
                             {"address", b.address},
                             {"points", points->size()},
                             {"last_data", newest ? json(newest->to_string()) : json(nullptr)},
                             {"things", std::move(out_things)}});
  }
  return json_response(200, {{"customer", to_json(*customer)}, {"buildings", out_buildings}});
}

}  // namespace

const std::vector<Route>& data_routes() {
  static const std::vector<Route> kRoutes{
      {"GET", {"health"}, get_health, Access::admin},
      {"GET", {"customers"}, list_customers},
      {"POST", {"customers"}, create_customer, Access::admin},
      {"GET", {"customers", "{}"}, get_customer},
      {"GET", {"customers", "{}", "overview"}, overview},
      {"GET", {"customers", "{}", "buildings"}, list_buildings},
      {"POST", {"customers", "{}", "buildings"}, create_building},
      {"GET", {"customers", "{}", "buildings", "{}"}, get_building},
      {"GET", {"customers", "{}", "buildings", "{}", "things"}, list_things},
      {"POST", {"customers", "{}", "buildings", "{}", "things"}, create_thing},
      {"GET", {"customers", "{}", "buildings", "{}", "points"}, list_points},
      {"GET", {"customers", "{}", "buildings", "{}", "latest"}, latest},
      {"GET", {"customers", "{}", "buildings", "{}", "points", "{}", "history"}, history},
      {"GET", {"dead-letters"}, dead_letters, Access::admin},
  };
  return kRoutes;
}

}  // namespace nbms::http
