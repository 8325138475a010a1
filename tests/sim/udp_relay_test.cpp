#include "sim/impair/udp_relay.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <set>

#include "sim/common/mono_clock.h"
#include "protocol/udp_socket.h"

namespace aigw::sim {
namespace {

// A loopback UDP socket owned by the test.
struct Socket {
  int fd = -1;
  UdpEndpoint local;
  explicit Socket(const char* host = "127.0.0.1", uint16_t port = 0, bool reuse_port = false) {
    UdpEndpoint any;
    make_endpoint(host, port, any);
    std::string e;
    UdpSocketOptions options;
    options.buffer_bytes = 1 << 20;
    options.reuse_port = reuse_port;
    fd = open_udp_socket(any, options, local, e);
    EXPECT_GE(fd, 0) << e;
  }
  ~Socket() { close(fd); }
  void send_to(const UdpEndpoint& to, const void* p, size_t n) const {
    ASSERT_EQ(sendto(fd, p, n, 0, to.sa(), to.len), ssize_t(n));
  }
  // Non-blocking receive; returns bytes or -1, `from` gets the sender.
  ssize_t recv(void* p, size_t n, UdpEndpoint* from = nullptr) const {
    UdpEndpoint f;
    f.len = sizeof f.addr;
    const ssize_t r = recvfrom(fd, p, n, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&f.addr), &f.len);
    if (from && r >= 0) *from = f;
    return r;
  }
};

// Drives the relay's loop on the test thread until `done` or a 5 s bound passes.
template <typename Done>
void spin(struct ev_loop* loop, Done done) {
  const int64_t deadline = mono_now_ns() + 5'000'000'000;
  while (!done() && mono_now_ns() < deadline) {
    ev_run(loop, EVRUN_NOWAIT);
    usleep(200);
  }
}

class UdpRelayTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_ = ev_loop_new(EVFLAG_AUTO); }
  void TearDown() override { ev_loop_destroy(loop_); }
  struct ev_loop* loop_ = nullptr;
};

TEST_F(UdpRelayTest, RealisedLossMatchesConfiguredRateAndRepliesFindTheirClient) {
  Socket upstream, client;
  RelayConfig cfg;
  make_endpoint("127.0.0.1", 0, cfg.listen);
  cfg.upstream = upstream.local;
  cfg.forward.seed = 17;
  cfg.forward.loss = 0.1;
  UdpRelay relay(loop_, cfg);
  ASSERT_EQ(relay.start(), "");
  const UdpEndpoint via = relay.listen_endpoint();
  ASSERT_NE(via.port(), 0);

  const uint32_t n = 4000;
  std::set<uint32_t> received;
  UdpEndpoint session_addr;
  uint8_t buf[2048];
  // Send in small chunks so no kernel buffer overflows on the way.
  for (uint32_t sent = 0; sent < n;) {
    for (int k = 0; k < 50 && sent < n; ++k, ++sent) client.send_to(via, &sent, sizeof sent);
    spin(loop_, [&] { return relay.forward_counters().packets_in == sent; });
    ssize_t r;
    while ((r = upstream.recv(buf, sizeof buf, &session_addr)) > 0) {
      uint32_t seq;
      std::memcpy(&seq, buf, 4);
      received.insert(seq);
    }
  }
  const auto& c = relay.forward_counters();
  EXPECT_EQ(c.packets_in, n);
  EXPECT_EQ(received.size(), c.packets_out);
  EXPECT_EQ(c.packets_out + c.dropped_total(), n);
  const double sd = std::sqrt(0.1 * 0.9 / n);
  EXPECT_NEAR(double(c.dropped[size_t(ImpairDrop::loss)]) / n, 0.1, 5 * sd);
  EXPECT_EQ(relay.sessions(), 1u);

  // The upstream answers the session socket; the relay returns it to the client.
  const char reply[] = "pong";
  upstream.send_to(session_addr, reply, sizeof reply);
  ssize_t got = -1;
  spin(loop_, [&] { return (got = client.recv(buf, sizeof buf)) > 0; });
  ASSERT_EQ(got, ssize_t(sizeof reply));
  EXPECT_EQ(std::memcmp(buf, reply, sizeof reply), 0);
  EXPECT_EQ(relay.reverse_counters().packets_out, 1u);
}

