#include "controller/balancing/lsd_trigger.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

TEST(LsdTrigger, NeedsKConsecutivePeriodsOverTheta) {
  LsdTrigger t({0.1, 0.05, 3});
  EXPECT_FALSE(t.update(0.2));
  EXPECT_FALSE(t.update(0.2));
  EXPECT_FALSE(t.update(0.09));  // streak broken
  EXPECT_EQ(t.periods_over(), 0u);
  EXPECT_FALSE(t.update(0.15));
  EXPECT_FALSE(t.update(0.15));
  EXPECT_TRUE(t.update(0.15));
  EXPECT_TRUE(t.active());
}

TEST(LsdTrigger, ExactlyThetaIsNotOver) {
  LsdTrigger t({0.1, 0.05, 1});
  EXPECT_FALSE(t.update(0.1));
  EXPECT_TRUE(t.update(0.1000001));
}

TEST(LsdTrigger, HysteresisKeepsBalancingUntilBelowTheLowerThreshold) {
  LsdTrigger t({0.1, 0.05, 1});
  EXPECT_TRUE(t.update(0.3));
  EXPECT_TRUE(t.update(0.08));   // under theta but over the stop threshold
  EXPECT_TRUE(t.update(0.05));   // not below
  EXPECT_FALSE(t.update(0.049));
  EXPECT_FALSE(t.update(0.09));  // must climb over theta again
  EXPECT_TRUE(t.update(0.11));
}

TEST(LsdTrigger, NewParamsApply) {
  LsdTrigger t({0.1, 0.05, 5});
  t.set_params({0.2, 0.1, 1});
  EXPECT_FALSE(t.update(0.15));
  EXPECT_TRUE(t.update(0.25));
}

}  // namespace
}  // namespace aigw::controller
