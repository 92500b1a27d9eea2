#include "nbms/notify/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <ctime>

#include "nbms/notify/url.hpp"
#include "tls.hpp"

namespace nbms::notify {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Error transport(std::string_view what, const beast::error_code& ec) {
  return Error{Errc::unavailable, std::string(what) + ": " + ec.message()};
}

template <class Stream>
net::awaitable<Result<HttpResponse>> round_trip(Stream& stream,
                                                const bhttp::request<bhttp::string_body>& req) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  co_await bhttp::async_write(stream, req, token);
  if (ec) co_return std::unexpected(transport("send", ec));
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 10);
  co_await bhttp::async_read_header(stream, buffer, parser, token);
  if (ec) co_return std::unexpected(transport("read", ec));
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.retry_after = std::string(parser.get()[bhttp::field::retry_after]);
  // The status decides; a body too large or cut short does not matter.
  co_await bhttp::async_read(stream, buffer, parser, token);
  if (!ec) out.body = std::move(parser.get().body());
  co_return out;
}

}  // namespace

struct HttpClient::Impl {
  std::unique_ptr<detail::ssl::context> tls;
  bool allow_private = false;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(const HttpClientOptions& options) {
  auto ctx = detail::make_client_context(options.ca_file);
  if (!ctx) return std::unexpected(ctx.error());
  return std::unique_ptr<HttpClient>(new HttpClient(
      std::make_unique<Impl>(Impl{std::move(*ctx), options.allow_private_addresses})));
}

Result<HttpResponse> HttpClient::post(const HttpRequest& request,
                                      std::chrono::milliseconds timeout) const {
  auto url = parse_url(request.url);
  if (!url) return std::unexpected(url.error());
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, url->target, 11};
  const bool v6 = url->host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + url->host + "]" : url->host;
  const bool default_port = url->port == (url->tls() ? 443 : 80);
  req.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(url->port));
  req.set(bhttp::field::user_agent, "nbms");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.keep_alive(false);
  req.body() = request.body;
  req.prepare_payload();

  net::io_context ioc;
  Result<HttpResponse> result = fail(Errc::unavailable, "no answer");
  auto run = [&]() -> net::awaitable<void> {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    // One deadline for the whole exchange: a timer for the resolver, then the
    // stream's own expiry (which Beast applies to every operation on it).
    net::steady_timer deadline(ioc);
    deadline.expires_after(timeout);
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    deadline.async_wait([&](beast::error_code e) {
      if (!e) resolver.cancel();
    });
    const auto endpoints =
        co_await resolver.async_resolve(url->host, std::to_string(url->port), token);
    deadline.cancel();
    if (ec) {
      result = std::unexpected(transport("resolve " + url->host, ec));
      co_return;
    }
    if (!impl_->allow_private) {
      // Every address is checked, and only these are connected to, so a name
      // cannot resolve to a public address here and a private one there.
      for (const auto& entry : endpoints) {
        const auto ip = entry.endpoint().address().to_string();
        if (is_private_address(ip)) {
          result = fail(Errc::invalid_argument, url->host + " resolves to the private address " +
                                                    ip + ", which is not allowed");
          co_return;
        }
      }
    }
    stream.expires_at(deadline.expiry());
    co_await stream.async_connect(endpoints, token);
    if (ec) {
      result = std::unexpected(transport("connect " + host, ec));
      co_return;
    }
    if (!url->tls()) {
      result = co_await round_trip(stream, req);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), *impl_->tls);
    beast::get_lowest_layer(tls_stream).expires_at(deadline.expiry());
    if (auto ok = detail::prepare_client_stream(tls_stream, url->host); !ok) {
      result = std::unexpected(ok.error());
      co_return;
    }
    co_await tls_stream.async_handshake(detail::ssl::stream_base::client, token);
    if (ec) {
      result = fail(Errc::unavailable,
                    url->host + ": " + detail::handshake_error(tls_stream.native_handle(), ec));
      co_return;
    }
    result = co_await round_trip(tls_stream, req);
    if (result) {
      beast::get_lowest_layer(tls_stream).expires_after(std::chrono::seconds(2));
      co_await tls_stream.async_shutdown(token);  // close_notify; errors do not matter now
    }
  };
  net::co_spawn(ioc, run(), net::detached);
  ioc.run();
  return result;
}

bool is_private_address(std::string_view ip) {
  beast::error_code ec;
  auto addr = net::ip::make_address(std::string(ip), ec);
  if (ec) return true;  // not an address at all: refuse
  if (addr.is_v6()) {
    const auto v6 = addr.to_v6();
    if (v6.is_v4_mapped()) {
      addr = net::ip::make_address_v4(net::ip::v4_mapped, v6);
    } else {
      const auto b = v6.to_bytes();
      return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
             v6.is_site_local() || (b[0] & 0xfe) == 0xfc;  // fc00::/7 unique local
    }
  }
  const auto v4 = addr.to_v4();
  const auto b = v4.to_bytes();
  return v4.is_loopback() || v4.is_unspecified() || v4.is_multicast() || b[0] == 10 ||
         (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
         (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] == 0 ||
         v4 == net::ip::address_v4::broadcast();
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || seconds > 10'000'000) return std::nullopt;
    return seconds * 1000;
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::int64_t at_ms = static_cast<std::int64_t>(::timegm(&tm)) * 1000;
  return at_ms > now_ms ? at_ms - now_ms : 0;
}

}  // namespace nbms::notify
