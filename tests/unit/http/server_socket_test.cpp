// The real Server on 127.0.0.1 port 0 with fake ports, driven by a Beast client
// over loopback. The only tests of this module that open sockets.
#include "nbms/http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "fixture.hpp"

namespace nbms::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

// The bearer token every Client sends (set by the fixture after logging in).
std::string g_token;

// A blocking HTTP/1.1 client on one connection.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  bhttp::response<bhttp::string_body> send(bhttp::verb method, const std::string& target,
                                           const std::string& body = "", bool keep_alive = true) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!g_token.empty()) req.set(bhttp::field::authorization, "Bearer " + g_token);
    req.keep_alive(keep_alive);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    bhttp::write(stream_, req);
    return read(method == bhttp::verb::head);
  }

  bhttp::response<bhttp::string_body> read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    bhttp::read(stream_, buffer_, parser);
    return parser.release();
  }

  void write_raw(const std::string& bytes) { net::write(stream_.socket(), net::buffer(bytes)); }

  // True if the server closed the connection (the next read sees end of stream).
  bool closed_by_server() {
    beast::error_code ec;
    char c = 0;
    stream_.socket().read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

class HttpServerSocket : public ::testing::Test, protected testing::ApiWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(auth.bootstrap_admin(std::string("admin-password-1")));
    auto r = auth.login("admin", "admin-password-1", auth::Origin{"127.0.0.1"});
    ASSERT_TRUE(r) << r.error().message;
    g_token = r->token;
  }
  void TearDown() override { g_token.clear(); }

  // Loopback, any free port.
  static ServerOptions local() {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }

  std::unique_ptr<Server> make_server(const ServerOptions& options = local()) {
    return std::make_unique<Server>(options, Services{registry,
                                                      points,
                                                      series,
                                                      dead,
                                                      clock,
                                                      auth,
                                                      nullptr,
                                                      [] {
                                                        return json{{"ok", true}};
                                                      },
                                                      {}});
  }
};

TEST_F(HttpServerSocket, ServesHealthAndKeepsTheConnectionAlive) {
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port) << port.error().message;
  ASSERT_NE(*port, 0);

  Client client(*port);
  auto res = client.send(bhttp::verb::get, "/api/v1/health");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(json::parse(res.body()), (json{{"ok", true}}));

  // Same connection: create, then read back.
  res = client.send(bhttp::verb::post, "/api/v1/customers", R"({"id":"C000003","name":"Acme"})");
  EXPECT_EQ(res.result_int(), 201) << res.body();
  res = client.send(bhttp::verb::get, "/api/v1/customers/C000003");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body())["name"], "Acme");

  res = client.send(bhttp::verb::get, "/api/v1/nope", "", false);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.closed_by_server());
  server->stop();
}

TEST_F(HttpServerSocket, BindFailureIsAClearError) {
  auto first = make_server();
  const auto port = first->start();
  ASSERT_TRUE(port);
  ServerOptions options = local();
  options.port = *port;
  auto second = make_server(options);
  const auto r = second->start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(*port) + ": Address already in use");
}

TEST_F(HttpServerSocket, StartTwiceFailsAndStopIsIdempotent) {
  auto server = make_server();
  ASSERT_TRUE(server->start());
  EXPECT_FALSE(server->start());
  server->stop();
  server->stop();
  EXPECT_FALSE(server->start());
}

TEST_F(HttpServerSocket, OversizedBodyGets413) {
  ServerOptions options = local();
  options.body_limit = 16;
  auto server = make_server(options);
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  const auto res = client.send(bhttp::verb::post, "/api/v1/customers",
                               R"({"id":"C000003","name":"a name that is too long"})");
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "payload_too_large");
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(HttpServerSocket, ExpectContinueIsAnswered) {
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  const std::string body = R"({"id":"C1","name":"a"})";
  client.write_raw(
      "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
      g_token + "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 100);
  client.write_raw(body);
  res = client.read();
  EXPECT_EQ(res.result_int(), 201) << res.body();
}

TEST_F(HttpServerSocket, MalformedRequestGets400) {
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  client.write_raw("GARBAGE\r\n\r\n");
  const auto res = client.read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "bad_request");
}

