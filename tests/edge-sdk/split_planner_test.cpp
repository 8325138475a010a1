// Split-point planner (AMCA): the worked example of docs/sdk.md, both objectives,
// infeasible targets, edge splits and argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "aigw/edge.hpp"

namespace {

// The docs/sdk.md example: 5 layers, 600 kB input, 40 Mbit/s uplink (1 ms per 5000 B).
const std::vector<aigw_layer_profile> kLayers = {
    {20, 2, 400000}, {30, 3, 200000}, {40, 4, 50000}, {60, 6, 20000}, {80, 8, 1000}};
constexpr uint64_t kInput = 600000;
constexpr double kUplink = 40e6;

aigw_plan_request request(double target, int objective) {
  aigw_plan_request rq{};
  rq.size = sizeof rq;
  rq.layers = kLayers.data();
  rq.layer_count = static_cast<uint32_t>(kLayers.size());
  rq.input_bytes = kInput;
  rq.uplink_bps = kUplink;
  rq.latency_target_ms = target;
  rq.objective = objective;
  return rq;
}

aigw_plan_result result() {
  aigw_plan_result r{};
  r.size = sizeof r;
  return r;
}

TEST(SplitPlanner, EvaluatesEverySplitWithTheFormula) {
  const double expected[] = {143, 121, 108, 114, 162, 230};
  auto rq = request(1000, AIGW_PLAN_MIN_DEVICE_TIME);
  for (uint32_t k = 0; k <= 5; ++k) {
    auto r = result();
    ASSERT_EQ(aigw_plan_evaluate(&rq, k, &r), AIGW_OK);
    EXPECT_EQ(r.split_layer, k);
    EXPECT_NEAR(r.latency_ms, expected[k], 1e-9) << "k=" << k;
    EXPECT_NEAR(r.latency_ms, r.device_ms + r.transfer_ms + r.cloud_ms, 1e-9);
  }
  auto r = result();
  ASSERT_EQ(aigw_plan_evaluate(&rq, 5, &r), AIGW_OK);
  EXPECT_EQ(r.transfer_bytes, 0u);  // everything on the device: nothing crosses the uplink
  EXPECT_EQ(r.cloud_ms, 0);
  ASSERT_EQ(aigw_plan_evaluate(&rq, 0, &r), AIGW_OK);
  EXPECT_EQ(r.transfer_bytes, kInput);  // everything remote: the raw input is sent
  EXPECT_EQ(r.device_ms, 0);
  EXPECT_EQ(aigw_plan_evaluate(&rq, 6, &r), AIGW_ERR_INVALID_ARG);
}

TEST(SplitPlanner, LeastDeviceTimeAmongFeasibleSplits) {
  auto rq = request(120, AIGW_PLAN_MIN_DEVICE_TIME);
  auto r = result();
  ASSERT_EQ(aigw_plan_split(&rq, &r), AIGW_OK);
  EXPECT_EQ(r.split_layer, 2u);  // k=2 (108 ms) and k=3 (114 ms) fit; k=2 uses 50 ms, k=3 90 ms
  EXPECT_NEAR(r.device_ms, 50, 1e-9);

  rq.latency_target_ms = 150;  // now sending the raw input (143 ms) fits and costs no device time
  ASSERT_EQ(aigw_plan_split(&rq, &r), AIGW_OK);
  EXPECT_EQ(r.split_layer, 0u);
}

TEST(SplitPlanner, FewestBytesAmongFeasibleSplits) {
  auto rq = request(120, AIGW_PLAN_MIN_BYTES);
  auto r = result();
  ASSERT_EQ(aigw_plan_split(&rq, &r), AIGW_OK);
  EXPECT_EQ(r.split_layer, 3u);
  EXPECT_EQ(r.transfer_bytes, 50000u);

  rq.latency_target_ms = 250;  // all local fits: nothing to send
  ASSERT_EQ(aigw_plan_split(&rq, &r), AIGW_OK);
  EXPECT_EQ(r.split_layer, 5u);
  EXPECT_EQ(r.transfer_bytes, 0u);
}

TEST(SplitPlanner, InfeasibleTargetReportsTheFastestSplit) {
  auto rq = request(100, AIGW_PLAN_MIN_BYTES);
  auto r = result();
  EXPECT_EQ(aigw_plan_split(&rq, &r), AIGW_ERR_INFEASIBLE);
  EXPECT_EQ(r.split_layer, 2u);
  EXPECT_NEAR(r.latency_ms, 108, 1e-9);
}

TEST(SplitPlanner, TiesGoToLowerLatencyThenEarlierSplit) {
  // Layers with zero device time: every split has device time 0; latency decides.
  const std::vector<aigw_layer_profile> free_layers = {{0, 10, 1000}, {0, 10, 100}};
  aigw_plan_result r{};
  ASSERT_TRUE(aigw::edge::plan_split(free_layers, 100000, 8e6, 1000, AIGW_PLAN_MIN_DEVICE_TIME, r));
  EXPECT_EQ(r.split_layer, 2u);  // 0 ms vs 21 ms (k=1) vs 120 ms (k=0)
}

TEST(SplitPlanner, SingleLayer) {
  const std::vector<aigw_layer_profile> one = {{5, 1, 10}};
  aigw_plan_result r{};
  ASSERT_TRUE(aigw::edge::plan_split(one, 8000, 8e6, 100, AIGW_PLAN_MIN_BYTES, r));
  EXPECT_EQ(r.split_layer, 1u);
  ASSERT_TRUE(aigw::edge::plan_split(one, 8000, 8e6, 100, AIGW_PLAN_MIN_DEVICE_TIME, r));
  EXPECT_EQ(r.split_layer, 0u);  // 8 ms upload + 1 ms remote
  EXPECT_NEAR(r.latency_ms, 9, 1e-9);
}

TEST(SplitPlanner, RejectsInvalidArguments) {
  auto r = result();
  EXPECT_EQ(aigw_plan_split(nullptr, &r), AIGW_ERR_INVALID_ARG);
  auto rq = request(120, AIGW_PLAN_MIN_BYTES);
  EXPECT_EQ(aigw_plan_split(&rq, nullptr), AIGW_ERR_INVALID_ARG);

  auto bad = rq;
  bad.size = 4;
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_STRUCT_SIZE);
  auto small = result();
  small.size = 8;
  EXPECT_EQ(aigw_plan_split(&rq, &small), AIGW_ERR_STRUCT_SIZE);

