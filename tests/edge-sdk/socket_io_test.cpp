// The device's data socket on loopback: fragments sent as UDP GSO datagrams arrive as
// exactly the datagrams the fallback (one per fragment) sends, in order; the probe picks
// GSO on a kernel that has it and the fallback when asked.
#include "edge-sdk/src/socket_io.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/udp_socket.h"

namespace aigw::edge {
namespace {

UdpEndpoint loopback_any() {
  UdpEndpoint e;
  make_endpoint("127.0.0.1", 0, e);
  return e;
}

struct Sink {
  int fd = -1;
  UdpEndpoint ep;
  Sink() {
    UdpSocketOptions opts;
    opts.buffer_bytes = 8 << 20;  // a whole unit's fragments wait here until drained
    opts.blocking = true;
    std::string error;
    fd = open_udp_socket(loopback_any(), opts, ep, error);
    EXPECT_GE(fd, 0) << error;
  }
  ~Sink() { close(fd); }
  // Every datagram that arrives within `ms` of the last one.
  std::vector<std::vector<uint8_t>> drain(int ms = 200) {
    std::vector<std::vector<uint8_t>> got;
    std::vector<uint8_t> buf(70000);
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, ms) == 1) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) break;
      got.emplace_back(buf.begin(), buf.begin() + n);
    }
    return got;
  }
};

// 100 fragments of one unit: 99 of 760 bytes and a short last one, each with its own
// header bytes, to one gateway; then three to a second gateway.
std::vector<std::vector<uint8_t>> send_unit(SocketIo& io, const UdpEndpoint& a, const UdpEndpoint& b) {
  std::vector<std::vector<uint8_t>> sent;
  std::vector<uint8_t> header(32), payload(728);
  for (uint32_t i = 0; i < 103; ++i) {
    const size_t len = i == 99 ? 100 : 728;
    for (size_t k = 0; k < header.size(); ++k) header[k] = static_cast<uint8_t>(i * 7 + k);
    for (size_t k = 0; k < len; ++k) payload[k] = static_cast<uint8_t>(i + k * 13);
    const UdpEndpoint& to = i < 100 ? a : b;
    EXPECT_TRUE(io.send_fragment(to, header.data(), header.size(), payload.data(), len));
    std::vector<uint8_t> d(header);
    d.insert(d.end(), payload.begin(), payload.begin() + len);
    sent.push_back(d);
    if (i % 40 == 39) io.flush();
  }
  io.flush();
  return sent;
}

TEST(SocketIo, GsoDatagramsArriveAsTheSameFragmentsAsTheFallback) {
  for (const bool try_gso : {true, false}) {
    SCOPED_TRACE(try_gso ? "gso" : "fallback");
    Sink a, b;
    SocketIo io;
    ASSERT_EQ(io.open(loopback_any(), loopback_any(), 728, try_gso), 0);
    if (try_gso) {
      // Linux >= 4.18 has UDP_SEGMENT; Debian 12's kernel does.
      EXPECT_EQ(io.send_path(), SendPath::gso);
    } else {
      EXPECT_EQ(io.send_path(), SendPath::sendmmsg);
    }
    const auto sent = send_unit(io, a.ep, b.ep);
    auto got = a.drain();
    const auto got_b = b.drain();
    got.insert(got.end(), got_b.begin(), got_b.end());
    ASSERT_EQ(got.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << "datagram " << i;
    EXPECT_EQ(io.counters().fragment_send_errors, 0u);
    EXPECT_EQ(io.counters().gso_fallbacks, 0u);
    if (try_gso) {
      EXPECT_GT(io.counters().gso_sends, 0u);
      EXPECT_LE(io.counters().gso_sends, 6u);  // runs of up to 64 fragments, not one each
    } else {
      EXPECT_EQ(io.counters().gso_sends, 0u);
    }
  }
}

}  // namespace
}  // namespace aigw::edge
