#include "nbms/protocol/codec.hpp"

#include <simdjson.h>
#include <algorithm>

#include <bit>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace nbms::protocol {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kBasicIngestPrefix = "$aws/rules/";
constexpr std::size_t kMaxDepth = 16;

Result<void> check_thing(std::string_view thing) {
  if (auto t = ThingName::parse(thing); !t) return std::unexpected(t.error());
  return {};
}

std::string json_error(simdjson::error_code e) {
  return std::string("not valid JSON: ") + simdjson::error_message(e);
}

// Where a member sits in the message, for error messages ("point_3.msg[0].data").
// Cheap to pass around: the text is built only when there is an error, since
// the per-point code runs for every point of every log.
struct Where {
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t point = kNone;
  std::size_t attr = kNone;

  std::string str() const {
    if (point == kNone) return {};
    std::string p = "point_" + std::to_string(point);
    if (attr != kNone) p += ".msg[" + std::to_string(attr) + "]";
    return p;
  }
  std::string operator+(std::string_view tail) const { return str() + std::string(tail); }
};

std::string path(const Where& parent, std::string_view member) {
  std::string p = parent.str();
  if (!p.empty()) p += '.';
  p += member;
  return p;
}

Result<std::string_view> get_string(dom::object obj, const Where& parent, std::string_view key,
                                    std::size_t max_len, bool required) {
  dom::element e;
  if (obj[key].get(e) != simdjson::SUCCESS) {
    if (!required) return std::string_view{};
    return fail(Errc::malformed, path(parent, key) + ": missing");
  }
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    return fail(Errc::malformed, path(parent, key) + ": must be a string");
  }
  if (s.size() > max_len) {
    return fail(Errc::malformed,
                path(parent, key) + ": longer than " + std::to_string(max_len) + " bytes");
  }
  return s;
}

Result<std::int64_t> get_int(dom::object obj, const Where& parent, std::string_view key,
                             std::int64_t lo, std::int64_t hi) {
  dom::element e;
  if (obj[key].get(e) != simdjson::SUCCESS) {
    return fail(Errc::malformed, path(parent, key) + ": missing");
  }
  std::int64_t v = 0;
  if (e.get_int64().get(v) != simdjson::SUCCESS || v < lo || v > hi) {
    return fail(Errc::malformed, path(parent, key) + ": must be an integer " + std::to_string(lo) +
                                     ".." + std::to_string(hi));
  }
  return v;
}

// Parses `point_<n>` member names; nullopt for other names.
std::optional<std::size_t> point_index(std::string_view key) {
  constexpr std::string_view kPrefix = "point_";
  if (key.size() <= kPrefix.size() || key.substr(0, kPrefix.size()) != kPrefix) return {};
  const auto digits = key.substr(kPrefix.size());
  if (digits == "count") return {};
  if (digits.size() > 1 && digits[0] == '0') return {};  // "point_01" is not an index
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || p != digits.data() + digits.size()) return {};
  return n;
}

// The `point_0 .. point_<count-1>` members of a message, in index order.
Result<std::vector<dom::object>> point_list(dom::object root, std::size_t max_points) {
  auto count = get_int(root, Where{}, "point_count", 0, static_cast<std::int64_t>(max_points));
  if (!count) return std::unexpected(count.error());
  std::vector<dom::object> points(static_cast<std::size_t>(*count));
  std::vector<bool> seen(points.size(), false);
  std::size_t found = 0;
  for (auto field : root) {
    auto idx = point_index(field.key);
    if (!idx) {
      if (field.key.substr(0, 6) == "point_" && field.key != "point_count") {
        return fail(Errc::malformed, std::string(field.key) + ": not a point_<n> member name");
      }
      continue;
    }
    if (*idx >= points.size()) {
      return fail(Errc::malformed, std::string(field.key) + ": index not below point_count " +
                                       std::to_string(points.size()));
    }
    if (seen[*idx]) return fail(Errc::malformed, std::string(field.key) + ": appears twice");
    if (field.value.get_object().get(points[*idx]) != simdjson::SUCCESS) {
      return fail(Errc::malformed, std::string(field.key) + ": must be an object");
    }
    seen[*idx] = true;
    ++found;
  }
  if (found != points.size()) {
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (!seen[i]) {
        return fail(Errc::malformed, "point_count is " + std::to_string(points.size()) +
                                         " but point_" + std::to_string(i) + " is missing");
      }
    }
  }
  return points;
}

