#include "controller/core/failure_detector.h"

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
  EXPECT_EQ(d.next_deadline_ns(), INT64_MAX);
  d.heard(1, 10 * kMs, 100);
  d.heard(2, 0, 1000);
  EXPECT_EQ(d.next_deadline_ns(), 310 * kMs);
  d.forget(1);
  EXPECT_EQ(d.next_deadline_ns(), 3000 * kMs);
  d.set_dead_after(1);
  EXPECT_EQ(d.next_deadline_ns(), 1000 * kMs);
}

TEST(FailureDetector, ALateNodeIsProbedAndDeclaredDeadWhenEveryProbeGoesUnanswered) {
  FailureDetector d(3, ProbePolicy{3, 1.5, 100 * kMs});
  d.heard(1, 0, 1000);
  EXPECT_EQ(d.next_deadline_ns(), 1500 * kMs) << "the first probe is due when the report is half a period late";
  EXPECT_TRUE(d.probes_due(1499 * kMs).empty());
  EXPECT_EQ(d.probes_due(1500 * kMs), std::vector<uint32_t>{1});
  EXPECT_TRUE(d.probes_due(1550 * kMs).empty()) << "one probe per interval";
  EXPECT_EQ(d.next_deadline_ns(), 1600 * kMs);
  EXPECT_EQ(d.probes_due(1600 * kMs), std::vector<uint32_t>{1});
  EXPECT_EQ(d.probes_due(1700 * kMs), std::vector<uint32_t>{1});
  EXPECT_TRUE(d.probes_due(1800 * kMs).empty()) << "three probes in all";
  EXPECT_TRUE(d.expire(1799 * kMs).empty());
  EXPECT_EQ(d.expire(1800 * kMs), std::vector<uint32_t>{1}) << "dead 1.8 s after its last report, not 3 s";
}

TEST(FailureDetector, AnAnsweredProbeKeepsTheNodeAliveAndResetsTheProbes) {
  FailureDetector d(3, ProbePolicy{3, 1.5, 100 * kMs});
  d.heard(1, 0, 1000);
  EXPECT_EQ(d.probes_due(1500 * kMs), std::vector<uint32_t>{1});
  d.heard(1, 1502 * kMs, 1000);  // the answer
  EXPECT_TRUE(d.expire(2500 * kMs).empty());
  EXPECT_TRUE(d.probes_due(2500 * kMs).empty());
  EXPECT_EQ(d.probes_due(3002 * kMs), std::vector<uint32_t>{1}) << "suspected again only once late again";
}

TEST(FailureDetector, WithoutProbingOnlySilenceCounts) {
  FailureDetector d(3);
  d.heard(1, 0, 1000);
  EXPECT_TRUE(d.probes_due(2000 * kMs).empty());
  EXPECT_TRUE(d.expire(2999 * kMs).empty());
  EXPECT_EQ(d.expire(3000 * kMs), std::vector<uint32_t>{1});
}

TEST(FailureDetector, TheObserversOwnStallIsExcused) {
  FailureDetector d(3, ProbePolicy{3, 1.5, 100 * kMs});
  d.heard(1, 0, 1000);
  d.heard(2, 500 * kMs, 1000);
  EXPECT_EQ(d.probes_due(1500 * kMs), std::vector<uint32_t>{1});
  d.excuse(10000 * kMs);  // the observer did not run for 10 s
  EXPECT_TRUE(d.expire(11000 * kMs).empty()) << "nobody is dead for the silence the observer did not hear";
  EXPECT_TRUE(d.probes_due(11000 * kMs).empty());
  EXPECT_EQ(d.probes_due(11500 * kMs), std::vector<uint32_t>{1});
  EXPECT_EQ(d.expire(13000 * kMs), std::vector<uint32_t>{1}) << "a node that stays silent after the stall still dies";
}

}  // namespace
}  // namespace aigw::controller
