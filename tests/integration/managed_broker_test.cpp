// nbmsd with broker.mode managed (issue 5): it starts its own Mosquitto over
// TLS, things registered over REST connect with their bundles, the ACL and the
// CRL it writes are enforced, removing a thing or re-issuing its certificate
// closes its live connection while the others stay connected across the
// reload, and a killed broker is restarted.
//
// "Never reaches nbmsd" is checked with ingest.messages in /health (every
// message the bridge receives is counted, valid or not) and ordering: a
// client's QoS 1 messages reach a subscriber in the order it sent them, so once
// a later allowed message was counted, an earlier denied one would have been.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <iostream>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "integration/fixture.hpp"
#include "integration/raw_mqtt.hpp"
#include "integration/tls_client.hpp"
#include "nbms/broker/kick.hpp"
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
    // nbmsd's log holds Mosquitto's lines too: what the broker saw and when.
    if (HasFailure() && nbmsd) std::cerr << "nbmsd.log:\n" << read_text(nbmsd->log_file()) << "\n";
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
  const Json h0 = nbmsd->health();
  const auto reloads = h0["broker"]["reloads"].get<std::uint64_t>();
  const auto kicks = h0["broker"]["kicks"].get<std::uint64_t>();
  const auto losses = h0["mqtt"]["connection_losses"].get<std::uint64_t>();

  const auto del =
      nbmsd->request("DELETE", thing_path(kA) + "/certificate", std::nullopt, nbmsd->admin_token());
  ASSERT_EQ(del.status, 200) << del.body;
  const Json h1 = nbmsd->health();  // both happen before the answer
  EXPECT_EQ(h1["broker"]["reloads"], reloads + 1);
  EXPECT_EQ(h1["broker"]["kicks"], kicks + 1);
  EXPECT_EQ(h1["broker"]["kick_failures"], 0);

  // The broker closed A's live connection (session takeover by nbmsd on the
  // control listener) ...
  ASSERT_TRUE(ca.wait_connection_lost()) << "the removed thing is still connected";
  EXPECT_FALSE(ca.connected());
  // ... only after it had re-read the CRL: its lines, in nbmsd's log, show
  // the reload before the takeover.
  // (nbmsd logs the broker's output as it reads it: wait for the line.)
  const std::string kick_line =
      std::string("Client ") + kA + " already connected, closing old connection.";
  std::string text;
  ASSERT_TRUE(wait_until([&] {
    text = read_text(nbmsd->log_file());
    return text.find(kick_line) != std::string::npos;
  }));
  const auto kick_at = text.find(kick_line);
  const auto reload_at = text.rfind(": Reloading config.", kick_at);
  ASSERT_NE(reload_at, std::string::npos);
  // That reload was the DELETE's: no other reload line between the
  // certificate's revocation and the takeover.
  const auto revoked_at = text.rfind("certificate revoked", kick_at);
  ASSERT_NE(revoked_at, std::string::npos);
  EXPECT_LT(revoked_at, reload_at);

  // Its reconnect with the revoked certificate is refused.
  TlsClient again(uri(), kA, ca_file, a);
  std::string error;
  EXPECT_FALSE(again.connect(&error));

  // B kept its connection through the reload and the kick (this client never
  // reconnects by itself), and so did nbmsd; B is still ingested.
  EXPECT_TRUE(cb.connected());
  before = messages();
  cb.publish(topic_of(kB, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 1));
  EXPECT_TRUE(cb.connected());
  EXPECT_EQ(nbmsd->health()["mqtt"]["connection_losses"], losses);
}