Result<LocalMinute> get_time(dom::object root) {
  auto text = get_string(root, Where{}, "time", 64, true);
  if (!text) return std::unexpected(text.error());
  return LocalMinute::parse(*text);
}

// Point ids seen in one message: an open-addressing set of views into the
// parsed document, one allocation per message instead of one per point.
class IdSet {
 public:
  explicit IdSet(std::size_t n) : slots_(std::bit_ceil(2 * n + 1)) {}
  // False if `id` (non-empty) was already inserted.
  bool insert(std::string_view id) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t h = std::hash<std::string_view>{}(id)&mask;; h = (h + 1) & mask) {
      if (slots_[h].data() == nullptr) {
        slots_[h] = id;
        return true;
      }
      if (slots_[h] == id) return false;
    }
  }

 private:
  std::vector<std::string_view> slots_;
};

// The `point_id` of entry `index`: present, valid, and not named before in
// this message (a point named twice makes the message ambiguous).
Result<std::string_view> unique_point_id(dom::object entry, std::size_t index, IdSet& seen) {
  const Where where{index};
  auto id = get_string(entry, where, "point_id", 1024, true);
  if (!id) return id;
  if (auto ok = validate_point_id(*id); !ok) {
    return fail(Errc::malformed, where + ".point_id: " + ok.error().message);
  }
  if (!seen.insert(*id)) {
    return fail(Errc::malformed, where + ".point_id: '" + std::string(*id) + "' appears twice");
  }
  return id;
}

// A measured value as the MW writes it: a number, or true/false (1/0). Outer
// nullopt: some other JSON type; inner nullopt: null (the MW could not read it).
std::optional<std::optional<double>> number_or_null(dom::element data) {
  switch (data.type()) {
    case dom::element_type::INT64:
      return std::optional<double>(static_cast<double>(data.get_int64().value_unsafe()));
    case dom::element_type::UINT64:
      return std::optional<double>(static_cast<double>(data.get_uint64().value_unsafe()));
    case dom::element_type::DOUBLE:
      return std::optional<double>(data.get_double().value_unsafe());
    case dom::element_type::BOOL:
      return std::optional<double>(data.get_bool().value_unsafe() ? 1.0 : 0.0);
    case dom::element_type::NULL_VALUE:
      return std::optional<double>();
    default:
      return std::nullopt;
  }
}

// The M_Value of point entry `i` (its `msg` list of {attr_name, data}); nullopt
// when it is null or absent. Shared by periodic_log and realtime, whose entries
// follow the same rules.
Result<std::optional<double>> m_value(dom::object p, std::size_t i) {
  const Where where{i};
  dom::array msg;
  if (dom::element m; p["msg"].get(m) != simdjson::SUCCESS) {
    return fail(Errc::malformed, where + ".msg: missing");
  } else if (m.get_array().get(msg) != simdjson::SUCCESS) {
    return fail(Errc::malformed, where + ".msg: must be a list");
  }
  std::optional<double> value;
  bool has_value = false;
  std::size_t k = 0;
  for (dom::element attr_el : msg) {
    const Where at{i, k++};
    dom::object attr;
    if (attr_el.get_object().get(attr) != simdjson::SUCCESS) {
      return fail(Errc::malformed, at + ": must be an object");
    }
    std::string_view attr_name;
    if (dom::element n; attr["attr_name"].get(n) != simdjson::SUCCESS) {
      return fail(Errc::malformed, at + ".attr_name: missing");
    } else if (n.get_string().get(attr_name) != simdjson::SUCCESS) {
      return fail(Errc::malformed, at + ".attr_name: must be a string");
    }
    dom::element data;
    if (attr["data"].get(data) != simdjson::SUCCESS) {
      return fail(Errc::malformed, at + ".data: missing");
    }
    if (attr_name != "M_Value") continue;
    if (has_value) return fail(Errc::malformed, at + ": M_Value appears twice");
    has_value = true;
    auto v = number_or_null(data);
    if (!v) {
      return fail(Errc::malformed, at + ".data: M_Value must be a number, boolean or null");
    }
    value = *v;
  }
  return value;
}

}  // namespace

