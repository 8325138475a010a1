#include "gateway/net/egress_routes.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

GatewayConfig two_ports() {
  GatewayConfig c;
  PortConfig a, b;
  a.ip = 0x0a000001;  // 10.0.0.1
  b.ip = 0x0a010001;  // 10.1.0.1
  c.ports = {a, b};
  return c;
}

TEST(EgressRoutes, WithoutSubnetsEverythingLeavesByTheEgressPort) {
  GatewayConfig c = two_ports();
  c.dpdk_egress_port = 1;
  const EgressRoutes r(c);
  EXPECT_EQ(r.lookup(0x0a000009).port, 1u);
  EXPECT_EQ(r.lookup(0x0a000009).next_hop, 0x0a000009u);  // on-link
}

TEST(EgressRoutes, APortsSubnetTakesItsGpuServers) {
  GatewayConfig c = two_ports();
  c.ports[0].prefix_len = 24;
  c.ports[1].prefix_len = 16;
  const EgressRoutes r(c);
  EXPECT_EQ(r.lookup(0x0a000009).port, 0u);   // 10.0.0.9 in 10.0.0.0/24
  EXPECT_EQ(r.lookup(0x0a01fe09).port, 1u);   // 10.1.254.9 in 10.1.0.0/16
  EXPECT_EQ(r.lookup(0x0b000009).port, 0u);   // elsewhere: dpdk.egress_port (0)
  EXPECT_EQ(r.lookup(0x0a01fe09).next_hop, 0x0a01fe09u);
}

TEST(EgressRoutes, LongestPrefixWinsAndRoutesNameTheirNextHop) {
  GatewayConfig c = two_ports();
  c.ports[0].prefix_len = 8;                         // 10.0.0.0/8 on port 0
  c.routes.push_back({0x0a090000, 16, 1, 0x0a0100fe});  // 10.9.0.0/16 via 10.1.0.254 on port 1
  c.routes.push_back({0x0a000000, 8, 1, 0x0a0100fe});         // same length as port 0's subnet: route wins
  const EgressRoutes r(c);
  EXPECT_EQ(r.lookup(0x0a090005).port, 1u);
  EXPECT_EQ(r.lookup(0x0a090005).next_hop, 0x0a0100feu);
  EXPECT_EQ(r.lookup(0x0a050005).port, 1u);
  EXPECT_EQ(r.lookup(0x0a050005).next_hop, 0x0a0100feu);
}

TEST(EgressRoutes, DefaultRouteCoversEverything) {
  GatewayConfig c = two_ports();
  c.routes.push_back({0, 0, 1, 0x0a0100fe});
  const EgressRoutes r(c);
  EXPECT_EQ(r.lookup(0xc0a80101).port, 1u);
  EXPECT_EQ(r.lookup(0xc0a80101).next_hop, 0x0a0100feu);
}

}  // namespace
}  // namespace aigw
