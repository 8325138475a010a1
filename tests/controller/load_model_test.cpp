#include "controller/balancing/load_model.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

LoadSample sample(std::initializer_list<double> bw, double vmax, double mem, double memcap, double cpu) {
  LoadSample s;
  const auto n = static_cast<Eigen::Index>(bw.size());
  s.bandwidth_bps.resize(n);
  Eigen::Index i = 0;
  for (double b : bw) s.bandwidth_bps(i++) = b;
  s.bandwidth_capacity_bps = Eigen::ArrayXd::Constant(n, vmax);
  s.memory_bytes = Eigen::ArrayXd::Constant(n, mem);
  s.memory_capacity_bytes = Eigen::ArrayXd::Constant(n, memcap);
  s.cpu_busy = cpu;
  return s;
}

TEST(LoadModel, FirstSampleIsTakenAsIsThenSmoothed) {
  LoadModel m;  // δ = 0.8 for all three
  m.observe(1, sample({1e9, 3e9}, 10e9, 100, 1000, 0.3));
  const GatewayLoad* g = m.find(1);
  ASSERT_NE(g, nullptr);
  EXPECT_DOUBLE_EQ(g->net, 4e9 / 20e9);
  EXPECT_DOUBLE_EQ(g->mem, 200.0 / 2000);
  EXPECT_DOUBLE_EQ(g->cpu, 0.3);
  EXPECT_NEAR(g->load, (0.3 + 0.1 + 0.2) / 3, 1e-12);

  // B' = 0.8*B + 0.2*B'
  m.observe(1, sample({2e9, 3e9}, 10e9, 100, 1000, 0.6));
  EXPECT_DOUBLE_EQ(g->bandwidth(0), 0.8 * 2e9 + 0.2 * 1e9);
  EXPECT_DOUBLE_EQ(g->bandwidth(1), 3e9);
  EXPECT_NEAR(g->cpu, 0.8 * 0.6 + 0.2 * 0.3, 1e-12);
  EXPECT_NEAR(g->net, (1.8e9 + 3e9) / 20e9, 1e-12);
}

TEST(LoadModel, WeightsAndUtilizationCap) {
  LoadParams p;
  p.weight_cpu = 0.5;
  p.weight_memory = 0;
  p.weight_net = 0.5;
  p.utilization_cap = 0.8;
  LoadModel m(p);
  m.observe(7, sample({2e9}, 10e9, 300, 1000, 0.4));
  EXPECT_NEAR(m.find(7)->load, 0.5 * 0.4 + 0.5 * 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(m.port_bandwidth_left(7, 0), 0.8 * 10e9 - 2e9);
  EXPECT_DOUBLE_EQ(m.port_memory_left(7, 0), 0.8 * 1000 - 300);
  EXPECT_EQ(m.port_bandwidth_left(7, 1), 0);
  EXPECT_EQ(m.port_bandwidth_left(8, 0), 0);
}

TEST(LoadModel, LsdIsThePopulationStddevOfTheForecasts) {
  LoadParams p;
  p.weight_cpu = 1;
  p.weight_memory = 0;
  p.weight_net = 0;
  LoadModel m(p);
  m.observe(1, sample({0}, 1, 0, 1, 0.2));
  m.observe(2, sample({0}, 1, 0, 1, 0.4));
  m.observe(3, sample({0}, 1, 0, 1, 0.6));
  const std::vector<uint32_t> live{1, 2, 3, 99};  // 99 has no samples: skipped
  LoadSnapshot s = m.evaluate(live);
  ASSERT_EQ(s.ids.size(), 3u);
  EXPECT_NEAR(s.mean_forecast, 0.4, 1e-12);
  EXPECT_NEAR(s.lsd, std::sqrt((0.04 + 0 + 0.04) / 3), 1e-12);
  EXPECT_NEAR(s.load(2), 0.6, 1e-12);
  m.forget(3);
  EXPECT_NEAR(m.evaluate(live).lsd, 0.1, 1e-12);
}

TEST(LoadModel, ForecastFollowsTheTrend) {
  LoadParams p;
  p.weight_cpu = 1;
  p.weight_memory = 0;
  p.weight_net = 0;
  p.cpu_smoothing = 1;  // no smoothing: the forecast sees the raw ramp
  p.forecast_alpha = 0.5;
  LoadModel m(p);
  for (double x : {0.1, 0.2, 0.3, 0.4}) m.observe(1, sample({0}, 1, 0, 1, x));
  // The ramp of forecast_test scaled by 0.1: F1 = 0.45.
  EXPECT_NEAR(m.find(1)->predicted(1), 0.45, 1e-12);
}

TEST(LoadModel, PortCountChangeRestartsSmoothing) {
  LoadModel m;
  m.observe(1, sample({1e9}, 10e9, 0, 1, 0));
  m.observe(1, sample({5e9, 5e9}, 10e9, 0, 1, 0));
  EXPECT_DOUBLE_EQ(m.find(1)->bandwidth(0), 5e9);
}

TEST(LoadModel, StddevOfFewerThanTwoIsZero) {
  EXPECT_EQ(population_stddev(Eigen::VectorXd()), 0);
  EXPECT_EQ(population_stddev(Eigen::VectorXd::Constant(1, 3.0)), 0);
}

}  // namespace
}  // namespace aigw::controller
