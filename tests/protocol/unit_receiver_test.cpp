#include "protocol/unit_receiver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <set>
#include <vector>

#include "protocol/unit_digest.h"
#include "tests/protocol/test_units.h"

namespace aigw {
namespace {

using test::make_unit;
using test::Recorder;
using test::run_timers;
using test::TestUnit;

constexpr int64_t kMs = 1'000'000;

ReceiverConfig small_config() {
  ReceiverConfig c;
  c.memory_budget_bytes = 16 << 20;
  c.max_unit_bytes = 1 << 20;
  c.max_units_in_flight = 16;
  c.max_streams = 8;
  return c;
}

FragmentVerdict feed(UnitReceiver& rx, const TestUnit& u, uint16_t i, int64_t now,
                     uint8_t flags = 0) {
  return rx.on_fragment(u.header(i, flags), u.payload(i), now);
}

size_t count(const UnitReceiver& rx, FragmentVerdict v) {
  return rx.counters().fragments[static_cast<size_t>(v)];
}

TEST(UnitReceiver, InOrderCompletion) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  ASSERT_TRUE(rx.add_stream(7));
  EXPECT_FALSE(rx.add_stream(7));
  const TestUnit u = make_unit(7, 0, 688684);
  ASSERT_EQ(u.count, 946);
  for (uint16_t i = 0; i + 1 < u.count; ++i) ASSERT_EQ(feed(rx, u, i, i * 1000), FragmentVerdict::accepted);
  EXPECT_EQ(rx.units_in_flight(), 1u);
  EXPECT_EQ(feed(rx, u, 945, 946000), FragmentVerdict::completed);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, u.bytes);
  EXPECT_TRUE(verify_unit_digest(ev.done[0].bytes.data(), ev.done[0].bytes.size()));
  EXPECT_EQ(ev.done[0].info.stream_id, 7u);
  EXPECT_EQ(ev.done[0].info.fragment_count, 946);
  EXPECT_EQ(ev.done[0].info.first_fragment_ns, 0);
  EXPECT_EQ(ev.done[0].info.completed_ns, 946000);
  EXPECT_EQ(rx.counters().units_completed, 1u);
  EXPECT_EQ(rx.counters().bytes_accepted, u.bytes.size());
  EXPECT_EQ(rx.units_in_flight(), 0u);
  EXPECT_EQ(rx.memory_in_use(), 0u);  // the buffer went back to the pool
  EXPECT_EQ(rx.next_deadline_ns(), INT64_MAX);
  run_timers(rx, 10'000 * kMs);
  EXPECT_TRUE(ev.nacks.empty());
  EXPECT_TRUE(ev.lost.empty());
}

// Keeps what a completed unit's handle says about its payload sums.
struct SumRecorder : ReceiverEvents {
  std::vector<std::vector<uint16_t>> sums;  // empty: none kept
  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    const uint16_t* s = unit.payload_sums();
    EXPECT_TRUE(s == nullptr || unit.payload_sum_count() == info.fragment_count);
    sums.emplace_back(s, s == nullptr ? s : s + unit.payload_sum_count());
  }
  void on_unit_lost(const LostUnit&) override {}
  void on_nack(const NackOut&) override {}
};

uint32_t fake_sum(uint16_t i) { return (i * 40503u + 7u) & 0xffffu; }

TEST(UnitReceiver, PayloadSumsTravelWithTheCompletedUnit) {
  SumRecorder ev;
  ReceiverConfig c = small_config();
  c.keep_payload_sums = true;
  UnitReceiver rx(c, ev);
  rx.add_stream(1);
  const TestUnit whole = make_unit(1, 0, 100000);
  // Out of order, with a duplicate whose (wrong) sum must not overwrite the first.
  for (uint16_t i = whole.count; i-- > 0;) {
    rx.on_fragment(whole.header(i), whole.payload(i), 0, fake_sum(i));
    if (i == 5) {
      EXPECT_EQ(rx.on_fragment(whole.header(i), whole.payload(i), 0, 0xbeef), FragmentVerdict::duplicate);
    }
  }
  ASSERT_EQ(ev.sums.size(), 1u);
  ASSERT_EQ(ev.sums[0].size(), whole.count);
  for (uint16_t i = 0; i < whole.count; ++i) EXPECT_EQ(ev.sums[0][i], fake_sum(i)) << i;

  // One fragment without its sum: the unit has no sums to hand on.
  const TestUnit partial = make_unit(1, 1, 100000);
  for (uint16_t i = 0; i < partial.count; ++i)
    rx.on_fragment(partial.header(i), partial.payload(i), 0, i == 17 ? kNoPayloadSum : fake_sum(i));
  ASSERT_EQ(ev.sums.size(), 2u);
  EXPECT_TRUE(ev.sums[1].empty());

  // Sums offered to a receiver that does not keep them are dropped.
  SumRecorder plain_ev;
  UnitReceiver plain(small_config(), plain_ev);
  plain.add_stream(1);
  for (uint16_t i = 0; i < whole.count; ++i) plain.on_fragment(whole.header(i), whole.payload(i), 0, fake_sum(i));
  ASSERT_EQ(plain_ev.sums.size(), 1u);
  EXPECT_TRUE(plain_ev.sums[0].empty());
}