Result<Envelope> parse_topic(std::string_view topic) {
  Envelope env;
  std::string_view rest = topic;
  if (rest.substr(0, kBasicIngestPrefix.size()) == kBasicIngestPrefix) {
    // $aws/rules/Rule_<thing>/<thing>/<point>
    rest.remove_prefix(kBasicIngestPrefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      return fail(Errc::malformed, "basic-ingest topic has no <thing>/<point> after the rule");
    }
    const auto rule = rest.substr(0, slash);
    rest.remove_prefix(slash + 1);
    env.basic_ingest = true;
    const auto thing_end = rest.find('/');
    if (thing_end == std::string_view::npos ||
        rule != "Rule_" + std::string(rest.substr(0, thing_end))) {
      return fail(Errc::malformed, "basic-ingest rule must be Rule_<thing> for the same thing");
    }
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) {
    return fail(Errc::malformed, "topic must be <thing>/<point>");
  }
  env.thing = std::string(rest.substr(0, slash));
  env.point = std::string(rest.substr(slash + 1));
  if (env.thing.empty() || env.point.empty()) {
    return fail(Errc::malformed, "topic must be <thing>/<point> with both parts non-empty");
  }
  if (auto ok = check_thing(env.thing); !ok) return std::unexpected(ok.error());
  return env;
}

Kind kind_of(std::string_view point) {
  if (point == "periodic_log") return Kind::periodic_log;
  if (point == "init") return Kind::init;
  if (point == "delete") return Kind::remove;
  if (point == "timestamp_last") return Kind::timestamp_last;
  if (point == "realtime") return Kind::realtime;
  if (point == "control_result") return Kind::control_result;
  if (point == "alarm") return Kind::alarm;
  if (point == "disconnect") return Kind::disconnect;
  if (point == "schedule" || point == "calendar") {
    return Kind::reserved;
  }
  return Kind::unknown;
}

namespace {

struct DuplicateMember {
  std::string path;  // where the object is, e.g. "point_0.msg[0]"; empty at the root
  std::string_view key;
};

std::string join_path(std::string head, const std::string& tail) {
  if (tail.empty()) return head;
  return head + (tail.front() == '[' ? "" : ".") + tail;
}

// The first member name repeated within one object, anywhere in the document.
// JSON leaves the meaning of duplicates open and simdjson keeps both, so a
// message that says two things (two times, two results) is refused instead of
// silently taking one. `keys` is scratch space reused across calls.
std::optional<DuplicateMember> duplicate_member(dom::element e,
                                                std::vector<std::string_view>& keys) {
  if (e.type() == dom::element_type::ARRAY) {
    std::size_t i = 0;
    for (dom::element child : dom::array(e)) {
      if (auto d = duplicate_member(child, keys)) {
        std::string index = "[";  // not "[" + ...: g++ 12's false -Wrestrict
        index.append(std::to_string(i)).push_back(']');
        d->path = join_path(index, d->path);
        return d;
      }
      ++i;
    }
    return std::nullopt;
  }
  if (e.type() != dom::element_type::OBJECT) return std::nullopt;
  const dom::object obj(e);
  const std::size_t start = keys.size();
  for (auto field : obj) keys.push_back(field.key);
  const auto first = keys.begin() + static_cast<std::ptrdiff_t>(start);
  std::sort(first, keys.end());
  const auto twice = std::adjacent_find(first, keys.end());
  if (twice != keys.end()) {
    DuplicateMember d{{}, *twice};
    keys.resize(start);
    return d;
  }
  keys.resize(start);
  for (auto field : obj) {
    if (auto d = duplicate_member(field.value, keys)) {
      d->path = join_path(std::string(field.key), d->path);
      return d;
    }
  }
  return std::nullopt;
}

}  // namespace

