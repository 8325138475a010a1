#include "sim/impair/impairment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace aigw::sim {
namespace {

struct Delivered {
  uint32_t seq;
  uint32_t tag;
  int64_t at_ns;
};

// Records what the impairment releases; packets carry their sequence number.
class Recorder final : public PacketSink {
 public:
  int64_t now_ns = 0;
  std::vector<Delivered> out;
  void deliver(const uint8_t* data, size_t len, uint32_t tag) override {
    ASSERT_GE(len, 4u);
    uint32_t seq;
    std::memcpy(&seq, data, 4);
    for (size_t i = 4; i < len; ++i) ASSERT_EQ(data[i], static_cast<uint8_t>(seq + i)) << "payload corrupted";
    out.push_back({seq, tag, now_ns});
  }
};

void offer(Impairment& imp, uint32_t seq, size_t len, int64_t now_ns, uint32_t tag = 0) {
  std::vector<uint8_t> p(len);
  std::memcpy(p.data(), &seq, 4);
  for (size_t i = 4; i < len; ++i) p[i] = static_cast<uint8_t>(seq + i);
  imp.submit(p.data(), p.size(), tag, now_ns);
}

// Runs n packets spaced `gap_ns` apart through the impairment and drains everything.
Recorder run(Impairment& imp, uint32_t n, int64_t gap_ns = 1000, size_t len = 64) {
  Recorder r;
  int64_t t = 0;
  for (uint32_t i = 0; i < n; ++i, t += gap_ns) {
    // Release at the exact due times so the recorder sees true one-way delays.
    while (imp.next_release_ns() <= t) {
      r.now_ns = imp.next_release_ns();
      imp.release(r.now_ns, r);
    }
    offer(imp, i, len, t);
  }
  while (imp.queued() > 0) {
    r.now_ns = imp.next_release_ns();
    imp.release(r.now_ns, r);
  }
  return r;
}

// |observed - expected| within `sigmas` standard deviations of a binomial proportion,
// widened by `inflation` for correlated (bursty) draws.
void expect_rate(double observed, double p, uint64_t n, double sigmas = 5, double inflation = 1) {
  const double sd = std::sqrt(p * (1 - p) / static_cast<double>(n) * inflation);
  EXPECT_NEAR(observed, p, sigmas * sd) << "configured " << p << " over " << n << " packets";
}

TEST(Impairment, InactivePassesEverythingInOrderUnchanged) {
  ImpairmentConfig c;
  EXPECT_FALSE(c.active());
  Impairment imp(c);
  Recorder r = run(imp, 1000);
  ASSERT_EQ(r.out.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(r.out[i].seq, i);
  EXPECT_EQ(imp.counters().dropped_total(), 0u);
  EXPECT_EQ(imp.counters().packets_out, 1000u);
}

TEST(Impairment, IndependentLossMatchesConfiguredRate) {
  for (double p : {0.01, 0.05, 0.10}) {
    ImpairmentConfig c;
    c.seed = 11;
    c.loss = p;
    Impairment imp(c);
    const uint32_t n = 200'000;
    Recorder r = run(imp, n);
    const uint64_t lost = imp.counters().dropped[static_cast<size_t>(ImpairDrop::loss)];
    EXPECT_EQ(lost + r.out.size(), n);
    expect_rate(static_cast<double>(lost) / n, p, n);
  }
}

TEST(Impairment, GilbertElliottLossRateAndBurstLength) {
  ImpairmentConfig c;
  c.seed = 5;
  c.burst = {0.01, 0.25, 0.0, 1.0};  // mean burst 4 packets, stationary loss 0.01/0.26
  Impairment imp(c);
  const uint32_t n = 400'000;
  Recorder r = run(imp, n);
  const double expected = c.burst.stationary_loss();
  EXPECT_NEAR(expected, 0.01 / 0.26, 1e-12);
  const uint64_t lost = imp.counters().dropped[static_cast<size_t>(ImpairDrop::burst_loss)];
  // Correlation widens the spread: variance factor (1 + rho) / (1 - rho), rho = 1 - p - r.
  const double rho = 1 - 0.01 - 0.25;
  expect_rate(static_cast<double>(lost) / n, expected, n, 5, (1 + rho) / (1 - rho));
  // Losses come in runs: the mean run of consecutive lost packets is 1 / r = 4.
  std::vector<bool> got(n, false);
  for (const auto& d : r.out) got[d.seq] = true;
  uint64_t runs = 0, in_run = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!got[i]) {
      ++in_run;
      if (i == 0 || got[i - 1]) ++runs;
    }
  }
  ASSERT_GT(runs, 0u);
  EXPECT_NEAR(static_cast<double>(in_run) / static_cast<double>(runs), 4.0, 0.4);
  EXPECT_NEAR(static_cast<double>(imp.counters().bursts), static_cast<double>(runs), runs * 0.01 + 2);
}

