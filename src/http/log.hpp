#pragma once
// The module's spdlog logger, "http" (shared with the app if it registered one).
#include <memory>

#include <spdlog/spdlog.h>

namespace nbms::http {

spdlog::logger& logger();

}  // namespace nbms::http
