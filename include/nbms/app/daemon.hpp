#pragma once
// nbmsd's composition root: the only place that knows every module. Builds the
// store, router, pipeline, MQTT bridge and HTTP server from a Config, runs them
// and shuts them down in order.
#include <memory>

#include "nbms/config/config.hpp"
#include "nbms/core/error.hpp"

namespace nbms::app {

class Daemon {
 public:
  explicit Daemon(config::Config config);
  ~Daemon();  // stop()
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens storage, binds HTTP, starts ingest and the MQTT bridge. Fails (and
  // leaves nothing running) if storage will not open or the port will not bind.
  Result<void> start();
  // Graceful: stop MQTT intake, finish in-flight writes, stop HTTP, close the
  // database. Idempotent.
  void stop();
  std::uint16_t http_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// nbmsd's main(): command line, config, logging, signals. Returns the exit code.
int main(int argc, char** argv);

}  // namespace nbms::app
