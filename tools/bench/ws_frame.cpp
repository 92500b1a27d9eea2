#include "bench/ws_frame.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "nbms/crypto/crypto.hpp"

namespace nbms::bench {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 1.3

bool is_control(WsOpcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

std::string opcode_name(std::uint8_t op) {
  return "0x" + std::string(1, "0123456789abcdef"[op & 0xF]);
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether the comma-separated list `value` has the token `token`.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Result<std::optional<WsFrame>> parse_server_frame(std::string_view in) {
  if (in.size() < 2) return std::nullopt;
  const auto b0 = static_cast<std::uint8_t>(in[0]);
  const auto b1 = static_cast<std::uint8_t>(in[1]);
  WsFrame f;
  f.fin = (b0 & 0x80) != 0;
  if ((b0 & 0x70) != 0) {
    return fail(Errc::malformed,
                "RSV bits set (" + opcode_name(b0 >> 4) + ") without a negotiated extension");
  }
  const std::uint8_t op = b0 & 0x0F;
  switch (op) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      f.opcode = static_cast<WsOpcode>(op);
      break;
    default:
      return fail(Errc::malformed, "reserved opcode " + opcode_name(op));
  }
  if ((b1 & 0x80) != 0) return fail(Errc::malformed, "masked server frame");
  std::uint64_t length = b1 & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (in.size() < 4) return std::nullopt;
    length =
        (std::uint64_t{static_cast<std::uint8_t>(in[2])} << 8) | static_cast<std::uint8_t>(in[3]);
    if (length < 126) {
      return fail(Errc::malformed,
                  "16-bit length " + std::to_string(length) + " not in its shortest form");
    }
    header = 4;
  } else if (length == 127) {
    if (in.size() < 10) return std::nullopt;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(in[i]);
    if ((length >> 63) != 0) return fail(Errc::malformed, "64-bit length with the top bit set");
    if (length < 65536) {
      return fail(Errc::malformed,
                  "64-bit length " + std::to_string(length) + " not in its shortest form");
    }
    header = 10;
  }
  if (is_control(f.opcode)) {
    if (!f.fin) return fail(Errc::malformed, "fragmented control frame " + opcode_name(op));
    if (length > 125) {
      return fail(Errc::malformed, "control frame " + opcode_name(op) + " of " +
                                       std::to_string(length) + " bytes (at most 125)");
    }
  }
  if (length > kWsMaxPayload) {
    return fail(Errc::too_large, "frame of " + std::to_string(length) + " bytes (at most " +
                                     std::to_string(kWsMaxPayload) + ")");
  }
  if (in.size() - header < length) return std::nullopt;
  f.size = header + static_cast<std::size_t>(length);
  f.payload = in.substr(header, static_cast<std::size_t>(length));
  return f;
}

std::string client_frame(WsOpcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  for (auto m : mask) out.push_back(static_cast<char>(m));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i % 4]));
  }
  return out;
}

