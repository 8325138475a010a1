#include "controller/migration/migration_planner.h"

#include <gtest/gtest.h>

#include <map>

namespace aigw::controller {
namespace {

// Net weight 1 only, Vmax 1e9: a stream of b bit/s adds b/1e9 to a gateway's load.
PlanParams net_only(uint32_t max_moves = 100) {
  PlanParams p;
  p.max_moves = max_moves;
  p.weight_cpu = 0;
  p.weight_memory = 0;
  p.weight_net = 1;
  return p;
}

PlanGateway gw(uint32_t id, std::vector<double> streams_bw, uint32_t first_stream, double left = 1e9) {
  PlanGateway g;
  g.gateway_id = id;
  g.vmax_total = 1e9;
  g.mmax = 1e9;
  g.bw_left = left;
  g.mem_left = 1e9;
  for (double b : streams_bw) {
    g.streams.push_back({first_stream++, b, 0, true});
    g.load += b / 1e9;
  }
  return g;
}

std::map<uint32_t, double> loads_after(const std::vector<PlanGateway>& gws, const Plan& plan, const PlanParams& p) {
  std::map<uint32_t, double> load;
  std::map<uint32_t, const PlanStream*> stream;
  std::map<uint32_t, const PlanGateway*> by_id;
  for (const auto& g : gws) {
    load[g.gateway_id] = g.load;
    by_id[g.gateway_id] = &g;
    for (const auto& s : g.streams) stream[s.stream_id] = &s;
  }
  for (const Move& m : plan.moves) {
    load[m.from] -= stream_load(*by_id[m.from], *stream[m.stream_id], p);
    load[m.to] += stream_load(*by_id[m.to], *stream[m.stream_id], p);
  }
  return load;
}

TEST(MigrationPlanner, MovesSmallestStreamsFromOverloadedToUnderloaded) {
  // Loads 0.6, 0.1, 0.2 (mean 0.3). Streams on gateway 1: 0.3, 0.1, 0.05, 0.15.
  std::vector<PlanGateway> gws = {gw(1, {3e8, 1e8, 0.5e8, 1.5e8}, 10), gw(2, {1e8}, 20), gw(3, {2e8}, 30)};
  const PlanParams p = net_only();
  Plan plan = plan_balance(gws, p);
  ASSERT_FALSE(plan.moves.empty());
  // Smallest first: stream 12 (0.05) to the least loaded, gateway 2.
  EXPECT_EQ(plan.moves[0].stream_id, 12u);
  EXPECT_EQ(plan.moves[0].from, 1u);
  EXPECT_EQ(plan.moves[0].to, 2u);
  EXPECT_LT(plan.lsd_after, plan.lsd_before);
  for (const Move& m : plan.moves) EXPECT_EQ(m.from, 1u);
  auto after = loads_after(gws, plan, p);
  EXPECT_LE(after[1], 0.6);
  EXPECT_LT(after[2], after[1]);
}

TEST(MigrationPlanner, RespectsTheCapOnMovesPerRound) {
  std::vector<PlanGateway> gws = {gw(1, std::vector<double>(20, 0.3e8), 1), gw(2, {}, 100)};
  Plan plan = plan_balance(gws, net_only(3));
  EXPECT_EQ(plan.moves.size(), 3u);
}

TEST(MigrationPlanner, RespectsTheTargetsAcceptableCapacity) {
  // Gateway 2 can take only 0.15e9 more: one 0.1 stream fits, a second does not.
  std::vector<PlanGateway> gws = {gw(1, {1e8, 1e8, 1e8, 1e8, 1e8}, 1), gw(2, {}, 100, 1.5e8)};
  Plan plan = plan_balance(gws, net_only());
  EXPECT_EQ(plan.moves.size(), 1u);
}

TEST(MigrationPlanner, SkipsStreamsThatMayNotMove) {
  std::vector<PlanGateway> gws = {gw(1, {1e8, 2e8, 3e8}, 1), gw(2, {}, 100)};
  gws[0].streams[0].movable = false;  // cooling down
  Plan plan = plan_balance(gws, net_only());
  ASSERT_FALSE(plan.moves.empty());
  for (const Move& m : plan.moves) EXPECT_NE(m.stream_id, 1u);
}

TEST(MigrationPlanner, NoPlanWhenNoMoveLowersTheLsd) {
  // One big stream: moving it just mirrors the imbalance, which does not lower the LSD.
  std::vector<PlanGateway> gws = {gw(1, {5e8}, 1), gw(2, {}, 100)};
  Plan plan = plan_balance(gws, net_only());
  EXPECT_TRUE(plan.moves.empty());
  EXPECT_DOUBLE_EQ(plan.lsd_after, plan.lsd_before);
}

TEST(MigrationPlanner, BalancedClusterNeedsNothing) {
  std::vector<PlanGateway> gws = {gw(1, {1e8, 1e8}, 1), gw(2, {2e8}, 10), gw(3, {1e8, 1e8}, 20)};
  EXPECT_TRUE(plan_balance(gws, net_only()).moves.empty());
}

TEST(MigrationPlanner, DrainMovesEverythingToOtherGateways) {
  std::vector<PlanGateway> gws = {gw(1, {1e8, 2e8, 3e8}, 1), gw(2, {4e8}, 10), gw(3, {}, 20)};
  gws[0].draining = true;
  Plan plan = plan_drain(gws, net_only());
  ASSERT_EQ(plan.moves.size(), 3u);
  for (const Move& m : plan.moves) {
    EXPECT_EQ(m.from, 1u);
    EXPECT_NE(m.to, 1u);
  }
  // Least loaded first: stream 1 (0.1) to gateway 3 (0), stream 2 (0.2) to gateway 3
  // (0.1), stream 3 (0.3) to gateway 3 (0.3 < 0.4).
  EXPECT_EQ(plan.moves[0].to, 3u);
  EXPECT_EQ(plan.moves[1].to, 3u);
  EXPECT_EQ(plan.moves[2].to, 3u);
  // Never onto another draining gateway.
  gws[2].draining = true;
  for (const Move& m : plan_drain(gws, net_only()).moves) EXPECT_EQ(m.to, 2u);
}

TEST(MigrationPlanner, StreamLoadIncludesCpuShare) {
  PlanGateway g = gw(1, {}, 1);
  g.cpu_per_bps = 1e-9;
  PlanParams p;
  p.weight_cpu = 0.5;
  p.weight_memory = 0.25;
  p.weight_net = 0.25;
  PlanStream s{1, 1e8, 2e8, true};
  EXPECT_NEAR(stream_load(g, s, p), 0.25 * 0.1 + 0.25 * 0.2 + 0.5 * 0.1, 1e-12);
}

}  // namespace
}  // namespace aigw::controller
