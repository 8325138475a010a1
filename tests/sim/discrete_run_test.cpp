#include "sim/discrete/discrete_run.h"

#include <gtest/gtest.h>

#include "sim/scenario/scenario_toml.h"

namespace aigw::sim {
namespace {

Scenario scenario(const std::string& extra) {
  Scenario s;
  const std::string text = R"(
[scenario]
name = "discrete-test"
mode = "discrete"
duration_periods = 20
[controller]
admission.algorithm = "iadga"
[[gateway]]
count = 4
port_capacity_mbps = 1000
memory_mb = 256
[[gpu]]
count = 2
models = ["openpose"]
[[streams]]
count = 200
start_spread_periods = 3
unit_bytes = 687956
)" + extra;
  EXPECT_EQ(parse_scenario(toml::parse(text), s), "");
  return s;
}

TEST(DiscreteRun, RealControllerAdmitsEveryStreamAndBalancesTheGateways) {
  RunReport r;
  ASSERT_EQ(run_discrete(scenario(""), DiscreteOptions{}, r), "");
  EXPECT_EQ(r.streams_requested, 200u);
  EXPECT_EQ(r.streams_admitted, 200u);
  EXPECT_EQ(r.cluster_series.size(), 20u);
  ASSERT_EQ(r.gateways.size(), 4u);
  // 200 streams at ~5.5 Mbit/s over 4 x 1 Gbit/s: each gateway near 275 Mbit/s.
  for (const auto& g : r.gateways) {
    EXPECT_GT(g.streams_final, 40u);
    EXPECT_LT(g.streams_final, 60u);
    EXPECT_GE(g.streams_peak, g.streams_final);
    EXPECT_GT(g.mean_load, 0.05);
  }
  EXPECT_LT(r.mean_lsd(), 0.05);
  EXPECT_GT(r.units_sent, 200u * 15);
  EXPECT_EQ(r.admission_latency.at(0).count, 200u);
}

TEST(DiscreteRun, FailedGatewaysStreamsAreRehomedByTheController) {
  RunReport r;
  ASSERT_EQ(run_discrete(scenario("[[failure]]\nat_period = 8\ngateway = 2\n"), DiscreteOptions{}, r), "");
  EXPECT_EQ(r.gateway_failures, 1u);
  uint32_t on_survivors = 0;
  for (const auto& g : r.gateways) {
    if (g.id == 2) EXPECT_TRUE(g.failed);
    else on_survivors += g.streams_final;
  }
  EXPECT_EQ(on_survivors, 200u);  // every stream found a new home
  EXPECT_GT(r.migrations, 0u);
  // The gateway dies right after taking its period's units; probed when its report is
  // late, it is declared dead 0.8 periods later, so the next units already go elsewhere.
  EXPECT_EQ(r.lost_by_reason["gateway_failed"], 0u);
}

TEST(DiscreteRun, SameSeedSameResult) {
  RunReport a, b;
  ASSERT_EQ(run_discrete(scenario(""), DiscreteOptions{}, a), "");
  ASSERT_EQ(run_discrete(scenario(""), DiscreteOptions{}, b), "");
  ASSERT_EQ(a.gateways.size(), b.gateways.size());
  for (size_t i = 0; i < a.gateways.size(); ++i) EXPECT_EQ(a.gateways[i].streams_final, b.gateways[i].streams_final);
  EXPECT_EQ(a.units_sent, b.units_sent);
}

// Loss rises with load: below the knee utilisation nothing is lost; 520 streams on
// the same 4 x 1 Gbit/s (~0.72 of each line) lose about 1 % of first transmissions on
// every gateway, and each lost fragment is retransmitted (DPR > 0).
TEST(DiscreteRun, PacketLossRisesWithLoadAndIsRetransmitted) {
  RunReport light, heavy;
  ASSERT_EQ(run_discrete(scenario(""), DiscreteOptions{}, light), "");
  Scenario s = scenario("");
  s.streams[0].count = 520;
  ASSERT_EQ(run_discrete(s, DiscreteOptions{}, heavy), "");
  EXPECT_EQ(light.dpr(), 0);
  EXPECT_EQ(heavy.streams_admitted, 520u);
  EXPECT_GT(heavy.dpr(), 0.003);
  EXPECT_LT(heavy.dpr(), 0.03);
  EXPECT_EQ(heavy.fragments_retransmitted, heavy.fragments_missing);
  for (const auto& g : heavy.gateways) EXPECT_GT(g.dpr(), 0) << g.id;
}

TEST(DiscreteRun, BaseLossShowsBelowTheKnee) {
  Scenario s = scenario("");
  for (auto& g : s.gateways) g.base_loss = 0.01;
  RunReport r;
  ASSERT_EQ(run_discrete(s, DiscreteOptions{}, r), "");
  // ~0.28 utilisation, below the knee: DPR is the base rate.
  EXPECT_NEAR(r.dpr(), 0.01, 0.001);
  EXPECT_EQ(r.units_lost, 0u);  // 11 transmissions at 1 % leave no fragment missing
}

}  // namespace
}  // namespace aigw::sim
