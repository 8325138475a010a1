#include "protocol/flat_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace aigw {
namespace {

TEST(FlatIndex, FindInsertErase) {
  FlatIndex idx(4);
  EXPECT_EQ(idx.find(1), FlatIndex::kNone);
  idx.insert(1, 10);
  idx.insert(uint64_t{7} << 32 | 3, 11);
  EXPECT_EQ(idx.find(1), 10u);
  EXPECT_EQ(idx.find(uint64_t{7} << 32 | 3), 11u);
  idx.insert(1, 12);  // overwrite
  EXPECT_EQ(idx.find(1), 12u);
  idx.erase(1);
  idx.erase(1);  // absent: no effect
  EXPECT_EQ(idx.find(1), FlatIndex::kNone);
  EXPECT_EQ(idx.find(uint64_t{7} << 32 | 3), 11u);
}

// Random churn at full load against a reference map: backward-shift deletion must keep
// every remaining key reachable.
TEST(FlatIndex, MatchesAMapUnderChurn) {
  constexpr size_t kMax = 64;
  FlatIndex idx(kMax);
  std::unordered_map<uint64_t, uint32_t> ref;
  std::mt19937_64 rng(5);
  for (int step = 0; step < 200000; ++step) {
    // Keys from a small space, shaped like (stream << 32 | seq), so probe runs collide.
    const uint64_t key = (rng() % 4) << 32 | (rng() % 100);
    if (ref.count(key) || ref.size() == kMax) {
      if (rng() % 2 == 0 && !ref.empty()) {
        idx.erase(key);
        ref.erase(key);
      }
    } else {
      const uint32_t v = static_cast<uint32_t>(rng() % 1000);
      idx.insert(key, v);
      ref[key] = v;
    }
    if (step % 97 == 0) {
      for (uint64_t s = 0; s < 4; ++s) {
        for (uint64_t q = 0; q < 100; ++q) {
          const uint64_t k = s << 32 | q;
          const auto it = ref.find(k);
          ASSERT_EQ(idx.find(k), it == ref.end() ? FlatIndex::kNone : it->second);
        }
      }
    }
  }
}

}  // namespace
}  // namespace aigw
