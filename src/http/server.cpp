// The Beast/Asio side of the HTTP server: acceptor, connections, timeouts and
// shutdown. The only translation unit of the module that includes Beast (it
// compiles slowly); requests are routed by Api (api.cpp), which knows no Beast.
#include "nbms/http/server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "api.hpp"
#include "log.hpp"
#include "url.hpp"
#include "ws_channel.hpp"

namespace nbms::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Waiting for a request (its header while idle, then its body), and writing a response.
constexpr auto kReadTimeout = 30s;
constexpr auto kWriteTimeout = 30s;
// stop(): how long in-flight requests may take before their connections are cut.
constexpr auto kDrainDeadline = 2s;
// After an error response (400, 413) that ends the connection, how long to drain
// what the client still sends, so that closing does not reset the connection
// before the client read the response.
constexpr auto kLingerTime = 1s;
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// WebSocket: largest client message, the shortest idle timeout (pings go out
// after half of it), and answers/results/errors queued for a client before it
// counts as too slow.
constexpr std::size_t kWsMaxMessageBytes = std::size_t{64} * 1024;
constexpr auto kWsMinIdleTimeout = 2s;
constexpr std::size_t kWsMaxQueuedMessages = 256;

// Completion token for coroutines that reports errors in `ec` instead of throwing.
auto use_awaitable_ec(beast::error_code& ec) {
  return net::redirect_error(net::use_awaitable, ec);
}

std::string endpoint_text(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// One client connection, as stop() sees it. The concrete connection (plain or
// TLS) is a Connection<Stream>; its members are only touched on its strand.
struct ConnectionBase {
  virtual ~ConnectionBase() = default;
  virtual net::any_io_executor executor() = 0;
  virtual void cancel() = 0;  // pending operations end with operation_aborted
  virtual void close() = 0;   // the socket closes now
  bool busy = false;          // between a request's header being read and its response written
  // Set while the connection is a WebSocket: asks it to close with 1001.
  std::function<void()> stop_websocket;
};

template <class Stream>
struct Connection final : ConnectionBase {
  template <class... Args>
  explicit Connection(Args&&... args) : stream(std::forward<Args>(args)...) {}
  net::any_io_executor executor() override { return stream.get_executor(); }
  void cancel() override { beast::get_lowest_layer(stream).cancel(); }
  void close() override { beast::get_lowest_layer(stream).close(); }
  Stream stream;
};

// A connection's strand by its concrete type: Beast's tcp_stream would erase it
// into any_io_executor, which allocates on every operation (per WebSocket
// frame; docs/performance.md).
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;
using PlainStream = beast::basic_stream<tcp, Strand>;
using TlsStream = beast::ssl_stream<PlainStream>;

// The wire form of a router response. For HEAD, Content-Length is that of the
// GET body and no body is sent.
bhttp::response<bhttp::string_body> to_message(Response out, unsigned version, bool keep_alive,
                                               bool head) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), version};
  res.set(bhttp::field::server, "nbms");
  res.set(bhttp::field::content_type, out.content_type);
  for (const auto& [name, value] : out.headers) res.insert(name, value);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(out.body.size());
  } else {
    res.body() = std::move(out.body);
    res.prepare_payload();
  }
  return res;
}

void log_exception(const std::exception_ptr& e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger().error("{}: {}", what, ex.what());
  } catch (...) {
    logger().error("{}: unknown exception", what);
  }
}

// Boost 1.74's string_view is not std::string_view.
std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

// The host part of a Host header or of an Origin's authority ("[::1]:8080" -> "[::1]").
std::string_view host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto end = authority.find(']');
    return end == std::string_view::npos ? authority : authority.substr(0, end + 1);
  }
  return authority.substr(0, authority.find(':'));
}

// True when an Origin header names the host the request was sent to, so that a
// page of another site cannot open a WebSocket with the user's cookie.
bool same_origin(std::string_view origin, std::string_view host) {
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const auto authority = origin.substr(scheme_end + 3);
  return beast::iequals(beast::string_view(authority.data(), authority.size()),
                        beast::string_view(host.data(), host.size()));
}

}  // namespace

