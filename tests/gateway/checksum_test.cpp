#include "gateway/net/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(Checksum, CopyMatchesAddAndCopiesEveryByte) {
  std::mt19937 rng(11);
  for (size_t len = 0; len < 300; ++len) {
    std::vector<uint8_t> src(len), dst(len + 1, 0x5a);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    const uint64_t copied = checksum_copy(7, dst.data(), src.data(), len);
    EXPECT_EQ(checksum_finish(copied), checksum_finish(checksum_add(7, src.data(), len))) << len;
    EXPECT_TRUE(std::equal(src.begin(), src.end(), dst.begin())) << len;
    EXPECT_EQ(dst[len], 0x5a) << "wrote past the end at " << len;
  }
}

TEST(Checksum, LargeBuffersOfOnesDoNotOverflowTheLanes) {
  // 2 MiB of 0xff: the widest per-lane growth, past several accumulator rounds.
  std::vector<uint8_t> d((size_t{2} << 20) + 6, 0xff);
  EXPECT_EQ(checksum_finish(checksum_add(0, d.data(), d.size())), reference(d));
  std::vector<uint8_t> copy(d.size());
  EXPECT_EQ(checksum_finish(checksum_copy(0, copy.data(), d.data(), d.size())), reference(d));
  std::mt19937 rng(3);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  EXPECT_EQ(checksum_finish(checksum_add(0, d.data(), d.size())), reference(d));
}

TEST(Checksum, UnalignedStartsMatchReference) {
  std::vector<uint8_t> d(1600);
  std::mt19937 rng(5);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 40; ++off) {
    std::vector<uint8_t> part(d.begin() + static_cast<long>(off), d.begin() + 770 + static_cast<long>(off));
    EXPECT_EQ(checksum_finish(checksum_add(0, d.data() + off, 770)), reference(part)) << off;
  }
}

TEST(Checksum, ThirtyTwoByteSumAgreesWithTheGenericSum) {
  std::mt19937 rng(32);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> d(32);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    if (round == 0) std::fill(d.begin(), d.end(), 0xff);  // every carry at once
    EXPECT_EQ(checksum_finish(checksum_add32(0, d.data())), reference(d));
    const uint64_t running = rng();  // a running sum carried in
    EXPECT_EQ(checksum_finish(checksum_add32(running, d.data())), checksum_finish(checksum_add(running, d.data(), 32)));
  }
  // Folding handles a running sum of any size.
  EXPECT_EQ(checksum_finish(~uint64_t{0}), checksum_finish(0xffff));
}

TEST(Checksum, Ipv4HeaderFastPathAgreesWithTheGenericSum) {
  std::mt19937 rng(9);
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> h(20);
    for (auto& b : h) b = static_cast<uint8_t>(rng());
    h[10] = h[11] = 0;
    const uint16_t c = checksum_finish(checksum_add(0, h.data(), h.size()));
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c);
    EXPECT_TRUE(ipv4_header20_valid(h.data()));
    h[static_cast<size_t>(i % 20)] ^= 0x10;
    EXPECT_FALSE(ipv4_header20_valid(h.data()));
  }
}

}  // namespace
}  // namespace aigw::net