struct Decoder::Impl {
  DecodeLimits limits;
  dom::parser parser;
  std::vector<std::string_view> keys;  // scratch for duplicate_member

  // Parses the payload into the root object and checks `msg_type`.
  Result<dom::object> root(std::string_view payload, std::string_view msg_type) {
    // An empty view may have a null data(), which simdjson would hand to memcpy
    // (undefined behaviour even for 0 bytes); it is no JSON object anyway.
    if (payload.empty()) return fail(Errc::malformed, "not valid JSON: the payload is empty");
    dom::element doc;
    if (auto e = parser.parse(payload.data(), payload.size()).get(doc); e != simdjson::SUCCESS) {
      return fail(Errc::malformed, json_error(e));
    }
    dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
      return fail(Errc::malformed, "payload must be a JSON object");
    }
    if (auto d = duplicate_member(doc, keys)) {
      return fail(Errc::malformed, (d->path.empty() ? "" : d->path + ": ") + "member '" +
                                       std::string(d->key) + "' appears twice");
    }
    auto type = get_string(obj, Where{}, "msg_type", 64, true);
    if (!type) return std::unexpected(type.error());
    if (*type != msg_type) {
      return fail(Errc::malformed, "msg_type is '" + std::string(*type) + "', expected '" +
                                       std::string(msg_type) + "'");
    }
    return obj;
  }
};

Decoder::Decoder(DecodeLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  // Depth bound: a MW message nests 4 levels; refuse deep nesting early.
  if (impl_->parser.allocate(1 << 16, kMaxDepth) != simdjson::SUCCESS) throw std::bad_alloc();
}

Decoder::~Decoder() = default;

Result<PeriodicLog> Decoder::periodic_log(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Periodic_Log");
  if (!root) return std::unexpected(root.error());
  auto time = get_time(*root);
  if (!time) return std::unexpected(time.error());
  auto points = point_list(*root, impl_->limits.max_points);
  if (!points) return std::unexpected(points.error());

  PeriodicLog log;
  log.thing = thing;
  log.time = *time;
  log.values.reserve(points->size());
  IdSet ids(points->size());
  for (std::size_t i = 0; i < points->size(); ++i) {
    const dom::object p = (*points)[i];
    auto id = unique_point_id(p, i, ids);
    if (!id) return std::unexpected(id.error());
    auto period = get_int(p, Where{i}, "period", 1, 1440);
    if (!period) return std::unexpected(period.error());
    if (i == 0) log.period_minutes = static_cast<int>(*period);
    auto value = m_value(p, i);
    if (!value) return std::unexpected(value.error());
    if (*value) {
      log.values.push_back(PointValue{std::string(*id), **value});
    } else {
      ++log.missing;
    }
  }
  return log;
}

