#pragma once
// The world most http tests build an Api, a Server or a WebSocket channel on:
// the fake ports, a fake clock and a real AuthService over fake user and audit
// stores. A test fixture derives from ::testing::Test and from ApiWorld (or
// AlarmWorld) and adds what it needs (notifications, a hub, provisioning).
// Single-threaded like the tests, except where a Server's threads call in
// through the fakes (which lock).
#include <string>
#include <utility>

#include "fakes.hpp"
#include "http/api.hpp"
#include "nbms/alarms/service.hpp"
#include "unit/alarms/fake_alarm_store.hpp"
#include "unit/auth/fakes.hpp"

namespace nbms::http::testing {

struct ApiWorld {
  FakeRegistry registry;
  FakePointStore points;
  FakeSeriesStore series;
  FakeDeadLetterStore dead;
  FakeClock clock;
  nbms::testing::FakeUserStore users;
  nbms::testing::FakeAuditStore audit;
  auth::AuthService auth{users, audit, clock, auth::AuthOptions{.pbkdf2_iterations = 1000}};

  // The services over these fakes; no hub, health, last-seen nor
  // provisioning, and alarms and notifications only where given.
  Services make_services(alarms::Service* alarms = nullptr,
                         const NotifyServices* notify = nullptr) {
    Services s{registry, points, series, dead, clock, auth, nullptr, {}, {}, nullptr, alarms};
    s.notify = notify;
    return s;
  }

  // One request through a fresh Api, authorised by `token`'s session, from
  // 127.0.0.1; a body without a content type is sent with none.
  static Response request(const Services& services, const std::string& token, std::string method,
                          std::string target, std::string body = "",
                          std::string content_type = "application/json") {
    const Api api(services, ApiOptions{});
    Request req{std::move(method), std::move(target), body.empty() ? "" : std::move(content_type),
                std::move(body)};
    req.authorization = "Bearer " + token;
    req.remote = "127.0.0.1";
    return api.handle(req);
  }
};

// The world with the alarm service on an in-memory alarm store.
struct AlarmWorld : ApiWorld {
  nbms::testing::FakeAlarmStore alarm_store;
  alarms::Service alarms{alarm_store, clock, &points};

  // An MW alarm event stamped 2023-11-14 22:00:00 plus `second`; a clear
  // carries no name nor priority, as the MW sends it.
  static AlarmEvent alarm_event(const ThingName& thing, std::string id, AlarmStatus status,
                                int priority, unsigned second) {
    AlarmEvent e;
    e.thing = thing;
    e.alarm_id = std::move(id);
    e.status = status;
    e.stamp = EventStamp::parse("20231114220000").value();
    e.stamp.seconds += second;
    if (status != AlarmStatus::clear) {
      e.name = "Alarm";
      e.priority = priority;
    }
    return e;
  }
};

}  // namespace nbms::http::testing
