#include "gateway/checksum.h"

#include <bit>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cstring>

namespace aigw::net {

namespace {

// Ones-complement sums do not depend on byte order (RFC 1071 §2(B)): add native 32-bit
// words into four independent 64-bit accumulators (no carry handling needed below 2^32
// words, and the compiler can vectorise it), fold, and swap once at the end.
uint16_t native_sum16(const uint8_t* data, size_t len) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#ifdef __SSE2__
  // SSE2 is part of x86-64: widen 32-bit words to 64-bit lanes, 32 bytes per turn.
  const __m128i zero = _mm_setzero_si128();
  __m128i v0 = zero, v1 = zero;
  while (len >= 32) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16));
    v0 = _mm_add_epi64(v0, _mm_add_epi64(_mm_unpacklo_epi32(x, zero), _mm_unpackhi_epi32(x, zero)));
    v1 = _mm_add_epi64(v1, _mm_add_epi64(_mm_unpacklo_epi32(y, zero), _mm_unpackhi_epi32(y, zero)));
    data += 32;
    len -= 32;
  }
  uint64_t lanes[4];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), v0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes + 2), v1);
  a0 = lanes[0];
  a1 = lanes[1];
  a2 = lanes[2];
  a3 = lanes[3];
#endif
  while (len >= 16) {
    uint32_t w[4];
    std::memcpy(w, data, 16);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
    data += 16;
    len -= 16;
  }
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    a0 += w;
    data += 4;
    len -= 4;
  }
  uint32_t tail = 0;
  std::memcpy(&tail, data, len);  // zero-padded, as the odd-byte rule wants
  uint64_t sum = a0 + a1 + a2 + a3 + tail;
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
