// The controller with real processes on loopback: aigw-controller, 2-3 aigw-gateway
// (socket backend), an aigw-gpu-emu that verifies every unit end to end, and devices
// on the edge SDK. Each case accounts for every unit the devices sent: verified at the
// GPU emulator, or reported lost with a reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/controller/cluster_harness.h"

#include "controller/core/node_id.h"
#include "protocol/control.pb.h"

namespace aigw::controller::itest {
namespace {

constexpr uint64_t kSeed = 20260523;
/// The controller's stream rows (a handful of streams: one page), or an empty array.
Json listed_streams(const Cluster& c) {
  const Json page = c.api("/api/v1/streams?limit=10000");
  if (!page.is_object() || !page.contains("streams") || !page["streams"].is_array()) return Json::array();
  return page["streams"];
}

std::map<uint32_t, uint32_t> stream_gateways(const Cluster& c) {
  std::map<uint32_t, uint32_t> out;
  for (const auto& s : listed_streams(c)) out[s.value("id", 0u)] = s.value("gateway", 0u);
  return out;
}

double finished_migrations(const Cluster& c, const std::string& outcome) {
  return metric(c.controller_metrics(), "aigw_controller_migrations_finished_total", {{"outcome", outcome}});
}

/// Units completed (forwarded) and reported lost by the gateways still running.
std::pair<double, double> gateway_units(const Cluster& c, const std::vector<uint32_t>& ids) {
  double completed = 0, lost = 0;
  for (uint32_t id : ids) {
    const auto m = c.gateway_metrics(id);
    EXPECT_FALSE(m.empty()) << "gateway " << id << " metrics";
    completed += metric(m, "aigw_gateway_port_units_completed_total");
    lost += metric(m, "aigw_gateway_port_units_lost_total");
  }
  return {completed, lost};
}

/// Load is the network share alone, so admission and the trigger see exactly the
/// streams (not the CPU noise of processes starting on a shared machine).
void network_load_only(ControllerConfig& cfg) {
  cfg.load.weight_cpu = 0;
  cfg.load.weight_memory = 0;
  cfg.load.weight_net = 1;
}

TEST(Integration, AdmissionSpreadsStreamsOverGatewaysAndDeliversEveryUnit) {
  Cluster c;
  ControllerConfig cfg = c.controller_config();
  cfg.migration_enabled = false;
  network_load_only(cfg);
  c.start_controller(cfg);
  // 10 Mbit/s ports: each ~1 Mbit/s stream is a tenth of a gateway's load.
  for (uint32_t g = 1; g <= 3; ++g) c.start_gateway(g, GatewayOptions{0.01});
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(3, 1));

  Fleet fleet(c, kSeed);
  for (uint32_t d = 1; d <= 6; ++d) ASSERT_NE(fleet.open(d), 0u);
  std::map<uint32_t, int> per_gateway;
  for (const auto& [s, g] : stream_gateways(c)) ++per_gateway[g];
  EXPECT_EQ(per_gateway.size(), 3u) << "every gateway gets streams";
  for (const auto& [g, n] : per_gateway) EXPECT_EQ(n, 2) << "gateway " << g;

  fleet.start();
  c.run_for(1500);
  const auto acc = finish(c, fleet);
  ASSERT_EQ(acc.size(), 6u);
  expect_lossless(acc);
  const auto [completed, lost] = gateway_units(c, {1, 2, 3});
  EXPECT_EQ(completed, double(total_sent(acc))) << "each unit forwarded exactly once";
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(fleet.send_errors(), 0u);
}

TEST(Integration, OverloadAndOperatorMigrationsLoseNoUnit) {
  Cluster c;
  ControllerConfig cfg = c.controller_config();
  network_load_only(cfg);
  cfg.trigger.theta = 0.1;
  cfg.trigger.consecutive = 3;
  c.start_controller(cfg);
  // 6 Mbit/s ports: four ~1 Mbit/s streams put gateway 1 at ~0.7.
  const GatewayOptions small{0.006};
  c.start_gateway(1, small);
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(1, 1));

