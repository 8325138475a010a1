// Frames the DPDK backend sends itself: ARP replies and requests, ICMP echo replies and
// the Ethernet/IPv4/UDP headers of egress fragments. Writes into caller buffers (mbuf
// data), never allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gateway/net/frame_parser.h"

namespace aigw::net {

inline constexpr Mac kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr size_t kUdpFrameOverhead = kEthHeaderSize + kIpv4HeaderSize + kUdpHeaderSize;

/// Writes an ARP reply to `req` saying `our_ip` is at `our_mac`, padded to the Ethernet
/// minimum. `out` holds kMinFrameSize bytes. Returns the frame length.
size_t build_arp_reply(const Arp& req, const Mac& our_mac, uint32_t our_ip, uint8_t* out);

/// Writes a broadcast ARP request for `target_ip`. Returns the frame length.
size_t build_arp_request(const Mac& our_mac, uint32_t our_ip, uint32_t target_ip, uint8_t* out);

/// Turns a parsed ICMP echo request frame into its echo reply in place (addresses
/// swapped, type 0, checksums updated). False when `f` is not an echo request.
bool make_echo_reply_in_place(uint8_t* frame, const Frame& f);

struct UdpFlow {
  Mac src_mac{};
  Mac dst_mac{};
  uint32_t src_ip = 0;  ///< host order
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

/// Writes Ethernet, IPv4 (with header checksum) and UDP headers for `payload_len` bytes
/// of UDP payload that the caller places at `out + kUdpFrameOverhead`. The UDP checksum
/// is left zero: call finish_udp_checksum() once the payload is in place, or let the
/// NIC offload fill it.
void write_udp_headers(const UdpFlow& flow, uint16_t ip_id, size_t payload_len, uint8_t* out);

/// Stores the UDP checksum of a frame written by write_udp_headers() whose payload's
/// running sum (checksum_add/checksum_copy over the `payload_len` bytes) the caller
/// already has: the headers are summed from `flow`, nothing is read back.
void set_udp_checksum(const UdpFlow& flow, size_t payload_len, uint64_t payload_sum, uint8_t* out);

/// Computes and stores the UDP checksum of a frame written by write_udp_headers().
void finish_udp_checksum(uint8_t* frame);

}  // namespace aigw::net
