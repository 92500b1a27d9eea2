#pragma once
// An in-memory CertificateStore for unit tests (provisioning, http). Can be
// told to fail every call with a given error.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/certificates.hpp"

namespace nbms::testing {

class FakeCertificateStore final : public CertificateStore {
 public:
  std::optional<Error> fail_with;

  Result<void> put_certificate(const CertificateRecord& record) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    if (by_serial_.contains(record.serial)) return fail(Errc::already_exists, "dup serial");
    by_serial_[record.serial] = record;
    return {};
  }
  Result<std::vector<CertificateRecord>> replace_certificate(const CertificateRecord& record,
                                                             std::int64_t revoked_ms) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    if (by_serial_.contains(record.serial)) return fail(Errc::already_exists, "dup serial");
    std::vector<CertificateRecord> revoked;
    for (auto& [serial, r] : by_serial_) {
      if (r.thing == record.thing && !r.revoked_ms) {
        r.revoked_ms = revoked_ms;
        revoked.push_back(r);
      }
    }
    by_serial_[record.serial] = record;
    return revoked;
  }
  Result<CertificateRecord> certificate(std::string_view serial) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    const auto it = by_serial_.find(std::string(serial));
    if (it == by_serial_.end()) return fail(Errc::not_found, "no certificate");
    return it->second;
  }
  Result<std::vector<CertificateRecord>> certificates_of(std::string_view thing) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<CertificateRecord> out;
    for (const auto& [serial, r] : by_serial_) {
      if (r.thing == thing) out.push_back(r);
    }
    return out;
  }
  Result<CertificateRecord> revoke_certificate(std::string_view serial,
                                               std::int64_t revoked_ms) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    const auto it = by_serial_.find(std::string(serial));
    if (it == by_serial_.end()) return fail(Errc::not_found, "no certificate");
    if (!it->second.revoked_ms) it->second.revoked_ms = revoked_ms;
    return it->second;
  }
  Result<std::vector<CertificateRecord>> revoke_certificates_of(std::string_view thing,
                                                                std::int64_t revoked_ms) override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<CertificateRecord> out;
    for (auto& [serial, r] : by_serial_) {
      if (r.thing == thing && !r.revoked_ms) {
        r.revoked_ms = revoked_ms;
        out.push_back(r);
      }
    }
    return out;
  }
  Result<std::vector<CertificateRecord>> revoked_certificates() override {
    std::lock_guard lock(mu_);
    if (fail_with) return std::unexpected(*fail_with);
    std::vector<CertificateRecord> out;
    for (const auto& [serial, r] : by_serial_) {
      if (r.revoked_ms) out.push_back(r);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, CertificateRecord> by_serial_;
};

}  // namespace nbms::testing
