// nbmsd with broker.mode managed (issue 5): it starts its own Mosquitto over
// TLS, things registered over REST connect with their bundles, the ACL and the
// CRL it writes are enforced, removing a thing cuts it off while the others
// stay connected across the reload, and a killed broker is restarted.
//
// "Never reaches nbmsd" is checked with ingest.messages in /health (every
// message the bridge receives is counted, valid or not) and ordering: a
// client's QoS 1 messages reach a subscriber in the order it sent them, so once
// a later allowed message was counted, an earlier denied one would have been.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "integration/fixture.hpp"
#include "integration/tls_client.hpp"
#include "nbms/pki/pki.hpp"

namespace nbms::it {
namespace {

constexpr const char* kCust = "C000005";
constexpr const char* kBldg = "B001";
constexpr const char* kA = "C000005_B001_01";
constexpr const char* kB = "C000005_B001_02";

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode & 07777);
}

bool process_exists(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH);
}

std::string thing_path(const std::string& thing) {
  return std::string("/api/v1/customers/") + kCust + "/buildings/" + kBldg + "/things/" + thing;
}

class ManagedBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    tls_port = pick_free_port();
    loopback_port = pick_free_port();
    nbmsd.emplace(tmp.path() / "nbmsd", "tcp://127.0.0.1:1");  // mqtt.uri unused when managed
    nbmsd->config()["broker"] = {{"mode", "managed"},
                                 {"listen", "127.0.0.1:" + std::to_string(tls_port)},
                                 {"loopback_port", loopback_port},
                                 {"loopback_access", "full"},
                                 {"restart_min_ms", 100}};
    nbmsd->config()["provisioning"] = {{"broker_host", "127.0.0.1"}, {"broker_port", tls_port}};
    ASSERT_NO_THROW(nbmsd->start());
    ASSERT_EQ(nbmsd->post("/api/v1/customers", {{"id", kCust}, {"name", "Cust"}}).status, 201);
    ASSERT_EQ(nbmsd
                  ->post(std::string("/api/v1/customers/") + kCust + "/buildings",
                         {{"id", kBldg}, {"name", "Bldg"}})
                  .status,
              201);
    for (const char* t : {kA, kB}) {
      const auto r =
          nbmsd->post(std::string("/api/v1/customers/") + kCust + "/buildings/" + kBldg + "/things",
                      {{"name", t}});
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  void TearDown() override {
    clients.clear();
    if (nbmsd && nbmsd->running()) nbmsd->stop();
  }

  // Registers the thing's certificate over REST and writes its bundle's files.
  Identity provision(const std::string& thing) {
    const auto r = nbmsd->request("POST", thing_path(thing) + "/certificate", std::nullopt,
                                  nbmsd->admin_token());
    EXPECT_EQ(r.status, 201) << r.body;
    const Json bundle = Json::parse(r.body);
    EXPECT_EQ(bundle["mqtt"]["port"], tls_port);
    const fs::path d = tmp.path() / thing;
    fs::create_directories(d);
    write_text(d / "ca.pem", bundle["tls"]["ca_pem"].get<std::string>());
    write_text(d / "cert.pem", bundle["tls"]["cert_pem"].get<std::string>());
    write_text(d / "key.pem", bundle["tls"]["key_pem"].get<std::string>());
    ca_file = d / "ca.pem";
    return {d / "cert.pem", d / "key.pem"};
  }
  TlsClient& connect_as(const std::string& thing, const Identity& id) {
    auto c = std::make_unique<TlsClient>(uri(), thing, ca_file, id);
    std::string error;
    EXPECT_TRUE(c->connect(&error)) << thing << ": " << error;
    clients.push_back(std::move(c));
    return *clients.back();
  }
  std::string uri() const { return "ssl://127.0.0.1:" + std::to_string(tls_port); }
  std::uint64_t messages() const {
    return nbmsd->health()["ingest"]["messages"].get<std::uint64_t>();
  }
  bool ingested(std::uint64_t n) {
    return wait_until([&] { return messages() >= n; });
  }
  static std::string log() { return log_message("202401010000", {{"p1", 1.5}}).dump(); }

  TempDir tmp;
  std::optional<Nbmsd> nbmsd;
  std::uint16_t tls_port = 0;
  std::uint16_t loopback_port = 0;
  fs::path ca_file;
  std::vector<std::unique_ptr<TlsClient>> clients;
};

TEST_F(ManagedBroker, WritesItsFilesOwnerOnlyAndReportsTheBrokerInHealth) {
  const fs::path dir = nbmsd->data_dir() / "broker";
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(dir / "server.key"), 0600u);
  EXPECT_EQ(mode_of(dir / "nbmsd.key"), 0600u);
  EXPECT_EQ(mode_of(dir / "acl"), 0600u);
  const std::string conf = read_text(dir / "mosquitto.conf");
  EXPECT_NE(conf.find("require_certificate true"), std::string::npos);
  EXPECT_NE(conf.find("crlfile " + (dir / "crl.pem").string()), std::string::npos);
  const Json h = nbmsd->health();
  EXPECT_EQ(h["broker"]["mode"], "managed");
  EXPECT_EQ(h["broker"]["running"], true);
  EXPECT_EQ(h["broker"]["restarts"], 0);
  EXPECT_TRUE(process_exists(h["broker"]["pid"].get<long>()));
  EXPECT_EQ(h["mqtt"]["uri"], uri());
  EXPECT_EQ(h["mqtt"]["connected"], true);
}

