#pragma once
// Mapping of request paths to files under the web root. Pure functions; the
// router reads the file.
#include <string>
#include <string_view>

#include "nbms/core/error.hpp"

namespace nbms::http {

// Turns an encoded request path (no query) into a path relative to the web root:
// "/" -> "index.html", "/js/app.js" -> "js/app.js". Rejects, as invalid_argument,
// invalid escapes, NUL, backslashes and "." / ".." segments; as not_found, empty
// segments ("/a//b", a trailing "/": no directory listing) and hidden files
// (a segment starting with '.').
Result<std::string> static_relative_path(std::string_view encoded_path);

// Content-Type for a file name by its extension; application/octet-stream if unknown.
std::string_view content_type_for(std::string_view file_name);

}  // namespace nbms::http