Result<InitMessage> Decoder::init(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Init");
  if (!root) return std::unexpected(root.error());
  auto time = get_time(*root);
  if (!time) return std::unexpected(time.error());
  auto points = point_list(*root, impl_->limits.max_points);
  if (!points) return std::unexpected(points.error());

  InitMessage out;
  out.time = *time;
  out.points.reserve(points->size());
  IdSet ids(points->size());
  const std::string thing_name = thing.full();
  for (std::size_t i = 0; i < points->size(); ++i) {
    const dom::object p = (*points)[i];
    const Where where{i};
    PointInfo info;
    auto id = unique_point_id(p, i, ids);
    if (!id) return std::unexpected(id.error());
    auto type = get_string(p, where, "object_type", 16, true);
    if (!type) return std::unexpected(type.error());
    if (type->empty() ||
        type->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string_view::npos) {
      return fail(Errc::malformed, where + ".object_type: must be 1..16 upper-case letters");
    }
    auto name = get_string(p, where, "name", 200, false);
    auto equipment = get_string(p, where, "Point_Info", 500, false);
    auto location = get_string(p, where, "Point_Location", 500, false);
    auto unit = get_string(p, where, "Point_Unit", 64, false);
    for (const auto* r : {&name, &equipment, &location, &unit}) {
      if (!*r) return std::unexpected(r->error());
    }
    bool writable = false;
    if (dom::element w; p["writable"].get(w) == simdjson::SUCCESS) {
      if (w.get_bool().get(writable) != simdjson::SUCCESS) {
        return fail(Errc::malformed, where + ".writable: must be true or false");
      }
    }
    info.point_id = std::string(*id);
    info.thing = thing_name;
    info.object_type = std::string(*type);
    if (name->empty()) {
      const auto colon = id->find(':');
      info.name = std::string(colon == std::string_view::npos ? *id : id->substr(colon + 1));
    } else {
      info.name = std::string(*name);
    }
    info.equipment = std::string(*equipment);
    info.location = std::string(*location);
    info.unit = std::string(*unit);
    info.writable = writable;
    info.declared = true;
    out.points.push_back(std::move(info));
  }
  return out;
}

Result<DeleteMessage> Decoder::remove(std::string_view payload) {
  auto root = impl_->root(payload, "Delete");
  if (!root) return std::unexpected(root.error());
  auto time = get_time(*root);
  if (!time) return std::unexpected(time.error());
  auto points = point_list(*root, impl_->limits.max_points);
  if (!points) return std::unexpected(points.error());
  DeleteMessage out;
  out.time = *time;
  IdSet ids(points->size());
  for (std::size_t i = 0; i < points->size(); ++i) {
    auto id = unique_point_id((*points)[i], i, ids);
    if (!id) return std::unexpected(id.error());
    out.point_ids.emplace_back(*id);
  }
  return out;
}

Result<TimestampLastRequest> Decoder::timestamp_last(std::string_view payload) {
  auto root = impl_->root(payload, "Timestamp_Last");
  if (!root) return std::unexpected(root.error());
  auto id = get_string(*root, Where{}, "request_id", 64, false);
  if (!id) return std::unexpected(id.error());
  return TimestampLastRequest{std::string(*id)};
}

Result<RealtimeUpdate> Decoder::realtime(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Realtime");
  if (!root) return std::unexpected(root.error());
  // Checked though not kept: received_ms (nbmsd's clock) orders live values, the
  // MW's minute-resolution time adds nothing, but a bad one is a broken MW.
  if (auto time = get_time(*root); !time) return std::unexpected(time.error());
  auto points = point_list(*root, impl_->limits.max_points);
  if (!points) return std::unexpected(points.error());

  RealtimeUpdate out;
  out.thing = thing;
  out.values.reserve(points->size());
  IdSet ids(points->size());
  for (std::size_t i = 0; i < points->size(); ++i) {
    const dom::object p = (*points)[i];
    auto id = unique_point_id(p, i, ids);
    if (!id) return std::unexpected(id.error());
    auto value = m_value(p, i);
    if (!value) return std::unexpected(value.error());
    if (*value) out.values.push_back(PointValue{std::string(*id), **value});
  }
  return out;
}

