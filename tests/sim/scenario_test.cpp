#include "sim/scenario/scenario_toml.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "sim/scenario/unit_size.h"

namespace aigw::sim {
namespace {

std::string parse(std::string_view text, Scenario& s) {
  try {
    return parse_scenario(toml::parse(text), s);
  } catch (const toml::parse_error& e) {
    return std::string("syntax: ") + std::string(e.description());
  }
}

constexpr std::string_view kMinimal = R"(
[scenario]
name = "t"
duration_periods = 10
[[gateway]]
count = 2
port_capacity_mbps = 100
memory_mb = 64
[[gpu]]
models = ["m"]
[[streams]]
count = 5
model = "m"
unit_bytes = 1000
)";

TEST(Scenario, EveryShippedScenarioParsesAndValidates) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(AIGW_SOURCE_DIR "/sim/scenarios")) {
    if (e.path().extension() != ".toml") continue;
    Scenario s;
    EXPECT_EQ(load_scenario(e.path().string(), s), "") << e.path();
    EXPECT_EQ(s.name, e.path().stem().string());
    EXPECT_EQ(validate(apply_scale(s)), "") << e.path();
    ++n;
  }
  EXPECT_GE(n, 7u);
}

TEST(Scenario, PaperReferenceMatchesTheDesign) {
  for (int streams : {100, 200, 300, 400, 500}) {
    Scenario s;
    ASSERT_EQ(load_scenario(fmt::format(AIGW_SOURCE_DIR "/sim/scenarios/paper-{}.toml", streams), s), "");
    EXPECT_EQ(s.gateways.size(), 4u);
    EXPECT_EQ(s.period_ms, 1000u);
    EXPECT_EQ(s.duration_periods, 100u);
    EXPECT_EQ(s.total_streams(), uint64_t(streams));
    const auto& first = s.streams.front().unit_size.front();
    // 672 KB of content plus the 4-byte digest is exactly 945 fragments of 728 B.
    EXPECT_EQ(std::ceil((first.mean_bytes + 4) / 728), 945);
    EXPECT_EQ(s.streams.front().fragment_payload, 728u);
  }
}

