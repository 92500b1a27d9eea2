#include "nbms/core/certificates.hpp"

namespace nbms {

Result<void> validate_certificate_serial(std::string_view serial) {
  if (serial.empty() || serial.size() > 40) {
    return fail(Errc::invalid_argument, "certificate serial must be 1..40 hex digits");
  }
  if (serial.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return fail(Errc::invalid_argument,
                "certificate serial '" + std::string(serial) + "' is not lowercase hex");
  }
  if (serial.size() > 1 && serial[0] == '0') {
    return fail(Errc::invalid_argument,
                "certificate serial '" + std::string(serial) + "' has a leading zero");
  }
  return {};
}

}  // namespace nbms
