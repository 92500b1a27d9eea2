#include "integration/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace nbms::it {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using SteadyClock = std::chrono::steady_clock;

// A test process must not die of SIGPIPE when a child it talks to goes away.
// (Children get the default disposition back before exec.)
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  return ::sigaction(SIGPIPE, &sa, nullptr) == 0;
}();

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A socket fd closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::uintmax_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The part of a log file written after byte `offset` (what this run wrote).
std::string text_after(const fs::path& file, std::uintmax_t offset) {
  const std::string all = read_text(file);
  return offset < all.size() ? all.substr(offset) : std::string();
}

std::string find_mosquitto() {
  if (const char* env = std::getenv("NBMS_IT_MOSQUITTO"); env && *env) return env;
  for (const char* candidate : {"/usr/sbin/mosquitto", "/usr/bin/mosquitto",
                                "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  throw std::runtime_error(
      "mosquitto not found (install the mosquitto package or set NBMS_IT_MOSQUITTO)");
}

}  // namespace

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (done()) return true;
    const auto now = SteadyClock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(
        std::min<SteadyClock::duration>(every, deadline - now));  // poll interval
  }
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string tail_of(const fs::path& file, std::size_t lines) {
  const std::string text = read_text(file);
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++n == lines) break;
  }
  return text.substr(pos);
}

std::string percent_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::uint16_t pick_free_port() {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) throw_errno("socket");
  auto addr = loopback(0);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_errno("getsockname");
  }
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return false;
  const auto addr = loopback(port);
  return ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

// ---- TempDir ------------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  std::string templ = "/tmp/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw_errno("mkdtemp " + templ);
  path_ = templ;
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// ---- Process ----------------------------------------------------------------------

Process::~Process() {
  kill_and_reap();
}

void Process::spawn(const std::vector<std::string>& argv, const fs::path& log_file) {
  if (running()) throw std::logic_error("process already running");
  if (argv.empty()) throw std::invalid_argument("empty argv");
  if (::access(argv[0].c_str(), X_OK) != 0) throw_errno("cannot execute " + argv[0]);
  // Everything the child needs is prepared here: between fork and exec only
  // async-signal-safe calls are allowed (Paho's threads exist in this process).
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw_errno("open " + log_file.string());
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(log_fd);
    throw_errno("open /dev/null");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    throw_errno("fork");
  }
  if (pid == 0) {
    // Child. Die with the test process rather than linger as an orphan.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // Do not leak the test's sockets (Paho, HTTP) into the child.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    }
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGPIPE, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = pid;
  status_.reset();
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (!wait_until([this] { return !running(); }, timeout, 5ms)) return std::nullopt;
  return status_;
}

void Process::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

void Process::kill_and_reap() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = st;
  pid_ = -1;
}

std::string describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return "signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "wait status " + std::to_string(wait_status);
}

CommandResult run_command(const std::vector<std::string>& argv, const fs::path& log_file,
                          std::chrono::milliseconds timeout) {
  Process p;
  p.spawn(argv, log_file);
  CommandResult result;
  const auto st = p.wait(timeout);
  if (!st) {
    p.kill_and_reap();
  } else if (WIFEXITED(*st)) {
    result.exit_code = WEXITSTATUS(*st);
  }
  result.output = read_text(log_file);
  return result;
}

// ---- HTTP -------------------------------------------------------------------

namespace {

net::awaitable<HttpResponse> exchange(std::uint16_t port, http::request<http::string_body> req,
                                      std::chrono::milliseconds timeout) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  stream.expires_after(timeout);
  co_await stream.async_connect(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port),
                                net::use_awaitable);
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} << 20);
  co_await http::async_read(stream, buffer, parser, net::use_awaitable);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  out.json = Json::parse(out.body, nullptr, false);
  co_return out;
}

}  // namespace

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::optional<Json>& body, std::chrono::milliseconds timeout,
                          const std::string& token) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::connection, "close");
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = body->dump();
  }
  req.prepare_payload();
  net::io_context ioc;
  auto result = net::co_spawn(ioc, exchange(port, std::move(req), timeout), net::use_future);
  ioc.run();
  try {
    return result.get();
  } catch (const std::exception& e) {
    throw std::runtime_error(method + " http://127.0.0.1:" + std::to_string(port) + target +
                             " failed: " + e.what());
  }
}

// ---- Broker -----------------------------------------------------------------------

Broker::Broker(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
}

Broker::~Broker() {
  process_.kill_and_reap();
}

std::string Broker::uri() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

