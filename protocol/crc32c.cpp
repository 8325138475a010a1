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

#if defined(__x86_64__) || (defined(__aarch64__) && defined(__ARM_FEATURE_CRC32))
#if defined(__x86_64__)
// Functions that use the instruction carry the target attribute so that the step
// inlines into the loops (a lambda would not inherit it).
#define AIGW_CRC32C_TARGET __attribute__((target("sse4.2")))
AIGW_CRC32C_TARGET inline uint32_t step8(uint32_t c, uint64_t v) {
  return static_cast<uint32_t>(_mm_crc32_u64(c, v));
}
AIGW_CRC32C_TARGET inline uint32_t step4(uint32_t c, uint32_t v) { return _mm_crc32_u32(c, v); }
AIGW_CRC32C_TARGET inline uint32_t step1(uint32_t c, uint8_t v) { return _mm_crc32_u8(c, v); }
bool detect() { return __builtin_cpu_supports("sse4.2"); }
#else
#define AIGW_CRC32C_TARGET
inline uint32_t step8(uint32_t c, uint64_t v) { return __crc32cd(c, v); }
inline uint32_t step4(uint32_t c, uint32_t v) { return __crc32cw(c, v); }
inline uint32_t step1(uint32_t c, uint8_t v) { return __crc32cb(c, v); }
bool detect() { return true; }
#endif

// Appending n zero bytes to a message maps its CRC register through a fixed linear
// operator over GF(2) (a 32x32 bit matrix). It lets three independent CRC chains over
// adjacent blocks be combined into one: reg(A|B) = shift_|B|(reg(A)) ^ reg_from_0(B).
// The instruction has a latency of about three cycles and a throughput of one per
// cycle, so three chains run close to three times as fast as one.
using Gf2Matrix = std::array<uint32_t, 32>;  // column i = image of bit i

uint32_t gf2_times(const Gf2Matrix& m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v != 0; ++i, v >>= 1)
    if (v & 1) r ^= m[i];
  return r;
}

Gf2Matrix gf2_compose(const Gf2Matrix& a, const Gf2Matrix& b) {  // a after b
  Gf2Matrix r{};
  for (int i = 0; i < 32; ++i) r[i] = gf2_times(a, b[i]);
  return r;
}

/// The operator of `bytes` zero bytes, as four byte-indexed tables.
struct ZeroShift {
  std::array<std::array<uint32_t, 256>, 4> t{};

  explicit ZeroShift(size_t bytes) {
    Gf2Matrix base{};  // one zero bit through the reflected register
    base[0] = kPolyReflected;
    for (int i = 1; i < 32; ++i) base[i] = 1u << (i - 1);
    for (int i = 0; i < 3; ++i) base = gf2_compose(base, base);  // 8 bits: one byte
    Gf2Matrix op{};
    for (int i = 0; i < 32; ++i) op[i] = 1u << i;
    for (; bytes != 0; bytes >>= 1, base = gf2_compose(base, base))
      if (bytes & 1) op = gf2_compose(base, op);
    for (uint32_t k = 0; k < 4; ++k)
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = gf2_times(op, b << (8 * k));
  }
  uint32_t operator()(uint32_t reg) const {
    return t[0][reg & 0xff] ^ t[1][(reg >> 8) & 0xff] ^ t[2][(reg >> 16) & 0xff] ^ t[3][reg >> 24];
  }
};

// Block lengths of the three chains: long blocks for units, short ones for the rest
// (a 688 KB unit is exactly 28 rounds of 3 x 8 KB).
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;

const ZeroShift& long_shift() {
  static const ZeroShift s(kLongBlock);
  return s;
}
const ZeroShift& short_shift() {
  static const ZeroShift s(kShortBlock);
  return s;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

/// Runs `reg` over rounds of three adjacent `block`-byte blocks while they last.
AIGW_CRC32C_TARGET uint32_t three_chains(uint32_t reg, const uint8_t*& p, size_t& len, size_t block,
                                         const ZeroShift& shift) {
  while (len >= 3 * block) {
    uint32_t c0 = reg, c1 = 0, c2 = 0;
    for (size_t i = 0; i < block; i += 8) {
      c0 = step8(c0, load64(p + i));
      c1 = step8(c1, load64(p + block + i));
      c2 = step8(c2, load64(p + 2 * block + i));
    }
    reg = shift(shift(c0) ^ c1) ^ c2;
    p += 3 * block;
    len -= 3 * block;
  }
  return reg;
}

AIGW_CRC32C_TARGET uint32_t hardware(uint32_t crc, const uint8_t* p, size_t len) {
  uint32_t reg = ~crc;
  if (len >= 3 * kShortBlock) {  // short inputs (every data header) skip the shift tables' set-up checks
    reg = three_chains(reg, p, len, kLongBlock, long_shift());
    reg = three_chains(reg, p, len, kShortBlock, short_shift());
  }
  for (; len >= 8; p += 8, len -= 8) reg = step8(reg, load64(p));
  if (len >= 4) {  // the data header's 28 covered bytes end in one such word
    uint32_t v;
    std::memcpy(&v, p, 4);
    reg = step4(reg, v);
    p += 4;
    len -= 4;
  }
  while (len--) reg = step1(reg, *p++);
  return ~reg;
}
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
