// nbms-mwsim: simulates the middleware boxes (MW) of one building. One MQTT client
// publishes for every simulated thing: `init`, a `timestamp_last` request (and a
// backfill of the 15-minute logs the server lacks), then `periodic_log`s on the
// 15-minute grid of simulated time. It answers nbmsd's commands on each thing's
// command topic: Subscribe / Unsubscribe (realtime streams under a lease) and
// Control (writes a point, answered by a Control_Result). docs/mw-protocol.md is
// the message format.
//
// Threads: Paho's callbacks only push events onto the EventQueue; everything
// else (answering commands, streaming, publishing) runs on the main thread.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarms.hpp"
#include "bundle.hpp"
#include "model.hpp"
#include "nbms/core/ids.hpp"
#include "publisher.hpp"
#include "replay.hpp"

namespace {

using nbms::LocalMinute;
using namespace nbms::mwsim;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "nbms-mwsim";

constexpr const char* kUsage = R"(Usage: nbms-mwsim [options]

Simulates the middleware boxes (MW) of one building over MQTT (docs/mw-protocol.md).
One MQTT client publishes for all things: init, timestamp_last (+ backfill of missing
15-minute logs), then periodic_log every 15 minutes of simulated time. It answers
nbmsd on each thing's command topic: Subscribe streams realtime values of the listed
points until the lease ends, Unsubscribe stops them, Control writes a writable point
and is answered with a Control_Result.

Options:
  --broker URI           MQTT broker (default tcp://127.0.0.1:1883)
  --customer ID          customer id (default C000001)
  --building ID          building id (default B001)
  --building-name NAME   building name used in Point_Location (default "Sim Building <building>")
  --things N             number of MWs, named <customer>_<building>_01.. (default 2)
  --points N             generated points per thing (default 120)
  --seed N               seed: same seed, same point list and values (default 42)
  --speed X              simulated seconds per real second (default 900: one
                         15-minute log per second per thing; 1 = real time)
  --start YYYYMMDDhhmm   simulated start (default: local time now, rounded down
                         to 15 minutes); rounded down to the 15-minute grid
  --count N              stop after N live periodic logs per thing (default 0 =
                         unlimited; backfilled logs are not counted)
  --replay-csv DIR       add the LBNL Building 59 points (tools/data/lbnl_bldg59)
                         to the first thing
  --replay-utc-offset H  hours added to the CSV's UTC timestamps before mapping
                         onto the simulated day (default -8, Berkeley standard time)
  --max-backfill N       at most N backfilled logs per thing (default 2976 = 31 days)
  --realtime-interval-ms N
                         send each subscribed point at least every N ms (default 1000)
  --alarms X             alarms: on average X raises per thing per log (random
                         points, priorities mostly low); about half of the
                         active alarms clear at each log (default 0: no alarms)
  --alarm-burst N        a flood: N raises per thing at once when the live phase
                         starts (alarm ids BURST-<n>); they stay active (see
                         --alarm-clear-after)
  --alarm-clear-after N  clear the burst's alarms at the N-th log after the
                         burst (1 = the next log; default 0 = never: they stay
                         active until the simulator stops)
  --alarm-chatter N      a chattering point: alarm CHATTER-0 of each thing is
                         raised and cleared N times within one second at every
                         log (N >= 3 counts as chattering in nbmsd's health figures)
                         Any alarm option also sends a `disconnect` "connected"
                         message per thing at start, as a MW does after connecting.
  --legacy-topic         publish on $aws/rules/Rule_<thing>/<thing>/<point>
  --client-id ID         MQTT client id (default nbms-mwsim-<customer>_<building>-<pid>)
  --bundle FILE          a provisioned MW bundle (nbmsctl thing cert / the web page);
                         repeat once per thing, in order (_01, _02, ...). Each thing
                         then has its own TLS connection with its certificate, to the
                         bundle's host and port (--broker and --client-id are not
                         used); --things, --customer and --building follow the
                         bundles. The files hold private keys: keep them 0600.
  --quiet                print only errors and the final summary
  --help                 this text

Ctrl-C or SIGTERM stops cleanly (a second one exits at once).
)";

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  SimConfig sim;
  int things = 2;
  double speed = 900;
  std::optional<LocalMinute> start;
  long long count = 0;
  std::string replay_dir;
  int replay_utc_offset = -8;
  long long max_backfill = 2976;
  long long realtime_interval_ms = 1000;
  bool legacy = false;
  AlarmSimOptions alarms;
  std::string client_id;
  bool quiet = false;
  std::vector<std::string> bundle_files;
  std::vector<Bundle> bundles;  // loaded from bundle_files, same order
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  std::exit(2);
}