void Broker::write_config() const {
  std::ostringstream c;
  c << "listener " << port_ << " 127.0.0.1\n"
    << "allow_anonymous true\n"
    << "persistence true\n"
    // Trailing slash: Mosquitto appends the file name to this string as is.
    << "persistence_location " << dir_.string() << "/\n"
    << "max_queued_messages 100000\n"
    << "max_inflight_messages 100\n"
    << "log_dest stderr\n"
    << "log_type all\n"
    << "connection_messages true\n";
  // Started as root, Mosquitto drops to user "mosquitto" (its default `user`)
  // before it writes anything, and then cannot write the root-owned 0700 temp
  // dir: saving the persistence file fails ("Error saving in-memory database
  // ... Permission denied"), which silently breaks restart(). `user root` keeps
  // it running as root (tested with 2.0.11; it logs a warning). Not started as
  // root, `user` has no effect, so the line is only written for root.
  if (::geteuid() == 0) c << "user root\n";
  write_text(dir_ / "mosquitto.conf", c.str());
}

bool Broker::try_start() {
  const auto log_offset = file_size_or_zero(log_file());
  process_.spawn({find_mosquitto(), "-c", (dir_ / "mosquitto.conf").string()}, log_file());
  // Ready when the port accepts and this run logged "running" (so the
  // accepting socket is ours, not another process that took the port).
  bool exited = false;
  const bool ready = wait_until([&] {
    if (!process_.running()) {
      exited = true;
      return true;
    }
    return port_accepts(port_) &&
           text_after(log_file(), log_offset).find(" running") != std::string::npos;
  });
  if (ready && !exited) return true;
  process_.kill_and_reap();
  return false;
}

void Broker::start() {
  if (process_.running()) throw std::logic_error("broker already running");
  const bool first = port_ == 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (first) port_ = pick_free_port();  // a new port per attempt: bind may race
    write_config();
    if (try_start()) return;
  }
  throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) +
                           "; log tail:\n" + tail_of(log_file(), 30));
}

void Broker::stop() {
  if (!process_.running()) return;
  process_.signal(SIGTERM);
  const auto st = process_.wait(10s);
  if (!st) {
    process_.kill_and_reap();
    ADD_FAILURE() << "mosquitto did not exit within 10 s of SIGTERM";
  }
}

void Broker::restart() {
  stop();
  start();
}

// ---- nbmsd ----------------------------------------------------------------------

Nbmsd::Nbmsd(fs::path dir, std::string mqtt_uri)
    : dir_(std::move(dir)), mqtt_uri_(std::move(mqtt_uri)) {
  fs::create_directories(dir_);
}

Nbmsd::~Nbmsd() {
  process_.kill_and_reap();
}

bool Nbmsd::try_start() {
  const auto log_offset = file_size_or_zero(log_file());
  http_port_ = pick_free_port();
  // A cheap password hash keeps logins fast; the admin password comes from the
  // environment, as an operator would give it.
  const fs::path config = dir_ / "nbmsd.json";
  std::ofstream(config) << config_.dump();
  ::setenv("NBMS_ADMIN_PASSWORD", kAdminPassword, 1);
  process_.spawn(
      {NBMSD_PATH, "--config", config.string(), "--data-dir", data_dir().string(), "--http-listen",
       "127.0.0.1:" + std::to_string(http_port_), "--mqtt-uri", mqtt_uri_, "--log-level", "debug"},
      log_file());
  admin_token_.clear();
  bool exited = false;
  const bool ready = wait_until([&] {
    if (!process_.running()) {
      exited = true;
      return true;
    }
    try {
      if (admin_token_.empty()) {
        const auto login = http_request(http_port_, "POST", "/api/v1/auth/login",
                                        Json{{"user", "admin"}, {"password", kAdminPassword}}, 2s);
        if (login.status != 200) return false;
        admin_token_ = login.json["token"].get<std::string>();
      }
      const auto r =
          http_request(http_port_, "GET", "/api/v1/health", std::nullopt, 2s, admin_token_);
      return r.status == 200 && r.json.is_object() && r.json["mqtt"]["connected"] == true;
    } catch (const std::exception&) {
      return false;  // not listening yet
    }
  });
  if (ready && !exited) return true;
  const std::string run_log = text_after(log_file(), log_offset);
  if (exited && run_log.find("already in use") != std::string::npos) return false;  // port race
  const std::string what = exited
                               ? "exited (" + describe_status(process_.status().value_or(0)) + ")"
                               : "was not ready (health 200 + mqtt.connected) in time";
  process_.kill_and_reap();
  throw std::runtime_error("nbmsd " + what + "; log tail:\n" + tail_of(log_file(), 40));
}

void Nbmsd::start() {
  if (process_.running()) throw std::logic_error("nbmsd already running");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (try_start()) return;
  }
  throw std::runtime_error("nbmsd could not bind an HTTP port in 5 attempts");
}

