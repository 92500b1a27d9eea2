#pragma once
// The broker nbmsd manages (docs/provisioning.md, "Broker modes"): the files
// Mosquitto reads (mosquitto.conf, ACL, CRL, CA chain, the broker's server
// certificate and nbmsd's own client certificate, all issued from the nbms
// CA), and either the Mosquitto child process (managed) or the reload of a
// broker someone else runs (external).
//
// Owns: the broker directory's contents and, in managed mode, a supervisor
// thread that spawns Mosquitto (nbms::process::ChildProcess), waits until it
// listens, restarts it with backoff when it exits, sends it SIGHUP on request
// and stops it on stop(). Every public member may be called from any thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nbms/broker/config.hpp"
#include "nbms/core/error.hpp"
#include "nbms/pki/pki.hpp"

namespace nbms::broker {

enum class Mode { managed, external };

struct RuntimeOptions {
  Mode mode = Mode::managed;
  std::filesystem::path dir;  // absolute; created 0700 if missing
  std::string mosquitto_path = "/usr/sbin/mosquitto";
  std::string bind_address = "0.0.0.0";
  std::uint16_t tls_port = 8883;
  std::optional<std::uint16_t> loopback_port;
  LoopbackAccess loopback_access = LoopbackAccess::read_only;
  std::string run_as_user;  // mosquitto.conf `user` line (empty: none)
  // Names and addresses in the broker's server certificate (what MWs and nbmsd
  // dial). "localhost", "127.0.0.1" and "::1" are always added.
  std::vector<std::string> server_names;
  std::string client_id = "nbmsd";        // CN of nbmsd's own client certificate
  std::int64_t cert_validity_days = 365;  // of the broker's and nbmsd's certificates
  std::chrono::milliseconds restart_min{500};
  std::chrono::milliseconds restart_max{30000};
  std::chrono::milliseconds ready_timeout{15000};  // first start: until the TLS port accepts
  // external: after every change, run this with /bin/sh -c (bounded by
  // reload_timeout) and/or send SIGHUP to the pid written in pid_file.
  std::string reload_command;
  std::string pid_file;
  std::chrono::milliseconds reload_timeout{10000};
};

// Where the ACL and the CRL come from (provisioning::Service::acl/crl_pem).
struct RuntimeSources {
  std::function<Result<std::string>()> acl;
  std::function<Result<std::string>()> crl;
};

// What nbmsd's MQTT bridge uses to connect to the managed broker.
struct ClientFiles {
  std::string uri;  // ssl://127.0.0.1:<tls_port> (or the bind address)
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct RuntimeStats {
  bool running = false;  // managed: the child runs and accepted a connection
  long pid = 0;          // managed: the current child (0 if none)
  std::uint64_t starts = 0;
  std::uint64_t restarts = 0;  // starts after an unexpected exit
  std::uint64_t reloads = 0;
  std::uint64_t reload_failures = 0;
  // Managed: takeover CONNECTs the broker accepted after a revocation (each
  // closed the thing's connection if it had one), and those that failed (the
  // reload was not confirmed, or the control listener did not answer).
  std::uint64_t kicks = 0;
  std::uint64_t kick_failures = 0;
  std::string last_exit;  // "signal 9 (Killed)" ... of the last unexpected exit
  std::int64_t crl_written_ms = 0;
};

// The file names inside the broker directory.
struct BrokerFiles {
  std::filesystem::path conf, acl, loopback_acl, crl, ca, server_cert, server_key, client_cert,
      client_key, persistence, control_socket, control_acl;
  static BrokerFiles in(const std::filesystem::path& dir);
};

class Runtime {
 public:
  // Writes every file; managed: starts Mosquitto and returns once its TLS port
  // accepts connections (fails with the broker's last log lines otherwise);
  // external: runs the reload once. `now_ms` is the current time (certificates).
  static Result<std::unique_ptr<Runtime>> start(RuntimeOptions options,
                                                pki::CertificateAuthority ca,
                                                RuntimeSources sources,
                                                std::function<std::int64_t()> now_ms);
  ~Runtime();  // stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Rewrites the ACL and the CRL and reloads the broker (SIGHUP: connections
  // stay). Managed: returns once the signal was sent (or the broker is down,
  // in which case it reads the new files when it restarts).
  //
  // Managed, with `disconnect` (the things whose certificates were just
  // revoked): then waits until Mosquitto has applied the reload (its
  // "Reloading config." line) and closes each one's live connection through
  // the control listener (kick.hpp), so its reconnect meets the new CRL.
  // Errors name the things left connected. External mode ignores
  // `disconnect` (docs/provisioning.md: the ACL cuts the traffic only).
  Result<void> permissions_changed(const std::vector<std::string>& disconnect = {});
  // Rewrites the CRL (nextUpdate moves on) and reloads; call daily.
  Result<void> refresh_crl();
  // Managed: stops Mosquitto (SIGTERM, then SIGKILL after 5 s). Idempotent.
  void stop();

  ClientFiles client() const;
  RuntimeStats stats() const;
  const BrokerFiles& files() const;

 private:
  struct Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nbms::broker
