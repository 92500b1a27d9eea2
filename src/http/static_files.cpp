#include "static_files.hpp"

#include <array>
#include <utility>

#include "url.hpp"

namespace nbms::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Result<std::string> static_relative_path(std::string_view encoded_path) {
  const auto segments = split_path(encoded_path);
  if (segments.empty()) return std::string("index.html");
  std::string out;
  for (const auto raw : segments) {
    auto seg = percent_decode(raw);
    if (!seg) return std::unexpected(seg.error());
    if (*seg == "." || *seg == "..") {
      return fail(Errc::invalid_argument, "path must not contain '.' or '..' segments");
    }
    if (seg->find('\\') != std::string::npos || seg->find('/') != std::string::npos) {
      return fail(Errc::invalid_argument, "path must not contain '\\' or an encoded '/'");
    }
    if (seg->empty()) return fail(Errc::not_found, "no such file");
    if (seg->front() == '.') return fail(Errc::not_found, "no such file");
    if (!out.empty()) out.push_back('/');
    out += *seg;
  }
  return out;
}

std::string_view content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"txt", "text/plain; charset=utf-8"},
  }};
  const auto slash = file_name.rfind('/');
  const auto base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const auto ext = base.substr(dot + 1);
  for (const auto& [e, type] : kTypes) {
    if (iequals(e, ext)) return type;
  }
  return "application/octet-stream";
}

}  // namespace nbms::http
