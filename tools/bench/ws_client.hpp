#pragma once
// Opening a WebSocket over a plain socket for the realtime bench (no Beast):
// a blocking connect and upgrade, after which the caller owns the descriptor
// and typically makes it non-blocking and reads it from an epoll loop.
// Functions only; each call uses the calling thread.
#include <sys/socket.h>

#include <chrono>
#include <string_view>

#include "bench/ws_frame.hpp"
#include "nbms/core/error.hpp"

namespace nbms::bench {

// An upgraded connection. `reader` already holds whatever nbmsd sent after the
// 101 answer in the same segment (its hello, typically), so that no byte is
// lost between the handshake and the frame reader. Closes `fd` when destroyed.
struct WsConnection {
  int fd = -1;
  WsReader reader;

  WsConnection() = default;
  WsConnection(WsConnection&& o) noexcept : fd(o.fd), reader(std::move(o.reader)) { o.fd = -1; }
  WsConnection& operator=(WsConnection&& o) noexcept;
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;
  ~WsConnection();
};

// Connects to `addr`, sets TCP_NODELAY, sends the upgrade request for `target`
// with the bearer `token` and checks the answer (check_upgrade_response). Each
// blocking step gives up after `timeout`. The error names the step.
Result<WsConnection> ws_connect(const sockaddr* addr, socklen_t addr_len, std::string_view host,
                                std::string_view target, std::string_view token,
                                std::chrono::milliseconds timeout);

// Sends one masked frame with a fresh random mask. On a non-blocking socket a
// frame that does not fit into the send buffer at once is an error rather than
// a partial frame (the bench only sends small frames: subscribes and pongs).
Result<void> ws_send(int fd, WsOpcode opcode, std::string_view payload);

}  // namespace nbms::bench
