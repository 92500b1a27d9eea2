#pragma once
// Closing one client's live connection on the managed broker by MQTT "session
// takeover": a broker keeps one connection per client id, so Mosquitto closes
// the existing connection when a CONNECT with the same id arrives, on any of
// its listeners (verified with 2.0.11). nbmsd sends that CONNECT over the
// broker's control listener, a unix socket inside the owner-only broker
// directory whose clients may neither publish nor receive anything, and
// disconnects at once. docs/provisioning.md, "Cutting off a revoked thing".
//
// The packet functions and ConnackReader are pure; kick_client() does
// blocking I/O on the calling thread, bounded by its timeout. No shared
// state: thread-safe.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::broker {

// MQTT 3.1.1 CONNECT: clean session, no will, no user name or password,
// keepalive 10 s. The client id must be 1..256 printable ASCII characters
// without spaces (thing names are letters, digits, '-' and '_');
// invalid_argument otherwise.
Result<std::string> connect_packet(std::string_view client_id);
// MQTT DISCONNECT (two bytes: 0xE0 0x00).
std::string disconnect_packet();

// The broker's answer to connect_packet(), fed as it arrives. A CONNACK is
// exactly four bytes: 0x20 0x02 <flags> <return code>.
class ConnackReader {
 public:
  enum class State { need_more, accepted };
  // need_more until four bytes came; accepted for return code 0; malformed
  // (with what was wrong) for another packet type, a bad length or flags,
  // bytes after the CONNACK, or a refusal (return code 1..5 named).
  Result<State> feed(std::string_view bytes);
  std::size_t received() const { return received_; }

 private:
  unsigned char bytes_[4] = {};
  std::size_t received_ = 0;
};

// Connects to the unix socket `socket`, sends connect_packet(client_id),
// waits for the CONNACK and sends DISCONNECT: the broker then has closed any
// other connection of `client_id`. Errors: invalid_argument (client id, or a
// path longer than a unix socket address holds), unavailable (cannot connect:
// the broker is not running or has no such listener), malformed (bad
// answer), io (the broker closed the connection early, or no answer within
// `timeout`). Each message says which.
Result<void> kick_client(const std::filesystem::path& socket, std::string_view client_id,
                         std::chrono::milliseconds timeout);

}  // namespace nbms::broker