template <class T>
T parse_number(std::string_view option, std::string_view text) {
  T v{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    die(std::string(option) + ": not a number: '" + std::string(text) + "'");
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) die(std::string(arg) + " needs a value (see --help)");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--broker") {
      o.broker = value();
    } else if (arg == "--customer") {
      o.sim.customer = value();
    } else if (arg == "--building") {
      o.sim.building = value();
    } else if (arg == "--building-name") {
      o.sim.building_name = value();
    } else if (arg == "--things") {
      o.things = parse_number<int>(arg, value());
    } else if (arg == "--points") {
      o.sim.points = parse_number<int>(arg, value());
    } else if (arg == "--seed") {
      o.sim.seed = parse_number<std::uint64_t>(arg, value());
    } else if (arg == "--speed") {
      o.speed = parse_number<double>(arg, value());
    } else if (arg == "--start") {
      auto t = LocalMinute::parse(value());
      if (!t) die("--start: " + t.error().message);
      o.start = floor_slot(*t);
    } else if (arg == "--count") {
      o.count = parse_number<long long>(arg, value());
    } else if (arg == "--replay-csv") {
      o.replay_dir = value();
    } else if (arg == "--replay-utc-offset") {
      o.replay_utc_offset = parse_number<int>(arg, value());
    } else if (arg == "--max-backfill") {
      o.max_backfill = parse_number<long long>(arg, value());
    } else if (arg == "--realtime-interval-ms") {
      o.realtime_interval_ms = parse_number<long long>(arg, value());
    } else if (arg == "--alarms") {
      o.alarms.per_period = parse_number<double>(arg, value());
    } else if (arg == "--alarm-burst") {
      o.alarms.burst = parse_number<std::size_t>(arg, value());
    } else if (arg == "--alarm-clear-after") {
      o.alarms.burst_clear_after = parse_number<int>(arg, value());
    } else if (arg == "--alarm-chatter") {
      o.alarms.chatter = parse_number<int>(arg, value());
    } else if (arg == "--legacy-topic") {
      o.legacy = true;
    } else if (arg == "--client-id") {
      o.client_id = value();
    } else if (arg == "--bundle") {
      o.bundle_files.emplace_back(value());
    } else if (arg == "--quiet") {
      o.quiet = true;
    } else {
      die("unknown option '" + std::string(arg) + "' (see --help)");
    }
  }
  if (auto r = nbms::validate_customer_id(o.sim.customer); !r) die(r.error().message);
  if (auto r = nbms::validate_building_id(o.sim.building); !r) die(r.error().message);
  if (o.things < 1 || o.things > 9999) die("--things must be 1..9999");
  if (o.sim.points < 1 || o.sim.points > 19000) die("--points must be 1..19000");
  if (!(o.speed > 0) || !std::isfinite(o.speed)) die("--speed must be > 0");
  if (o.count < 0) die("--count must be >= 0");
  if (o.max_backfill < 0) die("--max-backfill must be >= 0");
  if (o.realtime_interval_ms < 50 || o.realtime_interval_ms > 600'000) {
    die("--realtime-interval-ms must be 50..600000");
  }
  if (!(o.alarms.per_period >= 0) || o.alarms.per_period > 1000) die("--alarms must be 0..1000");
  if (o.alarms.burst > 100000) die("--alarm-burst must be 0..100000");
  if (o.alarms.chatter < 0 || o.alarms.chatter > 100) die("--alarm-chatter must be 0..100");
  if (o.alarms.burst_clear_after < 0 || o.alarms.burst_clear_after > 100000) {
    die("--alarm-clear-after must be 0..100000");
  }
  if (!o.bundle_files.empty()) {
    for (const auto& f : o.bundle_files) {
      auto b = load_bundle(f);
      if (!b) die("--bundle " + f + ": " + b.error().message);
      o.bundles.push_back(std::move(*b));
    }
    // The things are the bundles' things: <customer>_<building>_01, _02, ...
    auto first = nbms::ThingName::parse(o.bundles.front().thing);
    if (!first) die("--bundle: " + first.error().message);
    o.sim.customer = first->customer;
    o.sim.building = first->building;
    o.things = static_cast<int>(o.bundles.size());
    o.broker = o.bundles.front().uri;  // for the messages
    for (int i = 0; i < o.things; ++i) {
      const auto expected = thing_name(o.sim.customer, o.sim.building, i + 1);
      if (o.bundles[static_cast<std::size_t>(i)].thing != expected) {
        die("--bundle " + o.bundle_files[static_cast<std::size_t>(i)] + " is for '" +
            o.bundles[static_cast<std::size_t>(i)].thing + "', expected '" + expected +
            "' (give one bundle per thing, in order)");
      }
    }
  }
  o.alarms.seed = o.sim.seed;
  if (o.client_id.empty()) {
    o.client_id = std::string(kProgram) + "-" + o.sim.customer + "_" + o.sim.building + "-" +
                  std::to_string(getpid());
  }
  return o;
}