TEST(Scenario, DemoFitsTwoCoresAndLastsAboutAMinute) {
  Scenario s;
  ASSERT_EQ(load_scenario(AIGW_SOURCE_DIR "/sim/scenarios/demo.toml", s), "");
  EXPECT_EQ(s.mode, "live");
  EXPECT_EQ(s.gateways.size(), 4u);
  EXPECT_EQ(s.gpus.size(), 2u);
  EXPECT_GE(s.total_streams(), 200u);
  EXPECT_LE(s.duration_periods * s.period_ms, 60'000u);
  // Some device-hop loss, so the demo shows NACKs and selective retransmission.
  EXPECT_TRUE(s.impairs_device_hop());
  // Under 100 Mbit/s offered once scaled: loopback twice over stays cheap.
  EXPECT_LT(apply_scale(s).nominal_offered_bps(), 100e6);
}

TEST(Scenario, ScaleMultipliesUnitSizePortCapacityAndMemoryTogether) {
  Scenario s;
  ASSERT_EQ(parse(kMinimal, s), "");
  s.scale = 0.1;
  const Scenario k = apply_scale(s);
  EXPECT_DOUBLE_EQ(k.gateways[0].port_capacity_bps, 10e6);
  EXPECT_DOUBLE_EQ(k.gateways[0].memory_bytes, 6.4e6);
  EXPECT_DOUBLE_EQ(k.streams[0].unit_size[0].mean_bytes, 100);
  EXPECT_DOUBLE_EQ(k.scale, 0.1);
  // The dimensionless ratio offered / capacity is unchanged.
  const double cap = 2 * s.gateways[0].port_capacity_bps;
  EXPECT_NEAR(k.nominal_offered_bps() / (2 * k.gateways[0].port_capacity_bps), s.nominal_offered_bps() / cap, 1e-12);
}

TEST(Scenario, CountExpandsTablesWithConsecutiveIds) {
  Scenario s;
  ASSERT_EQ(parse(kMinimal, s), "");
  ASSERT_EQ(s.gateways.size(), 2u);
  EXPECT_EQ(s.gateways[0].id, 1u);
  EXPECT_EQ(s.gateways[1].id, 2u);
  EXPECT_DOUBLE_EQ(s.gateways[1].port_capacity_bps, 100e6);
}

TEST(Scenario, ErrorsNameTheOffendingKey) {
  Scenario s;
  std::string text(kMinimal);
  EXPECT_NE(parse(text + "[controller]\nadmission.algorithm = \"magic\"\n", s).find("controller: "), std::string::npos);
  EXPECT_NE(parse(text + "[controller]\nmigration.theta = 7\n", s).find("controller: "), std::string::npos);
  EXPECT_NE(parse(text + "[[failure]]\nat_period = 3\ngateway = 9\n", s).find("unknown gateway 9"),
            std::string::npos);
  EXPECT_NE(parse(text + "[[failure]]\nat_period = 30\ngateway = 1\n", s).find("after the end"), std::string::npos);
  EXPECT_NE(parse(text + "[impairment]\nloss = 2\n", s).find("impairment"), std::string::npos);
  EXPECT_NE(parse(text + "[[streams]]\ncount = 1\nmodel = \"m\"\n", s).find("streams[1]: needs unit_bytes"),
            std::string::npos);
  EXPECT_NE(parse(text + "[[streams]]\ncount = 1\nmodel = \"other\"\nunit_bytes = 5\n", s).find("no GPU server"),
            std::string::npos);
  EXPECT_NE(parse("[scenario]\nname = 1\n", s).find("'name' must be a string"), std::string::npos);
  EXPECT_NE(parse("[scenario]\nname = \"x\"\n", s).find("no gateways"), std::string::npos);
}

TEST(Scenario, ControllerTableIsTheControllersOwnConfiguration) {
  Scenario s;
  ASSERT_EQ(parse(std::string(kMinimal) +
                      "period_ms = 500\n[controller]\nadmission.algorithm = \"adga\"\nmigration.theta = 0.2\n",
                  s),
            "")
      << "period_ms belongs to [streams] here, so it sets that group's period";
  EXPECT_EQ(s.controller.admission_algorithm, "adga");
  EXPECT_DOUBLE_EQ(s.controller.trigger.theta, 0.2);
  EXPECT_EQ(s.controller.sync_period_ms, 1000u);  // follows the scenario period
}

TEST(Scenario, ImpairmentTableIsSeededFromTheScenario) {
  Scenario s;
  ASSERT_EQ(parse(std::string(kMinimal) + "[impairment]\nloss = 0.05\n[impairment.burst]\np_good_to_bad = 0.01\n", s),
            "");
  EXPECT_TRUE(s.impaired);
  EXPECT_DOUBLE_EQ(s.impairment.loss, 0.05);
  EXPECT_DOUBLE_EQ(s.impairment.burst.p_good_to_bad, 0.01);
  EXPECT_EQ(s.impairment.seed, s.seed);
  EXPECT_EQ(s.impaired_hop, ImpairedHop::device);  // the paper's DPR hop by default
  EXPECT_TRUE(s.impairs_device_hop());
  EXPECT_FALSE(s.impairs_gpu_hop());
}

TEST(Scenario, ImpairmentHopSelectsTheLink) {
  Scenario s;
  ASSERT_EQ(parse(std::string(kMinimal) + "[impairment]\nhop = \"gpu\"\nloss = 0.01\n", s), "");
  EXPECT_FALSE(s.impairs_device_hop());
  EXPECT_TRUE(s.impairs_gpu_hop());
  ASSERT_EQ(parse(std::string(kMinimal) + "[impairment]\nhop = \"both\"\n", s), "");
  EXPECT_TRUE(s.impairs_device_hop());
  EXPECT_TRUE(s.impairs_gpu_hop());
  EXPECT_NE(parse(std::string(kMinimal) + "[impairment]\nhop = \"uplink\"\n", s).find("impairment.hop"),
            std::string::npos);
  EXPECT_NE(parse(std::string(kMinimal) + "[impairment]\nhop = 3\n", s).find("impairment.hop"), std::string::npos);
}

TEST(UnitSize, PhasesSwitchAtTheirPeriodAndNormalMatchesItsMoments) {
  StreamGroup g;
  g.unit_size = {UnitSizePhase{0, SizeDist::constant, 1000, 0, 1, 1e9},
                 UnitSizePhase{10, SizeDist::normal, 50'000, 5'000, 1, 1e9},
                 UnitSizePhase{20, SizeDist::uniform, 3'000, 0, 2'000, 4'000}};
  UnitSizeSampler u(g, mix_seed(1, 0));
  for (uint32_t p = 0; p < 10; ++p) EXPECT_EQ(u.next(p), 1000u);
  double sum = 0, sq = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    const double v = u.next(15);
    sum += v;
    sq += v * v;
  }
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 50'000, 5 * 5'000 / std::sqrt(n));
  EXPECT_NEAR(sd, 5'000, 150);
  for (int i = 0; i < 1000; ++i) {
    const uint32_t v = u.next(25);
    EXPECT_GE(v, 2000u);
    EXPECT_LE(v, 4000u);
  }
}

TEST(UnitSize, PerStreamFactorIsPersistentBoundedAndSeeded) {
  StreamGroup g;
  g.per_stream_spread = 0.2;
  g.unit_size = {UnitSizePhase{}};
  g.unit_size[0].mean_bytes = 10'000;
  double lo = 2, hi = 0;
  for (uint64_t i = 0; i < 500; ++i) {
    UnitSizeSampler u(g, mix_seed(42, i));
    EXPECT_GE(u.stream_factor(), 0.8);
    EXPECT_LE(u.stream_factor(), 1.2);
    lo = std::min(lo, u.stream_factor());
    hi = std::max(hi, u.stream_factor());
    const uint32_t first = u.next(0);
    EXPECT_EQ(u.next(1), first);  // constant phase: same size every period
    UnitSizeSampler again(g, mix_seed(42, i));
    EXPECT_EQ(again.next(0), first);
  }
  EXPECT_LT(lo, 0.82);
  EXPECT_GT(hi, 1.18);
}

}  // namespace
}  // namespace aigw::sim