std::string ws_accept_value(std::string_view key) {
  std::string input(key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // SHA-1 is what RFC 6455 prescribes here; it proves nothing about security.
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    return {};  // never equal to a real header value: the check fails loudly
  }
  return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string ws_upgrade_request(std::string_view host, std::string_view target,
                               std::string_view token, std::string_view key) {
  std::string r;
  r.reserve(256 + token.size());
  r.append("GET ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host).append("\r\n");
  r.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
  r.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
  r.append("Sec-WebSocket-Version: 13\r\n");
  r.append("Authorization: Bearer ").append(token).append("\r\n");
  r.append("User-Agent: nbms-bench\r\n\r\n");
  return r;
}

Result<void> check_upgrade_response(std::string_view head, std::string_view key) {
  const auto eol = head.find("\r\n");
  const std::string_view status = head.substr(0, eol);
  auto bad = [&](const std::string& why) {
    return fail(Errc::malformed, why + " (" + std::string(status.substr(0, 200)) + ")");
  };
  if (eol == std::string_view::npos || !head.ends_with("\r\n\r\n")) {
    return bad("incomplete response head");
  }
  if (!status.starts_with("HTTP/1.1 ")) return bad("not an HTTP/1.1 status line");
  if (status.substr(9, 3) != "101") return bad("upgrade refused");
  bool upgrade = false, connection = false, accepted = false;
  std::string_view rest = head.substr(eol + 2);
  while (!rest.starts_with("\r\n")) {
    const auto end = rest.find("\r\n");  // found: head ends with a blank line
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bad("malformed header line '" + std::string(line.substr(0, 100)) + "'");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Upgrade")) {
      upgrade = iequals(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection = has_token(value, "upgrade");
    } else if (iequals(name, "Sec-WebSocket-Accept")) {
      if (value != ws_accept_value(key)) return bad("wrong Sec-WebSocket-Accept");
      accepted = true;
    } else if (iequals(name, "Sec-WebSocket-Extensions") ||
               iequals(name, "Sec-WebSocket-Protocol")) {
      return bad("unrequested " + std::string(name) + ": " + std::string(value));
    }
  }
  if (!upgrade) return bad("no 'Upgrade: websocket'");
  if (!connection) return bad("no 'Connection: upgrade'");
  if (!accepted) return bad("no Sec-WebSocket-Accept");
  return {};
}

std::span<char> WsReader::writable(std::size_t min) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buf_.size() - end_ < min && begin_ > 0) {
    // Moving the unread tail (usually a partial frame) keeps the buffer small.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < min) buf_.resize(end_ + std::max(min, buf_.size()));
  return {buf_.data() + end_, buf_.size() - end_};
}

void WsReader::append(std::string_view bytes) {
  const auto room = writable(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

Result<std::optional<WsMessage>> WsReader::next() {
  if (fragments_returned_) {
    fragments_.clear();
    fragments_returned_ = false;
  }
  for (;;) {
    auto parsed = parse_server_frame({buf_.data() + begin_, end_ - begin_});
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    if (!*parsed) {
      // Bounded: a frame's length was checked, so the buffer needs at most
      // one frame's header and payload.
      return std::nullopt;
    }
    const WsFrame f = **parsed;
    begin_ += f.size;
    if (is_control(f.opcode)) {
      if (f.opcode == WsOpcode::close && f.payload.size() == 1) {
        return fail(Errc::malformed, "close frame with a 1-byte payload");
      }
      return WsMessage{f.opcode, f.payload};
    }
    if (f.opcode == WsOpcode::continuation) {
      if (!fragmented_) return fail(Errc::malformed, "continuation frame with no message started");
    } else if (fragmented_) {
      return fail(Errc::malformed, "new message " +
                                       opcode_name(static_cast<std::uint8_t>(f.opcode)) +
                                       " inside a fragmented message");
    } else if (f.fin) {
      return WsMessage{f.opcode, f.payload};  // the common case: no copy
    } else {
      fragmented_ = f.opcode;
    }
    if (fragments_.size() + f.payload.size() > kWsMaxPayload) {
      return fail(Errc::too_large,
                  "fragmented message over " + std::to_string(kWsMaxPayload) + " bytes");
    }
    fragments_.append(f.payload);
    if (f.fin) {
      const WsOpcode op = *fragmented_;
      fragmented_.reset();
      fragments_returned_ = true;
      return WsMessage{op, fragments_};
    }
  }
}

std::string describe_close(std::string_view payload) {
  if (payload.size() < 2) return "no status code";
  const unsigned code = (static_cast<unsigned>(static_cast<std::uint8_t>(payload[0])) << 8) |
                        static_cast<std::uint8_t>(payload[1]);
  std::string out = std::to_string(code);
  if (payload.size() > 2) {
    out += ' ';
    out.append(payload.substr(2, 123));
  }
  return out;
}

}  // namespace nbms::bench
