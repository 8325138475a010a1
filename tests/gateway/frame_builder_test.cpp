#include "gateway/net/frame_builder.h"

#include <gtest/gtest.h>

#include "gateway/net/checksum.h"
#include "protocol/byte_order.h"
#include "tests/gateway/frame_test_util.h"

namespace aigw::net {
namespace {

TEST(FrameBuilder, ArpReplyAnswersTheRequester) {
  Arp req;
  req.op = 1;
  req.sender_mac = {0x02, 9, 9, 9, 9, 9};
  req.sender_ip = 0x0a000009;
  req.target_ip = 0x0a000001;
  const Mac ours{0x02, 1, 1, 1, 1, 1};
  uint8_t buf[kMinFrameSize];
  ASSERT_EQ(build_arp_reply(req, ours, 0x0a000001, buf), kMinFrameSize);
  Frame f;
  ASSERT_EQ(parse_frame(buf, sizeof buf, UdpChecksum::software, f), ParseError::ok);
  EXPECT_EQ(f.kind, FrameKind::arp);
  EXPECT_EQ(f.dst_mac, req.sender_mac);
  EXPECT_EQ(f.src_mac, ours);
  EXPECT_EQ(f.arp.op, 2);
  EXPECT_EQ(f.arp.sender_mac, ours);
  EXPECT_EQ(f.arp.sender_ip, 0x0a000001u);
  EXPECT_EQ(f.arp.target_mac, req.sender_mac);
  EXPECT_EQ(f.arp.target_ip, 0x0a000009u);
}

TEST(FrameBuilder, EchoReplySwapsAndKeepsChecksumsValid) {
  auto flow = test::test_flow();
  std::vector<uint8_t> frame(kEthHeaderSize + kIpv4HeaderSize + 8 + 32);
  write_udp_headers(flow, 3, 32, frame.data());
  uint8_t* ip = frame.data() + kEthHeaderSize;
  ip[9] = kIpProtoIcmp;
  wire::put_u16(ip + 10, 0);
  wire::put_u16(ip + 10, checksum_finish(checksum_add(0, ip, kIpv4HeaderSize)));
  uint8_t* icmp = ip + kIpv4HeaderSize;
  std::fill(icmp, icmp + 40, 0x5a);
  icmp[0] = 8;
  icmp[1] = 0;
  wire::put_u16(icmp + 2, 0);
  wire::put_u16(icmp + 2, checksum_finish(checksum_add(0, icmp, 40)));
  Frame req;
  ASSERT_EQ(parse_frame(frame.data(), frame.size(), UdpChecksum::software, req), ParseError::ok);
  ASSERT_TRUE(make_echo_reply_in_place(frame.data(), req));
  Frame rep;
  ASSERT_EQ(parse_frame(frame.data(), frame.size(), UdpChecksum::software, rep), ParseError::ok);
  EXPECT_EQ(rep.kind, FrameKind::icmp);
  EXPECT_EQ(rep.payload[0], 0);  // echo reply
  EXPECT_EQ(rep.src_ip, flow.dst_ip);
  EXPECT_EQ(rep.dst_ip, flow.src_ip);
  EXPECT_EQ(rep.dst_mac, flow.src_mac);
  // An echo reply is not answered again.
  EXPECT_FALSE(make_echo_reply_in_place(frame.data(), rep));
}

TEST(FrameBuilder, UdpHeadersCarryLengthsAndChecksum) {
  std::vector<uint8_t> payload(733);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
  auto frame = test::udp_frame(test::test_flow(), payload);
  EXPECT_EQ(wire::get_u16(frame.data() + kEthHeaderSize + 2), kIpv4HeaderSize + kUdpHeaderSize + 733);
  EXPECT_NE(wire::get_u16(frame.data() + kEthHeaderSize + kIpv4HeaderSize + 6), 0);
  Frame f;
  ASSERT_EQ(parse_frame(frame.data(), frame.size(), UdpChecksum::software, f), ParseError::ok);
  EXPECT_EQ(f.payload_len, 733u);
}

TEST(FrameBuilder, ChecksumFromThePayloadSumEqualsTheFullPass) {
  const auto flow = test::test_flow();
  for (size_t len : {1u, 32u, 733u, 760u}) {
    std::vector<uint8_t> payload(len);
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<uint8_t>(i * 7 + 1);
    auto expected = test::udp_frame(flow, payload);
    std::vector<uint8_t> frame(kUdpFrameOverhead + len);
    write_udp_headers(flow, 1, len, frame.data());
    const uint64_t sum = checksum_copy(0, frame.data() + kUdpFrameOverhead, payload.data(), len);
    set_udp_checksum(flow, len, sum, frame.data());
    EXPECT_EQ(frame, expected) << len;
    Frame f;
    EXPECT_EQ(parse_frame(frame.data(), frame.size(), UdpChecksum::software, f), ParseError::ok) << len;
  }
}

}  // namespace
}  // namespace aigw::net
