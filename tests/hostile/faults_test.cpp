// Faults with measured recovery, black box: the real controller, socket gateways, GPU
// emulators and edge-SDK devices on loopback, at the default sync period (1 s), and a
// fault injected by a signal. Each case prints its figure (a `fault:` line on stderr,
// collected in docs/reliability.md) and checks what must hold: every unit verified, or
// missing and reported.
#include <signal.h>

#include "tests/controller/cluster_harness.h"
#include "tests/hostile/raw_device.h"

namespace aigw::hostile {
namespace {

using controller::ControllerConfig;
using controller::itest::account;
using controller::itest::Clock;
using controller::itest::expect_lossless;
using controller::itest::finish;
using controller::itest::Fleet;
using controller::itest::GatewayOptions;
using controller::itest::Json;
using controller::itest::kDrainMs;
using controller::itest::metric;
using controller::itest::print_accounts;

constexpr uint64_t kSeed = 20261208;
const uint32_t kDefaultSyncMs = ControllerConfig{}.sync_period_ms;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Json listed_streams(const Cluster& c) {
  const Json page = c.api("/api/v1/streams?limit=10000");
  return page.is_object() && page.contains("streams") && page["streams"].is_array() ? page["streams"] : Json::array();
}

/// Production periods: the controller's defaults, network load only (so admission
/// places the streams evenly and nothing migrates for CPU noise).
ControllerConfig default_periods(const Cluster& c) {
  ControllerConfig cfg = c.controller_config();
  const ControllerConfig defaults;
  cfg.sync_period_ms = defaults.sync_period_ms;
  cfg.dead_after_periods = defaults.dead_after_periods;
  cfg.load.weight_cpu = 0;
  cfg.load.weight_memory = 0;
  cfg.load.weight_net = 1;
  return cfg;
}

/// Starts `gateways` gateways at the default period, `gpus` GPU servers and 4 running
/// streams; false (with the failure recorded) when the cluster did not come up.
::testing::AssertionResult start_cluster(Cluster& c, const ControllerConfig& cfg, uint32_t gateways, uint32_t gpus,
                                         Fleet& fleet) {
  c.start_controller(cfg);
  for (uint32_t g = 1; g <= gateways; ++g) c.start_gateway(g, GatewayOptions{0.01, kDefaultSyncMs});
  for (uint32_t g = 1; g <= gpus; ++g) c.start_gpu(g);
  if (!c.wait_ready(gateways, gpus, 8000)) return ::testing::AssertionFailure() << "cluster not ready";
  for (uint32_t d = 1; d <= 4; ++d)
    if (fleet.open(d) == 0) return ::testing::AssertionFailure() << "device " << d << " not admitted";
  fleet.start();
  return ::testing::AssertionSuccess();
}

TEST(Faults, KilledGatewaysStreamsAreRehomedAndSendingAgainWithinThreeSeconds) {
  Cluster c;
  ControllerConfig cfg = default_periods(c);
  cfg.migration_cooldown_ms = 60000;
  Fleet fleet(c, kSeed);
  ASSERT_TRUE(start_cluster(c, cfg, 2, 1, fleet));
  c.run_for(1500);
  std::vector<uint32_t> orphans;
  for (uint32_t s : fleet.streams())
    if (fleet.stats(s).gateway_id == 2) orphans.push_back(s);
  ASSERT_FALSE(orphans.empty());

  const auto t0 = Clock::now();
  c.kill_gateway(2);
  ASSERT_TRUE(c.wait_until(
      [&] {
        for (uint32_t s : orphans)
          if (fleet.stats(s).gateway_id == 2) return false;
        return true;
      },
      10000))
      << "the devices were told their new gateway";
  const double rehomed_ms = ms_since(t0);
  std::fprintf(stderr, "fault: gateway SIGKILL (sync period %u ms): %zu streams re-homed and sending again after %.0f ms\n",
               kDefaultSyncMs, orphans.size(), rehomed_ms);
  EXPECT_LT(rehomed_ms, 3000);
  c.run_for(1000);

  auto acc = finish(c, fleet);
  const Json streams = listed_streams(c);
  uint64_t missing = 0, reported = 0;
  for (const auto& [id, a] : acc) {
    EXPECT_EQ(a.corrupt, 0u);
    EXPECT_EQ(a.last_seq, a.last_sent_seq) << "stream " << id << ": units after the failover are delivered";
    ASSERT_LE(a.verified + a.gpu_lost, a.sent);
    missing += a.sent - a.verified - a.gpu_lost;
    for (const auto& s : streams)
      if (s.value("id", 0u) == id) reported += s.value("units_lost_failover", 0ull);
  }
  std::fprintf(stderr, "fault: gateway SIGKILL: %llu units never reached the GPU server, %llu reported lost by the controller\n",
               (unsigned long long)missing, (unsigned long long)reported);
  EXPECT_LE(missing, reported) << "every unit that died with the gateway is reported";
}

TEST(Faults, ControllerKilledAndRestartedLosesNoUnitAndRebuildsItsTablesWithinTwoPeriods) {
  Cluster c;
  ControllerConfig cfg = default_periods(c);
  cfg.admission_warmup_ms = -1;
  Fleet fleet(c, kSeed + 1);
  ASSERT_TRUE(start_cluster(c, cfg, 2, 1, fleet));
  c.run_for(1200);
  std::map<uint32_t, uint32_t> before;
  for (const auto& s : listed_streams(c)) before[s.value("id", 0u)] = s.value("gateway", 0u);
  ASSERT_EQ(before.size(), 4u);

  c.stop_controller(SIGKILL);
  c.run_for(500);
  const auto t0 = Clock::now();
  c.restart_controller();
  ASSERT_TRUE(c.wait_until(
      [&] {
        std::map<uint32_t, uint32_t> now;
        for (const auto& s : listed_streams(c)) now[s.value("id", 0u)] = s.value("gateway", 0u);
        return now == before;
      },
      10000))
      << "the restarted controller lists every stream on its gateway";
  const double rebuilt_ms = ms_since(t0);
  std::fprintf(stderr, "fault: controller SIGKILL + restart (sync period %u ms): stream table rebuilt %.0f ms after the restart\n",
               kDefaultSyncMs, rebuilt_ms);
  EXPECT_LE(rebuilt_ms, 2.0 * kDefaultSyncMs);
  c.run_for(1000);
  auto acc = finish(c, fleet);
  expect_lossless(acc);
  for (uint32_t s : fleet.streams()) EXPECT_EQ(fleet.stats(s).migrations, 0u) << "stream " << s << " never moved";
}

TEST(Faults, ControllerUnreachableForTenSecondsDisturbsNoStream) {
  Cluster c;
  Fleet fleet(c, kSeed + 2);
  ASSERT_TRUE(start_cluster(c, default_periods(c), 2, 1, fleet));
  c.run_for(1000);
  c.signal_controller(SIGSTOP);  // alive, but answers nothing
  c.run_for(10000);
  c.signal_controller(SIGCONT);
  c.run_for(3000);  // it must not mistake its own silence for the gateways' death
  const Json status = c.api("/api/v1/status");
  EXPECT_EQ(status.value("gateways_live", 0u), 2u) << status.dump();
  auto acc = finish(c, fleet);
  expect_lossless(acc);
  uint64_t units = 0;
  for (const auto& [id, a] : acc) units += a.verified;
  std::fprintf(stderr, "fault: controller stopped 10 s: %llu units verified, 0 lost, %zu streams never moved\n",
               (unsigned long long)units, acc.size());
  for (uint32_t s : fleet.streams()) EXPECT_EQ(fleet.stats(s).migrations, 0u) << "stream " << s << " never moved";
}

TEST(Faults, KilledGpuServersStreamsAreSteeredToAnother) {
  Cluster c;
  Fleet fleet(c, kSeed + 3);
  ASSERT_TRUE(start_cluster(c, default_periods(c), 1, 2, fleet));
  c.run_for(1500);
  std::vector<uint32_t> on_gpu2;
  for (const auto& s : listed_streams(c))
    if (s.value("gpu", 0u) == 2) on_gpu2.push_back(s.value("id", 0u));
  ASSERT_FALSE(on_gpu2.empty()) << "the streams are spread over both GPU servers";

  const auto t0 = Clock::now();
  c.kill_gpu(2);
  ASSERT_TRUE(c.wait_until(
      [&] {
        for (const auto& s : listed_streams(c))
          if (s.value("gpu", 0u) == 2) return false;
        return true;
      },
      10000))
      << "every stream steered off the dead GPU server";
  const double steered_ms = ms_since(t0);
  c.run_for(1500);
  fleet.stop();
  c.run_for(kDrainMs);
  auto acc = account(fleet, {c.stop_gpu(1)});
  print_accounts(acc);
  uint64_t after_kill_missing = 0;
  for (uint32_t s : on_gpu2) {
    const auto& a = acc[s];
    EXPECT_EQ(a.last_seq, a.last_sent_seq) << "stream " << s << ": units after the steering reach GPU server 1";
    EXPECT_EQ(a.corrupt, 0u);
  }
  for (const auto& [id, a] : acc) {
    if (std::find(on_gpu2.begin(), on_gpu2.end(), id) != on_gpu2.end()) continue;
    EXPECT_EQ(a.verified, a.sent) << "stream " << id << " was never on the dead GPU server";
    after_kill_missing += a.sent - a.verified;
  }
  const auto m = c.gateway_metrics(1);
  const double released_unacked = metric(m, "aigw_gateway_egress_units_released_total", {{"reason", "expired"}}) +
                                  metric(m, "aigw_gateway_egress_units_released_total", {{"reason", "evicted"}});
  std::fprintf(stderr,
               "fault: GPU server SIGKILL (sync period %u ms, GPU period %u ms): %zu streams steered after %.0f ms; "
               "%.0f units left the gateway's egress store unacknowledged (reported)\n",
               kDefaultSyncMs, controller::itest::kSyncMs, on_gpu2.size(), steered_ms, released_unacked);
  EXPECT_EQ(after_kill_missing, 0u);
}

TEST(Faults, ADeviceThatVanishesMidUnitCostsOneReportedUnitAndItsMemoryComesBack) {
  Cluster c;
  c.start_controller(default_periods(c));
  c.start_gateway(1, GatewayOptions{0.01, kDefaultSyncMs});
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(1, 1, 8000));
  auto gw = [&](const std::string& name, const std::map<std::string, std::string>& l = {}) {
    return metric(c.gateway_metrics(1), "aigw_gateway_" + name, l);
  };
  const double lost_before = gw("port_units_lost_total");
  {
    RawDevice raw(c, 901);
    ASSERT_TRUE(raw.admit(6004, 50));
    ASSERT_TRUE(c.wait_until([&] { return gw("port_streams") == 1; }, 3000));
    // Five of the nine fragments of a unit, then the device is gone (its sockets close).
    std::vector<std::vector<uint8_t>> half;
    for (uint16_t i = 0; i < 5; ++i) half.push_back(fragment(raw.stream(), raw.first_seq(), i, 9, 6004));
    raw.send(half);
    ASSERT_TRUE(c.wait_until([&] { return gw("port_memory_bytes") > 0; }, 2000)) << "the gateway holds the half unit";
  }
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.wait_until([&] { return gw("port_units_lost_total") == lost_before + 1; }, 5000))
      << "the half unit is reported lost";
  const double reported_ms = ms_since(t0);
  EXPECT_EQ(gw("port_memory_bytes"), 0) << "its memory came back";
  const double by_reason = gw("port_units_lost_total", {{"reason", "deadline"}}) +
                           gw("port_units_lost_total", {{"reason", "nack_rounds"}});
  EXPECT_EQ(by_reason, lost_before + 1);
  std::fprintf(stderr, "fault: device vanished mid-unit: unit reported lost after %.0f ms, its memory released\n",
               reported_ms);
}

}  // namespace
}  // namespace aigw::hostile