  Fleet fleet(c, kSeed + 1);
  for (uint32_t d = 1; d <= 4; ++d) ASSERT_NE(fleet.open(d), 0u);
  fleet.start();
  c.run_for(600);
  // A second gateway joins empty: the LSD is far over theta and the controller moves
  // streams onto it, make-before-break.
  c.start_gateway(2, small);
  ASSERT_TRUE(c.wait_until(
      [&] {
        std::map<uint32_t, int> n;
        for (const auto& [s, g] : stream_gateways(c)) ++n[g];
        return finished_migrations(c, "completed") >= 1 && n[1] >= 1 && n[2] >= 1;
      },
      10000))
      << c.api("/api/v1/status").dump();
  EXPECT_GE(metric(c.controller_metrics(), "aigw_controller_migrations_started_total", {{"reason", "balance"}}), 1);
  uint64_t device_migrations = 0;
  for (const auto& [s, g] : stream_gateways(c)) {
    const aigw_stream_stats st = fleet.stats(s);
    EXPECT_EQ(st.gateway_id, g) << "the device of stream " << s << " follows its gateway";
    device_migrations += st.migrations;
  }
  EXPECT_GE(device_migrations, 1u);
  std::fprintf(stderr, "balance migrations: %.0f started, devices switched %llu times\n",
               metric(c.controller_metrics(), "aigw_controller_migrations_started_total", {{"reason", "balance"}}),
               (unsigned long long)device_migrations);

  // The operator moves one of the streams left on gateway 1.
  uint32_t pick = 0;
  for (const auto& [s, g] : stream_gateways(c))
    if (g == 1) pick = s;
  ASSERT_NE(pick, 0u);
  const double before = finished_migrations(c, "completed");
  const auto r = c.aigwctl(fmt::format("migrate {} 2", pick));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(c.wait_until(
      [&] { return stream_gateways(c)[pick] == 2 && finished_migrations(c, "completed") >= before + 1; }, 5000));
  EXPECT_EQ(fleet.stats(pick).gateway_id, 2u);
  c.run_for(500);

  const auto acc = finish(c, fleet);
  ASSERT_EQ(acc.size(), 4u);
  expect_lossless(acc);
  const auto [completed, lost] = gateway_units(c, {1, 2});
  EXPECT_EQ(completed, double(total_sent(acc))) << "no unit forwarded twice across a switch";
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(finished_migrations(c, "aborted_expect") + finished_migrations(c, "aborted_switch"), 0);
}

TEST(Integration, KilledGatewayStreamsFailOverAndInFlightUnitsAreReported) {
  Cluster c;
  ControllerConfig cfg = c.controller_config();
  cfg.migration_enabled = false;
  network_load_only(cfg);  // two streams per gateway
  c.start_controller(cfg);
  for (uint32_t g = 1; g <= 3; ++g) c.start_gateway(g, GatewayOptions{0.01});
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(3, 1));

  Fleet fleet(c, kSeed + 2);
  for (uint32_t d = 1; d <= 6; ++d) ASSERT_NE(fleet.open(d), 0u);
  fleet.start();
  c.run_for(700);
  std::vector<uint32_t> orphans;
  for (const auto& [s, g] : stream_gateways(c))
    if (g == 2) orphans.push_back(s);
  ASSERT_FALSE(orphans.empty());

  c.kill_gateway(2);
  ASSERT_TRUE(c.wait_until(
      [&] {
        for (uint32_t s : orphans)
          if (stream_gateways(c)[s] == 2 || fleet.stats(s).gateway_id == 2) return false;
        return true;
      },
      5000))
      << "streams of the dead gateway re-homed and their devices told";
  EXPECT_EQ(metric(c.controller_metrics(), "aigw_controller_gateway_up", {{"gateway", "2"}}), 0);
  EXPECT_GE(finished_migrations(c, "completed"), double(orphans.size()));
  c.run_for(800);  // units after the failover flow through the survivors

  fleet.stop();
  c.run_for(kDrainMs);
  const Json streams = listed_streams(c);
  const auto acc = account(fleet, {c.stop_gpu(1)});
  print_accounts(acc);
  ASSERT_EQ(acc.size(), 6u);
  uint64_t reported_total = 0;
  for (const auto& [id, a] : acc) {
    const bool orphan = std::find(orphans.begin(), orphans.end(), id) != orphans.end();
    uint64_t reported = 0;  // the controller's failover report for the stream
    for (const auto& s : streams)
      if (s.value("id", 0u) == id) reported = s.value("units_lost_failover", 0ull);
    reported_total += reported;
    if (orphan) std::fprintf(stderr, "stream %u was on the killed gateway: controller reports %llu units lost\n", id,
                             (unsigned long long)reported);
    EXPECT_EQ(a.corrupt, 0u);
    ASSERT_LE(a.verified + a.gpu_lost, a.sent) << "stream " << id << ": nothing counted twice";
    const uint64_t unreported = a.sent - a.verified - a.gpu_lost;
    if (!orphan) {
      EXPECT_EQ(a.verified, a.sent) << "stream " << id;
      EXPECT_EQ(reported, 0u);
      continue;
    }
    // Units the dead gateway held and never forwarded: the GPU never saw them, the
    // controller reports them (reason gateway_dead); partial ones the GPU reports.
    EXPECT_LE(unreported, reported) << "stream " << id << ": every missing unit is reported";
    EXPECT_LE(reported, 40u) << "the gap is bounded by detection time";
    EXPECT_EQ(a.last_seq, a.last_sent_seq) << "units after the failover are delivered";
  }
  EXPECT_EQ(metric(c.controller_metrics(), "aigw_controller_failover_units_lost_total"), double(reported_total));
  EXPECT_EQ(gateway_units(c, {1, 3}).second, 0) << "the survivors lost nothing";
}

