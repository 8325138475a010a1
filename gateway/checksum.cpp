#include "gateway/checksum.h"

#include <bit>
#include <cstring>

namespace aigw::net {

namespace {

// Ones-complement sums do not depend on byte order (RFC 1071 §2(B)): sum native 64-bit
// words with end-around carry, fold, and swap once at the end.
uint16_t native_sum16(const uint8_t* data, size_t len) {
  uint64_t sum = 0;
  while (len >= 32) {
    uint64_t w[4];
    std::memcpy(w, data, 32);
    for (uint64_t v : w) {
      sum += v;
      sum += sum < v;  // end-around carry
    }
    data += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, data, 8);
    sum += v;
    sum += sum < v;
    data += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data, len);  // zero-padded, as the odd-byte rule wants
  sum += tail;
  sum += sum < tail;
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t len) {
  const uint16_t s = native_sum16(data, len);
  if constexpr (std::endian::native == std::endian::little)
    return sum + static_cast<uint16_t>((s >> 8) | (s << 8));
  else
    return sum + s;
}

uint16_t checksum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint64_t udp_pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_length) {
  return uint64_t{src_ip >> 16} + (src_ip & 0xffff) + (dst_ip >> 16) + (dst_ip & 0xffff) + 17 +
         udp_length;
}

}  // namespace aigw::net