TEST_F(ManagedBroker, ThingWithItsBundleIsIngestedAndConfinedToItsTopics) {
  const Identity a = provision(kA);
  provision(kB);
  TlsClient& ca = connect_as(kA, a);
  const auto before = messages();
  // As another thing (both forms): acknowledged by the broker, never delivered.
  ca.publish(topic_of(kB, "periodic_log"), log());
  ca.publish(std::string("$aws/rules/Rule_") + kB + "/" + kB + "/periodic_log", log());
  ca.publish(topic_of(kA, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 1));
  // The basic-ingest form of its own name is allowed too.
  ca.publish(std::string("$aws/rules/Rule_") + kA + "/" + kA + "/periodic_log", log());
  ASSERT_TRUE(ingested(before + 2));
  EXPECT_EQ(messages(), before + 2);

  // Commands: it receives its own command topic only. A local tool on the
  // loopback listener (full access in this test) plays nbmsd's part.
  EXPECT_EQ(ca.subscribe({kB, kA}), (std::vector<int>{1, 1}));  // both "granted"
  TlsClient local("tcp://127.0.0.1:" + std::to_string(loopback_port), "local-tool", {},
                  std::nullopt);
  ASSERT_TRUE(local.connect());
  local.publish(kB, R"({"msg_type":"Control","for":"B"})");
  local.publish(kA, R"({"msg_type":"Control","for":"A"})");
  const auto got = ca.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->topic, kA);  // B's command, sent first, never arrived
  EXPECT_FALSE(ca.receive(300ms));
}

TEST_F(ManagedBroker, RemovedThingIsCutOffWhileTheOtherStaysConnected) {
  const Identity a = provision(kA);
  const Identity b = provision(kB);
  TlsClient& ca = connect_as(kA, a);
  TlsClient& cb = connect_as(kB, b);
  auto before = messages();
  ca.publish(topic_of(kA, "periodic_log"), log());
  cb.publish(topic_of(kB, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 2));
  const auto reloads = nbmsd->health()["broker"]["reloads"].get<std::uint64_t>();

  const auto del =
      nbmsd->request("DELETE", thing_path(kA) + "/certificate", std::nullopt, nbmsd->admin_token());
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(nbmsd->health()["broker"]["reloads"], reloads + 1);  // SIGHUP sent before the answer

  // B was not disconnected by the reload and keeps publishing.
  before = messages();
  cb.publish(topic_of(kB, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 1));
  EXPECT_TRUE(cb.connected());

  // A's live connection (Mosquitto checks the certificate at the handshake
  // only) stays open, but its user left the ACL: nothing it sends arrives.
  before = messages();
  bool a_still_connected = ca.connected();
  if (a_still_connected) {
    try {
      ca.publish(topic_of(kA, "periodic_log"), log());
    } catch (const std::exception&) {
      a_still_connected = false;  // dropped meanwhile: also cut off
    }
  }
  cb.publish(topic_of(kB, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 1));
  EXPECT_EQ(messages(), before + 1) << "the removed thing's message reached nbmsd";
  RecordProperty("removed_thing_stayed_connected", a_still_connected ? "yes" : "no");

  // A new connection with the revoked certificate is refused.
  TlsClient again(uri(), kA, ca_file, a);
  std::string error;
  EXPECT_FALSE(again.connect(&error));
  EXPECT_TRUE(cb.connected());
}

TEST_F(ManagedBroker, KilledBrokerIsRestartedAndIngestResumes) {
  const Identity a = provision(kA);
  const long pid = nbmsd->health()["broker"]["pid"].get<long>();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  Json h;
  ASSERT_TRUE(wait_until([&] {
    h = nbmsd->health();
    return h["broker"]["restarts"] == 1 && h["broker"]["running"] == true &&
           h["mqtt"]["connected"] == true;
  })) << h.dump();
  EXPECT_NE(h["broker"]["pid"].get<long>(), pid);
  EXPECT_NE(h["broker"]["last_exit"].get<std::string>().find("signal 9"), std::string::npos);
  EXPECT_GE(h["mqtt"]["connection_losses"].get<int>(), 1);

  // The thing (re)connects with the same bundle and is ingested again.
  TlsClient& ca = connect_as(kA, a);
  const auto before = messages();
  ca.publish(topic_of(kA, "periodic_log"), log());
  EXPECT_TRUE(ingested(before + 1));
}

TEST_F(ManagedBroker, StoppingNbmsdStopsItsBroker) {
  const long pid = nbmsd->health()["broker"]["pid"].get<long>();
  ASSERT_TRUE(process_exists(pid));
  EXPECT_EQ(nbmsd->stop(), 0);
  EXPECT_FALSE(process_exists(pid));
  EXPECT_FALSE(port_accepts(tls_port));
}

