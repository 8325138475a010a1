#include "protocol/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

namespace aigw {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

uint32_t portable(uint32_t crc, const uint8_t* p, size_t len) {
  const auto& t = tables().t;
  crc = ~crc;
  while (len >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= crc;
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hardware(uint32_t crc, const uint8_t* p, size_t len) {
  uint64_t c = ~crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  if (len >= 4) {  // the data header's 28 covered bytes end in one such word
    uint32_t v;
    std::memcpy(&v, p, 4);
    c32 = _mm_crc32_u32(c32, v);
    p += 4;
    len -= 4;
  }
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
bool detect() { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
uint32_t hardware(uint32_t crc, const uint8_t* p, size_t len) {
  crc = ~crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    crc = __crc32cd(crc, v);
    p += 8;
    len -= 8;
  }
  while (len--) crc = __crc32cb(crc, *p++);
  return ~crc;
}
bool detect() { return true; }
#else
uint32_t hardware(uint32_t crc, const uint8_t* p, size_t len) { return portable(crc, p, len); }
bool detect() { return false; }
#endif

using CrcFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

// Function-local so that other static initialisers may already checksum.
CrcFn chosen() {
  static const CrcFn fn = detect() ? hardware : portable;
  return fn;
}

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len) {
  return chosen()(crc, static_cast<const uint8_t*>(data), len);
}

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t len) {
  return portable(crc, static_cast<const uint8_t*>(data), len);
}

bool crc32c_hardware_accelerated() { return chosen() != portable; }

}  // namespace aigw