// Owns the io_context, its threads, the acceptors and the registry of live
// connections. Lifecycle calls (start/stop) are serialized by lifecycle_mu.
struct Server::Impl {
  Impl(ServerOptions o, Services s)
      : options(std::move(o)),
        api(s, ApiOptions{options.web_root, options.body_limit,
                          static_cast<int>(std::max<std::size_t>(1, options.threads / 2))}),
        services(std::move(s)),
        alarm_feed(services.alarms ? AlarmFeed::create(*services.alarms, services.clock) : nullptr),
        ioc(static_cast<int>(options.threads == 0 ? 1 : options.threads)) {}

  // `redirect`: a plain listener that answers every request with a redirect to HTTPS.
  net::awaitable<void> accept_loop(tcp::acceptor& listener, bool redirect);
  template <class Stream>
  net::awaitable<void> serve(std::shared_ptr<Connection<Stream>> conn, std::uint64_t id,
                             bool redirect);
  template <class Stream>
  net::awaitable<void> websocket(std::shared_ptr<Connection<Stream>> conn,
                                 bhttp::request<bhttp::string_body> req, auth::Principal who,
                                 std::string remote);
  template <class Stream>
  net::awaitable<void> write_and_linger(Stream& stream, Response out);
  template <class Stream>
  void register_connection(std::shared_ptr<Connection<Stream>> conn, bool redirect);
  Response redirect_to_https(const bhttp::request<bhttp::string_body>& req) const;
  void unregister(std::uint64_t id);
  void stop_now();

  const ServerOptions options;
  const Api api;
  const Services services;
  const std::shared_ptr<AlarmFeed> alarm_feed;  // WebSocket alarm push; nullptr without alarms
  std::optional<ssl::context> tls;              // set by start() when HTTPS is configured
  std::uint16_t port = 0;

  enum class State { idle, running, stopped };
  std::mutex lifecycle_mu;
  State state = State::idle;

  // Declared before ioc: coroutine frames destroyed with the io_context unregister here.
  std::mutex mu;
  std::condition_variable drained;
  std::unordered_map<std::uint64_t, std::shared_ptr<ConnectionBase>> connections;  // guarded by mu
  std::uint64_t next_id = 0;                                                       // guarded by mu
  std::atomic<bool> stopping{false};

  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;           // each used on its own strand once started
  std::optional<tcp::acceptor> redirect_acceptor;  // plain HTTP -> HTTPS
  std::vector<std::thread> threads;
};

net::awaitable<void> Server::Impl::accept_loop(tcp::acceptor& listener, bool redirect) {
  for (;;) {
    Socket socket(net::make_strand(ioc));
    beast::error_code ec;
    co_await listener.async_accept(socket, use_awaitable_ec(ec));
    if (stopping.load() || !listener.is_open()) co_return;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on the error.
      logger().warn("accept failed: {}", ec.message());
      net::steady_timer pause(listener.get_executor(), 100ms);
      co_await pause.async_wait(use_awaitable_ec(ec));
      continue;
    }
    // Small frames (live values, answers) go out at once: with Nagle's
    // algorithm a frame written while the previous one is unacknowledged waits
    // for the peer's (possibly delayed) ACK.
    socket.set_option(tcp::no_delay(true), ec);
    if (tls && !redirect) {
      register_connection(std::make_shared<Connection<TlsStream>>(std::move(socket), *tls), false);
    } else {
      register_connection(std::make_shared<Connection<PlainStream>>(std::move(socket)), redirect);
    }
  }
}

template <class Stream>
void Server::Impl::register_connection(std::shared_ptr<Connection<Stream>> conn, bool redirect) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu);
    if (stopping.load()) return;  // the socket closes with conn
    id = next_id++;
    connections.emplace(id, conn);
  }
  auto executor = conn->stream.get_executor();
  net::co_spawn(executor, serve(std::move(conn), id, redirect),
                [](const std::exception_ptr& e) { log_exception(e, "http connection"); });
}

void Server::Impl::unregister(std::uint64_t id) {
  std::lock_guard lock(mu);
  connections.erase(id);
  if (connections.empty()) drained.notify_all();
}

