#include "gateway/checksum.h"

#include <cstring>

namespace aigw::net {

uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t len) {
  // Sum 32-bit big-endian words into 64 bits; carries are folded at the end.
  while (len >= 4) {
    sum += (uint32_t{data[0]} << 24) | (uint32_t{data[1]} << 16) | (uint32_t{data[2]} << 8) |
           data[3];
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += (uint32_t{data[0]} << 8) | data[1];
    data += 2;
    len -= 2;
  }
  if (len == 1) sum += uint32_t{data[0]} << 8;
  return sum;
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
