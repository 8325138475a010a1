// Endpoint parsing and formatting: numeric IPv4/IPv6 only, every malformed form refused.
#include "edge-sdk/src/address.h"

#include <gtest/gtest.h>

namespace aigw::edge {
namespace {

TEST(Address, ParsesIpv4AndIpv6) {
  Endpoint e;
  ASSERT_TRUE(parse_endpoint("127.0.0.1:7700", e));
  EXPECT_EQ(e.family(), AF_INET);
  EXPECT_EQ(e.port(), 7700);
  EXPECT_EQ(e.host(), "127.0.0.1");
  EXPECT_EQ(e.to_string(), "127.0.0.1:7700");
  ASSERT_TRUE(parse_endpoint("[::1]:0", e));
  EXPECT_EQ(e.family(), AF_INET6);
  EXPECT_EQ(e.port(), 0);
  EXPECT_EQ(e.to_string(), "[::1]:0");
}

TEST(Address, RefusesMalformedText) {
  Endpoint e;
  for (const char* bad : {"", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "::1:80", "[::1]80", "[::1", "localhost:80",
                          "1.2.3:80", "127.0.0.1:123456"}) {
    EXPECT_FALSE(parse_endpoint(bad, e)) << bad;
  }
  EXPECT_FALSE(parse_endpoint(nullptr, e));
  EXPECT_FALSE(make_endpoint("127.0.0.1", 70000, e));
}

TEST(Address, EqualityAndWildcard) {
  Endpoint a, b, c;
  ASSERT_TRUE(make_endpoint("10.0.0.1", 5, a));
  ASSERT_TRUE(parse_endpoint("10.0.0.1:5", b));
  ASSERT_TRUE(parse_endpoint("10.0.0.1:6", c));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(any_endpoint(AF_INET6, 9).to_string(), "[::]:9");
  EXPECT_EQ(any_endpoint(AF_INET, 0).host(), "0.0.0.0");
}

}  // namespace
}  // namespace aigw::edge
