#include "protocol/timer_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace aigw {
namespace {

TEST(TimerHeap, OrdersAndUpdates) {
  TimerHeap h(8);
  EXPECT_TRUE(h.empty());
  h.set(3, 30);
  h.set(5, 10);
  h.set(1, 20);
  EXPECT_EQ(h.top_id(), 5u);
  EXPECT_EQ(h.top_key(), 10);
  h.set(5, 40);  // later
  EXPECT_EQ(h.top_id(), 1u);
  h.lower(3, 50);  // not earlier: ignored
  h.lower(3, 5);
  EXPECT_EQ(h.top_id(), 3u);
  h.remove(3);
  h.remove(3);
  EXPECT_FALSE(h.contains(3));
  EXPECT_EQ(h.top_id(), 1u);
  EXPECT_EQ(h.size(), 2u);
  h.lower(7, 1);  // lower() inserts when absent
  EXPECT_EQ(h.top_id(), 7u);
}

// Random operations against a brute-force reference.
TEST(TimerHeap, MatchesAReference) {
  constexpr uint32_t kIds = 50;
  TimerHeap h(kIds);
  std::map<uint32_t, int64_t> ref;
  std::mt19937 rng(3);
  for (int step = 0; step < 100000; ++step) {
    const uint32_t id = rng() % kIds;
    const int64_t key = static_cast<int64_t>(rng() % 1000);
    switch (rng() % 4) {
      case 0:
      case 1:
        h.set(id, key);
        ref[id] = key;
        break;
      case 2:
        h.lower(id, key);
        if (!ref.count(id) || key < ref[id]) ref[id] = key;
        break;
      case 3:
        h.remove(id);
        ref.erase(id);
        break;
    }
    ASSERT_EQ(h.size(), ref.size());
    if (!ref.empty()) {
      const auto best = std::min_element(ref.begin(), ref.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      });
      ASSERT_EQ(h.top_key(), best->second);
      ASSERT_EQ(ref.at(h.top_id()), best->second);
    }
  }
}

}  // namespace
}  // namespace aigw
