#include "gateway/net/frame_builder.h"

#include <cstring>

#include "gateway/net/checksum.h"
#include "protocol/byte_order.h"

namespace aigw::net {

namespace {

void write_eth(uint8_t* out, const Mac& dst, const Mac& src, uint16_t ethertype) {
  std::memcpy(out, dst.data(), 6);
  std::memcpy(out + 6, src.data(), 6);
  wire::put_u16(out + 12, ethertype);
}

size_t write_arp(uint8_t* out, uint16_t op, const Mac& eth_dst, const Mac& sha, uint32_t spa,
                 const Mac& tha, uint32_t tpa) {
  std::memset(out, 0, kMinFrameSize);
  write_eth(out, eth_dst, sha, kEtherTypeArp);
  uint8_t* a = out + kEthHeaderSize;
  wire::put_u16(a, 1);
  wire::put_u16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  wire::put_u16(a + 6, op);
  std::memcpy(a + 8, sha.data(), 6);
  wire::put_u32(a + 14, spa);
  std::memcpy(a + 18, tha.data(), 6);
  wire::put_u32(a + 24, tpa);
  return kMinFrameSize;
}

}  // namespace

size_t build_arp_reply(const Arp& req, const Mac& our_mac, uint32_t our_ip, uint8_t* out) {
  return write_arp(out, 2, req.sender_mac, our_mac, our_ip, req.sender_mac, req.sender_ip);
}

size_t build_arp_request(const Mac& our_mac, uint32_t our_ip, uint32_t target_ip, uint8_t* out) {
  return write_arp(out, 1, kBroadcastMac, our_mac, our_ip, Mac{}, target_ip);
}

bool make_echo_reply_in_place(uint8_t* frame, const Frame& f) {
  if (f.kind != FrameKind::icmp || f.payload_len < 8) return false;
  uint8_t* icmp = frame + f.l4_offset;
  if (icmp[0] != 8 || icmp[1] != 0) return false;
  std::memcpy(frame, f.src_mac.data(), 6);
  std::memcpy(frame + 6, f.dst_mac.data(), 6);
  uint8_t* ip = frame + f.l3_offset;
  wire::put_u32(ip + 12, f.dst_ip);
  wire::put_u32(ip + 16, f.src_ip);
  ip[8] = 64;  // fresh TTL
  wire::put_u16(ip + 10, 0);
  const size_t ihl = f.l4_offset - f.l3_offset;
  wire::put_u16(ip + 10, checksum_finish(checksum_add(0, ip, ihl)));
  icmp[0] = 0;
  wire::put_u16(icmp + 2, 0);
  wire::put_u16(icmp + 2, checksum_finish(checksum_add(0, icmp, f.payload_len)));
  return true;
}

void write_udp_headers(const UdpFlow& flow, uint16_t ip_id, size_t payload_len, uint8_t* out) {
  write_eth(out, flow.dst_mac, flow.src_mac, kEtherTypeIpv4);
  uint8_t* ip = out + kEthHeaderSize;
  const uint16_t udp_len = static_cast<uint16_t>(kUdpHeaderSize + payload_len);
  ip[0] = 0x45;
  ip[1] = 0;
  wire::put_u16(ip + 2, static_cast<uint16_t>(kIpv4HeaderSize + udp_len));
  wire::put_u16(ip + 4, ip_id);
  wire::put_u16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = kIpProtoUdp;
  wire::put_u32(ip + 12, flow.src_ip);
  wire::put_u32(ip + 16, flow.dst_ip);
  // Summed from the values, not read back from the frame (a store-forwarding stall).
  const uint64_t ip_sum = 0x4500 + uint64_t{kIpv4HeaderSize} + udp_len + ip_id + 0x4000 + (64u << 8) +
                          kIpProtoUdp + (flow.src_ip >> 16) + (flow.src_ip & 0xffff) + (flow.dst_ip >> 16) +
                          (flow.dst_ip & 0xffff);
  wire::put_u16(ip + 10, checksum_finish(ip_sum));
  uint8_t* udp = ip + kIpv4HeaderSize;
  wire::put_u16(udp, flow.src_port);
  wire::put_u16(udp + 2, flow.dst_port);
  wire::put_u16(udp + 4, udp_len);
  wire::put_u16(udp + 6, 0);
}

void set_udp_checksum(const UdpFlow& flow, size_t payload_len, uint64_t payload_sum, uint8_t* out) {
  const auto udp_len = static_cast<uint16_t>(kUdpHeaderSize + payload_len);
  const uint64_t s = payload_sum + udp_pseudo_sum(flow.src_ip, flow.dst_ip, udp_len) + flow.src_port +
                     flow.dst_port + udp_len;
  const uint16_t sum = checksum_finish(s);
  wire::put_u16(out + kEthHeaderSize + kIpv4HeaderSize + 6, sum == 0 ? 0xffff : sum);
}

void finish_udp_checksum(uint8_t* frame) {
  const uint8_t* ip = frame + kEthHeaderSize;
  uint8_t* udp = frame + kEthHeaderSize + kIpv4HeaderSize;
  const uint16_t udp_len = wire::get_u16(udp + 4);
  wire::put_u16(udp + 6, 0);
  uint64_t s = udp_pseudo_sum(wire::get_u32(ip + 12), wire::get_u32(ip + 16), udp_len);
  uint16_t sum = checksum_finish(checksum_add(s, udp, udp_len));
  wire::put_u16(udp + 6, sum == 0 ? 0xffff : sum);  // zero means "no checksum" on the wire
}

}  // namespace aigw::net
