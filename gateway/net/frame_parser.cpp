#include "gateway/net/frame_parser.h"

#include <cstring>

#include "gateway/net/checksum.h"
#include "protocol/byte_order.h"

namespace aigw::net {

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::ok: return "ok";
    case ParseError::runt: return "runt";
    case ParseError::unsupported_ethertype: return "unsupported_ethertype";
    case ParseError::ip_truncated: return "ip_truncated";
    case ParseError::ip_bad_version: return "ip_bad_version";
    case ParseError::ip_bad_header_length: return "ip_bad_header_length";
    case ParseError::ip_bad_checksum: return "ip_bad_checksum";
    case ParseError::ip_fragment: return "ip_fragment";
    case ParseError::unsupported_protocol: return "unsupported_protocol";
    case ParseError::udp_truncated: return "udp_truncated";
    case ParseError::udp_no_checksum: return "udp_no_checksum";
    case ParseError::udp_bad_checksum: return "udp_bad_checksum";
    case ParseError::arp_malformed: return "arp_malformed";
    case ParseError::icmp_truncated: return "icmp_truncated";
    case ParseError::icmp_bad_checksum: return "icmp_bad_checksum";
    case ParseError::kCount: break;
  }
  return "unknown";
}

namespace {

ParseError parse_arp(const uint8_t* p, size_t len, Frame& out) {
  if (len < kArpSize) return ParseError::arp_malformed;
  // Ethernet (1) / IPv4 (0x0800), 6-byte hardware and 4-byte protocol addresses.
  if (wire::get_u16(p) != 1 || wire::get_u16(p + 2) != kEtherTypeIpv4 || p[4] != 6 || p[5] != 4)
    return ParseError::arp_malformed;
  Arp& a = out.arp;
  a.op = wire::get_u16(p + 6);
  if (a.op != 1 && a.op != 2) return ParseError::arp_malformed;
  std::memcpy(a.sender_mac.data(), p + 8, 6);
  a.sender_ip = wire::get_u32(p + 14);
  std::memcpy(a.target_mac.data(), p + 18, 6);
  a.target_ip = wire::get_u32(p + 24);
  out.kind = FrameKind::arp;
  out.src_ip = a.sender_ip;
  out.dst_ip = a.target_ip;
  return ParseError::ok;
}

}  // namespace

ParseError parse_frame(const uint8_t* data, size_t len, UdpChecksum udp, Frame& out) {
  if (len < kEthHeaderSize) return ParseError::runt;
  std::memcpy(out.dst_mac.data(), data, 6);
  std::memcpy(out.src_mac.data(), data + 6, 6);
  const uint16_t ethertype = wire::get_u16(data + 12);
  out.l3_offset = kEthHeaderSize;
  if (ethertype == kEtherTypeArp)
    return parse_arp(data + kEthHeaderSize, len - kEthHeaderSize, out);
  if (ethertype != kEtherTypeIpv4) return ParseError::unsupported_ethertype;

  const uint8_t* ip = data + kEthHeaderSize;
  const size_t avail = len - kEthHeaderSize;  // may include Ethernet padding
  if (avail < kIpv4HeaderSize) return ParseError::ip_truncated;
  if ((ip[0] >> 4) != 4) return ParseError::ip_bad_version;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  const size_t total = wire::get_u16(ip + 2);
  if (ihl < kIpv4HeaderSize) return ParseError::ip_bad_header_length;
  if (total > avail) return ParseError::ip_truncated;
  if (ihl > total) return ParseError::ip_bad_header_length;
  const bool ip_ok = ihl == kIpv4HeaderSize ? ipv4_header20_valid(ip) : checksum_finish(checksum_add(0, ip, ihl)) == 0;
  if (!ip_ok) return ParseError::ip_bad_checksum;
  // More-fragments bit or a non-zero offset: an IP fragment.
  if ((wire::get_u16(ip + 6) & 0x3fff) != 0) return ParseError::ip_fragment;
  out.src_ip = wire::get_u32(ip + 12);
  out.dst_ip = wire::get_u32(ip + 16);
  out.l4_offset = kEthHeaderSize + ihl;
  const uint8_t* l4 = ip + ihl;
  const size_t l4_len = total - ihl;

  if (ip[9] == kIpProtoUdp) {
    if (l4_len < kUdpHeaderSize) return ParseError::udp_truncated;
    const size_t ulen = wire::get_u16(l4 + 4);
    if (ulen < kUdpHeaderSize || ulen > l4_len) return ParseError::udp_truncated;
    const uint16_t wire_sum = wire::get_u16(l4 + 6);
    // Pseudo header and UDP header, summed from values; the payload is summed apart so
    // that its own sum can travel with it (protocol/payload_sum.h).
    const uint64_t head = udp_pseudo_sum(out.src_ip, out.dst_ip, static_cast<uint16_t>(ulen)) +
                          wire::get_u16(l4) + wire::get_u16(l4 + 2) + ulen + wire_sum;
    if (udp == UdpChecksum::software) {
      if (wire_sum == 0) return ParseError::udp_no_checksum;
      const uint64_t body = checksum_add(0, l4 + kUdpHeaderSize, ulen - kUdpHeaderSize);
      if (checksum_finish(head + body) != 0) return ParseError::udp_bad_checksum;
      out.udp_payload_sum = static_cast<uint16_t>(~checksum_finish(body));
    } else if (wire_sum != 0) {
      // A checked datagram sums to all ones, so the payload's sum is the complement of
      // the rest.
      out.udp_payload_sum = checksum_finish(head);
    } else {
      out.udp_payload_sum = kNoPayloadSum;
    }
    out.kind = FrameKind::udp;
    out.src_port = wire::get_u16(l4);
    out.dst_port = wire::get_u16(l4 + 2);
    out.payload = l4 + kUdpHeaderSize;
    out.payload_len = ulen - kUdpHeaderSize;
    return ParseError::ok;
  }
  if (ip[9] == kIpProtoIcmp) {
    if (l4_len < 8) return ParseError::icmp_truncated;
    if (checksum_finish(checksum_add(0, l4, l4_len)) != 0) return ParseError::icmp_bad_checksum;
    out.kind = FrameKind::icmp;
    out.payload = l4;
    out.payload_len = l4_len;
    return ParseError::ok;
  }
  return ParseError::unsupported_protocol;
}

}  // namespace aigw::net