TEST_F(HttpServerSocket, HeadHasContentLengthButNoBody) {
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  const auto get = client.send(bhttp::verb::get, "/api/v1/health");
  const auto head = client.send(bhttp::verb::head, "/api/v1/health");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[bhttp::field::content_length], std::to_string(get.body().size()));
  EXPECT_TRUE(head.body().empty());
  // The connection is still in sync after the bodiless response.
  EXPECT_EQ(client.send(bhttp::verb::get, "/api/v1/health").result_int(), 200);
}

TEST_F(HttpServerSocket, ServesStaticFiles) {
  const auto root =
      std::filesystem::temp_directory_path() / ("nbms-http-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "js");
  std::ofstream(root / "index.html") << "<!doctype html><title>nbms</title>";
  std::ofstream(root / "js" / "app.js") << "console.log(1);";
  ServerOptions options = local();
  options.web_root = root.string();
  auto server = make_server(options);
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  auto res = client.send(bhttp::verb::get, "/");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(res.body(), "<!doctype html><title>nbms</title>");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  res = client.send(bhttp::verb::get, "/js/app.js");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(client.send(bhttp::verb::get, "/js/../index.html").result_int(), 400);
  EXPECT_EQ(client.send(bhttp::verb::get, "/js").result_int(), 404);  // a directory
  EXPECT_EQ(client.send(bhttp::verb::get, "/js/").result_int(), 404);
  EXPECT_EQ(client.send(bhttp::verb::get, "/nope.css").result_int(), 404);
  EXPECT_EQ(client.send(bhttp::verb::get, "/api/v1/health").result_int(), 200);
  server->stop();
  std::filesystem::remove_all(root);
}

TEST_F(HttpServerSocket, StopClosesIdleKeepAliveConnectionsPromptly) {
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port);
  Client client(*port);
  ASSERT_EQ(client.send(bhttp::verb::get, "/api/v1/health").result_int(), 200);
  const auto t0 = std::chrono::steady_clock::now();
  server->stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_TRUE(client.closed_by_server());
  // No longer listening.
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), *port), ec);
  EXPECT_TRUE(ec);
}

TEST_F(HttpServerSocket, StopLetsAnInFlightRequestFinish) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  registry.on_customers = [&] {
    entered.set_value();
    released.wait();
  };
  auto server = make_server();
  const auto port = server->start();
  ASSERT_TRUE(port);
  auto response = std::async(std::launch::async, [&] {
    Client client(*port);
    return client.send(bhttp::verb::get, "/api/v1/customers");
  });
  entered.get_future().wait();  // the request is inside the handler
  auto stopped = std::async(std::launch::async, [&] { server->stop(); });
  // stop() waits for the handler instead of cutting the connection.
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  release.set_value();
  const auto res = response.get();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_FALSE(res.keep_alive());  // the server is going away
  stopped.get();
}

TEST_F(HttpServerSocket, ConcurrentClients) {
  ServerOptions options = local();
  options.threads = 4;
  auto server = make_server(options);
  const auto port = server->start();
  ASSERT_TRUE(port);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Client client(*port);
      for (int i = 0; i < 25; ++i) {
        const std::string id = "C" + std::to_string(t) + "-" + std::to_string(i);
        auto res = client.send(bhttp::verb::post, "/api/v1/customers",
                               json{{"id", id}, {"name", "n"}}.dump());
        if (res.result_int() == 201) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  Client client(*port);
  const auto res = client.send(bhttp::verb::get, "/api/v1/customers");
  EXPECT_EQ(json::parse(res.body())["customers"].size(), 100u);
}

}  // namespace
}  // namespace nbms::http
