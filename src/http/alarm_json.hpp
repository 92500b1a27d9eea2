#pragma once
// JSON shapes of the alarm records (nbms/core/alarm.hpp), shared by the REST
// routes (routes_alarms.cpp) and the WebSocket alarm feed (ws_alarms.cpp), and
// the CSV form of alarm history. Pure functions.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nbms/core/alarm.hpp"

namespace nbms::http {

// `now_ms` decides the `shelved` flag (a shelve whose expiry passed is not shelved).
nlohmann::json alarm_json(const Alarm& a, std::int64_t now_ms);
nlohmann::json transition_json(const AlarmTransition& t, std::int64_t now_ms);
nlohmann::json link_json(const LinkState& l);
nlohmann::json health_json(const AlarmHealth& h, std::int64_t bucket_ms, std::int64_t now_ms);
std::string_view to_string(AlarmKind k);

// RFC 4180 CSV of transitions, with a header line; every field quoted when it
// holds a comma, quote, CR or LF; a field starting with = + - @ is prefixed
// with ' so that spreadsheets do not run it as a formula.
std::string history_csv(const std::vector<AlarmTransition>& transitions);

}  // namespace nbms::http
