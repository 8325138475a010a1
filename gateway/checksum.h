// Internet checksum (RFC 1071) for the DPDK path's own IPv4/UDP/ICMP handling: header
// checks on receive, headers and checksums of ARP/ICMP replies and egress fragments.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aigw::net {

/// Adds `len` bytes to a running ones-complement sum (not folded). Bytes are taken in
/// network order; an odd trailing byte is padded with zero, so only the last block of
/// a split sum may have an odd length.
uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t len);

/// Folds a running sum to 16 bits and complements it: the value to put on the wire.
uint16_t checksum_finish(uint64_t sum);

/// Ones-complement sum of the IPv4 pseudo header of a UDP datagram.
uint64_t udp_pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_length);

}  // namespace aigw::net
