// Faults with the real processes (docs/reliability.md, Faults): the broker
// restarted in the middle of a flood, and a full disk under nbmsd.
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <mqtt/async_client.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "integration/fixture.hpp"
#include "nbms/core/time.hpp"

namespace nbms::it {
namespace {

// Minute `i` of the flood (period 1: one log per minute, crossing day changes).
std::string minute(int i) {
  return LocalMinute::from_civil(2023, 3, 1, 0, 0).plus_minutes(i).to_string();
}
std::string point_name(int p) {
  return "AI-" + std::to_string(p) + ":Flood";
}
// Exact in a double, different for every log and point.
double value_of(int log, int point) {
  return log * 1000.0 + point;
}
Json flood_log(int i, int points) {
  std::vector<std::pair<std::string, Json>> values;
  for (int p = 0; p < points; ++p) values.emplace_back(point_name(p), value_of(i, p));
  return log_message(minute(i), values, 1);
}
std::vector<TimedValue> expected_history(int logs, int point) {
  std::vector<TimedValue> out;
  for (int i = 0; i < logs; ++i) out.push_back({minute(i), value_of(i, point)});
  return out;
}

// ---- broker restart in the middle of a flood -------------------------------------

// A middleware's publisher: its own persistent session (clean session off) and
// automatic reconnect, so that QoS 1 messages in flight when the broker goes
// away are sent again after it comes back, as a MW's client would.
class Publisher {
 public:
  Publisher(const std::string& uri, const std::string& client_id, int max_buffered)
      : client_(uri, client_id,
                ::mqtt::create_options_builder()
                    .mqtt_version(MQTTVERSION_3_1_1)
                    .send_while_disconnected(true)
                    .max_buffered_messages(max_buffered)
                    .finalize(),
                nullptr) {
    const auto options = ::mqtt::connect_options_builder()
                             .clean_session(false)
                             .mqtt_version(MQTTVERSION_3_1_1)
                             .keep_alive_interval(30s)
                             .connect_timeout(5s)
                             .automatic_reconnect(100ms, 1s)
                             .finalize();
    if (!client_.connect(options)->wait_for(10s)) throw std::runtime_error("publisher connect");
  }
  ~Publisher() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(5s);
    } catch (const std::exception&) {
    }
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  ::mqtt::delivery_token_ptr publish(const std::string& topic, const std::string& payload) {
    return client_.publish(::mqtt::make_message(topic, payload, 1, false));
  }
  bool connected() const { return client_.is_connected(); }

