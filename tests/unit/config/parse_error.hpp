#pragma once
// Shared by the config section tests.
#include <gtest/gtest.h>

#include <string>

#include "nbms/config/config.hpp"

namespace nbms::config::testing {

// The error message parse() gives for `json`; fails the test if it parses or
// fails with another code than invalid_argument.
inline std::string parse_error(const std::string& json) {
  auto r = parse(json);
  if (r) {
    ADD_FAILURE() << "parsed without error: " << json;
    return {};
  }
  EXPECT_EQ(r.error().code, Errc::invalid_argument) << json;
  return r.error().message;
}

}  // namespace nbms::config::testing
