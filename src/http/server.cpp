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
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api.hpp"
#include "log.hpp"

namespace nbms::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
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

// Completion token for coroutines that reports errors in `ec` instead of throwing.
auto use_awaitable_ec(beast::error_code& ec) {
  return net::redirect_error(net::use_awaitable, ec);
}

std::string endpoint_text(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// One client connection. Shared by its coroutine and Impl::connections (so that
// stop() can reach it); its members are only touched on the connection's strand.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool busy = false;  // between a request's header being read and its response written
};

// The wire form of a router response. For HEAD, Content-Length is that of the
// GET body and no body is sent.
bhttp::response<bhttp::string_body> to_message(Response out, unsigned version, bool keep_alive,
                                               bool head) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), version};
  res.set(bhttp::field::server, "nbms");
  res.set(bhttp::field::content_type, out.content_type);
  for (const auto& [name, value] : out.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(out.body.size());
  } else {
    res.body() = std::move(out.body);
    res.prepare_payload();
  }
  return res;
}

void log_exception(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger().error("{}: {}", what, ex.what());
  } catch (...) {
    logger().error("{}: unknown exception", what);
  }
}

}  // namespace

// Owns the io_context, its threads, the acceptor and the registry of live
// connections. Lifecycle calls (start/stop) are serialized by lifecycle_mu.
struct Server::Impl {
  Impl(ServerOptions o, Services s)
      : options(std::move(o)),
        api(std::move(s), ApiOptions{options.web_root, options.body_limit}),
        ioc(static_cast<int>(options.threads == 0 ? 1 : options.threads)) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(std::shared_ptr<Connection> conn, std::uint64_t id);
  net::awaitable<void> write_and_linger(Connection& conn, Response out);
  void register_connection(tcp::socket socket);
  void unregister(std::uint64_t id);
  void stop_now();

  const ServerOptions options;
  const Api api;

  enum class State { idle, running, stopped };
  std::mutex lifecycle_mu;
  State state = State::idle;

  // Declared before ioc: coroutine frames destroyed with the io_context unregister here.
  std::mutex mu;
  std::condition_variable drained;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections;  // guarded by mu
  std::uint64_t next_id = 0;                                                   // guarded by mu
  std::atomic<bool> stopping{false};

  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;  // used on its own strand once started
  std::vector<std::thread> threads;
};

net::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    tcp::socket socket(net::make_strand(ioc));
    beast::error_code ec;
    co_await acceptor->async_accept(socket, use_awaitable_ec(ec));
    if (stopping.load() || !acceptor->is_open()) co_return;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on the error.
      logger().warn("accept failed: {}", ec.message());
      net::steady_timer pause(acceptor->get_executor(), 100ms);
      co_await pause.async_wait(use_awaitable_ec(ec));
      continue;
    }
    register_connection(std::move(socket));
  }
}

void Server::Impl::register_connection(tcp::socket socket) {
  auto conn = std::make_shared<Connection>(std::move(socket));
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu);
    if (stopping.load()) return;  // the socket closes with conn
    id = next_id++;
    connections.emplace(id, conn);
  }
  auto executor = conn->stream.get_executor();
  net::co_spawn(executor, serve(std::move(conn), id),
                [](std::exception_ptr e) { log_exception(e, "http connection"); });
}

void Server::Impl::unregister(std::uint64_t id) {
  std::lock_guard lock(mu);
  connections.erase(id);
  if (connections.empty()) drained.notify_all();
}

net::awaitable<void> Server::Impl::write_and_linger(Connection& conn, Response out) {
  auto res = to_message(std::move(out), 11, false, false);
  beast::error_code ec;
  conn.stream.expires_after(kWriteTimeout);
  co_await bhttp::async_write(conn.stream, res, use_awaitable_ec(ec));
  if (ec) co_return;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  conn.stream.expires_after(kLingerTime);
  std::size_t drained_bytes = 0;
  std::vector<char> scratch(16 * 1024);
  while (!ec && drained_bytes < kLingerBytes) {
    drained_bytes +=
        co_await conn.stream.async_read_some(net::buffer(scratch), use_awaitable_ec(ec));
  }
}

