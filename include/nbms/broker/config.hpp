#pragma once
// What nbms writes for Mosquitto (2.0) and for a middleware, as text: the ACL
// file (the old IoT Core policy per thing), the mosquitto.conf of the managed
// mode, and the MW configuration bundle. Pure functions: no files, no
// processes (the caller writes the texts and signals the broker). Thread-safe.
// docs/provisioning.md explains the model.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms::broker {

// The ACL of the TLS listener. Mosquitto takes the user name from the client
// certificate's CN (use_identity_as_username), so `user <thing>` is the thing
// that holds a certificate for that name. Per thing (sorted, duplicates
// removed):
//   user <thing>
//   topic write <thing>/#
//   topic write $aws/rules/Rule_<thing>/<thing>/#
//   topic read <thing>
// and per full-access identity (nbmsd's own MQTT client):
//   user <name>
//   topic readwrite #
//   topic readwrite $aws/#      ('#' does not match topics that start with '$')
// Thing names must follow ThingName (letters, digits, '-', '_' only, so no
// name can add an ACL line or a wildcard); full-access names 1..64 of
// [A-Za-z0-9_-] that are not thing names. invalid_argument otherwise.
Result<std::string> acl_file(const std::vector<std::string>& things,
                             const std::vector<std::string>& full_access);

// What anonymous clients of the optional loopback listener may do. Clients
// there that send a user name get nothing (that listener checks no password,
// so a name proves nothing).
enum class LoopbackAccess {
  read_only,  // subscribe to everything (watching, debugging)
  full,       // also publish anything (local simulators, tools): trusts every local user
};
std::string loopback_acl_file(LoopbackAccess access);

// The ACL of the control listener (nbmsd's takeover CONNECTs, kick.hpp): no
// rule at all, so its clients may neither publish nor receive anything.
std::string control_acl_file();

// The managed broker's mosquitto.conf.
struct ManagedBrokerOptions {
  std::string bind_address = "0.0.0.0";  // TLS listener address (IPv4/IPv6 literal or host name)
  std::uint16_t tls_port = 8883;
  // Absolute paths, without whitespace.
  std::string ca_file;    // the CA chain (clients' certificates are checked against it)
  std::string cert_file;  // the broker's server certificate
  std::string key_file;   // its key (readable by the user the broker runs as)
  std::string crl_file;   // the CA's CRL; re-read on SIGHUP (verified with 2.0.11)
  std::string acl_file;   // the text of acl_file()
  std::string persistence_dir;
  std::optional<std::uint16_t> loopback_port;  // plain MQTT on 127.0.0.1 for local tools
  std::string loopback_acl_file;  // the text of loopback_acl_file(); needed with the port
  // nbmsd's control listener: a unix socket (absolute path, at most 107
  // characters) in a directory only nbmsd's user may enter, with the text of
  // control_acl_file(). Empty: none.
  std::string control_socket;
  std::string control_acl_file;
  // The `user` line: started as root, Mosquitto switches to this user (its
  // default is "mosquitto", which then cannot read a 0600 root key). Empty: no
  // line (not started as root). "root" keeps it root (Mosquitto warns).
  std::string run_as_user;
  std::size_t max_queued_messages = 100000;  // Mosquitto's default (1000) drops messages
  std::string tls_version = "tlsv1.2";       // minimum: tlsv1.2 or tlsv1.3
};
Result<std::string> mosquitto_conf(const ManagedBrokerOptions& options);

// The configuration file a middleware downloads: everything it needs to
// connect as its thing, as one JSON document (docs/provisioning.md).
struct BundleInput {
  std::string thing;
  std::string broker_host;  // as the MW dials it (must be in the server certificate)
  std::uint16_t broker_port = 8883;
  std::string ca_pem;    // what the MW trusts for the broker (the CA chain)
  std::string cert_pem;  // the thing's certificate
  std::string key_pem;   // its key; empty when the MW sent a CSR (it keeps its key)
  int keepalive_s = 60;
};
Result<std::string> mw_bundle_json(const BundleInput& input);

// The topics of a thing, as the ACL and the bundle name them.
std::string command_topic(std::string_view thing);      // <thing>
std::string last_will_topic(std::string_view thing);    // <thing>/disconnect
std::string last_will_payload(std::string_view thing);  // Disconnect message, status "lost"

}  // namespace nbms::broker