int Nbmsd::stop() {
  if (!process_.running()) {
    ADD_FAILURE() << "nbmsd was not running when asked to stop";
    return -1;
  }
  process_.signal(SIGTERM);
  const auto st = process_.wait(10s);
  if (!st) {
    process_.kill_and_reap();
    ADD_FAILURE() << "nbmsd did not exit within 10 s of SIGTERM; log tail:\n"
                  << tail_of(log_file(), 30);
    return -1;
  }
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "nbmsd ended with " << describe_status(*st) << " after SIGTERM";
  return WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
}

void Nbmsd::kill() {
  process_.kill_and_reap();
}

HttpResponse Nbmsd::get(const std::string& target) const {
  return request("GET", target, std::nullopt, admin_token_);
}

HttpResponse Nbmsd::post(const std::string& target, const Json& body) const {
  return request("POST", target, body, admin_token_);
}

HttpResponse Nbmsd::request(const std::string& method, const std::string& target,
                            const std::optional<Json>& body, const std::string& token) const {
  return http_request(http_port_, method, target, body, 10s, token);
}

std::string Nbmsd::login(const std::string& user, const std::string& password) const {
  const auto r =
      request("POST", "/api/v1/auth/login", Json{{"user", user}, {"password", password}}, {});
  if (r.status != 200) {
    throw std::runtime_error("login of " + user + " answered " + std::to_string(r.status) + ": " +
                             r.body);
  }
  return r.json["token"].get<std::string>();
}

Json Nbmsd::health() const {
  auto r = get("/api/v1/health");
  if (r.status != 200 || !r.json.is_object()) {
    throw std::runtime_error("health answered " + std::to_string(r.status) + ": " + r.body);
  }
  return std::move(r.json);
}

// ---- MQTT client ------------------------------------------------------------------

struct MqttClient::Impl {
  std::string uri;
  mqtt::async_client client;
  std::vector<std::string> subscriptions;

  explicit Impl(std::string u)
      : uri(std::move(u)),
        client(uri, "nbms-it-" + std::to_string(::getpid()),
               mqtt::create_options_builder().mqtt_version(MQTTVERSION_3_1_1).finalize(), nullptr) {
    // Received messages go to Paho's queue; the test thread takes them from it
    // (nothing blocks inside a Paho callback).
    client.start_consuming();
  }

  void ensure_connected() {
    if (client.is_connected()) return;
    const auto options = mqtt::connect_options_builder()
                             .clean_session(true)
                             .mqtt_version(MQTTVERSION_3_1_1)
                             .keep_alive_interval(30s)
                             .connect_timeout(5s)
                             .finalize();
    if (!client.connect(options)->wait_for(10s)) {
      throw std::runtime_error("MQTT connect to " + uri + " timed out");
    }
    for (const auto& filter : subscriptions) {
      if (!client.subscribe(filter, 1)->wait_for(10s)) {
        throw std::runtime_error("MQTT subscribe to '" + filter + "' timed out");
      }
    }
  }
};

MqttClient::MqttClient(std::string uri) : impl_(std::make_unique<Impl>(std::move(uri))) {
  impl_->ensure_connected();
}

MqttClient::~MqttClient() {
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(5s);
  } catch (const std::exception&) {
  }
  impl_->client.stop_consuming();
}

void MqttClient::publish(const std::string& topic, const std::string& payload) {
  try {
    impl_->ensure_connected();
    auto token = impl_->client.publish(mqtt::make_message(topic, payload, 1, false));
    if (!token->wait_for(10s)) {
      throw std::runtime_error("no PUBACK within 10 s");
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("MQTT publish to '" + topic + "' failed: " + e.what());
  }
}

void MqttClient::subscribe(const std::string& topic_filter) {
  impl_->ensure_connected();
  if (!impl_->client.subscribe(topic_filter, 1)->wait_for(10s)) {
    throw std::runtime_error("MQTT subscribe to '" + topic_filter + "' timed out");
  }
  impl_->subscriptions.push_back(topic_filter);
}

std::optional<MqttMessage> MqttClient::receive(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return std::nullopt;
    mqtt::const_message_ptr msg;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (!impl_->client.try_consume_message_for(&msg, left)) return std::nullopt;
    // A null message marks a lost connection; keep waiting for real ones.
    if (msg) return MqttMessage{msg->get_topic(), msg->get_payload_str()};
  }
}

}  // namespace nbms::it

namespace nbms::it {

// ---- WebSocket client ------------------------------------------------------------

namespace websocket = beast::websocket;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  bool open = false;

  // Runs `op` (which starts one async operation whose handler sets `done`)
  // until it completes or `timeout` passes; then cancels it.
  template <class Start>
  bool run(std::chrono::milliseconds timeout, Start&& start) {
    bool done = false;
    start(done);
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) {
      beast::get_lowest_layer(ws).cancel();
      ioc.restart();
      ioc.run_for(1s);
    }
    return done;
  }
};