// Local wall-clock time now, in minutes since 2000-01-01 (with the seconds as fraction).
double local_now_minutes() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  const auto t =
      LocalMinute::from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
  return t.minutes() + tm.tm_sec / 60.0;
}

class Simulator {
 public:
  Simulator(Options options, std::vector<SimThing> things, EventQueue& events)
      : o_(std::move(options)),
        things_(std::move(things)),
        events_(events),
        publisher_(o_.bundles.empty() ? Publishers(PublisherOptions{o_.broker, o_.client_id, 1000,
                                                                    30, o_.quiet, kProgram},
                                                   events)
                                      : Publishers(o_.bundles, o_.quiet, kProgram, events)),
        answers_(things_.size()),
        request_ids_(things_.size()),
        live_(things_.size(), 0),
        backfilled_(things_.size(), 0) {
    // After things_ is final: each session keeps a reference to its thing.
    sessions_.reserve(things_.size());
    for (auto& t : things_) sessions_.emplace_back(t, o_.realtime_interval_ms);
    if (alarms_on()) {
      alarms_.reserve(things_.size());
      for (const auto& t : things_) alarms_.emplace_back(t, o_.alarms);
    }
  }

  int run(LocalMinute start, double sim_origin) {
    sim_start_ = start.minutes();
    if (!o_.quiet) {
      std::printf(
          "%s: %zu thing(s) of %s/%s, %zu points on the first, start %s, speed %g, broker %s\n",
          kProgram, things_.size(), o_.sim.customer.c_str(), o_.sim.building.c_str(),
          things_.front().points().size(), start.to_iso().c_str(), o_.speed, o_.broker.c_str());
      std::fflush(stdout);
    }
    if (publisher_.connect()) {
      if (!o_.quiet) std::printf("%s: connected to %s\n", kProgram, o_.broker.c_str());
      subscribe_all();
      announce(start);
      backfill(start);
      live(start, sim_origin);
      publisher_.flush(std::chrono::seconds(5), true);
      publisher_.disconnect(std::chrono::seconds(5));
    }
    summary();
    return 0;
  }

 private:
  std::string topic(const SimThing& t, std::string_view point) const {
    return topic_for(t.name(), point, o_.legacy);
  }

  bool alarms_on() const {
    return o_.alarms.per_period > 0 || o_.alarms.burst > 0 || o_.alarms.chatter > 0;
  }