template <class Stream>
net::awaitable<void> Server::Impl::write_and_linger(Stream& stream, Response out) {
  auto res = to_message(std::move(out), 11, false, false);
  beast::error_code ec;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(kWriteTimeout);
  co_await bhttp::async_write(stream, res, use_awaitable_ec(ec));
  if (ec) co_return;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
  tcp_layer.expires_after(kLingerTime);
  std::size_t drained_bytes = 0;
  std::vector<char> scratch(std::size_t{16} * 1024);
  while (!ec && drained_bytes < kLingerBytes) {
    drained_bytes += co_await tcp_layer.async_read_some(net::buffer(scratch), use_awaitable_ec(ec));
  }
}

Response Server::Impl::redirect_to_https(const bhttp::request<bhttp::string_body>& req) const {
  const std::string_view host = host_part(sv(req[bhttp::field::host]));
  const bool host_ok =
      !host.empty() && host.find_first_of("/?#@ \t\r\n\\") == std::string_view::npos;
  if (!host_ok) return error_response(400, "a Host header is required");
  Response r;
  r.status = 308;
  r.content_type = "text/plain";
  std::string location = "https://" + std::string(host);
  if (port != 443) location += ":" + std::to_string(port);
  const std::string_view target = sv(req.target());
  location += target.starts_with('/') ? std::string(target) : std::string("/");
  r.headers.emplace_back("Location", location);
  r.body = "moved to " + location + "\n";
  return r;
}