TEST(UnitReceiver, DuplicatesAreCountedAndLateFragmentsAfterCompletion) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 5, 5000);
  EXPECT_EQ(feed(rx, u, 0, 0), FragmentVerdict::accepted);
  EXPECT_EQ(feed(rx, u, 0, 1), FragmentVerdict::duplicate);
  for (uint16_t i = 1; i < u.count; ++i) feed(rx, u, i, 2);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, u.bytes);
  EXPECT_EQ(feed(rx, u, 3, 3), FragmentVerdict::late);
  EXPECT_EQ(count(rx, FragmentVerdict::duplicate), 1u);
  EXPECT_EQ(count(rx, FragmentVerdict::late), 1u);
  EXPECT_EQ(count(rx, FragmentVerdict::completed), 1u);
  EXPECT_EQ(ev.done.size(), 1u);
}

TEST(UnitReceiver, InconsistentFragmentsAreRejected) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 5000);
  feed(rx, u, 0, 0);
  // The same unit announced with another length or count.
  const TestUnit other = make_unit(1, 0, 6000);
  EXPECT_EQ(feed(rx, other, 1, 1), FragmentVerdict::inconsistent);
  DataHeader h = u.header(2);
  h.payload_length = static_cast<uint16_t>(h.payload_length - 1);
  EXPECT_EQ(rx.on_fragment(h, u.payload(2), 1), FragmentVerdict::inconsistent);
  EXPECT_EQ(feed(rx, u, 1, 1, data_flag::encrypted), FragmentVerdict::inconsistent);
  EXPECT_EQ(count(rx, FragmentVerdict::inconsistent), 3u);
  for (uint16_t i = 1; i < u.count; ++i) feed(rx, u, i, 2);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, u.bytes);
}

TEST(UnitReceiver, UnknownStreamAndTooLarge) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1);
  EXPECT_EQ(feed(rx, make_unit(2, 0, 100), 0, 0), FragmentVerdict::unknown_stream);
  EXPECT_EQ(feed(rx, make_unit(1, 0, (1 << 20) + 1, 60000), 0, 0),
            FragmentVerdict::unit_too_large);
  EXPECT_EQ(rx.units_in_flight(), 0u);
}

