#include "gateway/net/frame_parser.h"

#include <gtest/gtest.h>

#include "gateway/net/checksum.h"
#include "protocol/byte_order.h"
#include "tests/gateway/frame_test_util.h"

namespace aigw::net {
namespace {

using test::test_flow;
using test::udp_frame;

std::vector<uint8_t> payload(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7);
  return p;
}

ParseError parse(const std::vector<uint8_t>& f, UdpChecksum mode = UdpChecksum::software) {
  Frame out;
  return parse_frame(f.data(), f.size(), mode, out);
}

void fix_ip_checksum(std::vector<uint8_t>& f) {
  uint8_t* ip = f.data() + kEthHeaderSize;
  wire::put_u16(ip + 10, 0);
  wire::put_u16(ip + 10, checksum_finish(checksum_add(0, ip, size_t{ip[0] & 0xfu} * 4)));
}

TEST(FrameParser, ParsesUdp) {
  auto f = udp_frame(test_flow(), payload(100));
  Frame out;
  ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::software, out), ParseError::ok);
  EXPECT_EQ(out.kind, FrameKind::udp);
  EXPECT_EQ(out.src_ip, 0x0a000001u);
  EXPECT_EQ(out.dst_ip, 0x0a000002u);
  EXPECT_EQ(out.src_port, 40000);
  EXPECT_EQ(out.dst_port, 9000);
  ASSERT_EQ(out.payload_len, 100u);
  EXPECT_EQ(out.payload[5], 35);
  EXPECT_EQ(out.src_mac, test_flow().src_mac);
}

// Ones-complement sums are equal modulo 0xffff (0x0000 and 0xffff are both zero).
uint32_t ones(uint32_t sum) { return sum % 0xffff; }

TEST(FrameParser, UdpPayloadSumIsKnownWhenTheChecksumIs) {
  for (size_t n : {0u, 1u, 64u, 727u, 760u}) {
    const auto p = payload(n);
    auto f = udp_frame(test_flow(), p);
    const uint32_t expect = static_cast<uint16_t>(~checksum_finish(checksum_add(0, p.data(), p.size())));
    Frame sw, skipped;
    ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::software, sw), ParseError::ok);
    ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::skip, skipped), ParseError::ok);
    ASSERT_LT(sw.udp_payload_sum, kNoPayloadSum);
    EXPECT_EQ(ones(sw.udp_payload_sum), ones(expect)) << n;
    // Worked out from the (offload-checked) checksum field without reading the payload.
    ASSERT_LT(skipped.udp_payload_sum, kNoPayloadSum);
    EXPECT_EQ(ones(skipped.udp_payload_sum), ones(expect)) << n;
  }
  // No checksum on the wire: nothing to work it out from.
  auto f = udp_frame(test_flow(), payload(64));
  wire::put_u16(f.data() + kEthHeaderSize + kIpv4HeaderSize + 6, 0);
  Frame out;
  ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::skip, out), ParseError::ok);
  EXPECT_EQ(out.udp_payload_sum, kNoPayloadSum);
}

TEST(FrameParser, EthernetPaddingIsIgnored) {
  auto f = udp_frame(test_flow(), payload(4));
  f.resize(kMinFrameSize, 0);
  Frame out;
  ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::software, out), ParseError::ok);
  EXPECT_EQ(out.payload_len, 4u);
}

TEST(FrameParser, EveryMalformedCaseHasItsError) {
  const auto good = udp_frame(test_flow(), payload(64));
  {
    std::vector<uint8_t> f(good.begin(), good.begin() + 10);
    EXPECT_EQ(parse(f), ParseError::runt);
  }
  {
    auto f = good;
    wire::put_u16(f.data() + 12, 0x8100);  // VLAN tag
    EXPECT_EQ(parse(f), ParseError::unsupported_ethertype);
  }
  {
    std::vector<uint8_t> f(good.begin(), good.begin() + kEthHeaderSize + 10);
    EXPECT_EQ(parse(f), ParseError::ip_truncated);
  }
  {
    auto f = good;
    f.resize(f.size() - 10);  // total length now points past the frame
    EXPECT_EQ(parse(f), ParseError::ip_truncated);
  }
  {
    auto f = good;
    f[kEthHeaderSize] = 0x65;
    EXPECT_EQ(parse(f), ParseError::ip_bad_version);
  }
  {
    auto f = good;
    f[kEthHeaderSize] = 0x44;
    EXPECT_EQ(parse(f), ParseError::ip_bad_header_length);
  }
  {
    auto f = good;
    f[kEthHeaderSize + 8] ^= 1;  // TTL changed, checksum stale
    EXPECT_EQ(parse(f), ParseError::ip_bad_checksum);
  }
  {
    auto f = good;
    wire::put_u16(f.data() + kEthHeaderSize + 6, 0x2000);  // more fragments
    fix_ip_checksum(f);
    EXPECT_EQ(parse(f), ParseError::ip_fragment);
  }
  {
    auto f = good;
    f[kEthHeaderSize + 9] = 6;  // TCP
    fix_ip_checksum(f);
    EXPECT_EQ(parse(f), ParseError::unsupported_protocol);
  }
  {
    auto f = good;
    wire::put_u16(f.data() + kEthHeaderSize + kIpv4HeaderSize + 4, 4);  // UDP length < 8
    EXPECT_EQ(parse(f), ParseError::udp_truncated);
  }
  {
    auto f = good;
    wire::put_u16(f.data() + kEthHeaderSize + kIpv4HeaderSize + 4, 2000);  // past the IP payload
    EXPECT_EQ(parse(f), ParseError::udp_truncated);
  }
  {
    auto f = good;
    wire::put_u16(f.data() + kEthHeaderSize + kIpv4HeaderSize + 6, 0);
    EXPECT_EQ(parse(f), ParseError::udp_no_checksum);
    EXPECT_EQ(parse(f, UdpChecksum::skip), ParseError::ok);
  }
  {
    auto f = good;
    f.back() ^= 0x40;  // payload corrupted
    EXPECT_EQ(parse(f), ParseError::udp_bad_checksum);
    EXPECT_EQ(parse(f, UdpChecksum::skip), ParseError::ok);
  }
}

