#include "gateway/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace aigw::net {
namespace {

// Straightforward RFC 1071 reference: 16-bit words, end-around carry at every step.
uint16_t reference(const std::vector<uint8_t>& d) {
  uint32_t sum = 0;
  for (size_t i = 0; i < d.size(); i += 2) {
    uint32_t w = uint32_t{d[i]} << 8 | (i + 1 < d.size() ? d[i + 1] : 0);
    sum += w;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (checksum 220d).
  std::vector<uint8_t> d{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_finish(checksum_add(0, d.data(), d.size())), 0x220d);
}

TEST(Checksum, MatchesReferenceOnRandomLengths) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::vector<uint8_t> d(len);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    EXPECT_EQ(checksum_finish(checksum_add(0, d.data(), d.size())), reference(d)) << len;
  }
}

TEST(Checksum, SplitSumsEqualWholeOnEvenBoundaries) {
  std::vector<uint8_t> d(100, 0xab);
  uint64_t split = checksum_add(checksum_add(0, d.data(), 40), d.data() + 40, 60);
  EXPECT_EQ(checksum_finish(split), checksum_finish(checksum_add(0, d.data(), d.size())));
}

}  // namespace
}  // namespace aigw::net