 private:
  ::mqtt::async_client client_;
};

class BrokerFloodTest : public NbmsTest {};

TEST_F(BrokerFloodTest, BrokerRestartMidFloodStoresEverySampleExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  constexpr int kLogs = 2000;
  constexpr int kPoints = 50;  // 100,000 samples
  std::vector<std::string> payloads;
  for (int i = 0; i < kLogs; ++i) payloads.push_back(flood_log(i, kPoints).dump());
  const std::string topic = topic_of(kThing, "periodic_log");
  const auto connects_before = nbmsd().health()["mqtt"]["connects"].get<std::uint64_t>();

  Publisher pub(broker().uri(), "C000003_B001_01-flood", kLogs + 10);
  std::vector<::mqtt::delivery_token_ptr> tokens;
  for (const auto& p : payloads) tokens.push_back(pub.publish(topic, p));
  // The broker goes down when it has taken half of the flood: the publisher
  // still has messages in flight or queued, nbmsd a backlog in its session.
  ASSERT_TRUE(tokens[kLogs / 2]->wait_for(30s)) << "the broker did not take half of the flood";
  const auto stored_at_restart = ingest_counter("messages");
  broker().restart();
  std::cout << "[ info     ] broker restarted after nbmsd stored " << stored_at_restart << " of "
            << kLogs << " logs\n";

  // Every publish completes (PUBACK) after the publisher's reconnect; one the
  // client gave up on is sent again, as a MW would (QoS 1: at least once).
  int republished = 0;
  for (int i = 0; i < kLogs; ++i) {
    bool done = false;
    try {
      done = tokens[i]->wait_for(30s);
    } catch (const ::mqtt::exception&) {
    }
    if (!done) {
      ++republished;
      ASSERT_TRUE(pub.publish(topic, payloads[i])->wait_for(30s)) << "log " << i;
    }
  }
  std::cout << "[ info     ] publisher re-sent " << republished << " logs by hand\n";

  // Await the whole flood (ordered per session: the last point's full history
  // means everything arrived), polling the REST API against a deadline.
  const std::string from = minute(0), to = minute(kLogs - 1);
  std::vector<TimedValue> last;
  EXPECT_TRUE(wait_until(
      [&] {
        last = history(point_name(kPoints - 1), from, to);
        return last.size() >= static_cast<std::size_t>(kLogs);
      },
      60s, 200ms))
      << "stored " << last.size() << " of " << kLogs << " logs; health " << nbmsd().health().dump();
  // Exactly once: every point has every minute once, with its value (a
  // redelivered duplicate would show as a second sample, a loss as a gap).
  for (int p = 0; p < kPoints; ++p) {
    EXPECT_EQ(history(point_name(p), from, to), expected_history(kLogs, p)) << point_name(p);
  }
  // nbmsd may have stored the whole flood before the broker went down (a fast
  // machine): then its reconnect is still under way here, so await it.
  Json h;
  EXPECT_TRUE(wait_until(
      [&] {
        h = nbmsd().health();
        return h["mqtt"]["connects"].get<std::uint64_t>() > connects_before;
      },
      30s, 100ms))
      << "nbmsd did not reconnect to the restarted broker: " << h.dump();
  EXPECT_EQ(h["ingest"]["rejected"], 0) << h.dump();
  // Redeliveries may count a message twice; fewer than the flood would be a loss.
  EXPECT_GE(h["ingest"]["messages"].get<std::uint64_t>(), static_cast<std::uint64_t>(kLogs));
}

// ---- full disk ----------------------------------------------------------------------

std::uint64_t used_bytes(const fs::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
}

// nbmsd's data directory on its own small tmpfs (needs root, or CAP_SYS_ADMIN).
class DiskFullTest : public NbmsTest {
 protected:
  void configure(Nbmsd& n) override {
    fs::create_directories(n.data_dir());
    if (::mount("tmpfs", n.data_dir().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "size=160m,mode=0700") != 0) {
      skip_reason_ = std::string("cannot mount a tmpfs for the data directory (") +
                     std::strerror(errno) + "; needs root)";
      return;
    }
    mounted_ = n.data_dir();
  }
  void TearDown() override {
    if (!mounted_.empty()) {
      if (nbmsd().running()) nbmsd().stop();
      if (::umount2(mounted_.c_str(), MNT_DETACH) != 0) {
        ADD_FAILURE() << "umount " << mounted_ << ": " << std::strerror(errno);
      }
    }
    NbmsTest::TearDown();
  }
  // Resizes the tmpfs (a shrink below what is used fails).
  ::testing::AssertionResult resize(std::uint64_t bytes) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", mounted_.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                options.c_str()) != 0) {
      return ::testing::AssertionFailure() << "remount " << options << ": " << std::strerror(errno);
    }
    return ::testing::AssertionSuccess();
  }

  std::string skip_reason_;
  fs::path mounted_;
};

