// Mapping of request paths to files under the web root (no disk).
#include "http/static_files.hpp"

#include <gtest/gtest.h>

namespace nbms::http {
namespace {

TEST(HttpStaticFiles, MapsPathsUnderTheRoot) {
  EXPECT_EQ(static_relative_path("/").value(), "index.html");
  EXPECT_EQ(static_relative_path("").value(), "index.html");
  EXPECT_EQ(static_relative_path("/app.js").value(), "app.js");
  EXPECT_EQ(static_relative_path("/js/app.js").value(), "js/app.js");
  EXPECT_EQ(static_relative_path("/img/my%20logo.png").value(), "img/my logo.png");
  EXPECT_EQ(static_relative_path("/a..b/c...js").value(), "a..b/c...js");
}

TEST(HttpStaticFiles, RejectsTraversal) {
  for (const char* bad :
       {"/..", "/../etc/passwd", "/js/../../etc/passwd", "/js/%2e%2e/x", "/%2E%2E/x",
        "/./index.html", "/a%5Cb", "/a\\b", "/..%5c..%5cwin.ini", "/a%2Fb", "/a%00", "/a%zz"}) {
    const auto r = static_relative_path(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
}

TEST(HttpStaticFiles, NoDirectoryListingOrHiddenFiles) {
  for (const char* missing : {"/js/", "/a//b", "/.git/config", "/.env", "/js/.htaccess"}) {
    const auto r = static_relative_path(missing);
    ASSERT_FALSE(r) << missing;
    EXPECT_EQ(r.error().code, Errc::not_found) << missing;
  }
}

TEST(HttpStaticFiles, ContentTypes) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("js/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("css/site.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("logo.png"), "image/png");
  EXPECT_EQ(content_type_for("data.json"), "application/json");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("fonts/a.woff2"), "font/woff2");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(content_type_for("a.js/b"), "application/octet-stream");
  EXPECT_EQ(content_type_for("archive.tar.gz"), "application/octet-stream");
}

}  // namespace
}  // namespace nbms::http
