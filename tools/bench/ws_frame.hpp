#pragma once
// The client side of RFC 6455 that the realtime bench needs, without Beast:
// the upgrade request and the check of its answer, masked client frames, and a
// reader that turns the server's bytes into messages. The bench's clients are
// the load generator on the same cores as nbmsd, so their cost per frame counts
// (docs/performance.md); this is a few comparisons and no allocation per frame.
// Pure: no I/O. A WsReader belongs to one connection and is used by one thread.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms::bench {

enum class WsOpcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Largest payload accepted in a frame or a reassembled message. nbmsd's
// messages are at most 64 KiB (api.md); a larger length is a broken stream, not
// a reason to allocate.
inline constexpr std::uint64_t kWsMaxPayload = std::uint64_t{1} << 20;

// One frame at the start of a buffer.
struct WsFrame {
  bool fin = false;
  WsOpcode opcode = WsOpcode::continuation;
  std::size_t size = 0;      // header + payload: what the frame takes of the buffer
  std::string_view payload;  // views the buffer
};

// Parses the server frame at the start of `in`: nullopt when `in` holds only a
// part of it, Errc::malformed when it breaks RFC 6455 for a server frame
// without extensions: a mask (servers do not mask), an RSV bit, a reserved
// opcode, a length not in its shortest form or with the top bit set, a
// fragmented or longer than 125 bytes control frame, a payload over
// kWsMaxPayload.
Result<std::optional<WsFrame>> parse_server_frame(std::string_view in);

// A client frame with FIN set, masked with `mask` (RFC 6455 5.3: every client
// frame is masked). Control frames must carry at most 125 bytes.
std::string client_frame(WsOpcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask);

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + the RFC's GUID)).
std::string ws_accept_value(std::string_view key);

// GET `target` with the upgrade headers and `Authorization: Bearer <token>`.
// `key` is the base64 of 16 random bytes.
std::string ws_upgrade_request(std::string_view host, std::string_view target,
                               std::string_view token, std::string_view key);

// Checks the answer's head (status line and headers up to and including the
// blank line): 101, `Upgrade: websocket`, `Connection` naming upgrade, the
// accept value for `key`, and no extension or subprotocol (the reader knows
// none). The error says what is wrong, with the status line.
Result<void> check_upgrade_response(std::string_view head, std::string_view key);

// A whole message, or a control frame.
struct WsMessage {
  WsOpcode opcode = WsOpcode::text;  // text, binary, close, ping or pong
  std::string_view payload;          // valid until the next next() or writable()
};

// Bytes in, messages out: reassembles fragmented messages (control frames may
// come between the fragments) and checks the frame sequence.
class WsReader {
 public:
  // Room for at least `min` more bytes at the end of the buffered ones (moves
  // the unread bytes to the front or grows the buffer): recv into it, then commit().
  std::span<char> writable(std::size_t min = std::size_t{16} * 1024);
  void commit(std::size_t n) { end_ += n; }

  // Bytes put in before the reader takes over (what followed the upgrade
  // answer in the same read).
  void append(std::string_view bytes);

  // The next message, nullopt when more bytes are needed, Errc::malformed on a
  // broken frame or sequence (a continuation with no message started, a new
  // message inside a fragmented one, a message over kWsMaxPayload). After an
  // error the stream cannot be resynchronised: close the connection.
  Result<std::optional<WsMessage>> next();

  std::size_t buffered() const { return end_ - begin_; }

 private:
  std::vector<char> buf_;
  std::size_t begin_ = 0;               // first unread byte
  std::size_t end_ = 0;                 // one past the last received byte
  std::string fragments_;               // the payload so far of a fragmented message
  std::optional<WsOpcode> fragmented_;  // its opcode while one is in progress
  bool fragments_returned_ = false;     // fragments_ was handed out: clear it first
};

// "1000 bye" from a close frame's payload (code and reason), for reports.
std::string describe_close(std::string_view payload);

}  // namespace nbms::bench
