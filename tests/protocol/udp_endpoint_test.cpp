// Endpoint parsing and formatting (numeric IPv4/IPv6 only, every malformed form refused
// with a message saying what is wrong), the v4-mapped rules that let one peer have one
// name on any socket family, and the gateway's compact IPv4 form.
#include "protocol/udp_endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstring>
#include <unordered_set>

namespace aigw {
namespace {

UdpEndpoint parsed(std::string_view text) {
  UdpEndpoint e;
  const std::string error = parse_endpoint(text, e);
  EXPECT_EQ(error, "") << text;
  return e;
}

sockaddr_in6 v6_sockaddr(const char* host, uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, host, &sa.sin6_addr), 1) << host;
  return sa;
}

TEST(UdpEndpoint, ParsesIpv4AndFormatsItBack) {
  const UdpEndpoint e = parsed("10.1.2.3:7700");
  ASSERT_TRUE(e.valid());
  EXPECT_EQ(e.family(), AF_INET);
  EXPECT_EQ(e.len, sizeof(sockaddr_in));
  EXPECT_EQ(e.port(), 7700);
  EXPECT_EQ(e.host(), "10.1.2.3");
  EXPECT_EQ(e.to_string(), "10.1.2.3:7700");
  EXPECT_EQ(reinterpret_cast<const sockaddr_in*>(e.sa())->sin_addr.s_addr, htonl(0x0a010203));
  EXPECT_EQ(parsed(e.to_string()), e);
  EXPECT_EQ(parsed("0.0.0.0:0").to_string(), "0.0.0.0:0");
  EXPECT_EQ(parsed("255.255.255.255:65535").port(), 65535);
  EXPECT_EQ(parsed("1.2.3.4:00080").port(), 80);  // leading zeros in a port are still decimal
}

TEST(UdpEndpoint, ParsesIpv6InBracketsAndFormatsItCanonically) {
  const UdpEndpoint e = parsed("[::1]:0");
  EXPECT_EQ(e.family(), AF_INET6);
  EXPECT_EQ(e.len, sizeof(sockaddr_in6));
  EXPECT_EQ(e.port(), 0);
  EXPECT_EQ(e.host(), "::1");
  EXPECT_EQ(e.to_string(), "[::1]:0");
  const UdpEndpoint long_form = parsed("[2001:DB8:0:0::1]:443");
  EXPECT_EQ(long_form.to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(parsed(long_form.to_string()), long_form);
  EXPECT_EQ(parsed("[::ffff:10.0.0.1]:5").to_string(), "[::ffff:10.0.0.1]:5");  // parsing maps nothing
}

TEST(UdpEndpoint, RefusesMalformedTextSayingWhatIsWrong) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"1.2.3.4", "expected address:port"},
      {"", "expected address:port"},
      {"::1:80", "needs brackets"},
      {"[::1]:65536", "0-65535"},
      {"1.2.3.4:123456", "0-65535"},
      {"1.2.3.4:-1", "0-65535"},
      {"1.2.3.4:+1", "0-65535"},
      {"1.2.3.4:80x", "0-65535"},
      {"1.2.3.4: 80", "0-65535"},
      {"1.2.3.4:", "missing port"},
      {"[::1]:", "missing port"},
      {"a.b.c.d:1", "'a.b.c.d' is not a numeric"},
      {"localhost:80", "'localhost' is not a numeric"},
      {"1.2.3:80", "'1.2.3' is not a numeric"},
      {"256.0.0.1:80", "'256.0.0.1' is not a numeric"},
      {":80", "'' is not a numeric"},
      {"[]:80", "'' is not a numeric"},
      {"[::1]80", "expected [address]:port"},
      {"[::1", "expected [address]:port"},
      {"[::1]", "expected [address]:port"},
      {"[1.2.3.4]:80", "brackets are for IPv6"},
  };
  for (const Case& c : cases) {
    UdpEndpoint e = parsed("9.9.9.9:9");
    const std::string error = parse_endpoint(c.text, e);
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << " -> " << error;
    EXPECT_NE(error.find(std::string("'") + c.text + "'"), std::string::npos) << error;  // names the input
    EXPECT_EQ(e.to_string(), "9.9.9.9:9") << c.text;  // left alone
  }
}

