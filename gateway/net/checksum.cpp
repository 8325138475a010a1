#include "gateway/net/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace aigw::net {

namespace {

// Ones-complement sums do not depend on byte order (RFC 1071 §2(B)): sum native words
// into wide accumulators (no carry handling), fold once, swap once at the end. Every
// partial below is such a native-order sum; 32-bit and 16-bit words mix freely because
// 2^16 = 1 (mod 0xffff).

/// Native sum of the bytes after the vector loops: 4-byte words, then a zero-padded tail.
uint64_t scalar_sum(const uint8_t* data, size_t len) {
  uint64_t a0 = 0, a1 = 0;
  while (len >= 8) {
    uint32_t w[2];
    std::memcpy(w, data, 8);
    a0 += w[0];
    a1 += w[1];
    data += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    a0 += w;
    data += 4;
    len -= 4;
  }
  uint32_t tail = 0;
  std::memcpy(&tail, data, len);  // zero-padded, as the odd-byte rule wants
  return a0 + a1 + tail;
}

uint64_t generic_sum(const uint8_t* data, size_t len) {
  uint64_t total = 0;
#if defined(__SSE2__)
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
  total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
#endif
  return total + scalar_sum(data, len);
}

uint64_t generic_copy(uint8_t* dst, const uint8_t* src, size_t len) {
  std::memcpy(dst, src, len);
  return generic_sum(src, len);
}

#if defined(__x86_64__)
// AVX2: each 32-bit lane takes the low and the high 16-bit word of its slot, so a lane
// grows by < 2^17 per 32-byte block; 16384 blocks (512 KiB) per accumulator round stay
// below 2^32 even with two interleaved accumulators.
constexpr size_t kBlocksPerRound = 16384;

__attribute__((target("avx2"))) uint64_t lanes_sum(__m256i a) {
  alignas(32) uint32_t l[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), a);
  return uint64_t{l[0]} + l[1] + l[2] + l[3] + l[4] + l[5] + l[6] + l[7];
}

template <bool kCopy>
__attribute__((target("avx2"))) uint64_t avx2_sum(uint8_t* dst, const uint8_t* data, size_t len) {
  const __m256i mask = _mm256_set1_epi32(0xffff);
  uint64_t total = 0;
  while (len >= 32) {
    const size_t blocks = std::min(len / 32, kBlocksPerRound);
    __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 2 <= blocks; i += 2) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
      const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32));
      if constexpr (kCopy) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), x);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32), y);
        dst += 64;
      }
      a = _mm256_add_epi32(a, _mm256_add_epi32(_mm256_and_si256(x, mask), _mm256_srli_epi32(x, 16)));
      b = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_and_si256(y, mask), _mm256_srli_epi32(y, 16)));
      data += 64;
    }
    if (i < blocks) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
      if constexpr (kCopy) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), x);
        dst += 32;
      }
      a = _mm256_add_epi32(a, _mm256_add_epi32(_mm256_and_si256(x, mask), _mm256_srli_epi32(x, 16)));
      data += 32;
    }
    len -= blocks * 32;
    total += lanes_sum(a) + lanes_sum(b);
  }
  if constexpr (kCopy) std::memcpy(dst, data, len);
  return total + scalar_sum(data, len);
}

uint64_t avx2_plain(const uint8_t* data, size_t len) { return avx2_sum<false>(nullptr, data, len); }
uint64_t avx2_copy(uint8_t* dst, const uint8_t* src, size_t len) { return avx2_sum<true>(dst, src, len); }

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
#else
bool cpu_has_avx2() { return false; }
#endif

struct Kernels {
  uint64_t (*sum)(const uint8_t*, size_t);
  uint64_t (*copy)(uint8_t*, const uint8_t*, size_t);
  bool avx2;
};

Kernels pick() {
#if defined(__x86_64__)
  if (cpu_has_avx2()) return {avx2_plain, avx2_copy, true};
#endif
  return {generic_sum, generic_copy, false};
}

const Kernels kKernels = pick();

/// Folds a native-order partial to 16 bits and converts it to network-order value.
uint64_t to_network(uint64_t native) {
  native = (native & 0xffffffff) + (native >> 32);
  native = (native & 0xffffffff) + (native >> 32);
  native = (native & 0xffff) + (native >> 16);
  native = (native & 0xffff) + (native >> 16);
  const auto s = static_cast<uint16_t>(native);
  if constexpr (std::endian::native == std::endian::little)
    return static_cast<uint16_t>((s >> 8) | (s << 8));
  else
    return s;
}

}  // namespace

uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t len) {
  return sum + to_network(kKernels.sum(data, len));
}

uint64_t checksum_copy(uint64_t sum, uint8_t* dst, const uint8_t* src, size_t len) {
  return sum + to_network(kKernels.copy(dst, src, len));
}

bool checksum_uses_avx2() { return kKernels.avx2; }

}  // namespace aigw::net