TEST(Impairment, DuplicationMatchesConfiguredRate) {
  ImpairmentConfig c;
  c.seed = 3;
  c.duplicate = 0.05;
  Impairment imp(c);
  const uint32_t n = 100'000;
  Recorder r = run(imp, n);
  const uint64_t dups = r.out.size() - n;
  EXPECT_EQ(dups, imp.counters().duplicated);
  expect_rate(static_cast<double>(dups) / n, 0.05, n);
  // A duplicate directly follows its original.
  for (size_t i = 1; i < r.out.size(); ++i) EXPECT_LE(r.out[i - 1].seq, r.out[i].seq);
}

TEST(Impairment, ReorderHoldsBackConfiguredFractionAndLaterPacketsOvertake) {
  ImpairmentConfig c;
  c.seed = 9;
  c.reorder = 0.02;
  c.reorder_delay_ns = 50'000;  // 50 packets at 1 µs spacing overtake a held-back one
  Impairment imp(c);
  const uint32_t n = 100'000;
  Recorder r = run(imp, n);
  ASSERT_EQ(r.out.size(), n);
  expect_rate(static_cast<double>(imp.counters().reordered) / n, 0.02, n);
  // Count packets that arrive after a higher sequence number: exactly the held-back ones.
  uint64_t late = 0;
  uint32_t highest = 0;
  for (size_t i = 0; i < r.out.size(); ++i) {
    if (i > 0 && r.out[i].seq < highest) ++late;
    highest = std::max(highest, r.out[i].seq);
  }
  EXPECT_EQ(late, imp.counters().reordered);
}

