#include "log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace nbms::http {

spdlog::logger& logger() {
  // Looked up once; the app may have registered "http" with its own sinks first.
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("http")) return existing;
    try {
      return spdlog::stdout_color_mt("http");
    } catch (const spdlog::spdlog_ex&) {
      // Registered by another thread in between.
      return spdlog::get("http");
    }
  }();
  return *instance;
}

}  // namespace nbms::http