TEST(UnitReceiver, ReorderWithinToleranceDoesNotNack) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 100 * 728 - 4);
  int64_t t = 0;
  // Swap each pair: 1,0,3,2,... each gap closes within 100 us.
  for (uint16_t i = 0; i + 1 < u.count; i += 2) {
    feed(rx, u, i + 1, t += 50'000);
    run_timers(rx, t);
    feed(rx, u, i, t += 50'000);
    run_timers(rx, t);
  }
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_TRUE(ev.nacks.empty());
  run_timers(rx, t + 10'000 * kMs);
  EXPECT_TRUE(ev.nacks.empty());
}

TEST(UnitReceiver, GapNacksExactlyTheMissingSet) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(3);
  const TestUnit u = make_unit(3, 9, 688684);
  const std::set<uint16_t> missing{5, 17, 300, 301, 302, 944};
  int64_t t = 0;
  for (uint16_t i = 0; i < u.count; ++i) {
    t += 1000;
    if (!missing.count(i)) feed(rx, u, i, t);
  }
  // The first gap (fragment 5) was seen at 7 us; its NACK waits for the tolerance.
  run_timers(rx, 7000 + cfg.reorder_tolerance_ns - 1);
  EXPECT_TRUE(ev.nacks.empty());
  run_timers(rx, 7000 + cfg.reorder_tolerance_ns);
  ASSERT_EQ(ev.nacks.size(), 1u);
  // Only gaps already that old: fragment 17 went missing 12 us later.
  EXPECT_EQ(ev.nacks[0].fragments, std::vector<uint16_t>{5});
  // Once the unit has been quiet for the tolerance every gap is old enough.
  run_timers(rx, t + 2 * cfg.reorder_tolerance_ns);
  std::set<uint16_t> named;
  for (const auto& n : ev.nacks) {
    EXPECT_EQ(n.out.stream_id, 3u);
    EXPECT_EQ(n.out.unit_seq, 9u);
    EXPECT_EQ(n.out.round, 1u);
    EXPECT_EQ(n.out.fragment_count, 946);
    named.insert(n.fragments.begin(), n.fragments.end());
  }
  EXPECT_EQ(ev.nacks.size(), 2u);
  EXPECT_EQ(named, missing);
  EXPECT_EQ(rx.counters().nacked_fragments, missing.size());  // each asked for once
  // Retransmissions complete the unit.
  for (uint16_t i : missing) feed(rx, u, i, t + 5 * kMs, data_flag::retransmission);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, u.bytes);
  EXPECT_EQ(ev.done[0].info.retransmitted_fragments, missing.size());
  EXPECT_EQ(ev.done[0].info.nack_rounds, 1u);
  EXPECT_EQ(rx.counters().retransmissions_received, missing.size());
  run_timers(rx, t + 10'000 * kMs);
  EXPECT_EQ(ev.nacks.size(), 2u);
}

TEST(UnitReceiver, GapsWhileStreamingAreAskedForOnceEachAfterTheirTolerance) {
  // A paced unit (one fragment per 50 us) losing 10%: each gap is NACKed no sooner than
  // the tolerance after it opened and no later than twice that.
  struct Timed : Recorder {
    int64_t now = 0;
    std::vector<int64_t> at;
    void on_nack(const NackOut& n) override {
      Recorder::on_nack(n);
      at.push_back(now);
    }
  } ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 688684);
  std::mt19937 rng(99);
  std::vector<bool> lost(u.count, false);
  for (uint16_t i = 1; i + 1 < u.count; ++i) lost[i] = rng() % 10 == 0;
  std::vector<int64_t> opened(u.count, -1);  // when a later fragment first arrived
  const int64_t step = 50'000;
  for (uint16_t i = 0; i < u.count; ++i) {
    const int64_t t = int64_t{i} * step;
    for (int64_t x = rx.next_deadline_ns(); x <= t; x = rx.next_deadline_ns()) {
      ev.now = x;
      rx.poll(x);
    }
    if (lost[i]) continue;
    for (uint16_t k = 0; k < i; ++k) {
      if (lost[k] && opened[k] < 0) opened[k] = t;
    }
    rx.on_fragment(u.header(i), u.payload(i), t);
  }
  const int64_t end = int64_t{u.count} * step;
  for (int64_t x = rx.next_deadline_ns(); x <= end + 2 * cfg.reorder_tolerance_ns; x = rx.next_deadline_ns()) {
    ev.now = x;
    rx.poll(x);
  }
  // Gap NACKs (round 1) name each fragment at most once; whichever NACK names a
  // fragment first (a gap NACK, or the round that follows the unit's end) comes at
  // least the tolerance and at most twice the tolerance after its gap opened.
  std::vector<int> first_round_names(u.count, 0);
  std::vector<int64_t> first_named(u.count, -1);
  for (size_t k = 0; k < ev.nacks.size(); ++k) {
    for (uint16_t f : ev.nacks[k].fragments) {
      ASSERT_TRUE(lost[f]) << f;
      if (ev.nacks[k].out.round == 1) ++first_round_names[f];
      if (first_named[f] < 0) first_named[f] = ev.at[k];
    }
  }
  size_t n_lost = 0;
  for (uint16_t f = 0; f < u.count; ++f) {
    if (!lost[f]) continue;
    ++n_lost;
    EXPECT_LE(first_round_names[f], 1) << f;
    ASSERT_GE(first_named[f], 0) << f;
    EXPECT_GE(first_named[f], opened[f] + cfg.reorder_tolerance_ns) << f;
    EXPECT_LE(first_named[f], opened[f] + 2 * cfg.reorder_tolerance_ns) << f;
  }
  EXPECT_GT(n_lost, 50u);
  EXPECT_GT(ev.nacks.size(), 5u);  // asked for progressively, not all at the end
}