TEST_F(ManagedBroker, ReissuedCertificateClosesTheOldConnectionAndTheNewBundleConnects) {
  const Identity old_id = provision(kA);
  const fs::path old_dir = tmp.path() / "old";
  fs::create_directories(old_dir);
  fs::copy_file(old_id.cert, old_dir / "cert.pem");
  fs::copy_file(old_id.key, old_dir / "key.pem");
  const Identity old_copy{old_dir / "cert.pem", old_dir / "key.pem"};
  TlsClient& old_conn = connect_as(kA, old_copy);
  const auto kicks = nbmsd->health()["broker"]["kicks"].get<std::uint64_t>();

  // Re-issue: the old certificate is revoked, the MW still runs on it.
  const Identity fresh = provision(kA);
  EXPECT_EQ(nbmsd->health()["broker"]["kicks"], kicks + 1);
  ASSERT_TRUE(old_conn.wait_connection_lost()) << "the old certificate's connection stays";
  {
    TlsClient again(uri(), kA, ca_file, old_copy);
    EXPECT_FALSE(again.connect());
  }

  // The MW installs the new bundle: it connects and is ingested. Like a MW, it
  // may try again: on a loaded machine the refused client's teardown has made
  // the next connection of the same process fail its handshake (seen once).
  auto fresh_conn = std::make_unique<TlsClient>(uri(), kA, ca_file, fresh);
  std::string error;
  bool connected = false;
  for (int attempt = 0; attempt < 3 && !connected; ++attempt)
    connected = fresh_conn->connect(&error);
  ASSERT_TRUE(connected) << error;
  clients.push_back(std::move(fresh_conn));
  TlsClient& now = *clients.back();
  const auto before = messages();
  now.publish(topic_of(kA, "periodic_log"), log());
  EXPECT_TRUE(ingested(before + 1));
  EXPECT_TRUE(now.connected());
}

TEST_F(ManagedBroker, ControlListenerIsOwnerOnlyAndGrantsNothing) {
  const fs::path dir = nbmsd->data_dir() / "broker";
  EXPECT_EQ(mode_of(dir), 0700u);  // other local users cannot reach the socket
  ASSERT_TRUE(fs::is_socket(dir / "control.sock"));
  EXPECT_EQ(mode_of(dir / "control.acl"), 0600u);
  EXPECT_NE(read_text(dir / "mosquitto.conf").find("listener 0 " + (dir / "control.sock").string()),
            std::string::npos);
  // A kick of a client id nobody uses is accepted and closes nothing.
  auto ok = broker::kick_client(dir / "control.sock", "nobody_here", 5s);
  EXPECT_TRUE(ok) << ok.error().message;

  RawMqtt ctl(dir / "control.sock");
  ctl.send(*broker::connect_packet("control_probe"));
  ASSERT_EQ(ctl.read(4), std::string("\x20\x02\x00\x00", 4));
  ctl.send(RawMqtt::subscribe("#"));
  ASSERT_EQ(ctl.read(4), std::string("\x90\x03\x00\x01", 4));  // SUBACK header, packet id 1
  ctl.read(1);                                                 // its return code

  // Receive nothing: a local tool publishes; once its own subscription got
  // the message, the broker had queued any copy for the control client too,
  // ahead of the PINGRESP to a later PINGREQ.
  TlsClient local("tcp://127.0.0.1:" + std::to_string(loopback_port), "local-tool", {},
                  std::nullopt);
  ASSERT_TRUE(local.connect());
  ASSERT_EQ(local.subscribe({"#"}), (std::vector<int>{1}));
  auto before = messages();
  local.publish(topic_of(kA, "periodic_log"), log());
  ASSERT_TRUE(local.receive());
  ASSERT_TRUE(ingested(before + 1));
  ctl.send(RawMqtt::pingreq());
  EXPECT_EQ(ctl.read(2), RawMqtt::pingresp()) << "a message reached the control listener";

  // Publish nothing: the broker has handled the control client's PUBLISH once
  // it answered the PINGREQ after it; a later message of the local tool then
  // reaches nbmsd alone.
  ctl.send(RawMqtt::publish_qos0(topic_of(kA, "periodic_log"), log()));
  ctl.send(RawMqtt::pingreq());
  ASSERT_EQ(ctl.read(2), RawMqtt::pingresp());
  before = messages();
  local.publish(topic_of(kA, "periodic_log"), log());
  ASSERT_TRUE(ingested(before + 1));
  EXPECT_EQ(messages(), before + 1) << "the control listener's publish reached nbmsd";
  EXPECT_EQ(nbmsd->health()["mqtt"]["connected"], true);
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
