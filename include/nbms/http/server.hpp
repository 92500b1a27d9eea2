#pragma once
// REST API over HTTP/1.1 (Boost.Beast). Owns its io_context and worker threads;
// every connection runs as a coroutine on its own strand. Reads go straight to
// the storage ports (RocksDB reads are short and thread-safe).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nbms/core/error.hpp"
#include "nbms/core/ports.hpp"

namespace nbms::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (tests)
  std::size_t threads = 2;
  std::size_t body_limit = 1 << 20;  // bytes; larger bodies get 413
  std::string web_root;              // static files; empty = none served
};

struct Services {
  Registry& registry;
  PointStore& points;
  SeriesStore& series;
  DeadLetterStore& dead_letters;
  const Clock& clock;
  // Builds the body of GET /api/v1/health (state of each part, counters).
  std::function<nlohmann::json()> health;
};

class Server {
 public:
  Server(ServerOptions options, Services services);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; returns the bound port. Fails if the address
  // cannot be bound.
  Result<std::uint16_t> start();
  // Graceful: stop accepting, let in-flight requests finish (bounded), join threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::http
