// Ethernet / IPv4 / UDP / ARP / ICMP parsing for the DPDK backend, which receives raw
// frames. Total on any input: a frame is either classified or rejected with one
// specific error, which the caller counts. No allocation, nothing is trusted before it
// is checked (lengths against the buffer, header lengths, checksums).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocol/payload_sum.h"

namespace aigw::net {

using Mac = std::array<uint8_t, 6>;

inline constexpr size_t kEthHeaderSize = 14;
inline constexpr size_t kIpv4HeaderSize = 20;  ///< without options
inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kArpSize = 28;
inline constexpr size_t kMinFrameSize = 60;   ///< Ethernet minimum without FCS
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoUdp = 17;

enum class FrameKind : uint8_t { udp, arp, icmp };

/// Why a frame was rejected. Each value has its own counter in the backend.
enum class ParseError : uint8_t {
  ok = 0,
  runt,                   ///< shorter than an Ethernet header
  unsupported_ethertype,  ///< not IPv4 or ARP (VLAN tags included)
  ip_truncated,           ///< frame shorter than the IPv4 header or total length
  ip_bad_version,
  ip_bad_header_length,   ///< IHL < 5 or past total length
  ip_bad_checksum,
  ip_fragment,            ///< IP-level fragment: devices must not fragment (MTU-sized fragments)
  unsupported_protocol,   ///< not UDP or ICMP
  udp_truncated,          ///< UDP length < 8 or past the IP payload
  udp_no_checksum,        ///< zero UDP checksum where software verification is on
  udp_bad_checksum,
  arp_malformed,          ///< not Ethernet/IPv4 ARP or too short
  icmp_truncated,
  icmp_bad_checksum,
  kCount
};

const char* to_string(ParseError e);

/// ARP fields for an Ethernet/IPv4 ARP packet. Addresses in host order.
struct Arp {
  uint16_t op = 0;  ///< 1 request, 2 reply
  Mac sender_mac{};
  uint32_t sender_ip = 0;
  Mac target_mac{};
  uint32_t target_ip = 0;
};

/// A classified frame; pointers point into the caller's buffer.
struct Frame {
  FrameKind kind = FrameKind::udp;
  Mac dst_mac{};
  Mac src_mac{};
  uint32_t src_ip = 0;  ///< host order (IPv4 kinds)
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;  ///< UDP only
  uint16_t dst_port = 0;
  size_t l3_offset = 0;
  size_t l4_offset = 0;
  const uint8_t* payload = nullptr;  ///< UDP payload or the ICMP message
  size_t payload_len = 0;
  /// UDP only: the payload's ones-complement sum folded to 16 bits, when known (summed
  /// while verifying, or worked out from a checked checksum field); else kNoPayloadSum.
  uint32_t udp_payload_sum = kNoPayloadSum;
  Arp arp;  ///< ARP only
};

/// How the UDP checksum is checked: the DPDK path trusts the NIC's rx flags where the
/// port has the offload and verifies in software otherwise (docs/gateway.md, `[[port]]` `checksum`).
enum class UdpChecksum : uint8_t {
  software,  ///< verify here; a zero checksum is rejected (senders always set it)
  skip,      ///< already checked (offload flags) or verification disabled for the port
};

ParseError parse_frame(const uint8_t* data, size_t len, UdpChecksum udp, Frame& out);

}  // namespace aigw::net