TEST(UnitReceiver, IdleUnitNacksItsTail) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 200 * 728 - 4);
  for (uint16_t i = 0; i < 120; ++i) feed(rx, u, i, i);
  run_timers(rx, 119 + cfg.idle_nack_ns - 1);
  EXPECT_TRUE(ev.nacks.empty());  // in order so far: no gap
  run_timers(rx, 119 + cfg.idle_nack_ns);
  ASSERT_EQ(ev.nacks.size(), 1u);
  std::vector<uint16_t> tail;
  for (uint16_t i = 120; i < 200; ++i) tail.push_back(i);
  EXPECT_EQ(ev.nacks[0].fragments, tail);
  EXPECT_EQ(ev.nacks[0].out.chunk.encoding, NackEncoding::ranges);
}

TEST(UnitReceiver, LargeLossSplitsIntoNacksWithinTheBudget) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.max_unit_bytes = 60000 * kMinStride;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 60000 * kMinStride - 4, kMinStride);  // 60000 fragments, the finest cut
  ASSERT_EQ(u.count, 60000);
  std::vector<uint16_t> missing;
  for (uint32_t i = 0; i < u.count; ++i) {
    if (i % 3 == 1) missing.push_back(static_cast<uint16_t>(i)); else feed(rx, u, static_cast<uint16_t>(i), 0);
  }
  run_timers(rx, cfg.idle_nack_ns);
  ASSERT_GT(ev.nacks.size(), 1u);
  std::vector<uint16_t> named;
  for (const auto& n : ev.nacks) {
    EXPECT_LE(n.out.chunk.size, cfg.nack_max_bytes);
    EXPECT_EQ(n.out.round, 1u);
    named.insert(named.end(), n.fragments.begin(), n.fragments.end());
  }
  EXPECT_EQ(named, missing);
  EXPECT_EQ(rx.counters().nacks_sent, ev.nacks.size());
}

TEST(UnitReceiver, ReNacksThenReportsLossAfterBoundedRounds) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.max_nack_rounds = 4;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 50 * 728 - 4);
  for (uint16_t i = 0; i < u.count; ++i) {
    if (i != 10) feed(rx, u, i, 0);
  }
  run_timers(rx, 10'000 * kMs);
  ASSERT_EQ(ev.nacks.size(), 4u);
  for (uint32_t r = 0; r < 4; ++r) {
    EXPECT_EQ(ev.nacks[r].out.round, r + 1);
    EXPECT_EQ(ev.nacks[r].fragments, std::vector<uint16_t>{10});
  }
  // Rounds are spaced by the re-NACK interval.
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::nack_rounds);
  EXPECT_EQ(ev.lost[0].fragments_received, 49);
  EXPECT_EQ(rx.counters().units_lost[static_cast<size_t>(LossReason::nack_rounds)], 1u);
  EXPECT_EQ(rx.memory_in_use(), 0u);
  EXPECT_EQ(feed(rx, u, 10, 10'001 * kMs), FragmentVerdict::late);
}

TEST(UnitReceiver, ReNackWaitsWhileResendsFlow) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 50 * 728 - 4);
  for (uint16_t i = 0; i < u.count; ++i) {
    if (i < 10 || i > 20) feed(rx, u, i, 0);
  }
  run_timers(rx, cfg.reorder_tolerance_ns);
  ASSERT_EQ(ev.nacks.size(), 1u);
  // Resends trickle in right up to the re-NACK time: the re-NACK waits for the quiet.
  const int64_t renack = cfg.reorder_tolerance_ns + cfg.renack_interval_ns;
  for (uint16_t i = 10; i < 15; ++i) feed(rx, u, i, renack - 1000 + i, data_flag::retransmission);
  const int64_t last = renack - 1000 + 14;
  run_timers(rx, last + cfg.reorder_tolerance_ns - 1);
  EXPECT_EQ(ev.nacks.size(), 1u);
  run_timers(rx, 2000 * kMs);
  ASSERT_GE(ev.nacks.size(), 2u);
  EXPECT_EQ(ev.nacks[1].fragments, (std::vector<uint16_t>{15, 16, 17, 18, 19, 20}));
  EXPECT_EQ(ev.nacks[1].out.round, 2u);
}