  // Publishes the alarm messages of thing `i`; false if publishing failed.
  bool publish_alarms(std::size_t i, std::vector<std::string> messages) {
    for (auto& m : messages) {
      if (!publisher_.publish(topic(things_[i], "alarm"), std::move(m))) return false;
      ++alarms_sent_;
    }
    return true;
  }

  void subscribe_all() {
    for (const auto& t : things_) publisher_.subscribe(t.name());
  }

  // Handles events that arrived up to `deadline` and streams the realtime values
  // due meanwhile; false once a stop is requested.
  bool pump(Clock::time_point deadline) {
    while (!events_.stopping()) {
      stream();
      auto wake = deadline;
      for (const auto& s : sessions_) {
        if (const auto next = s.next_due_ms()) {
          wake = std::min(wake, Clock::time_point(std::chrono::milliseconds(*next)));
        }
      }
      if (auto e = events_.pop_until(wake)) {
        handle(*e);
        continue;
      }
      if (Clock::now() >= deadline) {
        stream();
        return true;
      }
    }
    return false;
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
  }

  // Simulated time now, in minutes since 2000-01-01: the start until the live
  // phase begins, then following the wall clock at --speed.
  double sim_minutes() const {
    if (!live_started_) return sim_start_;
    const std::chrono::duration<double> elapsed = Clock::now() - wall_origin_;
    return sim_origin_ + elapsed.count() * o_.speed / 60.0;
  }