TEST(Integration, TargetKilledAfterTheDeviceSwitchedStreamReturnsToItsSource) {
  Cluster c;
  ControllerConfig cfg = c.controller_config();
  cfg.migration_enabled = false;  // only the operator's migration
  cfg.migration_retries = 30;     // RELEASE to the paused source keeps being retried
  c.start_controller(cfg);
  // The source syncs every second (dead after 3 s), the target every 100 ms (300 ms).
  c.start_gateway(1, GatewayOptions{1.0, 1000});
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(1, 1));
  Fleet fleet(c, kSeed + 4);
  const uint32_t s = fleet.open(1);
  ASSERT_NE(s, 0u);
  c.start_gateway(2);
  ASSERT_TRUE(c.wait_ready(2, 1));
  fleet.start();
  c.run_for(500);

  // The source pauses, so the migration stays in its RELEASE phase after the device
  // switched; then the target dies.
  c.signal_gateway(1, SIGSTOP);
  const auto r = c.aigwctl(fmt::format("migrate {} 2", s));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(c.wait_until([&] { return fleet.stats(s).gateway_id == 2; }, 2000)) << "device switched";
  c.run_for(150);
  c.kill_gateway(2);
  ASSERT_TRUE(c.wait_until(
      [&] { return finished_migrations(c, "aborted_target_dead") == 1; }, 2000));
  c.signal_gateway(1, SIGCONT);
  ASSERT_TRUE(c.wait_until(
      [&] { return fleet.stats(s).gateway_id == 1 && stream_gateways(c)[s] == 1 &&
                   finished_migrations(c, "completed") == 1; },
      3000))
      << "the stream is back on its source and the device told";
  EXPECT_EQ(metric(c.controller_metrics(), "aigw_controller_migrations_started_total", {{"reason", "target_dead"}}), 1);
  c.run_for(500);

  fleet.stop();
  c.run_for(kDrainMs);
  const Json streams = listed_streams(c);
  const auto acc = account(fleet, {c.stop_gpu(1)});
  print_accounts(acc);
  ASSERT_EQ(acc.size(), 1u);
  const StreamAccount& a = acc.at(s);
  uint64_t reported = 0;
  for (const auto& e : streams)
    if (e.value("id", 0u) == s) reported = e.value("units_lost_failover", 0ull);
  std::fprintf(stderr, "controller reports %llu units lost with the dead target\n", (unsigned long long)reported);
  EXPECT_GT(reported, 0u);
  ASSERT_LE(a.verified + a.gpu_lost, a.sent);
  EXPECT_LE(a.sent - a.verified - a.gpu_lost, reported) << "every missing unit is reported";
  EXPECT_EQ(a.corrupt, 0u);
  EXPECT_EQ(a.last_seq, a.last_sent_seq) << "units after the return are delivered";
}

