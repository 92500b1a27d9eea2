// Malformed MW payloads (issue 6 §2), table-driven against the real Mosquitto
// and nbmsd. Each row is published (QoS 1) between two good periodic_logs of
// the same registered thing; it must be dead-lettered with its reason
// (docs/mw-protocol.md, Rejections), counted per reason in health, and leave
// the good logs around it stored and nbmsd running.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "integration/fixture.hpp"

namespace nbms::it {
namespace {

constexpr const char* kGood = "01.0.AV-101:01_Elec";  // the point of the good logs
constexpr const char* kBad = "99.AI-1:Bad_Point";     // the point the malformed rows name
// The malformed rows' time, far from the good logs' so that one wrongly
// accepted cannot be mistaken for a good log.
constexpr const char* kBadTime = "202001011200";
constexpr std::size_t kMaxMessageBytes = std::size_t{4} << 20;  // mqtt.max_message_bytes default
constexpr std::size_t kDeadLetterPayloadBytes = 4096;  // "first 4 KiB" (docs/mw-protocol.md)

struct Case {
  std::string name;
  std::string point;    // the topic's <point>: the message type
  std::string payload;  // bytes as published
  std::string reason;   // expected reason code
  std::string detail;   // the reason text must contain this ("": not checked)
};

// ---- well-formed messages the rows break ---------------------------------------

Json bad_log() {
  return {{"msg_type", "Periodic_Log"},
          {"time", kBadTime},
          {"point_count", 1},
          {"point_0",
           {{"point_id", kBad},
            {"period", 15},
            {"msg", Json::array({{{"attr_name", "M_Value"}, {"data", 1.5}}})}}}};
}

Json bad_init() {
  return {{"msg_type", "Init"},
          {"time", kBadTime},
          {"point_count", 1},
          {"point_0",
           {{"point_id", kBad},
            {"object_type", "AI"},
            {"name", "Bad_Point"},
            {"Point_Info", "AHU/AHU_0099/BAD"},
            {"Point_Location", "Roof"},
            {"Point_Unit", "degC"},
            {"writable", false}}}};
}

Json bad_delete() {
  return {{"msg_type", "Delete"},
          {"time", kBadTime},
          {"point_count", 1},
          {"point_0", {{"point_id", kBad}}}};
}

Json bad_realtime() {
  return {
      {"msg_type", "Realtime"},
      {"time", kBadTime},
      {"point_count", 1},
      {"point_0",
       {{"point_id", kBad}, {"msg", Json::array({{{"attr_name", "M_Value"}, {"data", 16.2}}})}}}};
}

Json bad_control_result() {
  return {{"msg_type", "Control_Result"},
          {"request_id", "5f2c9a0e1b7d4c33-18"},
          {"point_id", kBad},
          {"result", "accepted"},
          {"value", 17.5},
          {"message", "written"}};
}

// `base` with the member at `pointer` replaced by the raw JSON text `raw`
// (which need not be JSON, nor UTF-8).
std::string with_raw(Json base, const std::string& pointer, const std::string& raw) {
  const std::string marker = "@@raw-member@@";
  base[Json::json_pointer(pointer)] = marker;
  std::string text = base.dump();
  const auto at = text.find('"' + marker + '"');
  text.replace(at, marker.size() + 2, raw);
  return text;
}

std::string with_value(Json base, const std::string& pointer, const Json& value) {
  base[Json::json_pointer(pointer)] = value;
  return base.dump();
}

// What the dead-letter API shows of `payload`: the first 4 KiB, with bytes that
// are not UTF-8 replaced (the API's JSON is always UTF-8).
std::string shown(const std::string& payload) {
  const Json j = payload.substr(0, kDeadLetterPayloadBytes);
  return Json::parse(j.dump(-1, ' ', false, Json::error_handler_t::replace)).get<std::string>();
}

// ---- the table -------------------------------------------------------------------

// Every member of every MW → nbmsd message, set to each JSON type it must not have.
void add_wrong_types(std::vector<Case>& out) {
  const Json null_v = nullptr;
  const std::vector<Json> not_string{1, 2.5, true, null_v, Json::array(), Json::object()};
  const std::vector<Json> not_int{"15", 15.5, true, null_v, Json::array({15}), Json::object()};
  const std::vector<Json> not_object{"{}", 1, true, null_v, Json::array()};
  const std::vector<Json> not_list{"M_Value", 1, true, null_v, Json::object()};
  const std::vector<Json> not_bool{"false", 0, 1, null_v, Json::array(), Json::object()};
  const std::vector<Json> not_value{"16.2", Json::array(), Json::array({16.2}),
                                    Json::object({{"value", 16.2}})};

  struct Member {
    std::string pointer;
    const std::vector<Json>* wrong;
    std::string detail;
  };
  const std::string count_detail = "point_count: must be an integer 0..20000";
  const std::vector<Member> common{
      {"/msg_type", &not_string, "msg_type: must be a string"},
      {"/time", &not_string, "time: must be a string"},
      {"/point_count", &not_int, count_detail},
      {"/point_0", &not_object, "point_0: must be an object"},
      {"/point_0/point_id", &not_string, "point_0.point_id: must be a string"},
  };
  const std::vector<Member> entry_msg{
      {"/point_0/msg", &not_list, "point_0.msg: must be a list"},
      {"/point_0/msg/0", &not_object, "point_0.msg[0]: must be an object"},
      {"/point_0/msg/0/attr_name", &not_string, "point_0.msg[0].attr_name: must be a string"},
      {"/point_0/msg/0/data", &not_value,
       "point_0.msg[0].data: M_Value must be a number, boolean or null"},
  };
  auto concat = [](std::vector<Member> a, const std::vector<Member>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };

  struct Message {
    std::string point;
    Json base;
    std::vector<Member> members;
  };
  const std::vector<Message> messages{
      {"periodic_log", bad_log(),
       concat(concat(common,
                     {{"/point_0/period", &not_int, "point_0.period: must be an integer 1..1440"}}),
              entry_msg)},
      {"init", bad_init(),
       concat(
           common,
           {
               {"/point_0/object_type", &not_string, "point_0.object_type: must be a string"},
               {"/point_0/name", &not_string, "point_0.name: must be a string"},
               {"/point_0/Point_Info", &not_string, "point_0.Point_Info: must be a string"},
               {"/point_0/Point_Location", &not_string, "point_0.Point_Location: must be a string"},
               {"/point_0/Point_Unit", &not_string, "point_0.Point_Unit: must be a string"},
               {"/point_0/writable", &not_bool, "point_0.writable: must be true or false"},
           })},
      {"delete", bad_delete(), common},
      {"realtime", bad_realtime(), concat(common, entry_msg)},
      {"control_result",
       bad_control_result(),
       {
           {"/msg_type", &not_string, "msg_type: must be a string"},
           {"/request_id", &not_string, "request_id: must be a string"},
           {"/point_id", &not_string, "point_id: must be a string"},
           {"/result", &not_string, "result: must be a string"},
           {"/value", &not_value, "value: must be a number, boolean or null"},
           {"/message", &not_string, "message: must be a string"},
       }},
  };
  for (const auto& m : messages) {
    for (const auto& member : m.members) {
      for (const auto& wrong : *member.wrong) {
        out.push_back({m.point + " " + member.pointer + " = " + wrong.dump(), m.point,
                       with_value(m.base, member.pointer, wrong), "malformed", member.detail});
      }
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::string not_json = "not valid JSON";
  auto add = [&](std::string name, std::string point, std::string payload, std::string reason,
                 std::string detail) {
    out.push_back({std::move(name), std::move(point), std::move(payload), std::move(reason),
                   std::move(detail)});
  };
  auto malformed = [&](std::string name, std::string point, std::string payload,
                       std::string detail) {
    add(std::move(name), std::move(point), std::move(payload), "malformed", std::move(detail));
  };

  // Truncated JSON.
  const std::string log = bad_log().dump();
  malformed("truncated: '{'", "periodic_log", "{", not_json);
  malformed("truncated: half a log", "periodic_log", log.substr(0, log.size() / 2), not_json);
  malformed("truncated: log without its last '}'", "periodic_log", log.substr(0, log.size() - 1),
            not_json);
  malformed("truncated: inside a string", "periodic_log", log.substr(0, log.find(kBad) + 5),
            not_json);
  malformed("truncated: after a key", "periodic_log", log.substr(0, log.find("\"time\":") + 7),
            not_json);
  const std::string init = bad_init().dump();
  malformed("truncated: init", "init", init.substr(0, init.size() - 3), not_json);
  const std::string del = bad_delete().dump();
  malformed("truncated: delete", "delete", del.substr(0, del.size() - 2), not_json);
  const std::string rt = bad_realtime().dump();
  malformed("truncated: realtime", "realtime", rt.substr(0, rt.size() - 1), not_json);
  const std::string cr = bad_control_result().dump();
  malformed("truncated: control_result", "control_result", cr.substr(0, cr.size() / 2), not_json);

  // Wrong types for every member.
  add_wrong_types(out);

  // NaN and Infinity are not JSON.
  for (const std::string lit : {"NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"}) {
    malformed("periodic_log data = " + lit, "periodic_log",
              with_raw(bad_log(), "/point_0/msg/0/data", lit), not_json);
  }
  malformed("periodic_log period = NaN", "periodic_log",
            with_raw(bad_log(), "/point_0/period", "NaN"), not_json);
  malformed("periodic_log point_count = Infinity", "periodic_log",
            with_raw(bad_log(), "/point_count", "Infinity"), not_json);
  malformed("realtime data = -Infinity", "realtime",
            with_raw(bad_realtime(), "/point_0/msg/0/data", "-Infinity"), not_json);
  malformed("realtime data = NaN", "realtime",
            with_raw(bad_realtime(), "/point_0/msg/0/data", "NaN"), not_json);
  malformed("control_result value = NaN", "control_result",
            with_raw(bad_control_result(), "/value", "NaN"), not_json);
  malformed("control_result value = Infinity", "control_result",
            with_raw(bad_control_result(), "/value", "Infinity"), not_json);

  // Numbers beyond double (1e400) or beyond 64-bit integers (20 digits).
  for (const std::string num : {"1e400", "-1e400", "2e308", "99999999999999999999",
                                "-12345678901234567890", "123456789012345678901234567890"}) {
    malformed("periodic_log data = " + num, "periodic_log",
              with_raw(bad_log(), "/point_0/msg/0/data", num), not_json);
  }
  malformed("realtime data = 1e400", "realtime",
            with_raw(bad_realtime(), "/point_0/msg/0/data", "1e400"), not_json);
  malformed("control_result value = -1e400", "control_result",
            with_raw(bad_control_result(), "/value", "-1e400"), not_json);
  malformed("init point_count = 1e400", "init", with_raw(bad_init(), "/point_count", "1e400"),
            not_json);
  // 20 digits that fit a uint64 but no int64, where an integer is expected.
  malformed("periodic_log period = 12345678901234567890", "periodic_log",
            with_raw(bad_log(), "/point_0/period", "12345678901234567890"),
            "point_0.period: must be an integer 1..1440");
  malformed("periodic_log point_count = 18446744073709551615", "periodic_log",
            with_raw(bad_log(), "/point_count", "18446744073709551615"),
            "point_count: must be an integer 0..20000");
  malformed("delete point_count = 10000000000000000000", "delete",
            with_raw(bad_delete(), "/point_count", "10000000000000000000"),
            "point_count: must be an integer 0..20000");
  malformed("realtime point_count = -9223372036854775809", "realtime",
            with_raw(bad_realtime(), "/point_count", "-9223372036854775809"), not_json);

  // Deep nesting (the decoder's depth limit is 16).
  malformed("100,000 '['", "periodic_log", std::string(100'000, '['), not_json);
  malformed("100,000 '[' closed", "periodic_log",
            std::string(100'000, '[') + std::string(100'000, ']'), not_json);
  {
    std::string nested;
    for (int i = 0; i < 100'000; ++i) nested += R"({"a":)";
    nested += "1" + std::string(100'000, '}');
    malformed("100,000 nested objects in an ignored member", "periodic_log",
              with_raw(bad_log(), "/extra", nested), not_json);
  }
  malformed("100,000 '[' as data", "periodic_log",
            with_raw(bad_log(), "/point_0/msg/0/data", std::string(100'000, '[')), not_json);

  // Invalid UTF-8, in strings and in point ids.
  const std::string not_utf8 = "not valid UTF-8";
  const std::vector<std::pair<std::string, std::string>> bad_bytes{
      {"0xFF", "\xFF"},
      {"lone continuation 0x80", "\x80"},
      {"truncated 3-byte sequence", "\xE2\x82"},
      {"overlong '/'", "\xC0\xAF"},
      {"UTF-16 surrogate", "\xED\xA0\x80"},
      {"beyond U+10FFFF", "\xF4\x90\x80\x80"},
  };
  for (const auto& [what, bytes] : bad_bytes) {
    malformed("periodic_log point_id with " + what, "periodic_log",
              with_raw(bad_log(), "/point_0/point_id", "\"99.AI-1:" + bytes + "Bad\""), not_utf8);
  }
  malformed("init point_id with 0xFF", "init",
            with_raw(bad_init(), "/point_0/point_id", "\"99.AI-1:\xFF\""), not_utf8);
  malformed("delete point_id with 0xC3 0x28", "delete",
            with_raw(bad_delete(), "/point_0/point_id", "\"99.AI-1:\xC3\x28\""), not_utf8);
  malformed("realtime point_id with 0xFE", "realtime",
            with_raw(bad_realtime(), "/point_0/point_id", "\"99.AI-1:\xFE\""), not_utf8);
  malformed("control_result point_id with 0xFF", "control_result",
            with_raw(bad_control_result(), "/point_id", "\"99.AI-1:\xFF\""), not_utf8);
  malformed("msg_type with 0xFF", "periodic_log",
            with_raw(bad_log(), "/msg_type", "\"Periodic_Log\xFF\""), not_utf8);
  malformed("attr_name with 0xC0 0xAF", "periodic_log",
            with_raw(bad_log(), "/point_0/msg/0/attr_name", "\"M_Value\xC0\xAF\""), not_utf8);
  malformed("init Point_Location with 0xED 0xA0 0x80", "init",
            with_raw(bad_init(), "/point_0/Point_Location", "\"Roof\xED\xA0\x80\""), not_utf8);
  malformed("control_result message with 0x80", "control_result",
            with_raw(bad_control_result(), "/message", "\"device \x80 offline\""), not_utf8);
  malformed("ignored member with 0xFF", "periodic_log",
            with_raw(bad_log(), "/firmware", "\"v1.2\xFF\""), not_utf8);
  malformed("member name with 0xFF", "periodic_log", "{\"\xFF\":1," + bad_log().dump().substr(1),
            not_utf8);
  malformed("point_id with a lone surrogate escape", "periodic_log",
            with_raw(bad_log(), "/point_0/point_id", R"("99.AI-1:\ud800")"), not_json);

  // Point ids that are UTF-8 but break the point id rules.
  for (const std::string& id : std::vector<std::string>{
           R"("")", R"("99.AI-1:Temp\u00e9rature")", "\"99.AI-1:Temp\xC3\xA9rature\"",
           R"("99.AI-1:\u0000")", R"("99.AI-1:\u001f")", R"("99.AI-1:\u007f")", R"("99/AI-1")",
           R"("99+AI-1")", R"("99#AI-1")", R"("99.AI-1:\"q\"")", R"("99.AI-1:\\")",
           '"' + std::string(201, 'x') + '"'}) {
    malformed("periodic_log point_id = " + id, "periodic_log",
              with_raw(bad_log(), "/point_0/point_id", id), "point_0.point_id: point_id");
  }
  malformed("control_result point_id = \"a/b\"", "control_result",
            with_raw(bad_control_result(), "/point_id", R"("a/b")"), "point_id: point_id");

  // A byte-order mark, empty and blank payloads, and JSON that is no object.
  malformed("UTF-8 BOM before a log", "periodic_log", "\xEF\xBB\xBF" + log, not_json);
  malformed("UTF-8 BOM before a control_result", "control_result", "\xEF\xBB\xBF" + cr, not_json);
  malformed("empty payload", "periodic_log", "", not_json);
  malformed("empty payload (init)", "init", "", not_json);
  malformed("empty payload (control_result)", "control_result", "", not_json);
  malformed("only whitespace", "periodic_log", " \t\r\n  \n", not_json);
  malformed("only whitespace (realtime)", "realtime", "\n\n", not_json);
  malformed("a NUL byte", "periodic_log", std::string(1, '\0'), not_json);
  malformed("a log followed by garbage", "periodic_log", log + "x", not_json);
  malformed("two logs in one payload", "periodic_log", log + log, not_json);
  for (const std::string& j :
       std::vector<std::string>{"null", "[]", "42", R"("Periodic_Log")", "true", "[" + log + "]"}) {
    malformed("payload " + j.substr(0, 20), "periodic_log", j, "payload must be a JSON object");
  }

  // Duplicate keys. A member named twice anywhere, or a point id named twice,
  // is ambiguous (parsers differ in which one they take) and is refused.
  malformed("duplicate point_0", "periodic_log",
            R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":1,)"
            R"("point_0":{"point_id":"99.AI-1:Bad_Point","period":15,"msg":[]},)"
            R"("point_0":{"point_id":"99.AI-2:Bad_Point","period":15,"msg":[]}})",
            "member 'point_0' appears twice");
  malformed("duplicate point id", "periodic_log",
            R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":2,)"
            R"("point_0":{"point_id":"99.AI-1:Bad_Point","period":15,"msg":[]},)"
            R"("point_1":{"point_id":"99.AI-1:Bad_Point","period":15,"msg":[]}})",
            "point_1.point_id: '99.AI-1:Bad_Point' appears twice");
  malformed("duplicate M_Value", "periodic_log",
            with_raw(bad_log(), "/point_0/msg",
                     R"([{"attr_name":"M_Value","data":1},{"attr_name":"M_Value","data":2}])"),
            "point_0.msg[1]: M_Value appears twice");
  malformed(
      "duplicate point id (delete)", "delete",
      R"({"msg_type":"Delete","time":"202001011200","point_count":2,)"
      R"("point_0":{"point_id":"99.AI-1:Bad_Point"},"point_1":{"point_id":"99.AI-1:Bad_Point"}})",
      "appears twice");
  malformed("duplicate key time", "periodic_log",
            R"({"msg_type":"Periodic_Log","time":"202001011200","time":"202001011215",)"
            R"("point_count":1,"point_0":{"point_id":"99.AI-1:Bad_Point","period":15,)"
            R"("msg":[{"attr_name":"M_Value","data":1}]}})",
            "member 'time' appears twice");
  malformed("duplicate key msg_type", "periodic_log",
            R"({"msg_type":"Periodic_Log","msg_type":"Init","time":"202001011200",)"
            R"("point_count":1,"point_0":{"point_id":"99.AI-1:Bad_Point","period":15,)"
            R"("msg":[{"attr_name":"M_Value","data":1}]}})",
            "member 'msg_type' appears twice");
  malformed("duplicate key point_count", "periodic_log",
            R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":1,"point_count":2,)"
            R"("point_0":{"point_id":"99.AI-1:Bad_Point","period":15,)"
            R"("msg":[{"attr_name":"M_Value","data":1}]}})",
            "member 'point_count' appears twice");
  malformed("duplicate key point_id in one entry", "periodic_log",
            R"({"msg_type":"Periodic_Log","time":"202001011200","point_count":1,)"
            R"("point_0":{"point_id":"99.AI-1:Bad_Point","point_id":"99.AI-2:Bad_Point",)"
            R"("period":15,"msg":[{"attr_name":"M_Value","data":1}]}})",
            "point_0: member 'point_id' appears twice");
  malformed("duplicate key data", "periodic_log",
            with_raw(bad_log(), "/point_0/msg", R"([{"attr_name":"M_Value","data":1,"data":2}])"),
            "point_0.msg[0]: member 'data' appears twice");
  malformed("duplicate key result", "control_result",
            R"({"msg_type":"Control_Result","request_id":"5f2c9a0e1b7d4c33-18",)"
            R"("point_id":"99.AI-1:Bad_Point","result":"accepted","result":"failed"})",
            "member 'result' appears twice");

  // point_count that does not match the point_<n> members.
  {
    Json more = bad_log();
    more["point_count"] = 2;
    malformed("point_count 2, one point", "periodic_log", more.dump(),
              "point_count is 2 but point_1 is missing");
    Json fewer = bad_log();
    fewer["point_1"] = fewer["point_0"];
    fewer["point_1"]["point_id"] = "99.AI-2:Bad_Point";
    malformed("point_count 1, two points", "periodic_log", fewer.dump(),
              "point_1: index not below point_count 1");
    Json zero = bad_log();
    zero["point_count"] = 0;
    malformed("point_count 0, one point", "periodic_log", zero.dump(),
              "point_0: index not below point_count 0");
    Json gap = bad_log();
    gap["point_count"] = 2;
    gap["point_2"] = gap["point_0"];
    gap["point_2"]["point_id"] = "99.AI-3:Bad_Point";
    malformed("point_count 2, point_0 and point_2", "periodic_log", gap.dump(),
              "point_2: index not below point_count 2");
    malformed("point_count -1", "periodic_log", with_value(bad_log(), "/point_count", -1),
              "point_count: must be an integer 0..20000");
    malformed("point_count 20001", "periodic_log", with_value(bad_log(), "/point_count", 20001),
              "point_count: must be an integer 0..20000");
    Json leading_zero = bad_log();
    leading_zero["point_00"] = leading_zero["point_0"];
    leading_zero.erase("point_0");
    malformed("point_00 instead of point_0", "periodic_log", leading_zero.dump(),
              "point_00: not a point_<n> member name");
    malformed("point_count 2, one point (init)", "init", with_value(bad_init(), "/point_count", 2),
              "point_count is 2 but point_1 is missing");
    malformed("point_count 3, one point (delete)", "delete",
              with_value(bad_delete(), "/point_count", 3),
              "point_count is 3 but point_1 is missing");
    malformed("point_count 2, one point (realtime)", "realtime",
              with_value(bad_realtime(), "/point_count", 2),
              "point_count is 2 but point_1 is missing");
    Json rt_fewer = bad_realtime();
    rt_fewer["point_count"] = 0;
    malformed("point_count 0, one point (realtime)", "realtime", rt_fewer.dump(),
              "point_0: index not below point_count 0");
  }

  // Sizes around mqtt.max_message_bytes (4 MiB): a 10 MB log (padded with an
  // ignored member, so it would be stored if the limit were not applied), and
  // text that is not JSON just under and exactly at the limit.
  {
    const std::size_t ten_mb = std::size_t{10} << 20;
    Json padded = bad_log();
    padded["pad"] = "";
    std::string big = padded.dump();
    big.insert(big.find(R"("pad":"")") + 7, ten_mb - big.size(), 'x');
    add("10 MB log", "periodic_log", big, "too_large",
        "payload of " + std::to_string(ten_mb) + " bytes is over the limit of " +
            std::to_string(kMaxMessageBytes));
    std::string garbage(kMaxMessageBytes - 1, 'x');
    garbage[0] = '{';
    malformed("not JSON, 1 byte under the limit", "periodic_log", garbage, not_json);
    malformed("not JSON, exactly at the limit", "init", std::string(kMaxMessageBytes, '~'),
              not_json);
  }
  return out;
}

// ---- the test --------------------------------------------------------------------

class MalformedTest : public NbmsTest {
 protected:
  // The k-th 15-minute slot from 2022-10-01 00:00 (k < 31 * 96).
  static std::string slot(std::size_t k) {
    auto two = [](std::size_t n) { return std::string(n < 10 ? "0" : "") + std::to_string(n); };
    return "202210" + two(1 + k / 96) + two((k % 96) / 4) + two((k % 4) * 15);
  }

  void check(const Case& c, std::size_t row);

  std::uint64_t messages_ = 0;
  Json reasons_before_ = Json::object();  // health.ingest.rejected_by_reason
  std::uint64_t rejected_before_ = 0;
};

void MalformedTest::check(const Case& c, std::size_t row) {
  const std::string log_topic = topic_of(kThing, "periodic_log");
  const std::string t1 = slot(2 * row);
  const std::string t2 = slot(2 * row + 1);
  const double v1 = 2.0 * static_cast<double>(row) + 0.25;
  const double v2 = v1 + 1;

  publish(log_topic, log_message(t1, {{kGood, v1}}));
  publish_raw(topic_of(kThing, c.point), c.payload);
  publish(log_topic, log_message(t2, {{kGood, v2}}));
  messages_ += 3;
  // (d) nbmsd still runs and answers (every health poll is a request).
  ASSERT_TRUE(nbmsd().running()) << "nbmsd died; log tail:\n" << tail_of(nbmsd().log_file(), 20);
  ASSERT_TRUE(messages_reach(messages_));
  ASSERT_TRUE(nbmsd().running()) << "nbmsd died; log tail:\n" << tail_of(nbmsd().log_file(), 20);
  const Json health = nbmsd().health();
  EXPECT_EQ(health["status"], "ok") << health.dump();

  // (b) counted once, under its reason and no other.
  const Json& ingest = health["ingest"];
  const std::uint64_t rejected = ingest["rejected"].get<std::uint64_t>();
  const Json reasons = ingest["rejected_by_reason"];
  EXPECT_EQ(rejected, rejected_before_ + 1) << "not rejected; health: " << health.dump();
  for (const auto& [reason, count] : reasons.items()) {
    const std::uint64_t before = reasons_before_.value(reason, std::uint64_t{0});
    EXPECT_EQ(count.get<std::uint64_t>(), before + (reason == c.reason ? 1 : 0))
        << "rejected_by_reason." << reason << "; health: " << health.dump();
  }
  EXPECT_TRUE(reasons.contains(c.reason)) << health.dump();
  const bool was_rejected = rejected > rejected_before_;
  rejected_before_ = rejected;
  reasons_before_ = reasons;

  // (a) the newest dead letter is this payload, with the expected reason.
  if (was_rejected) {
    const Json dl = get_ok("/api/v1/dead-letters?limit=1");
    ASSERT_TRUE(dl.contains("dead_letters") && dl["dead_letters"].size() == 1) << dl.dump();
    const Json& letter = dl["dead_letters"][0];
    EXPECT_EQ(letter.value("topic", ""), topic_of(kThing, c.point));
    const std::string reason = letter.value("reason", "");
    EXPECT_TRUE(reason.starts_with(c.reason + ": "))
        << "reason '" << reason << "' should start with '" << c.reason << ": '";
    if (!c.detail.empty()) {
      EXPECT_NE(reason.find(c.detail), std::string::npos)
          << "reason '" << reason << "' should contain '" << c.detail << "'";
    }
    const std::string payload = letter.value("payload", "");
    EXPECT_TRUE(payload == shown(c.payload))
        << "dead letter payload (" << payload.size() << " bytes) is not the first "
        << kDeadLetterPayloadBytes << " bytes of the " << c.payload.size()
        << "-byte payload sent; it starts: " << payload.substr(0, 120);
  }

  // (c) both good logs around it are stored.
  EXPECT_EQ(history(kGood, t1, t2), (std::vector<TimedValue>{{t1, v1}, {t2, v2}}));
  const Json last = latest();
  const Json* v = find_point(last, kGood);
  ASSERT_NE(v, nullptr) << last.dump();
  EXPECT_EQ(v->value("time", ""), t2) << v->dump();
  EXPECT_EQ((*v)["value"], v2) << v->dump();
}

TEST_F(MalformedTest, PayloadsAreRejectedBetweenGoodLogs) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  const std::vector<Case> table = cases();
  ASSERT_LE(2 * table.size(), std::size_t{31 * 96});
  for (std::size_t row = 0; row < table.size(); ++row) {
    const Case& c = table[row];
    SCOPED_TRACE("row " + std::to_string(row) + ": " + c.name + " (on " + c.point + ", expect " +
                 c.reason + ")");
    check(c, row);
    // Without a running nbmsd or with messages lost the later rows mean nothing.
    if (HasFatalFailure()) return;
  }

  // Nothing a malformed message named was stored.
  EXPECT_TRUE(history(kBad, "202001010000", "202001312359").empty())
      << "a malformed message was stored (a row above was not rejected)";
  EXPECT_EQ(find_point(points(), kBad), nullptr)
      << "a malformed message was stored (a row above was not rejected)";
  const Json dl = get_ok("/api/v1/dead-letters?limit=1000");
  EXPECT_EQ(dl["dead_letters"].size(), rejected_before_);
  EXPECT_TRUE(nbmsd().running());
}

}  // namespace
}  // namespace nbms::it