TEST_F(ManagedBroker, ConnectionsWithoutACertificateOrWithAnotherCasAreRefused) {
  provision(kA);
  TlsClient none(uri(), kA, ca_file, std::nullopt);
  EXPECT_FALSE(none.connect());
  // A self-signed certificate with the thing's name.
  auto rogue = pki::CertificateAuthority::create({"rogue", "", 30, std::time(nullptr)});
  ASSERT_TRUE(rogue);
  auto cert = rogue->issue_thing(kA, {30, std::time(nullptr)});
  ASSERT_TRUE(cert);
  write_text(tmp.path() / "rogue.pem", cert->cert_pem);
  write_text(tmp.path() / "rogue.key", cert->key_pem);
  TlsClient fake(uri(), kA, ca_file, Identity{tmp.path() / "rogue.pem", tmp.path() / "rogue.key"});
  EXPECT_FALSE(fake.connect());
}

}  // namespace
}  // namespace nbms::it

namespace nbms::it {
namespace {

// broker.mode external: a plain broker the harness runs stands for the
// operator's Mosquitto; nbmsd writes the files and runs the reload command.
class ExternalBroker : public ::testing::Test {
 protected:
  void start(const std::string& reload_command) {
    broker.emplace(tmp.path() / "mosquitto");
    broker->start();
    nbmsd.emplace(tmp.path() / "nbmsd", broker->uri());
    nbmsd->config()["broker"] = {{"mode", "external"},
                                 {"dir", (tmp.path() / "files").string()},
                                 {"reload_command", reload_command}};
    ASSERT_NO_THROW(nbmsd->start());
    ASSERT_EQ(nbmsd->post("/api/v1/customers", {{"id", kCust}, {"name", "Cust"}}).status, 201);
    ASSERT_EQ(nbmsd
                  ->post(std::string("/api/v1/customers/") + kCust + "/buildings",
                         {{"id", kBldg}, {"name", "Bldg"}})
                  .status,
              201);
    ASSERT_EQ(
        nbmsd
            ->post(std::string("/api/v1/customers/") + kCust + "/buildings/" + kBldg + "/things",
                   {{"name", kA}})
            .status,
        201);
  }
  void TearDown() override {
    if (nbmsd && nbmsd->running()) nbmsd->stop();
  }
  std::size_t reloads_seen() const {
    const std::string text = read_text(marker());
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  fs::path marker() const { return tmp.path() / "reloads.txt"; }
  fs::path files() const { return tmp.path() / "files"; }
  HttpResponse cert(const std::string& method) {
    return nbmsd->request(method, thing_path(kA) + "/certificate", std::nullopt,
                          nbmsd->admin_token());
  }

  TempDir tmp;
  std::optional<Broker> broker;
  std::optional<Nbmsd> nbmsd;
};

TEST_F(ExternalBroker, WritesTheFilesAndRunsTheReloadCommandOnEveryChange) {
  ASSERT_NO_FATAL_FAILURE(start("echo reload >> " + marker().string()));
  EXPECT_EQ(reloads_seen(), 1u);                      // once at start
  EXPECT_EQ(mode_of(files() / "server.key"), 0640u);  // the broker's group reads it
  EXPECT_EQ(mode_of(files() / "acl"), 0640u);
  EXPECT_EQ(mode_of(files() / "nbmsd.key"), 0600u);
  EXPECT_EQ(read_text(files() / "acl").find(std::string("user ") + kA), std::string::npos);
  const std::string crl_before = read_text(files() / "crl.pem");

  ASSERT_EQ(cert("POST").status, 201);
  EXPECT_EQ(reloads_seen(), 2u);
  EXPECT_NE(read_text(files() / "acl").find(std::string("user ") + kA), std::string::npos);

  ASSERT_EQ(cert("DELETE").status, 200);
  EXPECT_EQ(reloads_seen(), 3u);
  EXPECT_EQ(read_text(files() / "acl").find(std::string("user ") + kA), std::string::npos);
  EXPECT_NE(read_text(files() / "crl.pem"), crl_before);  // now lists the revoked serial
  const Json h = nbmsd->health();
  EXPECT_EQ(h["broker"]["mode"], "external");
  EXPECT_EQ(h["broker"]["reloads"], 3);
  EXPECT_EQ(h["broker"]["reload_failures"], 0);
  EXPECT_EQ(h["status"], "ok");
}

TEST_F(ExternalBroker, AFailingReloadIsCountedAndTheChangeStillSucceeds) {
  ASSERT_NO_FATAL_FAILURE(start("echo cannot reload; exit 3"));
  ASSERT_EQ(cert("POST").status, 201);
  const Json h = nbmsd->health();
  EXPECT_EQ(h["broker"]["reload_failures"], 2);  // at start and after the change
  EXPECT_NE(read_text(files() / "acl").find(std::string("user ") + kA), std::string::npos);
  EXPECT_NE(read_text(nbmsd->log_file()).find("failed (exit 3): cannot reload"), std::string::npos);
}

}  // namespace
}  // namespace nbms::it
