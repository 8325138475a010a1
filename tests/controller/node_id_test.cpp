#include "controller/core/node_id.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

UdpEndpoint endpoint(const char* text) {
  UdpEndpoint e;
  EXPECT_EQ(parse_endpoint(text, e), "") << text;
  return e;
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
  const UdpEndpoint src = endpoint("192.0.2.7:4000");
  EXPECT_EQ(resolve_control("198.51.100.1", 6000, src), endpoint("198.51.100.1:6000"));
  EXPECT_EQ(resolve_control("", 6000, src), endpoint("192.0.2.7:6000"));
  EXPECT_EQ(resolve_control("0.0.0.0", 0, src), src);
  EXPECT_EQ(resolve_control("::", 70000, src), src);
  EXPECT_EQ(resolve_control("2001:db8::1", 6000, src), endpoint("[2001:db8::1]:6000"));
}

TEST(NodeId, ANonNumericControlAddressCannotBeReached) {
  const UdpEndpoint src = endpoint("192.0.2.7:4000");
  EXPECT_FALSE(resolve_control("gateway.example", 6000, src).valid());
  // Nothing to fall back to: a source that is not valid leaves "unspecified" unknown.
  EXPECT_FALSE(resolve_control("", 6000, UdpEndpoint{}).valid());
}

}  // namespace
}  // namespace aigw::controller