Result<ControlResult> Decoder::control_result(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Control_Result");
  if (!root) return std::unexpected(root.error());
  ControlResult out;
  out.thing = thing;

  auto request_id = get_string(*root, Where{}, "request_id", 64, true);
  if (!request_id) return std::unexpected(request_id.error());
  if (request_id->empty()) return fail(Errc::malformed, "request_id: must be 1..64 bytes");
  out.request_id = std::string(*request_id);

  auto point_id = get_string(*root, Where{}, "point_id", 1024, true);
  if (!point_id) return std::unexpected(point_id.error());
  if (auto ok = validate_point_id(*point_id); !ok) {
    return fail(Errc::malformed, "point_id: " + ok.error().message);
  }
  out.point_id = std::string(*point_id);

  auto result = get_string(*root, Where{}, "result", 64, true);
  if (!result) return std::unexpected(result.error());
  if (*result == "accepted") {
    out.accepted = true;
  } else if (*result != "failed") {
    return fail(Errc::malformed, "result: must be 'accepted' or 'failed'");
  }

  if (dom::element v; (*root)["value"].get(v) == simdjson::SUCCESS) {
    auto value = number_or_null(v);
    if (!value) return fail(Errc::malformed, "value: must be a number, boolean or null");
    out.value = *value;
  }

  auto message = get_string(*root, Where{}, "message", 500, false);
  if (!message) return std::unexpected(message.error());
  out.message = std::string(*message);
  return out;
}

namespace {

// The alarm/disconnect `time` (seconds, or minutes as elsewhere) and `seq`.
Result<EventStamp> get_stamp(dom::object root) {
  auto text = get_string(root, Where{}, "time", 64, true);
  if (!text) return std::unexpected(text.error());
  std::uint32_t seq = 0;
  if (dom::element e; root["seq"].get(e) == simdjson::SUCCESS) {
    auto v = get_int(root, Where{}, "seq", 0, 0xFFFFFFFFLL);
    if (!v) return std::unexpected(v.error());
    seq = static_cast<std::uint32_t>(*v);
  }
  auto stamp = EventStamp::parse(*text, seq);
  if (!stamp) return fail(Errc::malformed, "time: " + stamp.error().message);
  return stamp;
}

// An optional device name; empty when absent.
Result<std::string_view> get_device(dom::object root) {
  auto device = get_string(root, Where{}, "device", 1024, false);
  if (!device) return device;
  if (!device->empty()) {
    if (auto ok = validate_device(*device); !ok) {
      return fail(Errc::malformed, "device: " + ok.error().message);
    }
  }
  return device;
}

constexpr std::string_view kEventStates[] = {"normal",     "fault",     "offnormal",
                                             "high_limit", "low_limit", "life_safety_alarm"};

}  // namespace

Result<AlarmEvent> Decoder::alarm(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Alarm");
  if (!root) return std::unexpected(root.error());
  AlarmEvent out;
  out.thing = thing;

  auto id = get_string(*root, Where{}, "alarm_id", 1024, true);
  if (!id) return std::unexpected(id.error());
  if (auto ok = validate_alarm_id(*id); !ok) {
    return fail(Errc::malformed, "alarm_id: " + ok.error().message);
  }
  out.alarm_id = std::string(*id);

  auto status = get_string(*root, Where{}, "status", 64, true);
  if (!status) return std::unexpected(status.error());
  if (*status == "raise") {
    out.status = AlarmStatus::raise;
  } else if (*status == "update") {
    out.status = AlarmStatus::update;
  } else if (*status == "clear") {
    out.status = AlarmStatus::clear;
  } else {
    return fail(Errc::malformed, "status: must be 'raise', 'update' or 'clear'");
  }
  const bool details_required = out.status != AlarmStatus::clear;

  auto stamp = get_stamp(*root);
  if (!stamp) return std::unexpected(stamp.error());
  out.stamp = *stamp;

  auto point_id = get_string(*root, Where{}, "point_id", 1024, false);
  if (!point_id) return std::unexpected(point_id.error());
  if (!point_id->empty()) {
    if (auto ok = validate_point_id(*point_id); !ok) {
      return fail(Errc::malformed, "point_id: " + ok.error().message);
    }
  }
  out.point_id = std::string(*point_id);

  auto device = get_device(*root);
  if (!device) return std::unexpected(device.error());
  out.device = std::string(*device);

  auto name = get_string(*root, Where{}, "name", 200, details_required);
  if (!name) return std::unexpected(name.error());
  if (details_required && name->empty()) return fail(Errc::malformed, "name: must not be empty");
  out.name = std::string(*name);

  if (dom::element e; (*root)["priority"].get(e) == simdjson::SUCCESS || details_required) {
    auto priority = get_int(*root, Where{}, "priority", 0, 255);
    if (!priority) return std::unexpected(priority.error());
    out.priority = static_cast<int>(*priority);
  }

  auto state = get_string(*root, Where{}, "event_state", 64, false);
  if (!state) return std::unexpected(state.error());
  if (!state->empty() && std::find(std::begin(kEventStates), std::end(kEventStates), *state) ==
                             std::end(kEventStates)) {
    return fail(Errc::malformed,
                "event_state: must be one of normal, fault, offnormal, high_limit, low_limit, "
                "life_safety_alarm");
  }
  out.event_state = std::string(*state);

  auto text = get_string(*root, Where{}, "text", 1000, false);
  if (!text) return std::unexpected(text.error());
  out.text = std::string(*text);
  return out;
}