TEST(FrameParser, ArpRequest) {
  uint8_t buf[kMinFrameSize];
  Mac mac{0x02, 1, 2, 3, 4, 5};
  ASSERT_EQ(build_arp_request(mac, 0x0a000001, 0x0a000002, buf), kMinFrameSize);
  Frame out;
  ASSERT_EQ(parse_frame(buf, sizeof buf, UdpChecksum::software, out), ParseError::ok);
  EXPECT_EQ(out.kind, FrameKind::arp);
  EXPECT_EQ(out.arp.op, 1);
  EXPECT_EQ(out.arp.sender_mac, mac);
  EXPECT_EQ(out.arp.sender_ip, 0x0a000001u);
  EXPECT_EQ(out.arp.target_ip, 0x0a000002u);
  // Wrong hardware type, short packet.
  buf[kEthHeaderSize + 1] = 6;
  EXPECT_EQ(parse_frame(buf, sizeof buf, UdpChecksum::software, out), ParseError::arp_malformed);
  EXPECT_EQ(parse_frame(buf, kEthHeaderSize + 20, UdpChecksum::software, out), ParseError::arp_malformed);
}

std::vector<uint8_t> echo_request(size_t data_len) {
  auto flow = test_flow();
  std::vector<uint8_t> f(kEthHeaderSize + kIpv4HeaderSize + 8 + data_len);
  write_udp_headers(flow, 9, 8 + data_len - kUdpHeaderSize, f.data());  // same IPv4 layout
  uint8_t* ip = f.data() + kEthHeaderSize;
  ip[9] = kIpProtoIcmp;
  fix_ip_checksum(f);
  uint8_t* icmp = ip + kIpv4HeaderSize;
  icmp[0] = 8;
  icmp[1] = 0;
  wire::put_u16(icmp + 2, 0);
  wire::put_u32(icmp + 4, 0x12340001);
  for (size_t i = 0; i < data_len; ++i) icmp[8 + i] = static_cast<uint8_t>(i);
  wire::put_u16(icmp + 2, checksum_finish(checksum_add(0, icmp, 8 + data_len)));
  return f;
}

TEST(FrameParser, IcmpCases) {
  auto f = echo_request(56);
  Frame out;
  ASSERT_EQ(parse_frame(f.data(), f.size(), UdpChecksum::software, out), ParseError::ok);
  EXPECT_EQ(out.kind, FrameKind::icmp);
  EXPECT_EQ(out.payload_len, 64u);
  f.back() ^= 1;
  EXPECT_EQ(parse(f), ParseError::icmp_bad_checksum);
  auto t = echo_request(0);
  wire::put_u16(t.data() + kEthHeaderSize + 2, kIpv4HeaderSize + 4);
  fix_ip_checksum(t);
  EXPECT_EQ(parse(t), ParseError::icmp_truncated);
}

TEST(FrameParser, NeverReadsPastTheBufferOnAnyPrefix) {
  const auto good = udp_frame(test_flow(), payload(200));
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_NE(parse(prefix), ParseError::ok) << n;
  }
}

TEST(FrameParser, ErrorNamesAreDistinct) {
  for (uint8_t i = 0; i < static_cast<uint8_t>(ParseError::kCount); ++i)
    for (uint8_t j = 0; j < i; ++j)
      EXPECT_STRNE(to_string(static_cast<ParseError>(i)), to_string(static_cast<ParseError>(j)));
}

}  // namespace
}  // namespace aigw::net
