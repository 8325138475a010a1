#include "controller/core/socket_address.h"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include "controller/core/node_id.h"

namespace aigw::controller {
namespace {

TEST(SocketAddress, ParsesV4AndV6HostPort) {
  sockaddr_storage sa;
  socklen_t len;
  ASSERT_TRUE(parse_host_port("127.0.0.1:7700", sa, len));
  EXPECT_EQ(sa.ss_family, AF_INET);
  EXPECT_EQ(from_sockaddr(sa), (Endpoint{"127.0.0.1", 7700}));
  ASSERT_TRUE(parse_host_port("[::1]:0", sa, len));
  EXPECT_EQ(sa.ss_family, AF_INET6);
  EXPECT_EQ(from_sockaddr(sa), (Endpoint{"::1", 0}));
  for (const char* bad : {"", "127.0.0.1", "localhost:80", "127.0.0.1:65536", "127.0.0.1:x", "[::1]80", "[::1"})
    EXPECT_FALSE(parse_host_port(bad, sa, len)) << bad;
}

TEST(SocketAddress, V4MappedSourcesReadAsIpv4) {
  sockaddr_storage sa;
  socklen_t len;
  ASSERT_TRUE(parse_host_port("[::ffff:127.0.0.1]:53", sa, len));
  EXPECT_EQ(from_sockaddr(sa), (Endpoint{"127.0.0.1", 53}));
}

TEST(SocketAddress, EndpointText) {
  EXPECT_EQ((Endpoint{"10.0.0.1", 5}).str(), "10.0.0.1:5");
  EXPECT_EQ((Endpoint{"::1", 5}).str(), "[::1]:5");
}

TEST(NodeId, SenderIdsCarryTheRole) {
  EXPECT_EQ(make_sender_id(NodeRole::gateway, 3), 0x01000003u);
  EXPECT_EQ(make_sender_id(NodeRole::controller, 1), 0x04000001u);
  NodeRole r;
  ASSERT_TRUE(role_of(0x02000011u, r));
  EXPECT_EQ(r, NodeRole::device);
  EXPECT_EQ(node_of(0x02000011u), 0x11u);
  EXPECT_FALSE(role_of(0x05000001u, r));  // no such role
  EXPECT_FALSE(role_of(0x01000000u, r));  // node 0
  EXPECT_TRUE(parse_role("gpu", r));
  EXPECT_STREQ(to_string(r), "gpu");
  EXPECT_FALSE(parse_role("router", r));
}

TEST(NodeId, ControlAddressFallsBackToTheSource) {
  const Endpoint src{"192.0.2.7", 4000};
  EXPECT_EQ(resolve_control("198.51.100.1", 6000, src), (Endpoint{"198.51.100.1", 6000}));
  EXPECT_EQ(resolve_control("", 6000, src), (Endpoint{"192.0.2.7", 6000}));
  EXPECT_EQ(resolve_control("0.0.0.0", 0, src), src);
  EXPECT_EQ(resolve_control("::", 70000, src), src);
}

}  // namespace
}  // namespace aigw::controller