template <class Stream>
net::awaitable<void> Server::Impl::serve(std::shared_ptr<Connection<Stream>> conn, std::uint64_t id,
                                         bool redirect) {
  struct Unregister {
    Impl& impl;
    std::uint64_t id;
    ~Unregister() { impl.unregister(id); }
  } unregister_on_exit{*this, id};

  auto& stream = conn->stream;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  beast::error_code ec;
  const auto endpoint = tcp_layer.socket().remote_endpoint(ec);
  const std::string remote = ec ? std::string("unknown") : endpoint.address().to_string();
  constexpr bool kSecure = std::is_same_v<Stream, TlsStream>;
  if constexpr (kSecure) {
    tcp_layer.expires_after(kReadTimeout);
    co_await stream.async_handshake(ssl::stream_base::server, use_awaitable_ec(ec));
    if (ec) {
      logger().debug("{}: TLS handshake failed: {}", remote, ec.message());
      co_return;
    }
  }
  beast::flat_buffer buffer;
  while (!stopping.load()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options.body_limit);

    tcp_layer.expires_after(kReadTimeout);
    co_await bhttp::async_read_header(stream, buffer, parser, use_awaitable_ec(ec));
    conn->busy = true;
    if (!ec && beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
      co_await bhttp::async_write(stream, cont, use_awaitable_ec(ec));
    }
    if (!ec) co_await bhttp::async_read(stream, buffer, parser, use_awaitable_ec(ec));
    if (ec == bhttp::error::body_limit) {
      co_await write_and_linger(
          stream, error_response(413, "request body exceeds " + std::to_string(options.body_limit) +
                                          " bytes"));
      co_return;
    }
    if (ec == bhttp::error::header_limit) {
      co_await write_and_linger(stream, error_response(431, "request header too large"));
      co_return;
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) {
      // The client closed between requests (or mid-request: nothing to answer).
      tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    if (ec && ec.category() == beast::error_code(bhttp::error::bad_target).category()) {
      co_await write_and_linger(stream, error_response(400, "malformed HTTP request"));
      co_return;
    }
    if (ec) co_return;  // timeout, reset, or cancelled by stop()

    auto& req = parser.get();
    const auto started = std::chrono::steady_clock::now();
    Request in{std::string(req.method_string()), std::string(req.target()),
               std::string(req[bhttp::field::content_type]), std::move(req.body())};
    in.authorization = std::string(req[bhttp::field::authorization]);
    for (const auto& field : req) {
      if (field.name() != bhttp::field::cookie) continue;
      if (!in.cookie.empty()) in.cookie += "; ";
      in.cookie += std::string(field.value());
    }
    in.remote = remote;
    in.secure = kSecure;

    Response out;
    if (redirect) {
      out = redirect_to_https(req);
    } else if (beast::websocket::is_upgrade(req) && split_target(in.target).path == "/api/v1/ws" &&
               services.hub) {
      const auto origin = req[bhttp::field::origin];
      auto who = api.authenticate(in);
      if (!who) {
        out = error_response(401, who.error().message);
      } else if (!origin.empty() && !same_origin(sv(origin), sv(req[bhttp::field::host]))) {
        out = error_response(403, "WebSocket from another origin");
      } else {
        conn->busy = false;
        co_await websocket(conn, std::move(req), std::move(*who), remote);
        co_return;
      }
    } else {
      out = api.handle(in);
    }
    if constexpr (kSecure) {
      out.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    }

    const bool keep_alive = req.keep_alive() && !stopping.load();
    const int status = out.status;
    const std::size_t bytes = out.body.size();
    auto res =
        to_message(std::move(out), req.version(), keep_alive, req.method() == bhttp::verb::head);
    tcp_layer.expires_after(kWriteTimeout);
    co_await bhttp::async_write(stream, res, use_awaitable_ec(ec));
    conn->busy = false;
    if (logger().should_log(spdlog::level::debug)) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      logger().debug("{} {} {} -> {} {}B {}us", remote, in.method, in.target.substr(0, 300), status,
                     bytes, us);
    }
    if (ec) co_return;
    if (!keep_alive) {
      tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

// The writing half of a WebSocket session: sends what the channel queues, one
// frame at a time, on the connection's strand. A callback chain rather than a
// coroutine: it runs once per frame, and waking it costs one post (no timer to
// cancel, no coroutine to resume; docs/performance.md). The frame buffer is
// reused, so a steady stream of values allocates nothing here.
template <class Stream>
struct WsWriter final : std::enable_shared_from_this<WsWriter<Stream>> {
  WsWriter(Stream& stream, std::shared_ptr<ConnectionBase> conn)
      : socket(stream), conn_(std::move(conn)) {}

  // All on the strand. Writes until the channel has nothing more; the
  // channel's wake brings it back.
  void pump() {
    if (writing_ || done_) return;
    if (!close_with_ && channel->overflowed()) {
      close_with_ = beast::websocket::close_reason(beast::websocket::close_code::policy_error,
                                                   "send queue overflow");
    }
    if (close_with_) {
      done_ = true;
      socket.async_close(*close_with_, [self = this->shared_from_this()](beast::error_code) {});
      return;
    }
    if (!channel->next_frame(frame_)) return;
    writing_ = true;
    socket.text(true);
    socket.async_write(net::buffer(frame_),
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) {
                           self->done_ = true;
                           return;
                         }
                         self->pump();
                       });
  }
  // Closes with `reason` once the write in flight (if any) is done.
  void close(beast::websocket::close_reason reason) {
    if (!close_with_) close_with_ = std::move(reason);
    pump();
  }
  // The reader ended: nothing more is written (a write in flight completes).
  void stop() {
    done_ = true;
    channel.reset();
  }

  beast::websocket::stream<Stream&> socket;
  std::shared_ptr<WsChannel> channel;  // set once, before the first pump

 private:
  const std::shared_ptr<ConnectionBase> conn_;  // the stream lives while a write is in flight
  std::string frame_;
  bool writing_ = false;
  bool done_ = false;
  std::optional<beast::websocket::close_reason> close_with_;
};