TEST(UdpEndpoint, MakesFromHostAndPort) {
  UdpEndpoint e;
  ASSERT_EQ(make_endpoint("10.0.0.1", 5, e), "");
  EXPECT_EQ(e, parsed("10.0.0.1:5"));
  ASSERT_EQ(make_endpoint("fe80::1", 65535, e), "");
  EXPECT_EQ(e.to_string(), "[fe80::1]:65535");
  EXPECT_NE(make_endpoint("10.0.0.1", 65536, e).find("65536"), std::string::npos);
  EXPECT_NE(make_endpoint("10.0.0.1", 0xffffffffu, e), "");
  EXPECT_NE(make_endpoint("[::1]", 1, e), "");  // no brackets here
  EXPECT_NE(make_endpoint("", 1, e), "");
  EXPECT_NE(make_endpoint("example.com", 1, e), "");
  EXPECT_NE(make_endpoint(std::string_view("10.0.0.1\0x", 10), 1, e), "");  // not cut at the NUL
  EXPECT_NE(make_endpoint(std::string(200, '1'), 1, e), "");
  EXPECT_EQ(e.to_string(), "[fe80::1]:65535");  // every failure left it alone
}

TEST(UdpEndpoint, WildcardOfEachFamily) {
  EXPECT_EQ(any_endpoint(AF_INET, 0).to_string(), "0.0.0.0:0");
  EXPECT_EQ(any_endpoint(AF_INET6, 9).to_string(), "[::]:9");
  EXPECT_EQ(any_endpoint(AF_INET6, 9), parsed("[::]:9"));
  EXPECT_EQ(any_endpoint(AF_INET, 7).host(), "0.0.0.0");
}

TEST(UdpEndpoint, AnEmptyEndpointIsNotValidAndFormatsAsNothing) {
  const UdpEndpoint e;
  EXPECT_FALSE(e.valid());
  EXPECT_EQ(e.port(), 0);
  EXPECT_EQ(e.host(), "");
  EXPECT_EQ(e.to_string(), "");
  EXPECT_FALSE(e.is_loopback());
  EXPECT_EQ(e, UdpEndpoint());
  EXPECT_NE(e, parsed("0.0.0.0:0"));
}

TEST(UdpEndpoint, Loopback) {
  EXPECT_TRUE(parsed("127.0.0.1:1").is_loopback());
  EXPECT_TRUE(parsed("127.200.3.4:1").is_loopback());
  EXPECT_TRUE(parsed("[::1]:1").is_loopback());
  EXPECT_TRUE(parsed("[::ffff:127.0.0.1]:1").is_loopback());
  EXPECT_FALSE(parsed("128.0.0.1:1").is_loopback());
  EXPECT_FALSE(parsed("10.0.0.1:1").is_loopback());
  EXPECT_FALSE(parsed("[::2]:1").is_loopback());
  EXPECT_FALSE(parsed("[::ffff:10.0.0.1]:1").is_loopback());
}

TEST(UdpEndpoint, EqualityAndHashFollowAddressAndPort) {
  const UdpEndpoint a = parsed("10.0.0.1:5");
  EXPECT_EQ(a, parsed("10.0.0.1:5"));
  EXPECT_NE(a, parsed("10.0.0.1:6"));
  EXPECT_NE(a, parsed("10.0.0.2:5"));
  EXPECT_NE(a, parsed("[::ffff:10.0.0.1]:5"));  // a different sockaddr until normalised
  EXPECT_EQ(a.hash(), parsed("10.0.0.1:5").hash());
  std::unordered_set<UdpEndpoint> seen = {a, parsed("[::1]:5"), parsed("10.0.0.1:5")};
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.count(parsed("[::1]:5")), 1u);
  EXPECT_EQ(seen.count(parsed("[::1]:6")), 0u);
}

TEST(EndpointFromSockaddr, NamesAV4MappedSourceByItsIpv4Address) {
  sockaddr_in6 mapped = v6_sockaddr("::ffff:10.1.2.3", 99);
  mapped.sin6_flowinfo = htonl(0x12345);
  const UdpEndpoint e = endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&mapped), sizeof mapped);
  EXPECT_EQ(e.family(), AF_INET);
  EXPECT_EQ(e, parsed("10.1.2.3:99"));  // the same peer as heard on an AF_INET socket
  EXPECT_EQ(e.hash(), parsed("10.1.2.3:99").hash());
}

