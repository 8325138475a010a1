#include "controller/failure_detector.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

constexpr int64_t kMs = 1000000;

TEST(FailureDetector, DeadAfterNMissedPeriodsOfTheNodesOwnPeriod) {
  FailureDetector d(3);
  EXPECT_TRUE(d.heard(1, 0, 1000));
  EXPECT_TRUE(d.heard(2, 0, 100));
  EXPECT_FALSE(d.heard(1, 0, 1000));
  EXPECT_TRUE(d.expire(299 * kMs).empty());
  EXPECT_EQ(d.expire(300 * kMs), std::vector<uint32_t>{2});
  EXPECT_FALSE(d.alive(2));
  EXPECT_TRUE(d.alive(1));
  EXPECT_TRUE(d.expire(2999 * kMs).empty());
  EXPECT_EQ(d.expire(3000 * kMs), std::vector<uint32_t>{1});
  EXPECT_TRUE(d.expire(9000 * kMs).empty());  // reported once only
}

TEST(FailureDetector, ReportsKeepANodeAliveAndARejoinIsSeen) {
  FailureDetector d(2);
  d.heard(5, 0, 1000);
  for (int64_t t = 1000; t <= 10000; t += 1000) {
    d.heard(5, t * kMs, 1000);
    EXPECT_TRUE(d.expire(t * kMs + 1999 * kMs).empty());
  }
  EXPECT_EQ(d.expire(12000 * kMs), std::vector<uint32_t>{5});
  EXPECT_TRUE(d.heard(5, 13000 * kMs, 1000));  // came back
  EXPECT_TRUE(d.alive(5));
}

TEST(FailureDetector, NextDeadlineAndForget) {
  FailureDetector d(3);
  EXPECT_EQ(d.next_deadline(), INT64_MAX);
  d.heard(1, 10 * kMs, 100);
  d.heard(2, 0, 1000);
  EXPECT_EQ(d.next_deadline(), 310 * kMs);
  d.forget(1);
  EXPECT_EQ(d.next_deadline(), 3000 * kMs);
  d.set_dead_after(1);
  EXPECT_EQ(d.next_deadline(), 1000 * kMs);
}

}  // namespace
}  // namespace aigw::controller