TEST(UnitReceiver, ALostNackCostsOneRoundAndIsRepeated) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 50 * 728 - 4);
  for (uint16_t i = 0; i < u.count; ++i) {
    if (i != 7 && i != 30) feed(rx, u, i, 0);
  }
  run_timers(rx, cfg.reorder_tolerance_ns);
  ASSERT_EQ(ev.nacks.size(), 1u);  // never reaches the device
  run_timers(rx, cfg.reorder_tolerance_ns + cfg.renack_interval_ns - 1);
  EXPECT_EQ(ev.nacks.size(), 1u);
  run_timers(rx, cfg.reorder_tolerance_ns + cfg.renack_interval_ns);
  ASSERT_EQ(ev.nacks.size(), 2u);
  EXPECT_EQ(ev.nacks[1].fragments, (std::vector<uint16_t>{7, 30}));
  EXPECT_EQ(ev.nacks[1].out.round, 2u);
  const int64_t t = cfg.reorder_tolerance_ns + cfg.renack_interval_ns + 2 * kMs;
  feed(rx, u, 7, t, data_flag::retransmission);
  EXPECT_EQ(feed(rx, u, 30, t, data_flag::retransmission), FragmentVerdict::completed);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].info.nack_rounds, 2u);
  EXPECT_TRUE(ev.lost.empty());
}

TEST(UnitReceiver, RetransmitTimeoutFollowsTheMeasuredAnswerTime) {
  // The device answers after 150 ms. Unit 0 asks again meanwhile (nothing is known yet);
  // once that time is measured, units 1 and 2 are not asked again before their answer
  // could arrive: one request each, one round.
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const int64_t answer = 150 * kMs;
  int64_t t0 = 0;
  for (uint32_t seq = 0; seq < 3; ++seq) {
    SCOPED_TRACE(seq);
    const TestUnit u = make_unit(1, seq, 50 * 728 - 4);
    for (uint16_t i = 0; i < u.count; ++i) {
      if (i != 12) feed(rx, u, i, t0);
    }
    const size_t before = ev.nacks.size();
    run_timers(rx, t0 + cfg.reorder_tolerance_ns);
    ASSERT_EQ(ev.nacks.size(), before + 1);
    const int64_t asked = t0 + cfg.reorder_tolerance_ns;
    run_timers(rx, asked + answer - 1);
    if (seq == 0) {
      EXPECT_GT(ev.nacks.size(), before + 1);
    } else {
      EXPECT_EQ(ev.nacks.size(), before + 1) << "asked again before the answer could come";
    }
    EXPECT_EQ(feed(rx, u, 12, asked + answer, data_flag::retransmission), FragmentVerdict::completed);
    t0 += 1000 * kMs;
    run_timers(rx, t0 - 1);
  }
  ASSERT_EQ(ev.done.size(), 3u);
  EXPECT_GT(ev.done[0].info.nack_rounds, 1u);
  EXPECT_EQ(ev.done[1].info.nack_rounds, 1u);
  EXPECT_EQ(ev.done[2].info.nack_rounds, 1u);
  EXPECT_TRUE(ev.lost.empty());
}

TEST(UnitReceiver, BurstLossIsAskedForInOneNack) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 688684);
  // 300 consecutive fragments and the last 100 never arrive.
  for (uint16_t i = 0; i < u.count; ++i) {
    if ((i < 200 || i >= 500) && i < 846) feed(rx, u, i, int64_t{i} * 1000);
  }
  // The hole is asked for after the reorder tolerance, the tail once the unit is idle.
  run_timers(rx, 846 * 1000 + cfg.idle_nack_ns + cfg.renack_interval_ns);
  std::set<uint16_t> named;
  for (const auto& n : ev.nacks) named.insert(n.fragments.begin(), n.fragments.end());
  ASSERT_EQ(named.size(), 400u);
  EXPECT_EQ(*named.begin(), 200);
  EXPECT_EQ(*named.rbegin(), 945);
  for (const auto& n : ev.nacks) EXPECT_EQ(n.out.chunk.encoding, NackEncoding::ranges);
  const int64_t t = 846 * 1000 + cfg.idle_nack_ns + cfg.renack_interval_ns + kMs;
  for (uint16_t i : named) feed(rx, u, i, t, data_flag::retransmission);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, u.bytes);
}

