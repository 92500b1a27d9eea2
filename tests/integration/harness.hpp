#pragma once
// Integration-test harness: real child processes (Mosquitto, nbmsd), a small
// synchronous HTTP client, one MQTT client for publishing and subscribing, temp
// directories and a polling wait. Paho and Beast stay in harness.cpp.
//
// Waiting rule: never sleep to wait for something; poll a condition with
// wait_until() against a deadline.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nbms::it {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How long any single event (a start, a message being ingested, ...) may take.
// Generous: CI machines are slow and shared; passing tests never wait this long.
inline constexpr std::chrono::milliseconds kEventTimeout = 15s;

// Polls `done` every `every` until it returns true (true) or `timeout` passes
// (false). `done` is evaluated once more at the deadline.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = kEventTimeout,
                std::chrono::milliseconds every = 20ms);

// The last `lines` lines of a text file ("" if it cannot be read).
std::string tail_of(const fs::path& file, std::size_t lines);
std::string read_text(const fs::path& file);
void write_text(const fs::path& file, const std::string& text);

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(const std::string& s);

// A loopback TCP port that was free a moment ago (bind to port 0, then close).
// Another process may take it before we do: callers retry on a bind failure.
std::uint16_t pick_free_port();
// True if a TCP connection to 127.0.0.1:port is accepted right now.
bool port_accepts(std::uint16_t port);

// A directory made with mkdtemp under /tmp; removed on destruction unless keep().
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "nbms-it-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  fs::path path_;
  bool keep_ = false;
};

// One child process; stdin from /dev/null, stdout and stderr appended to a log
// file. The child gets SIGKILL if the test process dies, and on destruction if
// it still runs.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // argv[0] is the executable path (no PATH search). Throws on failure.
  void spawn(const std::vector<std::string>& argv, const fs::path& log_file);
  bool running();  // reaps the child if it has exited
  // Waits for the child to exit; its wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // SIGKILL and reap (no-op if not running).
  void kill_and_reap();
  pid_t pid() const { return pid_; }
  std::optional<int> status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit 0", "exit 2", "signal 9 (Killed)", ...
std::string describe_status(int wait_status);

// Runs a command to completion, output (stdout + stderr) captured in `log_file`.
struct CommandResult {
  std::optional<int> exit_code;  // nullopt: killed by a signal or timed out
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv, const fs::path& log_file,
                          std::chrono::milliseconds timeout = kEventTimeout);

// ---- HTTP -------------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  std::string body;
  Json json;  // discarded (is_discarded()) if the body is not JSON
};

// One request on a fresh connection to 127.0.0.1:port, with `token` as the
// bearer token when not empty; throws on transport errors or timeout.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::optional<Json>& body = std::nullopt,
                          std::chrono::milliseconds timeout = 10s, const std::string& token = {});

// ---- Mosquitto ----------------------------------------------------------------

// A Mosquitto broker in `dir` (config, persistence and log there) on a free
// loopback port. restart() keeps the port and the persistence file.
class Broker {
 public:
  explicit Broker(fs::path dir);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  void start();  // returns when the port accepts connections; throws on failure
  void stop();   // SIGTERM, waits for the exit (persists the sessions)
  void restart();
  bool running() { return process_.running(); }

  std::uint16_t port() const { return port_; }
  std::string uri() const;
  fs::path log_file() const { return dir_ / "mosquitto.log"; }

 private:
  void write_config() const;
  bool try_start();

  fs::path dir_;
  std::uint16_t port_ = 0;
  Process process_;
};

// ---- nbmsd ----------------------------------------------------------------------

class Nbmsd {
 public:
  // `dir` holds data/ (the database) and nbmsd.log.
  Nbmsd(fs::path dir, std::string mqtt_uri);
  ~Nbmsd();
  Nbmsd(const Nbmsd&) = delete;
  Nbmsd& operator=(const Nbmsd&) = delete;

  // Starts on a fresh HTTP port; returns when /api/v1/health answers 200 with
  // mqtt.connected true. Throws on failure (with the log's tail).
  void start();
  // SIGTERM; expects (EXPECT_EQ) a clean exit 0 within the timeout. Returns the
  // exit code, or -1 if it was killed or had to be.
  int stop();
  // SIGKILL: no chance to clean up.
  void kill();
  bool running() { return process_.running(); }