  void stream() {
    const auto now = now_ms();
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      const auto next = sessions_[i].next_due_ms();
      if (!next || *next > now) continue;
      if (auto msg = sessions_[i].due(now, sim_minutes())) {
        publisher_.publish(topic(things_[i], "realtime"), std::move(*msg));
        ++realtime_sent_;
      }
    }
  }

  void handle(const Event& e) {
    switch (e.kind) {
      case Event::Kind::stop:
        return;
      case Event::Kind::connection_lost:
        std::fprintf(stderr, "%s: connection lost (%s); reconnecting\n", kProgram,
                     e.payload.empty() ? "no reason given" : e.payload.c_str());
        return;
      case Event::Kind::connected:
        // The first one per connection (one per bundle) is the initial connect;
        // later ones are automatic reconnects, after which the clean session
        // needs its subscriptions again.
        if (++connects_ > static_cast<int>(publisher_.connections())) {
          std::fprintf(stderr, "%s: reconnected to %s\n", kProgram, o_.broker.c_str());
          subscribe_all();
        }
        return;
      case Event::Kind::message:
        handle_command(e.topic, e.payload);
        return;
    }
  }

  void handle_command(const std::string& topic, const std::string& payload) {
    std::size_t i = 0;
    while (i < things_.size() && things_[i].name() != topic) ++i;
    if (i == things_.size()) return;
    auto c = parse_command(payload);
    if (!c) {
      std::fprintf(stderr, "%s: %s: bad command: %s\n", kProgram, topic.c_str(),
                   c.error().message.c_str());
      return;
    }
    if (c->msg_type == "Timestamp_Last") {
      if (!c->request_id.empty() && c->request_id != request_ids_[i]) return;  // not ours
      if (answers_[i]) return;                                                 // repeated
      answers_[i] = *c;
      if (!o_.quiet) {
        std::printf("%s: %s: timestamp_last = %s\n", kProgram, topic.c_str(),
                    c->time ? c->time->to_iso().c_str() : "null");
      }
      return;
    }
    if (c->msg_type == "Subscribe" || c->msg_type == "Unsubscribe" || c->msg_type == "Control") {
      const auto now = now_ms();
      auto answers = sessions_[i].handle(*c, now, sim_minutes());
      if (c->msg_type == "Control") ++controls_;
      if (!o_.quiet) {
        if (c->msg_type == "Control") {
          std::printf("%s: %s: Control %s = %g: %s\n", kProgram, topic.c_str(), c->point_id.c_str(),
                      c->value.value_or(NAN),
                      !answers.empty() && answers[0].accepted ? "accepted" : "failed");
        } else {
          std::printf("%s: %s: %s of %zu point(s); streaming %zu\n", kProgram, topic.c_str(),
                      c->msg_type.c_str(), c->point_ids.size(), sessions_[i].streaming(now));
        }
      }
      for (auto& a : answers)
        publisher_.publish(this->topic(things_[i], a.point), std::move(a.payload));
      return;
    }
    if (!o_.quiet) {
      std::printf("%s: %s: %s received (not simulated; ignored)\n", kProgram, topic.c_str(),
                  c->msg_type.c_str());
    }
  }

  void announce(LocalMinute start) {
    for (const auto& t : things_) publisher_.publish(topic(t, "init"), t.init(start));
    if (alarms_on()) {
      // What a MW sends after each connect (its last will says the opposite).
      for (const auto& t : things_) {
        publisher_.publish(topic(t, "disconnect"),
                           R"({"msg_type":"Disconnect","status":"connected","time":")" +
                               start.to_string() + "00\"}");
      }
    }
    const auto tag = std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr));
    for (std::size_t i = 0; i < things_.size(); ++i) {
      request_ids_[i] = things_[i].name() + "-" + tag;
      publisher_.publish(topic(things_[i], "timestamp_last"),
                         timestamp_last_request(request_ids_[i]));
    }
    if (!o_.quiet) {
      std::printf("%s: init and timestamp_last sent for %zu thing(s)\n", kProgram, things_.size());
    }
    // Wait up to ~3 s for the answers.
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline && !events_.stopping()) {
      bool all = true;
      for (const auto& a : answers_) all = all && a.has_value();
      if (all) break;
      pump(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    }
    std::size_t missing = 0;
    for (const auto& a : answers_) missing += a ? 0 : 1;
    if (missing > 0 && !events_.stopping()) {
      std::fprintf(stderr,
                   "%s: no timestamp_last answer for %zu thing(s) within 3 s; no backfill\n",
                   kProgram, missing);
    }
  }

  void backfill(LocalMinute start) {
    std::vector<std::optional<LocalMinute>> from(things_.size());
    std::optional<LocalMinute> earliest;
    for (std::size_t i = 0; i < things_.size(); ++i) {
      if (!answers_[i] || !answers_[i]->time || !(*answers_[i]->time < start)) continue;
      LocalMinute first = next_slot_after(*answers_[i]->time);
      if (!(first < start)) continue;
      const auto slots = (start.minutes() - first.minutes()) / 15;
      if (static_cast<long long>(slots) > o_.max_backfill) {
        first = start.plus_minutes(-15 * o_.max_backfill);
        std::fprintf(stderr, "%s: %s: %u logs missing, backfilling only the last %lld\n", kProgram,
                     things_[i].name().c_str(), slots, o_.max_backfill);
      }
      if (first < start) {
        from[i] = first;
        if (!earliest || first < *earliest) earliest = first;
      }
    }
    if (!earliest) return;
    if (!o_.quiet) {
      std::printf("%s: backfilling from %s\n", kProgram, earliest->to_iso().c_str());
    }
    for (LocalMinute t = *earliest; t < start && !events_.stopping(); t = t.plus_minutes(15)) {
      for (std::size_t i = 0; i < things_.size(); ++i) {
        if (!from[i] || t < *from[i]) continue;
        if (!publisher_.publish(topic(things_[i], "periodic_log"), things_[i].periodic_log(t))) {
          return;
        }
        ++backfilled_[i];
      }
      pump(Clock::now());
    }
    if (!o_.quiet) {
      std::size_t total = 0;
      for (auto n : backfilled_) total += n;
      std::printf("%s: backfilled %zu log(s)\n", kProgram, total);
    }
  }

  void live(LocalMinute start, double sim_origin) {
    // Following the wall clock: the simulated clock is "now" when the live phase begins.
    if (!o_.start) sim_origin = local_now_minutes();
    const auto wall_origin = Clock::now();
    sim_origin_ = sim_origin;
    wall_origin_ = wall_origin;
    live_started_ = true;
    for (long long k = 0; o_.count == 0 || k < o_.count; ++k) {
      const LocalMinute t = start.plus_minutes(15 * k);
      const double wait_s = (t.minutes() - sim_origin) * 60.0 / o_.speed;
      const auto due = wall_origin + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(std::max(0.0, wait_s)));
      if (!pump(due)) return;
      for (std::size_t i = 0; i < things_.size(); ++i) {
        if (!publisher_.publish(topic(things_[i], "periodic_log"), things_[i].periodic_log(t))) {
          return;
        }
        ++live_[i];
        if (!alarms_.empty()) {
          if (k == 0 && !publish_alarms(i, alarms_[i].burst(t))) return;
          if (!publish_alarms(i, alarms_[i].period(t))) return;
        }
      }
      if (!o_.quiet) {
        std::printf("%s: %s periodic_log x%zu\n", kProgram, t.to_iso().c_str(), things_.size());
        std::fflush(stdout);
      }
      if (t.year() >= LocalMinute::kLastYear) break;
    }
  }

  void summary() {
    std::string line = std::string(kProgram) + ": periodic logs published per thing:";
    for (std::size_t i = 0; i < things_.size(); ++i) {
      line += " " + things_[i].name() + "=" + std::to_string(live_[i] + backfilled_[i]);
      if (backfilled_[i] > 0) line += " (" + std::to_string(backfilled_[i]) + " backfilled)";
    }
    line += "; " + std::to_string(publisher_.acknowledged()) + " of " +
            std::to_string(publisher_.published()) + " messages acknowledged";
    if (publisher_.failed() > 0) line += ", " + std::to_string(publisher_.failed()) + " failed";
    if (!alarms_.empty()) {
      std::uint64_t raised = 0, cleared = 0;
      for (const auto& a : alarms_) {
        raised += a.raised();
        cleared += a.cleared();
      }
      line += "; alarms " + std::to_string(raised) + " raised, " + std::to_string(cleared) +
              " cleared (" + std::to_string(alarms_sent_) + " messages)";
    }
    if (realtime_sent_ > 0 || controls_ > 0) {
      line += "; " + std::to_string(realtime_sent_) + " realtime message(s), " +
              std::to_string(controls_) + " control(s) answered";
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  Options o_;
  std::vector<SimThing> things_;
  EventQueue& events_;
  Publishers publisher_;
  std::vector<std::optional<Command>> answers_;
  std::vector<std::string> request_ids_;
  std::vector<std::size_t> live_;
  std::vector<std::size_t> backfilled_;
  std::vector<LiveSession> sessions_;  // one per thing, same order
  std::vector<AlarmSim> alarms_;       // one per thing when alarms are on
  std::uint64_t alarms_sent_ = 0;
  double sim_start_ = 0;
  double sim_origin_ = 0;
  Clock::time_point wall_origin_{};
  bool live_started_ = false;
  std::uint64_t realtime_sent_ = 0;
  std::uint64_t controls_ = 0;
  int connects_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  std::shared_ptr<const Replay> replay;
  if (!o.replay_dir.empty()) {
    auto r = Replay::load(o.replay_dir, o.replay_utc_offset);
    if (!r) die("--replay-csv: " + r.error().message);
    replay = std::make_shared<const Replay>(std::move(*r));
  }
  std::vector<SimThing> things;
  things.reserve(static_cast<std::size_t>(o.things));
  for (int i = 1; i <= o.things; ++i) things.emplace_back(o.sim, i, replay);

  // The simulated clock: with --start it begins exactly there; by default it is the
  // local wall clock, so at --speed 1 each log goes out at its own time.
  const double now = local_now_minutes();
  const LocalMinute start =
      o.start ? *o.start : floor_slot(LocalMinute::from_minutes(static_cast<std::uint32_t>(now)));
  const double sim_origin = o.start ? start.minutes() : now;

  EventQueue events;
  SignalThread signals(events, kProgram);  // before Paho starts its threads
  Simulator sim(std::move(o), std::move(things), events);
  return sim.run(start, sim_origin);
}