Result<DisconnectEvent> Decoder::disconnect(const ThingName& thing, std::string_view payload) {
  auto root = impl_->root(payload, "Disconnect");
  if (!root) return std::unexpected(root.error());
  DisconnectEvent out;
  out.thing = thing;

  auto device = get_device(*root);
  if (!device) return std::unexpected(device.error());
  out.device = std::string(*device);

  auto status = get_string(*root, Where{}, "status", 64, true);
  if (!status) return std::unexpected(status.error());
  if (*status == "connected") {
    out.connected = true;
  } else if (*status != "disconnected") {
    return fail(Errc::malformed, "status: must be 'disconnected' or 'connected'");
  }

  if (dom::element e; (*root)["time"].get(e) == simdjson::SUCCESS) {
    auto stamp = get_stamp(*root);
    if (!stamp) return std::unexpected(stamp.error());
    out.stamp = *stamp;
  } else if (dom::element q; (*root)["seq"].get(q) == simdjson::SUCCESS) {
    return fail(Errc::malformed, "seq: given without time");
  }

  auto text = get_string(*root, Where{}, "text", 500, false);
  if (!text) return std::unexpected(text.error());
  out.text = std::string(*text);
  return out;
}

std::string encode_timestamp_last_reply(const TimestampLastRequest& request,
                                        std::optional<LastLog> last) {
  nlohmann::json j{
      {"msg_type", "Timestamp_Last"},
      {"request_id", request.request_id},
      {"time", last ? nlohmann::json(last->time.to_string()) : nlohmann::json(nullptr)},
      {"period", last ? last->period_minutes : 15}};
  return j.dump();
}

namespace {

// Point ids from a browser or a store could hold bytes that are not UTF-8; such
// bytes become U+FFFD rather than an exception or invalid JSON.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string encode_subscribe(std::string_view request_id, const std::vector<std::string>& point_ids,
                             std::int64_t lease_s) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Subscribe";
  j["request_id"] = request_id;
  j["lease"] = lease_s;
  j["point_ids"] = point_ids;
  return dump(j);
}

std::string encode_unsubscribe(const std::vector<std::string>& point_ids) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Unsubscribe";
  j["point_ids"] = point_ids;
  return dump(j);
}

std::string encode_control(std::string_view request_id, std::string_view point_id, double value,
                           int priority) {
  nlohmann::ordered_json j;
  j["msg_type"] = "Control";
  j["request_id"] = request_id;
  j["point_id"] = point_id;
  j["value"] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
  j["priority"] = priority;
  return dump(j);
}

}  // namespace nbms::protocol
