#include "controller/balancing/forecast.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

TEST(BrownForecast, InitialisesBothSmoothersToTheFirstSample) {
  BrownForecast f(0.5);
  EXPECT_FALSE(f.primed());
  f.update(1);
  EXPECT_TRUE(f.primed());
  EXPECT_DOUBLE_EQ(f.s1(), 1);
  EXPECT_DOUBLE_EQ(f.s2(), 1);
  EXPECT_DOUBLE_EQ(f.forecast(1), 1);
  EXPECT_DOUBLE_EQ(f.trend(), 0);
}

TEST(BrownForecast, MatchesHandComputedValuesOnARamp) {
  // alpha 0.5 on 1, 2, 3, 4 (worked by hand):
  //   x=2: S1=1.5    S2=1.25   A=1.75   B=0.25   F1=2.0
  //   x=3: S1=2.25   S2=1.75   A=2.75   B=0.5    F1=3.25  F2=3.75
  //   x=4: S1=3.125  S2=2.4375 A=3.8125 B=0.6875 F1=4.5
  BrownForecast f(0.5);
  f.update(1);
  f.update(2);
  EXPECT_DOUBLE_EQ(f.s1(), 1.5);
  EXPECT_DOUBLE_EQ(f.s2(), 1.25);
  EXPECT_DOUBLE_EQ(f.level(), 1.75);
  EXPECT_DOUBLE_EQ(f.trend(), 0.25);
  EXPECT_DOUBLE_EQ(f.forecast(1), 2.0);
  f.update(3);
  EXPECT_DOUBLE_EQ(f.forecast(1), 3.25);
  EXPECT_DOUBLE_EQ(f.forecast(2), 3.75);
  f.update(4);
  EXPECT_DOUBLE_EQ(f.s1(), 3.125);
  EXPECT_DOUBLE_EQ(f.s2(), 2.4375);
  EXPECT_DOUBLE_EQ(f.level(), 3.8125);
  EXPECT_DOUBLE_EQ(f.trend(), 0.6875);
  EXPECT_DOUBLE_EQ(f.forecast(1), 4.5);
}

TEST(BrownForecast, SmallAlpha) {
  // alpha 0.2 on 10, 12: S1=10.4, S2=10.08, A=10.72, B=0.25*0.32=0.08, F1=10.8.
  BrownForecast f(0.2);
  f.update(10);
  f.update(12);
  EXPECT_NEAR(f.s1(), 10.4, 1e-12);
  EXPECT_NEAR(f.s2(), 10.08, 1e-12);
  EXPECT_NEAR(f.level(), 10.72, 1e-12);
  EXPECT_NEAR(f.trend(), 0.08, 1e-12);
  EXPECT_NEAR(f.forecast(1), 10.8, 1e-12);
}

TEST(BrownForecast, ConstantSeriesForecastsItself) {
  BrownForecast f(0.7);
  for (int i = 0; i < 20; ++i) f.update(0.42);
  EXPECT_NEAR(f.forecast(5), 0.42, 1e-12);
}

}  // namespace
}  // namespace aigw::controller