TEST(EndpointFromSockaddr, KeepsIpv6AndIpv4AsTheyAre) {
  sockaddr_in6 v6 = v6_sockaddr("fe80::1", 7);
  v6.sin6_flowinfo = htonl(0x12345);
  v6.sin6_scope_id = 3;
  const UdpEndpoint e = endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6);
  EXPECT_EQ(e.to_string(), "[fe80::1]:7");
  const auto& out = *reinterpret_cast<const sockaddr_in6*>(e.sa());
  EXPECT_EQ(out.sin6_scope_id, 3u);  // needed to send back to a link-local peer
  EXPECT_EQ(out.sin6_flowinfo, 0u);  // the flow label is not the peer
  v6.sin6_scope_id = 0;
  EXPECT_EQ(endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6), parsed("[fe80::1]:7"));

  const UdpEndpoint v4 = parsed("192.0.2.1:53");
  EXPECT_EQ(endpoint_from_sockaddr(v4.sa(), v4.len), v4);
  sockaddr_storage big{};  // recvfrom's usual buffer and length
  std::memcpy(&big, v4.sa(), v4.len);
  EXPECT_EQ(endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&big), sizeof big), v4);
}

TEST(EndpointFromSockaddr, OtherFamiliesAndShortLengthsAreNotValid) {
  EXPECT_FALSE(endpoint_from_sockaddr(nullptr, 0).valid());
  const UdpEndpoint v4 = parsed("192.0.2.1:53");
  EXPECT_FALSE(endpoint_from_sockaddr(v4.sa(), v4.len - 1).valid());
  const UdpEndpoint v6 = parsed("[::1]:53");
  EXPECT_FALSE(endpoint_from_sockaddr(v6.sa(), sizeof(sockaddr_in)).valid());
  EXPECT_FALSE(endpoint_from_sockaddr(v6.sa(), 1).valid());
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&un), sizeof un).valid());
}

TEST(ToSocketFamily, AnIpv4PeerIsReachedV4MappedFromAnIpv6Socket) {
  const UdpEndpoint v4 = parsed("10.1.2.3:99");
  UdpEndpoint out;
  ASSERT_TRUE(to_socket_family(v4, AF_INET6, out));
  EXPECT_EQ(out, parsed("[::ffff:10.1.2.3]:99"));
  EXPECT_EQ(endpoint_from_sockaddr(out.sa(), out.len), v4);  // and back
  ASSERT_TRUE(to_socket_family(v4, AF_INET, out));
  EXPECT_EQ(out, v4);
}

TEST(ToSocketFamily, AnIpv6PeerCannotBeReachedFromAnIpv4Socket) {
  UdpEndpoint out = parsed("9.9.9.9:9");
  EXPECT_FALSE(to_socket_family(parsed("[2001:db8::1]:5"), AF_INET, out));
  EXPECT_FALSE(to_socket_family(UdpEndpoint(), AF_INET, out));
  EXPECT_FALSE(to_socket_family(UdpEndpoint(), AF_INET6, out));
  EXPECT_FALSE(to_socket_family(parsed("10.0.0.1:5"), AF_UNIX, out));
  EXPECT_EQ(out.to_string(), "9.9.9.9:9");  // left alone
  ASSERT_TRUE(to_socket_family(parsed("[2001:db8::1]:5"), AF_INET6, out));
  EXPECT_EQ(out, parsed("[2001:db8::1]:5"));
  // A v4-mapped one is an IPv4 peer after all.
  ASSERT_TRUE(to_socket_family(parsed("[::ffff:10.0.0.1]:5"), AF_INET, out));
  EXPECT_EQ(out, parsed("10.0.0.1:5"));
  ASSERT_TRUE(to_socket_family(parsed("[::ffff:10.0.0.1]:5"), AF_INET6, out));
  EXPECT_EQ(out, parsed("[::ffff:10.0.0.1]:5"));
}

TEST(Ipv4Endpoint, ConvertsToAndFromUdpEndpoint) {
  const Ipv4Endpoint e{0x0a010203, 4567};
  const UdpEndpoint u = to_udp(e);
  EXPECT_EQ(u, parsed("10.1.2.3:4567"));
  Ipv4Endpoint back;
  ASSERT_TRUE(to_ipv4(u, back));
  EXPECT_EQ(back, e);
  ASSERT_TRUE(to_ipv4(parsed("[::ffff:10.1.2.3]:4567"), back));
  EXPECT_EQ(back, e);
  back = Ipv4Endpoint{1, 2};
  EXPECT_FALSE(to_ipv4(parsed("[::1]:4567"), back));
  EXPECT_FALSE(to_ipv4(UdpEndpoint(), back));
  EXPECT_EQ(back, (Ipv4Endpoint{1, 2}));  // left alone
}

