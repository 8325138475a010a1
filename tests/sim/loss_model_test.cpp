#include "sim/discrete/loss_model.h"

#include <gtest/gtest.h>

namespace aigw::sim {
namespace {

TEST(Mm1kLoss, MatchesTheClosedForm) {
  EXPECT_EQ(mm1k_loss(0, 10), 0);
  EXPECT_NEAR(mm1k_loss(0.5, 1), 0.5 * 0.5 / (1 - 0.25), 1e-12);  // (1-r) r / (1 - r^2)
  EXPECT_NEAR(mm1k_loss(1.0, 9), 0.1, 1e-12);
  EXPECT_NEAR(mm1k_loss(2.0, 200), 0.5, 1e-9);  // overload: half of what is offered is dropped
  EXPECT_LT(mm1k_loss(0.6, 256), 1e-50);
  EXPECT_GT(mm1k_loss(0.99, 64), mm1k_loss(0.9, 64));
}

TEST(OverloadLoss, ZeroBelowTheKneeQuadraticToCapacityAndTheExcessBeyond) {
  PortLossParams p;
  p.overload_knee = 0.5;
  p.overload_loss = 0.04;
  EXPECT_EQ(overload_loss(p, 0.3), 0);
  EXPECT_EQ(overload_loss(p, 0.5), 0);
  EXPECT_NEAR(overload_loss(p, 0.75), 0.01, 1e-12);  // 0.04 x (0.25 / 0.5)^2
  EXPECT_NEAR(overload_loss(p, 1.0), 0.04, 1e-12);
  EXPECT_NEAR(overload_loss(p, 2.0), 0.5, 1e-12);  // half of twice the capacity cannot pass
  p.overload_loss = 0;
  EXPECT_EQ(overload_loss(p, 0.99), 0);
}

TEST(PortLoss, CombinesIndependentCauses) {
  PortLossParams p;
  p.base_loss = 0.01;
  p.overload_knee = 0.5;
  p.overload_loss = 0.04;
  EXPECT_NEAR(port_loss(p, 0.2), 0.01, 1e-12);
  EXPECT_NEAR(port_loss(p, 1.0), 1 - 0.99 * 0.96 * (1 - mm1k_loss(1.0, p.queue_packets)), 1e-12);
  EXPECT_LT(port_loss(p, 0.6), port_loss(p, 0.8));
  p.base_loss = 1;
  EXPECT_EQ(port_loss(p, 0.1), 1);
}

}  // namespace
}  // namespace aigw::sim
