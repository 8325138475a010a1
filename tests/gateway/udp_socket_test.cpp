// The gateway's UDP socket helpers on loopback: a GRO-enabled data socket receives a
// GSO burst as one coalesced buffer whose UDP_GRO size splits it back into exactly the
// datagrams sent; without GRO the same burst arrives one datagram per receive.
#include "gateway/net/udp_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace aigw {
namespace {

constexpr size_t kSegment = 760;

std::vector<uint8_t> burst(size_t count, size_t last_len) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i < count; ++i) {
    const size_t len = i + 1 == count ? last_len : kSegment;
    for (size_t k = 0; k < len; ++k) b.push_back(static_cast<uint8_t>(i * 31 + k));
  }
  return b;
}

// Sends `data` as one UDP GSO send cut at kSegment.
void send_gso(const Endpoint& to, const std::vector<uint8_t>& data) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa = to.to_sockaddr();
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr h{};
  h.msg_name = &sa;
  h.msg_namelen = sizeof sa;
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const uint16_t seg = kSegment;
  std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
  ASSERT_EQ(sendmsg(fd, &h, 0), static_cast<ssize_t>(data.size())) << std::strerror(errno);
  close(fd);
}

// Every datagram the socket yields within 200 ms, split by its GRO size.
std::vector<std::vector<uint8_t>> receive_all(int fd, size_t& receives) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> buf(65535);
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int))];
  receives = 0;
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 200) == 1) {
    iovec iov{buf.data(), buf.size()};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd, &h, MSG_DONTWAIT);
    if (n < 0) break;
    ++receives;
    for_each_gro_segment(buf.data(), static_cast<size_t>(n), gro_segment_size(h),
                         [&](const uint8_t* d, size_t len) { out.emplace_back(d, d + len); });
  }
  return out;
}

TEST(UdpSocket, GroReceivesABurstCoalescedAndSplitsItBack) {
  for (const bool gro : {true, false}) {
    SCOPED_TRACE(gro ? "gro" : "plain");
    Endpoint bound;
    std::string error;
    const int fd = open_udp_socket(Endpoint{0x7f000001, 0}, UdpSocketOptions{1 << 20, false}, bound, error);
    ASSERT_GE(fd, 0) << error;
    if (gro) {
      ASSERT_TRUE(enable_udp_gro(fd));  // Linux >= 5.0
    }
    const auto data = burst(20, 100);
    send_gso(bound, data);
    size_t receives = 0;
    const auto got = receive_all(fd, receives);
    ASSERT_EQ(got.size(), 20u);
    size_t off = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const size_t len = i == 19 ? 100 : kSegment;
      ASSERT_EQ(got[i].size(), len) << i;
      EXPECT_EQ(0, std::memcmp(got[i].data(), data.data() + off, len)) << i;
      off += len;
    }
    if (gro) {
      EXPECT_LT(receives, 20u);
    } else {
      EXPECT_EQ(receives, 20u);
    }
    close(fd);
  }
}

TEST(UdpSocket, SegmentSplitHandlesTailsAndNonsense) {
  std::vector<uint8_t> b(1000);
  std::vector<size_t> lens;
  const auto collect = [&](const uint8_t*, size_t len) { lens.push_back(len); };
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 300, collect), 4u);
  EXPECT_EQ(lens, (std::vector<size_t>{300, 300, 300, 100}));
  lens.clear();
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 0, collect), 1u);      // not coalesced
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 1000, collect), 1u);   // one segment
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 5000, collect), 1u);   // a size beyond the buffer
  EXPECT_EQ(lens, (std::vector<size_t>{1000, 1000, 1000}));
  msghdr none{};
  EXPECT_EQ(gro_segment_size(none), 0u);
}

}  // namespace
}  // namespace aigw
