// Internet checksum (RFC 1071) for the DPDK path's own IPv4/UDP/ICMP handling: header
// checks on receive, headers and checksums of ARP/ICMP replies and egress fragments.
// Bulk sums use AVX2 when the CPU has it (chosen once at start), SSE2 otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>

namespace aigw::net {

/// Adds `len` bytes to a running ones-complement sum (not folded). Bytes are taken in
/// network order; an odd trailing byte is padded with zero, so only the last block of
/// a split sum may have an odd length.
uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t len);

/// Copies `len` bytes from `src` to `dst` (not overlapping) and adds them to `sum` like
/// checksum_add(), reading the bytes once: egress fragments are checksummed while
/// their payload is copied into the frame.
uint64_t checksum_copy(uint64_t sum, uint8_t* dst, const uint8_t* src, size_t len);

/// Folds a running sum to 16 bits and complements it: the value to put on the wire.
/// Inline, like the two below: they run several times per packet.
inline uint16_t checksum_finish(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

/// Ones-complement sum of the IPv4 pseudo header of a UDP datagram.
inline uint64_t udp_pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_length) {
  return uint64_t{src_ip >> 16} + (src_ip & 0xffff) + (dst_ip >> 16) + (dst_ip & 0xffff) + 17 + udp_length;
}

/// checksum_add() of exactly 32 bytes (a data header) without a call: eight native
/// 32-bit words, folded and swapped to network order (RFC 1071 §2(B)).
inline uint64_t checksum_add32(uint64_t sum, const uint8_t* data) {
  uint32_t w[8];
  std::memcpy(w, data, sizeof w);
  uint64_t s = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  const auto n = static_cast<uint16_t>(s);
  return sum + (std::endian::native == std::endian::little ? static_cast<uint16_t>((n >> 8) | (n << 8)) : n);
}

/// True when a 20-byte IPv4 header (no options) checks out: the per-frame fast path,
/// five word loads without a call.
inline bool ipv4_header20_valid(const uint8_t* ip) {
  uint32_t w[5];
  std::memcpy(w, ip, sizeof w);
  uint64_t s = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s == 0xffff;  // all ones in either byte order
}

/// True when the bulk sums run on AVX2 (reported at start, for benchmarks).
bool checksum_uses_avx2();

}  // namespace aigw::net