TEST_F(DiskFullTest, IngestPausesWhileFullAndResumesByItselfLosingNothing) {
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  ASSERT_NO_FATAL_FAILURE(register_thing());
  constexpr int kPoints = 100;
  const std::string topic = topic_of(kThing, "periodic_log");
  int published = 0;
  for (; published < 20; ++published) publish_raw(topic, flood_log(published, kPoints).dump());
  ASSERT_TRUE(messages_reach(20));

  // The disk fills up (another program, a growing log): less free than the
  // 64 MiB nbmsd keeps (StoreOptions::reserve_bytes). RocksDB preallocates
  // its WAL (about 70 MiB with the default 64 MiB memtable), so nbmsd's own
  // writes do not move the free space for a long time: shrinking the tmpfs
  // is the quick way to get there.
  const std::uint64_t size = used_bytes(mounted_) + (32u << 20);
  ASSERT_TRUE(resize(size));
  auto stalled = [&] { return nbmsd().health()["storage"]["ok"] == false; };
  while (!stalled()) {
    ASSERT_LT(published, 2000) << "storage never refused a write; used " << used_bytes(mounted_)
                               << " bytes";
    for (int k = 0; k < 5; ++k) publish_raw(topic, flood_log(published++, kPoints).dump());
  }
  const Json full = nbmsd().health();
  EXPECT_EQ(full["status"], "degraded") << full.dump();
  EXPECT_NE(full["storage"]["error"].get<std::string>().find("space"), std::string::npos)
      << full.dump();
  const auto stored_when_full = full["ingest"]["messages"].get<std::uint64_t>();
  EXPECT_LT(stored_when_full, static_cast<std::uint64_t>(published));
  std::cout << "[ info     ] storage refused a write after " << stored_when_full
            << " logs; tmpfs of " << size << " bytes\n";

  // More arrives while the disk is full: the broker keeps it (nbmsd takes
  // nothing more) while nbmsd keeps retrying, and stays up and answering.
  for (int k = 0; k < 50; ++k) publish_raw(topic, flood_log(published++, kPoints).dump());
  const auto retries = full["storage"]["retries"].get<std::uint64_t>();
  EXPECT_TRUE(wait_until([&] {
    return nbmsd().health()["storage"]["retries"].get<std::uint64_t>() >= retries + 2;
  })) << nbmsd().health().dump();
  EXPECT_TRUE(nbmsd().running());
  EXPECT_EQ(ingest_counter("messages"), stored_when_full) << "a message was taken while full";
  EXPECT_EQ(nbmsd().get(building_path() + "/points").status, 200) << "reads fail while full";
  const std::string log = read_text(nbmsd().log_file());
  EXPECT_NE(log.find("storage refused a message"), std::string::npos);
  EXPECT_NE(log.find("refusing writes below"), std::string::npos);

  // Space comes back: nbmsd resumes by itself and takes the backlog.
  ASSERT_TRUE(resize(256u << 20));
  EXPECT_TRUE(wait_until(
      [&] { return ingest_counter("messages") >= static_cast<std::uint64_t>(published); }, 30s))
      << nbmsd().health().dump();
  const Json after = nbmsd().health();
  EXPECT_EQ(after["status"], "ok") << after.dump();
  EXPECT_EQ(after["storage"]["ok"], true);
  EXPECT_TRUE(after["storage"]["error"].is_null());
  EXPECT_EQ(after["ingest"]["messages"], published) << "a message was stored twice or lost";
  EXPECT_EQ(after["ingest"]["rejected"], 0);
  EXPECT_NE(read_text(nbmsd().log_file()).find("accepts writes again"), std::string::npos);

  // Nothing lost or corrupted, also after a restart on the same files.
  const std::string from = minute(0), to = minute(published - 1);
  for (int p : {0, kPoints / 2, kPoints - 1}) {
    EXPECT_EQ(history(point_name(p), from, to), expected_history(published, p)) << point_name(p);
  }
  ASSERT_EQ(nbmsd().stop(), 0);
  nbmsd().start();
  for (int p : {0, kPoints - 1}) {
    EXPECT_EQ(history(point_name(p), from, to), expected_history(published, p))
        << point_name(p) << " after a restart";
  }
}

// ---- per-thing limits ---------------------------------------------------------------

constexpr const char* kOther = "C000003_B001_02";
constexpr const char* kOtherPoint = "AI-9:Other";

Json other_log(int i) {
  return log_message(minute(i), {{kOtherPoint, value_of(i, 9)}}, 1);
}

class ThingLimitsTest : public NbmsTest {
 protected:
  void configure(Nbmsd& n) override {
    n.config()["mqtt"] = {{"thing_rate", 50},
                          {"thing_burst", 20},
                          {"thing_backlog_bytes", 64 << 20},
                          {"max_message_bytes", 64 << 10}};
  }
};

