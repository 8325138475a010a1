#include "sim/gpu/accelerator.h"

#include <gtest/gtest.h>

#include <climits>

namespace aigw::sim {
namespace {

struct Batches final : BatchSink {
  std::vector<BatchResult> got;
  void on_batch(const BatchResult& b) override { got.push_back(b); }
};

// Feeds one unit every `gap_ns` for `n` units, advancing the accelerator in between
// exactly at its event times, and drains it.
Batches feed(Accelerator& acc, int n, int64_t gap_ns, uint32_t model = 0) {
  Batches b;
  for (int i = 0; i < n; ++i) {
    const int64_t t = i * gap_ns;
    while (acc.next_event_ns() <= t) acc.advance(acc.next_event_ns(), b);
    acc.advance(t, b);
    EXPECT_TRUE(acc.enqueue(model, {1, uint32_t(i), 1000, t}));
    acc.advance(t, b);
  }
  while (acc.next_event_ns() != INT64_MAX) acc.advance(acc.next_event_ns(), b);
  return b;
}

TEST(AcceleratorConfig, ScaleSetsTargetBatchAndWait) {
  AcceleratorConfig c;
  c.batch_max = 16;
  c.max_wait_ns = 40'000'000;
  c.scale = 0;
  EXPECT_EQ(c.target_batch(), 1u);
  EXPECT_EQ(c.wait_ns(), 0);
  c.scale = 1;
  EXPECT_EQ(c.target_batch(), 16u);
  EXPECT_EQ(c.wait_ns(), 40'000'000);
  c.scale = 0.5;
  EXPECT_EQ(c.target_batch(), 9u);  // 1 + round(7.5)
  c.inference_ns = 10'000'000;
  c.batch_cost = 0.1;
  EXPECT_EQ(c.batch_ns(1), 10'000'000);
  EXPECT_EQ(c.batch_ns(11), 20'000'000);
}

TEST(Accelerator, ScaleZeroRunsEachUnitAtOnceWhenIdle) {
  AcceleratorConfig c;
  c.scale = 0;
  c.inference_ns = 1'000'000;
  Accelerator acc(c, {"m"});
  Batches b = feed(acc, 100, 10'000'000);  // sparse: the device is always idle
  ASSERT_EQ(b.got.size(), 100u);
  for (const auto& x : b.got) {
    EXPECT_EQ(x.size, 1u);
    EXPECT_EQ(x.finished_ns - x.oldest_arrival_ns, 1'000'000);
  }
  EXPECT_NEAR(acc.stats()[0].mean_latency_ms(), 1.0, 1e-9);
}

TEST(Accelerator, HigherScaleTradesLatencyForThroughput) {
  // Units arrive faster than single-unit inference can serve them.
  auto run = [](double scale) {
    AcceleratorConfig c;
    c.scale = scale;
    c.batch_max = 16;
    c.inference_ns = 4'000'000;
    c.batch_cost = 0.1;
    c.max_wait_ns = 20'000'000;
    Accelerator acc(c, {"m"});
    Batches b = feed(acc, 2000, 1'000'000);
    EXPECT_EQ(acc.stats()[0].units_inferred, 2000u);
    return acc.stats()[0];
  };
  const ModelStats lo = run(0.0), hi = run(1.0);
  EXPECT_GT(hi.mean_batch(), lo.mean_batch());
  EXPECT_LT(hi.batches, lo.batches);
  // Under light load the latency preference shows: scale 0 answers faster.
  auto light = [](double scale) {
    AcceleratorConfig c;
    c.scale = scale;
    c.inference_ns = 2'000'000;
    c.max_wait_ns = 20'000'000;
    Accelerator acc(c, {"m"});
    feed(acc, 200, 5'000'000);
    return acc.stats()[0].mean_latency_ms();
  };
  EXPECT_LT(light(0.0), light(1.0));
}

TEST(Accelerator, FullBatchWaitsAtMostMaxWait) {
  AcceleratorConfig c;
  c.scale = 1;
  c.batch_max = 8;
  c.inference_ns = 1'000'000;
  c.max_wait_ns = 30'000'000;
  Accelerator acc(c, {"m"});
  Batches b = feed(acc, 3, 1'000'000);  // never fills a batch of 8
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0].size, 3u);
  EXPECT_EQ(b.got[0].started_ns, 30'000'000);  // the first unit's wait ran out
}

TEST(Accelerator, ModelsQueueSeparatelyAndTheOldestHeadGoesFirst) {
  AcceleratorConfig c;
  c.scale = 0;
  c.inference_ns = 10'000'000;
  Accelerator acc(c, {"a", "b"});
  EXPECT_EQ(acc.model_index("b"), 1u);
  EXPECT_EQ(acc.model_index("zzz"), UINT32_MAX);
  Batches b;
  acc.enqueue(0, {1, 0, 10, 0});
  acc.advance(0, b);  // a's unit starts at once
  acc.enqueue(1, {2, 0, 10, 1});
  acc.enqueue(0, {1, 1, 10, 2});
  while (acc.next_event_ns() != INT64_MAX) acc.advance(acc.next_event_ns(), b);
  ASSERT_EQ(b.got.size(), 3u);
  EXPECT_EQ(b.got[0].model, 0u);
  EXPECT_EQ(b.got[1].model, 1u);  // head arrived at 1, before a's second unit at 2
  EXPECT_EQ(b.got[2].model, 0u);
  EXPECT_EQ(acc.stats()[0].units_inferred, 2u);
  EXPECT_EQ(acc.stats()[1].units_inferred, 1u);
}

TEST(Accelerator, FullQueueDropsAndCounts) {
  AcceleratorConfig c;
  c.max_queue = 4;
  c.scale = 1;
  Accelerator acc(c, {"m"});
  for (uint32_t i = 0; i < 6; ++i) acc.enqueue(0, {1, i, 10, 0});
  EXPECT_EQ(acc.stats()[0].units_dropped, 2u);
  EXPECT_EQ(acc.stats()[0].queued, 4u);
  EXPECT_FALSE(acc.enqueue(7, {1, 9, 10, 0}));  // no such model
}

TEST(Accelerator, BusyFractionCoversPartialBatches) {
  AcceleratorConfig c;
  c.scale = 0;
  c.inference_ns = 600'000'000;
  Accelerator acc(c, {"m"});
  Batches b;
  acc.take_busy_fraction(0);
  acc.enqueue(0, {1, 0, 10, 0});
  acc.advance(0, b);
  EXPECT_NEAR(acc.take_busy_fraction(500'000'000), 1.0, 1e-9);   // busy the whole half second
  acc.advance(1'000'000'000, b);
  EXPECT_NEAR(acc.take_busy_fraction(1'000'000'000), 0.2, 1e-9);  // 100 ms of the next 500
  EXPECT_NEAR(acc.take_busy_fraction(2'000'000'000), 0.0, 1e-9);
}

}  // namespace
}  // namespace aigw::sim
