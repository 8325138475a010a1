#include "gateway/core/rate_budget.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

TEST(RateBudget, ABurstThenTheAverageRate) {
  RateBudget b(100, 10);  // 100/s, 10 at once
  int taken = 0;
  for (int i = 0; i < 50; ++i) taken += b.take(1'000'000'000);
  EXPECT_EQ(taken, 10);
  // One second of a flood, one request per 100 µs: 100 more, not 10,000.
  taken = 0;
  for (int64_t t = 1'000'000'000; t <= 2'000'000'000; t += 100'000) taken += b.take(t);
  EXPECT_GE(taken, 99);
  EXPECT_LE(taken, 101);
}

TEST(RateBudget, IdleTimeRefillsOnlyUpToTheBurst) {
  RateBudget b(100, 5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  int taken = 0;
  for (int i = 0; i < 20; ++i) taken += b.take(3'600'000'000'000);  // an hour later
  EXPECT_EQ(taken, 5);
}

TEST(RateBudget, TimeGoingBackGrantsNothing) {
  RateBudget b(1000, 1);
  ASSERT_TRUE(b.take(5'000'000'000));
  EXPECT_FALSE(b.take(1'000'000'000));
}

}  // namespace
}  // namespace aigw