// A WebSocket session: this coroutine reads; a WsWriter on the same strand
// writes.
template <class Stream>
net::awaitable<void> Server::Impl::websocket(std::shared_ptr<Connection<Stream>> conn,
                                             bhttp::request<bhttp::string_body> req,
                                             auth::Principal who, std::string remote) {
  namespace ws = beast::websocket;
  auto writer = std::make_shared<WsWriter<Stream>>(conn->stream, conn);
  auto executor = conn->stream.get_executor();
  // The channel holds its wake function: a weak reference, or the writer and
  // the channel would keep each other alive.
  const auto wake = [weak = std::weak_ptr(writer), executor] {
    net::post(executor, [weak] {
      if (auto w = weak.lock()) w->pump();
    });
  };
  auto channel = std::make_shared<WsChannel>(services, std::move(who), auth::Origin{remote}, wake,
                                             WsLimits{kWsMaxQueuedMessages}, alarm_feed);
  writer->channel = channel;
  auto& socket = writer->socket;

  beast::get_lowest_layer(conn->stream).expires_never();
  ws::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kReadTimeout;
  // Beast pings after half of the idle time; if nothing at all (not even the
  // pong) arrived by the end of it, it closes the socket: the read below ends
  // with `timeout` and the channel releases its subscriptions. This is what
  // frees a client that vanished without closing TCP (network cut, SIGSTOP).
  const std::chrono::seconds idle_timeout =
      std::max<std::chrono::seconds>(options.ws_idle_timeout, kWsMinIdleTimeout);
  timeouts.idle_timeout = idle_timeout;
  timeouts.keep_alive_pings = true;
  socket.set_option(timeouts);
  socket.set_option(ws::stream_base::decorator(
      [](ws::response_type& res) { res.set(bhttp::field::server, "nbms"); }));
  socket.read_message_max(kWsMaxMessageBytes);
  beast::error_code ec;
  co_await socket.async_accept(req, use_awaitable_ec(ec));
  if (ec) co_return;
  conn->stop_websocket = [writer] {
    writer->close(ws::close_reason(ws::close_code::going_away, "server shutting down"));
  };
  channel->open();  // queues the hello message: the writer wakes

  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    co_await socket.async_read(buffer, use_awaitable_ec(ec));
    if (ec) break;  // closed by the peer, timeout, or the writer's close
    channel->on_text(beast::buffers_to_string(buffer.data()));
  }
  if (ec == beast::error::timeout) {
    // Worth an operator's eye: a browser that vanished (or a network that drops
    // idle connections sooner than the pings come).
    logger().info("{}: websocket dropped: nothing received for {} s", remote, idle_timeout.count());
  } else if (ec != ws::error::closed && ec != net::error::operation_aborted) {
    logger().debug("{}: websocket ended: {}", remote, ec.message());
  }
  channel->close();
  conn->stop_websocket = nullptr;
  writer->stop();
}

void Server::Impl::stop_now() {
  stopping.store(true);
  // 1. Stop accepting.
  for (auto* listener : {&acceptor, &redirect_acceptor}) {
    if (!*listener) continue;
    net::post((*listener)->get_executor(), [listener] {
      beast::error_code ec;
      (*listener)->close(ec);
    });
  }
  // 2. Idle connections (waiting for a request) close now; busy ones finish their
  //    current request and close (stopping turns keep-alive off); WebSockets are
  //    closed with 1001 (going away).
  std::unique_lock lock(mu);
  for (const auto& [id, conn] : connections) {
    net::post(conn->executor(), [conn] {
      if (conn->stop_websocket) {
        conn->stop_websocket();
      } else if (!conn->busy) {
        conn->cancel();
      }
    });
  }
  // 3. Give in-flight requests a deadline, then cut what is left.
  if (!drained.wait_for(lock, kDrainDeadline, [this] { return connections.empty(); })) {
    logger().warn("http stop: closing {} connection(s) still busy after {} ms", connections.size(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(kDrainDeadline).count());
    for (const auto& [id, conn] : connections) {
      net::post(conn->executor(), [conn] { conn->close(); });
    }
    drained.wait_for(lock, 1s, [this] { return connections.empty(); });
  }
  lock.unlock();
  // 4. Whatever remains (a handler stuck in a port call) is abandoned with the io_context.
  ioc.stop();
  for (auto& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // stop() called from a handler: joining itself would deadlock
    } else if (t.joinable()) {
      t.join();
    }
  }
  threads.clear();
  // The close posted in step 1 may not have run before ioc.stop(); no thread
  // runs now, so close here: stop() must leave the port free.
  for (auto* listener : {&acceptor, &redirect_acceptor}) {
    beast::error_code ec;
    if (*listener) (*listener)->close(ec);
  }
}