namespace {

// Connects and upgrades `ws`; 0 if accepted, -1 if refused.
int handshake(websocket::stream<beast::tcp_stream>& ws, std::uint16_t port,
              const std::string& token, const std::string& origin) {
  beast::get_lowest_layer(ws).connect(
      net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port));
  ws.set_option(websocket::stream_base::decorator([token, origin](websocket::request_type& req) {
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!origin.empty()) req.set(http::field::origin, origin);
  }));
  beast::error_code ec;
  ws.handshake("127.0.0.1:" + std::to_string(port), "/api/v1/ws", ec);
  return ec ? -1 : 0;
}

}  // namespace

WsClient::WsClient(std::uint16_t port, const std::string& token, const std::string& origin)
    : impl_(std::make_unique<Impl>()) {
  if (handshake(impl_->ws, port, token, origin) != 0) {
    throw std::runtime_error("websocket upgrade refused with status " +
                             std::to_string(ws_refusal_status(port, token, origin)));
  }
  impl_->open = true;
}

WsClient::~WsClient() {
  close();
}

void WsClient::send(const Json& message) {
  send_text(message.dump());
}

void WsClient::send_text(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(net::buffer(text));
}

std::optional<Json> WsClient::receive(std::chrono::milliseconds timeout) {
  if (!impl_->open) return std::nullopt;
  beast::error_code ec;
  const bool done = impl_->run(timeout, [&](bool& flag) {
    impl_->buffer.clear();
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code e, std::size_t) {
      ec = e;
      flag = true;
    });
  });
  if (!done || ec) {
    if (ec) impl_->open = false;
    return std::nullopt;
  }
  return Json::parse(beast::buffers_to_string(impl_->buffer.data()), nullptr, false);
}

std::optional<Json> WsClient::receive_until(const std::function<bool(const Json&)>& match,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto msg = receive(left);
    if (!msg) return std::nullopt;
    if (match(*msg)) return msg;
  }
}

void WsClient::close() {
  if (!impl_ || !impl_->open) return;
  impl_->open = false;
  beast::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
}

int ws_refusal_status(std::uint16_t port, const std::string& token, const std::string& origin) {
  // A hand-made upgrade request, so that the refusal's status can be read.
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port));
  http::request<http::empty_body> req{http::verb::get, "/api/v1/ws", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!origin.empty()) req.set(http::field::origin, origin);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(true);  // a 101 has no body; a refusal's body is not needed
  http::read_header(stream, buffer, parser);
  const int status = static_cast<int>(parser.get().result_int());
  return status == 101 ? 0 : status;
}

}  // namespace nbms::it

namespace nbms::it {

HttpOnlyNbmsd::HttpOnlyNbmsd(fs::path dir, bool tls) : dir_(std::move(dir)), tls_(tls) {
  fs::create_directories(dir_);
  port_ = pick_free_port();
  Json http{{"listen", "127.0.0.1:" + std::to_string(port_)}};
  if (tls_) {
    const auto made = run_command(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", (dir_ / "key.pem").string(), "-out", cert().string(), "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"},
        dir_ / "openssl.log");
    if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.output);
    redirect_port_ = pick_free_port();
    http["tls_cert_file"] = cert().string();
    http["tls_key_file"] = (dir_ / "key.pem").string();
    http["redirect_listen"] = "127.0.0.1:" + std::to_string(redirect_port_);
  }
  write_text(dir_ / "nbmsd.json",
             Json{{"http", http},
                  {"auth", {{"pbkdf2_iterations", 1000}}},
                  {"storage", {{"data_dir", (dir_ / "data").string()}}},
                  {"mqtt", {{"uri", "tcp://127.0.0.1:" + std::to_string(pick_free_port())}}}}
                 .dump());
  ::setenv("NBMS_ADMIN_PASSWORD", kAdminPassword, 1);
  process_.spawn({NBMSD_PATH, "--config", (dir_ / "nbmsd.json").string()}, log_file());
  if (!wait_until([&] {
        return !process_.running() ||
               (port_accepts(port_) && (!tls_ || port_accepts(redirect_port_)));
      }) ||
      !process_.running()) {
    process_.kill_and_reap();
    throw std::runtime_error("nbmsd did not come up; log tail:\n" + tail_of(log_file(), 30));
  }
}

HttpOnlyNbmsd::~HttpOnlyNbmsd() {
  if (!process_.running()) return;
  process_.signal(SIGTERM);
  const auto st = process_.wait(10s);
  if (!st) {
    process_.kill_and_reap();
    ADD_FAILURE() << "nbmsd did not stop on SIGTERM";
    return;
  }
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << tail_of(log_file(), 30);
}

std::string HttpOnlyNbmsd::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

}  // namespace nbms::it