  bad = rq;
  bad.layer_count = 0;
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
  bad = rq;
  bad.layers = nullptr;
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
  bad = rq;
  bad.uplink_bps = 0;
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
  bad = rq;
  bad.latency_target_ms = std::nan("");
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
  bad = rq;
  bad.objective = 7;
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);

  std::vector<aigw_layer_profile> negative = kLayers;
  negative[2].edge_ms = -1;
  bad = rq;
  bad.layers = negative.data();
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
  negative[2].edge_ms = std::numeric_limits<double>::infinity();
  EXPECT_EQ(aigw_plan_split(&bad, &r), AIGW_ERR_INVALID_ARG);
}

TEST(SplitPlanner, LargerCallerStructsAreAccepted) {
  // A caller built against a newer header passes a larger struct: known fields are read.
  struct Newer {
    aigw_plan_result r;
    uint64_t future_field;
  } newer{};
  newer.r.size = sizeof newer;
  auto rq = request(120, AIGW_PLAN_MIN_BYTES);
  ASSERT_EQ(aigw_plan_split(&rq, &newer.r), AIGW_OK);
  EXPECT_EQ(newer.r.size, sizeof newer);  // the caller's size is preserved
  EXPECT_EQ(newer.r.split_layer, 3u);
}

}  // namespace