net::awaitable<void> Server::Impl::serve(std::shared_ptr<Connection> conn, std::uint64_t id) {
  struct Unregister {
    Impl& impl;
    std::uint64_t id;
    ~Unregister() { impl.unregister(id); }
  } unregister_on_exit{*this, id};

  auto& stream = conn->stream;
  beast::error_code ec;
  const auto remote = stream.socket().remote_endpoint(ec);
  beast::flat_buffer buffer;
  while (!stopping.load()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options.body_limit);

    stream.expires_after(kReadTimeout);
    co_await bhttp::async_read_header(stream, buffer, parser, use_awaitable_ec(ec));
    conn->busy = true;
    if (!ec && beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
      co_await bhttp::async_write(stream, cont, use_awaitable_ec(ec));
    }
    if (!ec) co_await bhttp::async_read(stream, buffer, parser, use_awaitable_ec(ec));
    if (ec == bhttp::error::body_limit) {
      co_await write_and_linger(
          *conn, error_response(
                     413, "request body exceeds " + std::to_string(options.body_limit) + " bytes"));
      co_return;
    }
    if (ec == bhttp::error::header_limit) {
      co_await write_and_linger(*conn, error_response(431, "request header too large"));
      co_return;
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) {
      // The client closed between requests (or mid-request: nothing to answer).
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    if (ec && ec.category() == beast::error_code(bhttp::error::bad_target).category()) {
      co_await write_and_linger(*conn, error_response(400, "malformed HTTP request"));
      co_return;
    }
    if (ec) co_return;  // timeout, reset, or cancelled by stop()

    auto& req = parser.get();
    const auto started = std::chrono::steady_clock::now();
    Request in{std::string(req.method_string()), std::string(req.target()),
               std::string(req[bhttp::field::content_type]), std::move(req.body())};
    Response out = api.handle(in);

    const bool keep_alive = req.keep_alive() && !stopping.load();
    const int status = out.status;
    const std::size_t bytes = out.body.size();
    auto res =
        to_message(std::move(out), req.version(), keep_alive, req.method() == bhttp::verb::head);
    stream.expires_after(kWriteTimeout);
    co_await bhttp::async_write(stream, res, use_awaitable_ec(ec));
    conn->busy = false;
    if (logger().should_log(spdlog::level::debug)) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      logger().debug("{}:{} {} {} -> {} {}B {}us", remote.address().to_string(), remote.port(),
                     in.method, in.target.substr(0, 300), status, bytes, us);
    }
    if (ec) co_return;
    if (!keep_alive) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

void Server::Impl::stop_now() {
  stopping.store(true);
  // 1. Stop accepting.
  if (acceptor) {
    net::post(acceptor->get_executor(), [this] {
      beast::error_code ec;
      acceptor->close(ec);
    });
  }
  // 2. Idle connections (waiting for a request) close now; busy ones finish their
  //    current request and close (stopping turns keep-alive off).
  std::unique_lock lock(mu);
  for (const auto& [id, conn] : connections) {
    net::post(conn->stream.get_executor(), [conn] {
      if (!conn->busy) conn->stream.cancel();
    });
  }
  // 3. Give in-flight requests a deadline, then cut what is left.
  if (!drained.wait_for(lock, kDrainDeadline, [this] { return connections.empty(); })) {
    logger().warn("http stop: closing {} connection(s) still busy after {} ms", connections.size(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(kDrainDeadline).count());
    for (const auto& [id, conn] : connections) {
      net::post(conn->stream.get_executor(), [conn] { conn->stream.close(); });
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
  if (acceptor) {
    beast::error_code ec;
    acceptor->close(ec);
  }
}

Server::Server(ServerOptions options, Services services)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(services))) {}

Server::~Server() {
  stop();
}

Result<std::uint16_t> Server::start() {
  auto& impl = *impl_;
  std::lock_guard life(impl.lifecycle_mu);
  if (impl.state == Impl::State::running)
    return fail(Errc::internal, "http server already started");
  if (impl.state == Impl::State::stopped) return fail(Errc::internal, "http server was stopped");

  const std::string host = impl.options.host.empty() ? "0.0.0.0" : impl.options.host;
  const std::string where = endpoint_text(host, impl.options.port);
  beast::error_code ec;
  tcp::resolver resolver(impl.ioc);
  const auto results =
      resolver.resolve(host, std::to_string(impl.options.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return fail(Errc::io, "cannot listen on " + where + ": " +
                              (ec ? ec.message() : std::string("host not found")));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor acceptor(net::make_strand(impl.ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(Errc::io, "cannot listen on " + where + ": " + ec.message());
  const auto port = acceptor.local_endpoint(ec).port();
  if (ec) return fail(Errc::io, "cannot listen on " + where + ": " + ec.message());
  impl.acceptor.emplace(std::move(acceptor));

  net::co_spawn(impl.acceptor->get_executor(), impl.accept_loop(),
                [](std::exception_ptr e) { log_exception(e, "http accept loop"); });
  const std::size_t n = impl.options.threads == 0 ? 1 : impl.options.threads;
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
  logger().info("listening on {} ({} thread(s))", endpoint_text(host, port), n);
  return port;
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
