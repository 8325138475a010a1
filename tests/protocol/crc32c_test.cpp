#include "protocol/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace aigw {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::vector<uint8_t> zeros(32, 0x00);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  std::vector<uint8_t> inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(inc.data(), inc.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, HardwareMatchesPortableOnEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(1100);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 9; ++off)
    for (size_t len = 0; len < 1024; len += 37)
      EXPECT_EQ(crc32c_extend(5, buf.data() + off, len), crc32c_extend_portable(5, buf.data() + off, len))
          << off << " " << len;
}

// Long inputs run three interleaved chains over 8 KB and 256-byte blocks and combine
// them; every length class around the block boundaries must still match the table.
TEST(Crc32c, InterleavedChainsMatchPortableAroundBlockBoundaries) {
  std::mt19937 rng(11);
  std::vector<uint8_t> buf(3 * 8192 * 3 + 3 * 256 * 2 + 64);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  const size_t lengths[] = {3 * 256 - 1, 3 * 256,      3 * 256 + 7,  3 * 8192 - 1, 3 * 8192,
                            3 * 8192 + 1, 3 * 8192 + 3 * 256 + 5, 2 * 3 * 8192, 2 * 3 * 8192 + 3 * 256 * 2 + 13,
                            buf.size() - 3};
  for (size_t off : {0, 1, 3})
    for (size_t len : lengths)
      EXPECT_EQ(crc32c_extend(0xdeadbeef, buf.data() + off, len),
                crc32c_extend_portable(0xdeadbeef, buf.data() + off, len))
          << off << " " << len;
  // One unit of 946 x 728 bytes, as the SDK digests it.
  std::vector<uint8_t> unit(946 * 728);
  for (auto& b : unit) b = static_cast<uint8_t>(rng());
  EXPECT_EQ(crc32c(unit.data(), unit.size()), crc32c_extend_portable(0, unit.data(), unit.size()));
}

TEST(Crc32c, ExtendEqualsWhole) {
  const char* s = "the quick brown fox jumps over the lazy dog";
  uint32_t whole = crc32c(s, 43);
  uint32_t parts = crc32c_extend(crc32c(s, 10), s + 10, 33);
  EXPECT_EQ(whole, parts);
}

}  // namespace
}  // namespace aigw