TEST(Ipv4Endpoint, ConvertsToAndFromSockaddrIn) {
  const Ipv4Endpoint e{0xc0000201, 53};
  const sockaddr_in sa = e.to_sockaddr();
  EXPECT_EQ(sa.sin_family, AF_INET);
  EXPECT_EQ(sa.sin_addr.s_addr, htonl(0xc0000201));
  EXPECT_EQ(sa.sin_port, htons(53));
  EXPECT_EQ(Ipv4Endpoint::from_sockaddr(sa), e);
  EXPECT_EQ(std::memcmp(&sa, to_udp(e).sa(), sizeof sa), 0);  // the same bytes either way
}

TEST(Ipv4Endpoint, EqualityAndHash) {
  const Ipv4Endpoint a{0x0a000001, 5};
  EXPECT_EQ(a, (Ipv4Endpoint{0x0a000001, 5}));
  EXPECT_NE(a, (Ipv4Endpoint{0x0a000001, 6}));
  EXPECT_NE(a, (Ipv4Endpoint{0x0a000002, 5}));
  std::unordered_set<Ipv4Endpoint> seen = {a, Ipv4Endpoint{0x0a000001, 6}, a};
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(sizeof(Ipv4Endpoint), 8u);  // 6 bytes of value, padded: not a 128-byte sockaddr_storage
}

TEST(ParseIpv4, TakesAStrictDottedQuad) {
  uint32_t ip = 0;
  ASSERT_TRUE(parse_ipv4("10.1.2.3", ip));
  EXPECT_EQ(ip, 0x0a010203u);
  ASSERT_TRUE(parse_ipv4("0.0.0.0", ip));
  EXPECT_EQ(ip, 0u);
  ASSERT_TRUE(parse_ipv4("255.255.255.255", ip));
  EXPECT_EQ(ip, 0xffffffffu);
  // As the gateway always read it: up to three digits a part, leading zeros decimal.
  ASSERT_TRUE(parse_ipv4("01.2.3.4", ip));
  EXPECT_EQ(ip, 0x01020304u);
  ASSERT_TRUE(parse_ipv4("010.000.002.003", ip));
  EXPECT_EQ(ip, 0x0a000203u);
  ip = 7;
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "0001.2.3.4", "1..2.3",
                          ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "+1.2.3.4", "-1.2.3.4", "1.2.3.a",
                          "a.b.c.d", "1.2.3.4:5", "0x1.2.3.4", "99999999999.1.1.1", "1.2.3.4\n"}) {
    EXPECT_FALSE(parse_ipv4(bad, ip)) << bad;
  }
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2.3.4\0", 8), ip));
  EXPECT_EQ(ip, 7u);  // left alone
}

TEST(ParseIpv4, FormatsBack) {
  EXPECT_EQ(ipv4_to_string(0x0a010203), "10.1.2.3");
  EXPECT_EQ(ipv4_to_string(0), "0.0.0.0");
  EXPECT_EQ(ipv4_to_string(0xffffffff), "255.255.255.255");
  EXPECT_EQ(to_string(Ipv4Endpoint{0x7f000001, 65535}), "127.0.0.1:65535");
  uint32_t ip = 0;
  for (const uint32_t v : {0u, 1u, 0x0a010203u, 0x7f000001u, 0xc0a80001u, 0xffffffffu}) {
    ASSERT_TRUE(parse_ipv4(ipv4_to_string(v), ip));
    EXPECT_EQ(ip, v);
  }
}

TEST(ParseIpv4Endpoint, ParsesAndRefusesAsTheGatewayDid) {
  Ipv4Endpoint e;
  ASSERT_TRUE(parse_ipv4_endpoint("10.1.2.3:4567", e));
  EXPECT_EQ(e, (Ipv4Endpoint{0x0a010203, 4567}));
  EXPECT_EQ(to_string(e), "10.1.2.3:4567");
  ASSERT_TRUE(parse_ipv4_endpoint("0.0.0.0:0", e));
  EXPECT_EQ(e, Ipv4Endpoint{});
  ASSERT_TRUE(parse_ipv4_endpoint("1.2.3.4:65535", e));
  EXPECT_EQ(e.port, 65535);
  e = Ipv4Endpoint{1, 2};
  for (const char* bad : {"10.1.2.3", "10.1.2.256:1", "10.1.2.3:65536", "10.1.2.3:", "a.b.c.d:1", ":80",
                          "[::1]:80", "::1:80", "10.1.2.3:80x", "10.1.2.3:-1", "10.1.2.3: 1", "10.1.2.3:1:2"}) {
    EXPECT_FALSE(parse_ipv4_endpoint(bad, e)) << bad;
  }
  EXPECT_EQ(e, (Ipv4Endpoint{1, 2}));  // left alone
}

}  // namespace
}  // namespace aigw