Server::Server(ServerOptions options, Services services)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(services))) {}

Server::~Server() {
  stop();
}

namespace {

Result<tcp::acceptor> listen_on(net::io_context& ioc, const std::string& host_in,
                                std::uint16_t port) {
  const std::string host = host_in.empty() ? "0.0.0.0" : host_in;
  const std::string where = endpoint_text(host, port);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(
      host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return fail(Errc::io, "cannot listen on " + where + ": " +
                              (ec ? ec.message() : std::string("host not found")));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor acceptor(net::make_strand(ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(Errc::io, "cannot listen on " + where + ": " + ec.message());
  return acceptor;
}

Result<ssl::context> tls_context(const ServerOptions& o) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  beast::error_code ec;
  ctx.use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) {
    return fail(Errc::io, "cannot load TLS certificate " + o.tls_cert_file + ": " + ec.message());
  }
  ctx.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
  if (ec) return fail(Errc::io, "cannot load TLS key " + o.tls_key_file + ": " + ec.message());
  return ctx;
}

}  // namespace

Result<std::uint16_t> Server::start() {
  auto& impl = *impl_;
  std::lock_guard life(impl.lifecycle_mu);
  if (impl.state == Impl::State::running)
    return fail(Errc::internal, "http server already started");
  if (impl.state == Impl::State::stopped) return fail(Errc::internal, "http server was stopped");

  const auto& o = impl.options;
  if (!o.tls_cert_file.empty()) {
    auto ctx = tls_context(o);
    if (!ctx) return std::unexpected(ctx.error());
    impl.tls.emplace(std::move(*ctx));
  }
  auto main = listen_on(impl.ioc, o.host, o.port);
  if (!main) return std::unexpected(main.error());
  beast::error_code ec;
  impl.port = main->local_endpoint(ec).port();
  impl.acceptor.emplace(std::move(*main));
  if (impl.tls && o.redirect_port != 0) {
    auto redirect = listen_on(impl.ioc, o.redirect_host, o.redirect_port);
    if (!redirect) {
      impl.acceptor.reset();
      return std::unexpected(redirect.error());
    }
    impl.redirect_acceptor.emplace(std::move(*redirect));
  }

  net::co_spawn(impl.acceptor->get_executor(), impl.accept_loop(*impl.acceptor, false),
                [](const std::exception_ptr& e) { log_exception(e, "http accept loop"); });
  if (impl.redirect_acceptor) {
    net::co_spawn(
        impl.redirect_acceptor->get_executor(), impl.accept_loop(*impl.redirect_acceptor, true),
        [](const std::exception_ptr& e) { log_exception(e, "http redirect accept loop"); });
  }
  const std::size_t n = o.threads == 0 ? 1 : o.threads;
  for (std::size_t i = 0; i < n; ++i) {
    impl.threads.emplace_back([&impl] {
      for (;;) {
        try {
          impl.ioc.run();
          return;
        } catch (const std::exception& e) {
          logger().error("http worker: {}", e.what());
        }
      }
    });
  }
  impl.state = Impl::State::running;
  logger().info("listening on {} ({}, {} thread(s))",
                endpoint_text(o.host.empty() ? "0.0.0.0" : o.host, impl.port),
                impl.tls ? "https" : "http", n);
  if (impl.redirect_acceptor) {
    logger().info("redirecting http on {} to https",
                  endpoint_text(o.redirect_host, redirect_port()));
  }
  return impl.port;
}

std::uint16_t Server::redirect_port() const {
  if (!impl_->redirect_acceptor) return 0;
  beast::error_code ec;
  const auto p = impl_->redirect_acceptor->local_endpoint(ec).port();
  return ec ? 0 : p;
}

void Server::stop() {
  if (!impl_) return;
  auto& impl = *impl_;
  std::lock_guard life(impl.lifecycle_mu);
  if (impl.state == Impl::State::running) {
    impl.stop_now();
    logger().info("stopped");
  }
  impl.state = Impl::State::stopped;
}

}  // namespace nbms::http