TEST(UnitReceiver, DeadlineLoss) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.unit_deadline_ns = 100 * kMs;
  cfg.max_nack_rounds = 1000;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 10 * 728 - 4);
  feed(rx, u, 0, 0);
  run_timers(rx, 100 * kMs - 1);
  EXPECT_TRUE(ev.lost.empty());
  EXPECT_FALSE(ev.nacks.empty());  // the idle tail was NACKed meanwhile
  run_timers(rx, 100 * kMs);
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::deadline);
  EXPECT_EQ(ev.lost[0].fragments_received, 1);
  EXPECT_EQ(rx.units_in_flight(), 0u);
}

TEST(UnitReceiver, EvictsOldestIncompleteUnitOverBudget) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  UnitBufferPool sizing(1, 1 << 30);
  // Room for two reference units (buffer plus bitmap), not three.
  cfg.memory_budget_bytes = 2 * sizing.class_size(688688 + 120);
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  rx.add_stream(2);
  const TestUnit a = make_unit(1, 0, 688684), b = make_unit(2, 0, 688684), c = make_unit(1, 1, 688684);
  feed(rx, a, 0, 0);
  feed(rx, b, 0, 1);
  EXPECT_EQ(ev.lost.size(), 0u);
  feed(rx, c, 0, 2);
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].stream_id, 1u);
  EXPECT_EQ(ev.lost[0].unit_seq, 0u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::memory_budget);
  EXPECT_EQ(rx.units_in_flight(), 2u);
  EXPECT_LE(rx.memory_in_use(), cfg.memory_budget_bytes);
  for (uint16_t i = 1; i < c.count; ++i) feed(rx, c, i, 3);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, c.bytes);
}

TEST(UnitReceiver, HeldUnitsExhaustTheBudget) {
  // A consumer that keeps completed units holds their memory: no_memory, not eviction.
  struct Keeper : Recorder {
    std::vector<UnitHandle> kept;
    void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
      Recorder::on_unit_complete(info, unit);
      kept.push_back(std::move(unit));
    }
  } ev;
  ReceiverConfig cfg = small_config();
  cfg.memory_budget_bytes = 64 * 1024;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  uint32_t seq = 0;
  for (; seq < 100; ++seq) {
    const TestUnit u = make_unit(1, seq, 10000);
    if (feed(rx, u, 0, seq) == FragmentVerdict::no_memory) break;
    for (uint16_t i = 1; i < u.count; ++i) feed(rx, u, i, seq);
  }
  EXPECT_LT(seq, 100u);
  EXPECT_EQ(ev.done.size(), seq);
  EXPECT_TRUE(ev.lost.empty());
  ev.kept.clear();
  EXPECT_EQ(rx.memory_in_use(), 0u);
}

TEST(UnitReceiver, AFullTableTakesASlotFromTheStreamHoldingMost) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.max_units_in_flight = 3;
  UnitReceiver rx(cfg, ev);
  for (uint32_t s = 1; s <= 3; ++s) rx.add_stream(s);
  feed(rx, make_unit(1, 0, 5000), 0, 1);
  feed(rx, make_unit(1, 1, 5000), 0, 2);
  feed(rx, make_unit(2, 0, 5000), 0, 3);
  EXPECT_TRUE(ev.lost.empty());
  // Stream 3 holds nothing: stream 1, holding two, gives up its oldest.
  EXPECT_EQ(feed(rx, make_unit(3, 0, 5000), 0, 4), FragmentVerdict::accepted);
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].stream_id, 1u);
  EXPECT_EQ(ev.lost[0].unit_seq, 0u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::table_full);
  // Streams holding one each: a newcomer is refused rather than evicting an equal.
  rx.add_stream(4);
  EXPECT_EQ(feed(rx, make_unit(4, 0, 5000), 0, 5), FragmentVerdict::no_memory);
  EXPECT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(rx.units_in_flight(), 3u);
}

