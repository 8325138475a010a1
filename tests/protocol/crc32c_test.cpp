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

TEST(Crc32c, ExtendEqualsWhole) {
  const char* s = "the quick brown fox jumps over the lazy dog";
  uint32_t whole = crc32c(s, 43);
  uint32_t parts = crc32c_extend(crc32c(s, 10), s + 10, 33);
  EXPECT_EQ(whole, parts);
}

}  // namespace
}  // namespace aigw