TEST(Integration, ControllerRestartLeavesStreamsUndisturbedAndRebuildsTables) {
  Cluster c;
  ControllerConfig cfg = c.controller_config();
  cfg.migration_enabled = false;
  cfg.admission_warmup_ms = -1;  // the restarted controller holds admissions one period
  network_load_only(cfg);          // two streams per gateway
  c.start_controller(cfg);
  c.start_gateway(1, GatewayOptions{0.01});
  c.start_gateway(2, GatewayOptions{0.01});
  c.start_gpu(1);
  ASSERT_TRUE(c.wait_ready(2, 1));

  Fleet fleet(c, kSeed + 3);
  for (uint32_t d = 1; d <= 4; ++d) ASSERT_NE(fleet.open(d), 0u);
  fleet.start();
  c.run_for(500);
  const auto before = stream_gateways(c);
  ASSERT_EQ(before.size(), 4u);

  c.stop_controller(SIGTERM);
  c.run_for(400);  // no controller: the gateways keep forwarding
  c.restart_controller();
  ASSERT_TRUE(c.wait_until([&] { return stream_gateways(c) == before; }, 3000))
      << "stream table rebuilt from StreamSync: " << c.api("/api/v1/streams").dump();
  ASSERT_TRUE(c.wait_ready(2, 1, 3000)) << c.api("/api/v1/status").dump();
  const auto ctl = c.aigwctl("--json streams");
  ASSERT_EQ(ctl.exit_code, 0) << ctl.output;
  const Json listed = Json::parse(ctl.output, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << ctl.output;
  EXPECT_EQ(listed["streams"].size(), 4u);
  EXPECT_EQ(listed["total"], 4);
  const auto gws = c.aigwctl("--json gateways");
  const Json gw = Json::parse(gws.output, nullptr, false);
  ASSERT_TRUE(gw.is_array()) << gws.output;
  EXPECT_EQ(gw.size(), 2u);
  for (const auto& g : gw) EXPECT_TRUE(g.value("alive", false));
  c.run_for(500);

  const auto acc = finish(c, fleet);
  ASSERT_EQ(acc.size(), 4u);
  expect_lossless(acc);
  for (uint32_t s : fleet.streams()) EXPECT_EQ(fleet.stats(s).migrations, 0u) << "stream " << s << " never moved";
  EXPECT_EQ(metric(c.controller_metrics(), "aigw_controller_migrations_started_total"), 0);
  const auto [completed, lost] = gateway_units(c, {1, 2});
  EXPECT_EQ(completed, double(total_sent(acc)));
  EXPECT_EQ(lost, 0);
}

/// A UDP socket on 127.0.0.1 that seals as one gateway.
class RawGateway {
 public:
  RawGateway(uint32_t id, uint32_t key_id, const ControlKey& key)
      : sealer_(make_sender_id(NodeRole::gateway, id), key_id, key, envelope_counter_start()) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ~RawGateway() { close(fd_); }
  std::vector<uint8_t> seal(const ctl::LoadSync& m) {
    std::vector<uint8_t> out;
    sealer_.seal(MessageType::load_sync, m.SerializeAsString(), out);
    return out;
  }
  void send(uint16_t port, const std::vector<uint8_t>& d) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

 private:
  EnvelopeSealer sealer_;
  int fd_ = -1;
};

ctl::LoadSync load_sync(uint32_t gw, uint64_t seq, const std::string& data_address) {
  ctl::LoadSync m;
  m.set_gateway_id(gw);
  m.set_period_seq(seq);
  m.set_period_ms(kSyncMs);
  m.set_control_address("127.0.0.1");
  m.set_control_port(9);
  ctl::PortLoad* p = m.add_ports();
  p->set_address(data_address);
  p->set_port(9);
  p->set_bandwidth_capacity_bps(1e9);
  p->set_memory_capacity_bytes(1e8);
  return m;
}

TEST(Integration, ForgedAndReplayedControlPacketsAreRejectedAndCounted) {
  Cluster c;
  c.start_controller(c.controller_config());
  RawGateway gw(9, 1, c.node_key(NodeRole::gateway, 9));
  const auto genuine = gw.seal(load_sync(9, 1, "127.0.0.9"));
  gw.send(c.controller_port(), genuine);
  gw.send(c.controller_port(), genuine);  // replayed
  auto forged = gw.seal(load_sync(9, 2, "127.0.0.66"));
  forged[forged.size() - 40] ^= 0x20;  // a body byte: the MAC no longer matches
  gw.send(c.controller_port(), forged);
  ControlKey other{};
  other.fill(0x42);
  RawGateway stranger(9, 7, other);  // a key id the controller does not hold
  gw.send(c.controller_port(), stranger.seal(load_sync(9, 3, "127.0.0.67")));

  ASSERT_TRUE(c.wait_until(
      [&] {
        return metric(c.controller_metrics(), "aigw_controller_rx_rejected_total", {{"reason", "unknown_key"}}) == 1;
      },
      3000));
  const auto m = c.controller_metrics();
  EXPECT_EQ(metric(m, "aigw_controller_rx_rejected_total", {{"reason", "replayed"}}), 1);
  EXPECT_EQ(metric(m, "aigw_controller_rx_rejected_total", {{"reason", "bad_mac"}}), 1);
  EXPECT_EQ(metric(m, "aigw_controller_rx_messages_total", {{"type", "load_sync"}}), 1);
  // Only the genuine report changed state.
  const Json gws = c.api("/api/v1/gateways");
  ASSERT_TRUE(gws.is_array());
  ASSERT_EQ(gws.size(), 1u);
  EXPECT_EQ(gws[0]["ports"][0]["address"], "127.0.0.9");
}

}  // namespace
}  // namespace aigw::controller::itest