TEST(UnitReceiver, AFloodOfFirstFragmentsOnOneStreamEvictsOnlyItsOwnUnits) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  UnitBufferPool sizing(1, 1 << 30);
  cfg.memory_budget_bytes = 4 * sizing.class_size(688688 + 2000);  // four reference units
  cfg.max_units_in_flight = 64;
  cfg.recent_units_window = 1024;  // keep the flood's units in the window
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  rx.add_stream(2);
  const TestUnit real = make_unit(2, 0, 688684);
  for (uint16_t i = 0; i < 500; ++i) feed(rx, real, i, 0);
  // Stream 1 (or someone spoofing it) opens 200 units with one fragment each.
  TestUnit flood = make_unit(1, 0, 688684);
  for (uint32_t seq = 0; seq < 200; ++seq) {
    flood.seq = seq;
    feed(rx, flood, 0, 1000 + seq);
  }
  EXPECT_LE(rx.memory_in_use(), cfg.memory_budget_bytes);
  EXPECT_GT(rx.counters().units_lost[static_cast<size_t>(LossReason::memory_budget)], 150u);
  for (const auto& l : ev.lost) EXPECT_EQ(l.stream_id, 1u);
  for (uint16_t i = 500; i < real.count; ++i) feed(rx, real, i, 2000);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(ev.done[0].bytes, real.bytes);
}

TEST(UnitReceiver, ALoneSmallFragmentEarnsNoNackItCannotPayFor) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.unit_deadline_ns = 3000 * kMs;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  // A 32-byte fragment of a longer unit: 64 bytes on the wire, less than a NACK.
  const TestUnit tiny = make_unit(1, 0, 60, kMinStride);
  ASSERT_GE(tiny.count, 2);
  feed(rx, tiny, 0, 0);
  run_timers(rx, 100 * kMs);
  EXPECT_GT(rx.next_deadline_ns(), 101 * kMs);  // waits a timeout between tries, no spinning
  run_timers(rx, 3000 * kMs);
  EXPECT_TRUE(ev.nacks.empty());
  EXPECT_GT(rx.counters().nacks_withheld, 0u);
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::deadline);
}

TEST(UnitReceiver, NacksForAUnitCostAtMostTheBytesItBrought) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.max_nack_rounds = 100;
  cfg.unit_deadline_ns = 100'000 * kMs;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 688684);  // one full fragment of 946 arrives
  feed(rx, u, 0, 0);
  run_timers(rx, 100'000 * kMs);
  size_t cost = 0;
  for (const auto& n : ev.nacks) cost += 96 + n.out.chunk.size;
  EXPECT_FALSE(ev.nacks.empty());
  EXPECT_LE(cost, kDataHeaderSize + 728);
  EXPECT_GT(rx.counters().nacks_withheld, 0u);
  ASSERT_EQ(ev.lost.size(), 1u);
}

TEST(UnitReceiver, AUnitSeqFarAheadOfTheStreamIsRefused) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.max_units_ahead = 100;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1, 10);
  EXPECT_EQ(feed(rx, make_unit(1, 10 + 101, 5000), 0, 0), FragmentVerdict::out_of_window);
  EXPECT_EQ(feed(rx, make_unit(1, 1u << 30, 5000), 0, 0), FragmentVerdict::out_of_window);
  EXPECT_EQ(count(rx, FragmentVerdict::out_of_window), 2u);
  // The real units still arrive.
  const TestUnit a = make_unit(1, 10, 5000);
  for (uint16_t i = 0; i < a.count; ++i) feed(rx, a, i, 1);
  ASSERT_EQ(ev.done.size(), 1u);
  EXPECT_EQ(feed(rx, make_unit(1, 10 + 100, 5000), 0, 2), FragmentVerdict::accepted);
}

TEST(UnitReceiver, AUnitLongerThanItsStreamAllowsIsRefused) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1, 0, 10000);
  EXPECT_EQ(feed(rx, make_unit(1, 0, 20000), 0, 0), FragmentVerdict::unit_too_large);
  EXPECT_EQ(rx.units_in_flight(), 0u);
  EXPECT_EQ(feed(rx, make_unit(1, 1, 9000), 0, 0), FragmentVerdict::accepted);
}

TEST(UnitReceiver, LaterUnitTriggersTailNackOfEarlierOne) {
  Recorder ev;
  const ReceiverConfig cfg = small_config();
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  const TestUnit a = make_unit(1, 0, 20 * 728 - 4), b = make_unit(1, 1, 20 * 728 - 4);
  for (uint16_t i = 0; i < 18; ++i) feed(rx, a, i, 0);  // 18, 19 lost
  feed(rx, b, 0, 1000);
  run_timers(rx, 1000 + cfg.reorder_tolerance_ns);
  ASSERT_EQ(ev.nacks.size(), 1u);
  EXPECT_EQ(ev.nacks[0].out.unit_seq, 0u);
  EXPECT_EQ(ev.nacks[0].fragments, (std::vector<uint16_t>{18, 19}));
}