  std::uint16_t http_port() const { return http_port_; }
  fs::path data_dir() const { return dir_ / "data"; }
  fs::path log_file() const { return dir_ / "nbmsd.log"; }

  // As the admin (logged in by start()).
  HttpResponse get(const std::string& target) const;
  HttpResponse post(const std::string& target, const Json& body) const;
  // As whoever `token` belongs to (empty: no token).
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::optional<Json>& body, const std::string& token) const;
  // Logs in; returns the session token (throws unless 200).
  std::string login(const std::string& user, const std::string& password) const;
  const std::string& admin_token() const { return admin_token_; }
  // The config file's JSON, written at each start (change it before start()).
  Json& config() { return config_; }
  Json health() const;  // throws unless 200

 private:
  bool try_start();

  fs::path dir_;
  std::string mqtt_uri_;
  std::uint16_t http_port_ = 0;
  std::string admin_token_;
  // Cheap password hashes keep the tests' logins fast.
  Json config_ = {{"auth", {{"pbkdf2_iterations", 1000}}}};
  Process process_;
};

// ---- WebSocket client -------------------------------------------------------------

// A blocking client of /api/v1/ws on its own io_context and connection.
class WsClient {
 public:
  // Connects and upgrades with `Authorization: Bearer <token>` (none if empty)
  // and an Origin header if given. Throws if the upgrade is refused; the HTTP
  // status of the refusal is in the message ("status 401").
  WsClient(std::uint16_t port, const std::string& token, const std::string& origin = {});
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  void send(const Json& message);
  void send_text(const std::string& text);  // as is, even if it is not JSON
  // The next message, or nullopt after `timeout` (or if the server closed).
  std::optional<Json> receive(std::chrono::milliseconds timeout = kEventTimeout);
  // Receives until `match` accepts a message (returned); skips the others.
  std::optional<Json> receive_until(const std::function<bool(const Json&)>& match,
                                    std::chrono::milliseconds timeout = kEventTimeout);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HTTP status with which an upgrade to /api/v1/ws is refused (0 if accepted).
int ws_refusal_status(std::uint16_t port, const std::string& token, const std::string& origin = {});

// The admin password every test nbmsd starts with (NBMS_ADMIN_PASSWORD).
inline constexpr const char* kAdminPassword = "integration-admin-pw";

// nbmsd for HTTP-only tests: no broker (the bridge keeps retrying in the
// background), a fresh loopback port, and with `tls` HTTPS with a self-signed
// certificate for the IP address 127.0.0.1 (cert() is also the clients' CA)
// plus a plain-HTTP redirect port. Started by the constructor (throws on
// failure); the destructor stops it with SIGTERM and expects exit 0.
class HttpOnlyNbmsd {
 public:
  HttpOnlyNbmsd(fs::path dir, bool tls);
  ~HttpOnlyNbmsd();
  HttpOnlyNbmsd(const HttpOnlyNbmsd&) = delete;
  HttpOnlyNbmsd& operator=(const HttpOnlyNbmsd&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t redirect_port() const { return redirect_port_; }
  fs::path cert() const { return dir_ / "cert.pem"; }
  std::string url() const;  // http(s)://127.0.0.1:port
  fs::path log_file() const { return dir_ / "nbmsd.log"; }

 private:
  fs::path dir_;
  bool tls_;
  std::uint16_t port_ = 0;
  std::uint16_t redirect_port_ = 0;
  Process process_;
};

// ---- MQTT client ------------------------------------------------------------------

struct MqttMessage {
  std::string topic;
  std::string payload;
};

// One Paho client (clean session, MQTT 3.1.1) for the whole test. Keep at most
// one alive per process: a second concurrent Paho client takes ~2 s to connect.
// Reconnects by itself before an operation if the broker went away.
class MqttClient {
 public:
  explicit MqttClient(std::string uri);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // QoS 1 publish; returns once the broker acknowledged it (PUBACK). Throws on
  // failure or timeout. Called from the test thread, never from a Paho callback.
  void publish(const std::string& topic, const std::string& payload);
  // Subscribes (QoS 1) and returns once the broker confirmed it (SUBACK).
  void subscribe(const std::string& topic_filter);
  // The next message received on a subscription, or nullopt after `timeout`.
  std::optional<MqttMessage> receive(std::chrono::milliseconds timeout = kEventTimeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::it
