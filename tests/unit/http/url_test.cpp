// Percent-decoding, path splitting and query parsing.
#include "http/url.hpp"

#include <gtest/gtest.h>

namespace nbms::http {
namespace {

TEST(HttpUrl, PercentDecode) {
  EXPECT_EQ(percent_decode("39.BI-300%3A1628_AHUReturnFan_01").value(),
            "39.BI-300:1628_AHUReturnFan_01");
  EXPECT_EQ(percent_decode("a%2Fb").value(), "a/b");
  EXPECT_EQ(percent_decode("a%2fb").value(), "a/b");
  EXPECT_EQ(percent_decode("%E6%B8%A9%E5%BA%A6").value(), "\xE6\xB8\xA9\xE5\xBA\xA6");
  EXPECT_EQ(percent_decode("a+b").value(), "a+b");
  EXPECT_EQ(percent_decode("a+b", true).value(), "a b");
  EXPECT_EQ(percent_decode("a%2Bb", true).value(), "a+b");
  EXPECT_EQ(percent_decode("").value(), "");
  EXPECT_EQ(percent_decode("%25").value(), "%");
}

TEST(HttpUrl, PercentDecodeRejectsInvalidEscapes) {
  for (const char* bad : {"%", "%4", "a%zz", "%G0", "%0G", "abc%", "%%41", "%00", "a%00b"}) {
    const auto r = percent_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
}

TEST(HttpUrl, PercentEncodeRoundTrips) {
  EXPECT_EQ(percent_encode("39.BI-300:1628_AHUReturnFan_01"), "39.BI-300%3A1628_AHUReturnFan_01");
  EXPECT_EQ(percent_encode("a/b c+d~"), "a%2Fb%20c%2Bd~");
  const std::string all = [] {
    std::string s;
    for (int c = 1; c < 256; ++c) s.push_back(static_cast<char>(c));
    return s;
  }();
  EXPECT_EQ(percent_decode(percent_encode(all)).value(), all);
}

TEST(HttpUrl, SplitTarget) {
  auto t = split_target("/a/b?x=1&y=2");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "x=1&y=2");
  t = split_target("/a");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "");
  t = split_target("/a?x=1#frag");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "x=1");
  t = split_target("/a?");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "");
}

TEST(HttpUrl, SplitPathKeepsEncodedSlashInItsSegment) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_path("/"), V{});
  EXPECT_EQ(split_path(""), V{});
  EXPECT_EQ(split_path("/a"), V{"a"});
  EXPECT_EQ(split_path("/a/b%2Fc/d"), (V{"a", "b%2Fc", "d"}));
  EXPECT_EQ(split_path("/a/"), (V{"a", ""}));
  EXPECT_EQ(split_path("/a//b"), (V{"a", "", "b"}));
}

TEST(HttpUrl, QueryParse) {
  const auto q = Query::parse("from=202210040915&to=202210041000&x&y=&&z=a+b%26c%3Dd").value();
  ASSERT_EQ(q.items().size(), 5u);
  EXPECT_EQ(q.get("from"), "202210040915");
  EXPECT_EQ(q.get("to"), "202210041000");
  EXPECT_EQ(q.get("x"), "");
  EXPECT_EQ(q.get("y"), "");
  EXPECT_EQ(q.get("z"), "a b&c=d");
  EXPECT_EQ(q.get("missing"), std::nullopt);
}

TEST(HttpUrl, QueryFirstValueWins) {
  const auto q = Query::parse("a=1&a=2").value();
  EXPECT_EQ(q.get("a"), "1");
  EXPECT_EQ(q.items().size(), 2u);
}

TEST(HttpUrl, QueryDecodesNames) {
  const auto q = Query::parse("li%6Dit=5").value();
  EXPECT_EQ(q.get("limit"), "5");
}

TEST(HttpUrl, QueryRejectsInvalidEscapes) {
  EXPECT_FALSE(Query::parse("a=%zz"));
  EXPECT_FALSE(Query::parse("%=1"));
  EXPECT_FALSE(Query::parse("a=1&b=%0"));
  EXPECT_TRUE(Query::parse(""));
  EXPECT_TRUE(Query::parse("&&"));
}

}  // namespace
}  // namespace nbms::http