TEST_F(ThingLimitsTest, AFloodingThingDoesNotStarveTheOthersAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(register_thing());
  ASSERT_EQ(nbmsd().post(building_path() + "/things", {{"name", kOther}}).status, 201);
  constexpr int kPoints = 5;
  constexpr int kFlood = 1500;  // from A
  constexpr int kOtherLogs = 20;

  // A huge message is rejected and recorded before anything else is spent on it.
  publish_raw(topic_of(kThing, "periodic_log"), std::string(100 << 10, ' '));
  ASSERT_TRUE(messages_reach(1));
  EXPECT_EQ(nbmsd().health()["ingest"]["rejected_by_reason"]["too_large"], 1);
  const Json dl = get_ok("/api/v1/dead-letters?limit=1");
  ASSERT_EQ(dl["dead_letters"].size(), 1u) << dl.dump();
  EXPECT_EQ(dl["dead_letters"][0]["reason"].get<std::string>().rfind("too_large:", 0), 0u)
      << dl.dump();

  // A floods far over its rate (50/s, 20 at once); B sends its usual logs in
  // the middle of the flood, so they reach nbmsd behind 1000 of A's, and A's
  // flood goes on after them.
  Publisher pub(broker().uri(), "limits-test-publisher", kFlood + kOtherLogs + 10);
  std::vector<::mqtt::delivery_token_ptr> tokens;
  for (int i = 0; i < kFlood; ++i) {
    if (i == 1000) {
      for (int k = 0; k < kOtherLogs; ++k) {
        tokens.push_back(pub.publish(topic_of(kOther, "periodic_log"), other_log(k).dump()));
      }
    }
    tokens.push_back(pub.publish(topic_of(kThing, "periodic_log"), flood_log(i, kPoints).dump()));
  }
  // B's logs are all stored while most of A's flood is still held back: B
  // overtook A's backlog instead of waiting for it.
  const std::string from = minute(0), to = minute(kFlood);
  std::size_t other_stored = 0;
  std::uint64_t held_then = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        other_stored = history(kOtherPoint, from, to).size();
        held_then = ingest_counter("held");
        return other_stored >= static_cast<std::size_t>(kOtherLogs);
      },
      30s, 5ms))
      << "B has " << other_stored << " of " << kOtherLogs << " logs; health "
      << nbmsd().health().dump();
  EXPECT_GT(held_then, 100u) << "A's backlog was (nearly) gone before B's logs were stored";
  std::cout << "[ info     ] B's " << kOtherLogs << " logs stored while " << held_then
            << " of A's were held back\n";

  // Then A's whole flood, in order, nothing lost or doubled.
  for (auto& t : tokens) ASSERT_TRUE(t->wait_for(30s));
  std::vector<TimedValue> a;
  EXPECT_TRUE(wait_until(
      [&] {
        a = history(point_name(0), from, to);
        return a.size() >= static_cast<std::size_t>(kFlood) && ingest_counter("held") == 0;
      },
      60s, 100ms))
      << "A has " << a.size() << " of " << kFlood << "; health " << nbmsd().health().dump();
  for (int p = 0; p < kPoints; ++p) {
    EXPECT_EQ(history(point_name(p), from, to), expected_history(kFlood, p)) << point_name(p);
  }
  std::vector<TimedValue> b;
  for (int k = 0; k < kOtherLogs; ++k) b.push_back({minute(k), value_of(k, 9)});
  EXPECT_EQ(history(kOtherPoint, from, to), b);
  const Json h = nbmsd().health();
  EXPECT_GT(h["ingest"]["deferred"].get<std::uint64_t>(), 1000u) << h.dump();
  EXPECT_EQ(h["ingest"]["rejected"], 1) << h.dump();  // only the huge one
  EXPECT_EQ(h["ingest"]["messages"], 1 + kFlood + kOtherLogs) << h.dump();
}

}  // namespace
}  // namespace nbms::it