TEST_F(UdpRelayTest, EachClientGetsItsOwnSession) {
  Socket upstream, a, b;
  RelayConfig cfg;
  make_endpoint("127.0.0.1", 0, cfg.listen);
  cfg.upstream = upstream.local;
  UdpRelay relay(loop_, cfg);
  ASSERT_EQ(relay.start(), "");
  const uint32_t x = 1, y = 2;
  a.send_to(relay.listen_endpoint(), &x, 4);
  b.send_to(relay.listen_endpoint(), &y, 4);
  spin(loop_, [&] { return relay.forward_counters().packets_out == 2; });
  EXPECT_EQ(relay.sessions(), 2u);
  uint8_t buf[16];
  UdpEndpoint from1, from2;
  spin(loop_, [&] { return upstream.recv(buf, sizeof buf, &from1) > 0; });
  spin(loop_, [&] { return upstream.recv(buf, sizeof buf, &from2) > 0; });
  EXPECT_FALSE(from1 == from2);
}

TEST_F(UdpRelayTest, SessionLimitRejectsAndCounts) {
  Socket upstream, a, b;
  RelayConfig cfg;
  make_endpoint("127.0.0.1", 0, cfg.listen);
  cfg.upstream = upstream.local;
  cfg.max_sessions = 1;
  UdpRelay relay(loop_, cfg);
  ASSERT_EQ(relay.start(), "");
  const uint32_t x = 1;
  a.send_to(relay.listen_endpoint(), &x, 4);
  b.send_to(relay.listen_endpoint(), &x, 4);
  spin(loop_, [&] { return relay.counters().sessions_rejected == 1; });
  EXPECT_EQ(relay.sessions(), 1u);
  EXPECT_EQ(relay.counters().sessions_rejected, 1u);
}

TEST(SourceNat, ParsesNetworkAndPrefix) {
  RelayConfig c;
  EXPECT_EQ(parse_source_nat("127.2.0.0/16", c), "");
  EXPECT_EQ(c.source_nat_net, 0x7f020000u);
  EXPECT_EQ(c.source_nat_prefix, 16);
  EXPECT_EQ(parse_source_nat("127.2.3.4/16", c), "");  // host bits are ignored
  EXPECT_EQ(c.source_nat_net, 0x7f020000u);
  EXPECT_NE(parse_source_nat("127.2.0.0", c), "");
  EXPECT_NE(parse_source_nat("127.2.0.0/4", c), "");
  EXPECT_NE(parse_source_nat("127.2.0.0/31", c), "");
  EXPECT_NE(parse_source_nat("127.2.0.0/16x", c), "");
  EXPECT_NE(parse_source_nat("::1/16", c), "");
}

// The relay takes one address of a port a server holds on the wildcard address: what
// is sent to that address passes the relay, and reaches the server from the client's
// translated address with the client's port; what is sent elsewhere reaches the server
// directly.
TEST_F(UdpRelayTest, SharedPortAndSourceNatStandInFrontOfAWildcardServer) {
  Socket server("0.0.0.0", 0, true);
  const uint16_t port = server.local.port();
  Socket client("127.3.0.9");
  RelayConfig cfg;
  make_endpoint("127.1.0.1", port, cfg.listen);
  make_endpoint("127.0.0.1", port, cfg.upstream);
  cfg.share_listen_port = true;
  ASSERT_EQ(parse_source_nat("127.2.0.0/16", cfg), "");
  UdpRelay relay(loop_, cfg);
  ASSERT_EQ(relay.start(), "");
  ASSERT_EQ(relay.listen_endpoint().port(), port);

  const uint32_t v = 42;
  client.send_to(relay.listen_endpoint(), &v, sizeof v);
  uint8_t buf[64];
  UdpEndpoint from;
  ssize_t r = -1;
  spin(loop_, [&] { return (r = server.recv(buf, sizeof buf, &from)) > 0; });
  ASSERT_EQ(r, ssize_t(sizeof v));
  EXPECT_EQ(from.host(), "127.2.0.9");
  EXPECT_EQ(from.port(), client.local.port());
  EXPECT_EQ(relay.forward_counters().packets_in, 1u);

  // Another address of the same port: straight to the server, the relay sees nothing.
  UdpEndpoint direct;
  make_endpoint("127.0.0.1", port, direct);
  client.send_to(direct, &v, sizeof v);
  r = -1;
  spin(loop_, [&] { return (r = server.recv(buf, sizeof buf, &from)) > 0; });
  ASSERT_EQ(r, ssize_t(sizeof v));
  EXPECT_EQ(from.host(), "127.3.0.9");
  EXPECT_EQ(relay.forward_counters().packets_in, 1u);
}

}  // namespace
}  // namespace aigw::sim
