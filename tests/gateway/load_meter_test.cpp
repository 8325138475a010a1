#include "gateway/agent/load_meter.h"

#include <gtest/gtest.h>

#include <vector>

namespace aigw {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(PortLoadMeter, FirstSampleIsBaselineThenSmooths) {
  PortLoadMeter m(0.8, 1e9, 1e6);
  m.sample(0, 0, 100);
  EXPECT_EQ(m.bandwidth_bps(), 0);
  EXPECT_EQ(m.memory_bytes(), 100);
  m.sample(1 * kSec, 125'000'000, 200);  // 1 Gbit in 1 s
  EXPECT_DOUBLE_EQ(m.raw_bandwidth_bps(), 1e9);
  EXPECT_DOUBLE_EQ(m.bandwidth_bps(), 1e9);  // first bandwidth sample initialises B'
  EXPECT_DOUBLE_EQ(m.memory_bytes(), 0.8 * 200 + 0.2 * 100);
  m.sample(2 * kSec, 125'000'000, 200);      // idle second
  EXPECT_DOUBLE_EQ(m.raw_bandwidth_bps(), 0);
  EXPECT_DOUBLE_EQ(m.bandwidth_bps(), 0.2 * 1e9);
  m.sample(2 * kSec + kSec / 2, 125'000'000 + 62'500'000, 200);  // half a period at 1 Gbit/s
  EXPECT_DOUBLE_EQ(m.raw_bandwidth_bps(), 1e9);
  EXPECT_DOUBLE_EQ(m.bandwidth_bps(), 0.8 * 1e9 + 0.2 * 0.2e9);
}

TEST(BusyMeter, FractionOfDeltas) {
  BusyMeter b;
  EXPECT_EQ(b.sample(50, 100), 0);
  EXPECT_DOUBLE_EQ(b.sample(100, 200), 0.5);
  EXPECT_DOUBLE_EQ(b.sample(100, 300), 0.0);
  EXPECT_DOUBLE_EQ(b.sample(300, 400), 1.0);
  EXPECT_DOUBLE_EQ(b.sample(300, 400), 1.0);  // no time passed: keeps the last value
}

TEST(NodeLoad, WeightedSumOfFactors) {
  std::vector<PortLoadMeter> ports;
  ports.emplace_back(1.0, 10e9, 100e6);
  ports.emplace_back(1.0, 10e9, 100e6);
  ports[0].sample(0, 0, 0);
  ports[1].sample(0, 0, 0);
  ports[0].sample(kSec, 500'000'000, 50e6);   // 4 Gbit/s
  ports[1].sample(kSec, 250'000'000, 30e6);   // 2 Gbit/s
  LoadModelConfig c;
  NodeLoad l = node_load(ports, 0.6, c);
  EXPECT_DOUBLE_EQ(l.net, 6e9 / 20e9);
  EXPECT_DOUBLE_EQ(l.memory, 80e6 / 200e6);
  EXPECT_DOUBLE_EQ(l.cpu, 0.6);
  EXPECT_NEAR(l.total, (0.3 + 0.4 + 0.6) / 3, 1e-12);
  c.weight_cpu = 1;
  c.weight_memory = 0;
  c.weight_net = 0;
  c.memory_capacity_bytes = 160e6;
  l = node_load(ports, 0.6, c);
  EXPECT_DOUBLE_EQ(l.memory, 0.5);
  EXPECT_DOUBLE_EQ(l.total, 0.6);
}

}  // namespace
}  // namespace aigw