TEST(Impairment, DelayAndJitterBoundReleaseTimes) {
  ImpairmentConfig c;
  c.seed = 2;
  c.delay_ns = 5'000'000;
  c.jitter_ns = 1'000'000;
  Impairment imp(c);
  Recorder r = run(imp, 10'000, 2'000'000);  // spaced wider than the jitter
  ASSERT_EQ(r.out.size(), 10'000u);
  double sum_extra = 0;
  for (size_t i = 0; i < r.out.size(); ++i) {
    EXPECT_EQ(r.out[i].seq, i);
    const int64_t one_way = r.out[i].at_ns - int64_t{r.out[i].seq} * 2'000'000;
    EXPECT_GE(one_way, 5'000'000);
    EXPECT_LE(one_way, 6'000'000);
    sum_extra += static_cast<double>(one_way - 5'000'000);
  }
  // Uniform jitter in [0, 1 ms] averages 0.5 ms (sd of the mean ~3 µs here).
  EXPECT_NEAR(sum_extra / r.out.size(), 500'000, 20'000);
}

TEST(Impairment, JitterAloneNeverReorders) {
  ImpairmentConfig c;
  c.seed = 4;
  c.jitter_ns = 1'000'000;
  Impairment imp(c);
  Recorder r = run(imp, 10'000, 10'000);  // 10 µs apart: jitter spans 100 packets
  ASSERT_EQ(r.out.size(), 10'000u);
  for (size_t i = 0; i < r.out.size(); ++i) EXPECT_EQ(r.out[i].seq, i);
  EXPECT_EQ(imp.counters().reordered, 0u);
}

TEST(Impairment, RateLimitSerialisesAtTheConfiguredRate) {
  ImpairmentConfig c;
  c.rate_bps = 10e6;             // 1250-byte packets take 1 ms each
  c.queue_bytes = 10'000 * 1250;
  Impairment imp(c);
  Recorder r;
  for (uint32_t i = 0; i < 1000; ++i) offer(imp, i, 1250, 0);
  while (imp.queued() > 0) {
    r.now_ns = imp.next_release_ns();
    imp.release(r.now_ns, r);
  }
  ASSERT_EQ(r.out.size(), 1000u);
  EXPECT_EQ(r.out.front().at_ns, 1'000'000);
  EXPECT_EQ(r.out.back().at_ns, 1'000'000'000);
}

TEST(Impairment, RateLimitTailDropsBeyondTheQueue) {
  ImpairmentConfig c;
  c.rate_bps = 10e6;
  c.queue_bytes = 100 * 1250;
  Impairment imp(c);
  for (uint32_t i = 0; i < 1000; ++i) offer(imp, i, 1250, 0);
  EXPECT_EQ(imp.queued(), 100u);
  EXPECT_EQ(imp.counters().dropped[static_cast<size_t>(ImpairDrop::queue_full)], 900u);
}

TEST(Impairment, BoundedPoolAndOversizePacketsAreCountedDrops) {
  ImpairmentConfig c;
  c.delay_ns = 1'000'000;
  c.max_packets = 16;
  c.max_packet_bytes = 256;
  Impairment imp(c);
  for (uint32_t i = 0; i < 20; ++i) offer(imp, i, 64, 0);
  offer(imp, 99, 257, 0);
  EXPECT_EQ(imp.queued(), 16u);
  EXPECT_EQ(imp.counters().dropped[static_cast<size_t>(ImpairDrop::pool_full)], 4u);
  EXPECT_EQ(imp.counters().dropped[static_cast<size_t>(ImpairDrop::too_large)], 1u);
  Recorder r;
  EXPECT_EQ(imp.release(999'999, r), 0u);
  EXPECT_EQ(imp.release(1'000'000, r), 16u);
  // Slots come back: the pool takes packets again.
  offer(imp, 100, 64, 2'000'000);
  EXPECT_EQ(imp.queued(), 1u);
}

TEST(Impairment, SameSeedSameFateDifferentSeedDifferentFate) {
  auto fate = [](uint64_t seed) {
    ImpairmentConfig c;
    c.seed = seed;
    c.loss = 0.1;
    c.reorder = 0.05;
    c.duplicate = 0.05;
    Impairment imp(c);
    std::vector<uint32_t> seqs;
    for (const auto& d : run(imp, 5000).out) seqs.push_back(d.seq);
    return seqs;
  };
  EXPECT_EQ(fate(42), fate(42));
  EXPECT_NE(fate(42), fate(43));
}

TEST(Impairment, TagsTravelWithTheirPackets) {
  ImpairmentConfig c;
  c.reorder = 0.5;
  Impairment imp(c);
  Recorder r;
  for (uint32_t i = 0; i < 100; ++i) offer(imp, i, 16, 0, i * 7);
  imp.release(INT64_MAX - 1, r);
  ASSERT_EQ(r.out.size(), 100u);
  for (const auto& d : r.out) EXPECT_EQ(d.tag, d.seq * 7);
}

TEST(Impairment, ValidateRejectsOutOfRangeSettings) {
  ImpairmentConfig c;
  EXPECT_EQ(c.validate(), "");
  c.loss = 1.5;
  EXPECT_NE(c.validate(), "");
  c.loss = 0;
  c.burst.p_good_to_bad = 0.1;
  c.burst.p_bad_to_good = 0;
  EXPECT_NE(c.validate(), "");
  c.burst.p_bad_to_good = 0.5;
  EXPECT_EQ(c.validate(), "");
  c.delay_ns = -1;
  EXPECT_NE(c.validate(), "");
}

}  // namespace
}  // namespace aigw::sim