TEST(UnitReceiver, UnitsFallingOutOfTheSeqWindowAreSuperseded) {
  Recorder ev;
  ReceiverConfig cfg = small_config();
  cfg.recent_units_window = 4;
  UnitReceiver rx(cfg, ev);
  rx.add_stream(1);
  feed(rx, make_unit(1, 10, 5000), 0, 0);
  feed(rx, make_unit(1, 13, 5000), 0, 1);
  EXPECT_TRUE(ev.lost.empty());
  feed(rx, make_unit(1, 14, 5000), 0, 2);
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].unit_seq, 10u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::superseded);
  EXPECT_EQ(feed(rx, make_unit(1, 9, 5000), 0, 3), FragmentVerdict::late);
  EXPECT_EQ(feed(rx, make_unit(1, 10, 5000), 1, 3), FragmentVerdict::late);
}

TEST(UnitReceiver, SequenceNumbersWrapAround) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1, 0xFFFFFFFEu);
  EXPECT_EQ(feed(rx, make_unit(1, 0xFFFFFFFDu, 100), 0, 0), FragmentVerdict::late);
  std::vector<uint32_t> seqs{0xFFFFFFFEu, 0xFFFFFFFFu, 0u, 1u, 2u};
  int64_t t = 0;
  for (uint32_t seq : seqs) {
    const TestUnit u = make_unit(1, seq, 3000);
    for (uint16_t i = 0; i < u.count; ++i) feed(rx, u, i, ++t);
  }
  ASSERT_EQ(ev.done.size(), seqs.size());
  for (size_t k = 0; k < seqs.size(); ++k) EXPECT_EQ(ev.done[k].info.unit_seq, seqs[k]);
  EXPECT_EQ(feed(rx, make_unit(1, 0xFFFFFFFFu, 3000), 1, ++t), FragmentVerdict::late);
  EXPECT_EQ(feed(rx, make_unit(1, 0xFFFFFFF0u, 3000), 1, ++t), FragmentVerdict::late);
  // An older unit still within the window, never seen: accepted (it arrives late, not lost).
  const TestUnit u3 = make_unit(1, 3, 3000);
  const TestUnit u4 = make_unit(1, 4, 3000);
  feed(rx, u4, 0, ++t);
  EXPECT_EQ(feed(rx, u3, 0, ++t), FragmentVerdict::accepted);
  EXPECT_TRUE(ev.lost.empty());
}

TEST(UnitReceiver, RemoveStreamReportsItsUnits) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1);
  rx.add_stream(2);
  feed(rx, make_unit(1, 0, 5000), 0, 0);
  feed(rx, make_unit(2, 0, 5000), 0, 0);
  rx.remove_stream(1);
  EXPECT_FALSE(rx.has_stream(1));
  ASSERT_EQ(ev.lost.size(), 1u);
  EXPECT_EQ(ev.lost[0].reason, LossReason::stream_removed);
  EXPECT_EQ(rx.units_in_flight(), 1u);
  EXPECT_EQ(feed(rx, make_unit(1, 0, 5000), 1, 1), FragmentVerdict::unknown_stream);
  EXPECT_TRUE(rx.add_stream(1));
}

TEST(UnitReceiver, CloseStreamAfterKeepsEarlierUnits) {
  Recorder ev;
  UnitReceiver rx(small_config(), ev);
  rx.add_stream(1);
  const TestUnit a = make_unit(1, 4, 3000);
  feed(rx, a, 0, 0);
  rx.close_stream_after(1, 5);
  EXPECT_EQ(feed(rx, make_unit(1, 6, 3000), 0, 1), FragmentVerdict::unknown_stream);
  const TestUnit b = make_unit(1, 5, 3000);
  for (uint16_t i = 0; i < b.count; ++i) feed(rx, b, i, 2);
  for (uint16_t i = 1; i < a.count; ++i) feed(rx, a, i, 2);
  EXPECT_EQ(ev.done.size(), 2u);
}

}  // namespace
}  // namespace aigw
