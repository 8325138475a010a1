// Hostile control traffic, black box: envelopes that fail each check, authentic
// envelopes with garbage inside, a key bound to one role used to speak for another,
// and an admission flood from thousands of made-up device ids, against the real
// controller and a gateway's control agent while real streams run. Each case waits for
// its rejection counter to move by exactly what was sent.
#include <random>

#include "tests/hostile/raw_device.h"

namespace aigw::hostile {
namespace {

using controller::KeyConfig;
using controller::NodeRole;
using controller::itest::expect_lossless;
using controller::itest::finish;
using controller::itest::Fleet;
using controller::itest::GatewayOptions;
using controller::itest::metric;

constexpr uint64_t kSeed = 20261209;

// A second key the controller holds, bound to the device role.
ControlKey device_key() {
  ControlKey k{};
  k.fill(0x5d);
  return k;
}

/// The body of device `node`'s heartbeat.
std::string device_heartbeat(uint32_t node) {
  ctl::Heartbeat hb;
  hb.set_sender_id(controller::make_sender_id(NodeRole::device, node));
  hb.set_role(ctl::ROLE_DEVICE);
  return hb.SerializeAsString();
}

/// Envelopes of one claimed sender, sealed with whatever key the attacker holds.
class Forger {
 public:
  Forger(NodeRole role, uint32_t node, uint32_t key_id, const ControlKey& key, uint64_t counter = envelope_counter_start())
      : sealer_(controller::make_sender_id(role, node), key_id, key, counter) {}
  std::vector<uint8_t> seal(MessageType t, const std::string& body) {
    std::vector<uint8_t> out;
    sealer_.seal(t, body, out);
    return out;
  }

 private:
  EnvelopeSealer sealer_;
};

class ControlPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = c.controller_config();
    cfg.migration_enabled = false;
    cfg.keys.push_back(KeyConfig{2, KeyRing::to_hex(device_key()), {"device"}});
    c.start_controller(cfg);
    c.start_gateway(1, GatewayOptions{1.0});
    c.start_gpu(1);
    ASSERT_TRUE(c.wait_ready(1, 1));
    for (uint32_t d = 1; d <= 4; ++d) ASSERT_NE(fleet.open(d), 0u);
    fleet.start();
  }
  double controller_rejected(const std::string& reason) const {
    return metric(c.controller_metrics(), "aigw_controller_rx_rejected_total", {{"reason", reason}});
  }
  double gateway_rejected(const std::string& reason) const {
    return metric(c.gateway_metrics(1), "aigw_gateway_control_rejected_total", {{"reason", reason}});
  }
  template <class F>
  ::testing::AssertionResult reaches(F&& value, double want, int timeout_ms = 3000) {
    double last = 0;
    if (c.wait_until([&] { return (last = value()) >= want; }, timeout_ms) && last == want)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "counter is " << last << ", expected " << want;
  }

  Cluster c;
  Fleet fleet{c, kSeed};
};

/// One envelope per check a receiver makes, each failing exactly that check.
std::vector<std::pair<std::string, std::vector<uint8_t>>> broken_envelopes(Forger& f, const std::string& body) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  auto good = [&] { return f.seal(MessageType::heartbeat, body); };
  auto d = good();
  d.resize(40);
  out.push_back({"truncated", d});
  out.push_back({"too_large", std::vector<uint8_t>(65200, 0x41)});
  d = good();
  d[0] = 'X';
  out.push_back({"bad_magic", d});
  d = good();
  d[2] = 9;
  out.push_back({"bad_version", d});
  d = good();
  d[3] = 99;
  out.push_back({"bad_type", d});
  d = good();
  d.push_back(0);
  out.push_back({"length_mismatch", d});
  d = good();
  d[8] = 0x7f;  // key id 0x7fxxxxxx: nobody's
  out.push_back({"unknown_key", d});
  d = good();
  d[24] ^= 0x01;  // the first body byte (the header is 24 bytes)
  out.push_back({"bad_mac", d});
  d = good();
  out.push_back({"ok", d});
  out.push_back({"replayed", d});  // the same envelope again
  return out;
}

TEST_F(ControlPortTest, EveryBrokenEnvelopeIsRejectedByItsReasonAtTheControllerAndTheGateway) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  Forger as_device(NodeRole::device, 77, 1, c.node_key(NodeRole::device, 77));
  for (const auto& [reason, d] : broken_envelopes(as_device, device_heartbeat(77))) {
    if (reason == "ok") {
      attacker.send_all(c.controller_port(), {d});
      continue;
    }
    const double before = controller_rejected(reason);
    attacker.send_all(c.controller_port(), {d});
    EXPECT_TRUE(reaches([&] { return controller_rejected(reason); }, before + 1)) << "controller: " << reason;
  }
  // The same to the gateway's control port, as the controller seals for it: under the
  // gateway's own node key.
  Forger as_controller(NodeRole::controller, 1, 1, c.node_key(NodeRole::gateway, 1));
  ctl::Heartbeat probe;
  probe.set_role(ctl::ROLE_CONTROLLER);
  for (const auto& [reason, d] : broken_envelopes(as_controller, probe.SerializeAsString())) {
    if (reason == "ok") {
      attacker.send_all(c.gateway(1).control_port, {d});
      continue;
    }
    const double before = gateway_rejected(reason);
    attacker.send_all(c.gateway(1).control_port, {d});
    EXPECT_TRUE(reaches([&] { return gateway_rejected(reason); }, before + 1)) << "gateway: " << reason;
  }
  expect_lossless(finish(c, fleet));
}

TEST_F(ControlPortTest, AuthenticGarbageAndMismatchedIdsAreRejectedWithoutEffect) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  Forger device(NodeRole::device, 78, 1, c.node_key(NodeRole::device, 78));
  std::mt19937 rng(kSeed);
  std::vector<std::vector<uint8_t>> garbage;
  for (int i = 0; i < 50; ++i) {
    std::string body(1 + rng() % 300, '\0');
    for (auto& ch : body) ch = char(rng());
    body[0] = char(0xff);  // field 31, wire type 7: never valid protobuf
    garbage.push_back(device.seal(MessageType::admission_request, body));
  }
  const double bad_body = controller_rejected("bad_body");
  attacker.send_all(c.controller_port(), garbage);
  EXPECT_TRUE(reaches([&] { return controller_rejected("bad_body"); }, bad_body + double(garbage.size())));

  // A device closing a stream of another device: the body's device id is not the sender's.
  ctl::StreamClose close;
  close.set_stream_id(fleet.streams().front());
  close.set_device_id(1);
  const double mismatch = controller_rejected("sender_mismatch");
  attacker.send_all(c.controller_port(), {device.seal(MessageType::stream_close, close.SerializeAsString())});
  EXPECT_TRUE(reaches([&] { return controller_rejected("sender_mismatch"); }, mismatch + 1));

  // Garbage inside an authentic envelope to the gateway.
  Forger as_controller(NodeRole::controller, 1, 1, c.node_key(NodeRole::gateway, 1));
  const double invalid = gateway_rejected("invalid_body");
  attacker.send_all(c.gateway(1).control_port,
                    {as_controller.seal(MessageType::stream_assign, std::string("\xff\xff\xff\xff", 4))});
  EXPECT_TRUE(reaches([&] { return gateway_rejected("invalid_body"); }, invalid + 1));
  expect_lossless(finish(c, fleet));
}

TEST_F(ControlPortTest, ADeviceOnlyKeyCannotSpeakForAGateway) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  // Key 2 is bound to the device role: a LoadSync claiming gateway 1 with it is refused,
  // and gateway 1 stays live with its streams.
  Forger impostor(NodeRole::gateway, 1, 2, device_key());
  ctl::LoadSync m;
  m.set_gateway_id(1);
  m.set_period_seq(1u << 30);
  m.set_period_ms(1000);
  m.set_control_address("127.0.0.66");
  m.set_control_port(9);
  const double before = controller_rejected("key_role");
  attacker.send_all(c.controller_port(), {impostor.seal(MessageType::load_sync, m.SerializeAsString())});
  EXPECT_TRUE(reaches([&] { return controller_rejected("key_role"); }, before + 1));
  c.run_for(1500);
  EXPECT_EQ(c.api("/api/v1/status").value("gateways_live", 0u), 1u);
  expect_lossless(finish(c, fleet));
}

TEST_F(ControlPortTest, ADevicesKeyCannotSpeakForTheControllerAnotherDeviceOrAGpuServer) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  // Device 3 is compromised: the attacker holds its node key.
  const ControlKey stolen = c.node_key(NodeRole::device, 3);
  // As the controller, to the gateway: steer stream 1's units to the attacker, drop it.
  Forger fake_controller(NodeRole::controller, 1, 1, stolen);
  ctl::SteerCommand steer;
  steer.set_stream_id(fleet.streams().front());
  steer.set_gpu_id(1);
  steer.set_gpu_address("127.0.0.4");
  steer.set_gpu_port(attacker.port());
  ctl::StreamAssign drop;
  drop.mutable_stream()->set_stream_id(fleet.streams().front());
  drop.set_remove(true);
  const double gw_bad_mac = gateway_rejected("bad_mac");
  attacker.send_all(c.gateway(1).control_port, {fake_controller.seal(MessageType::steer_command, steer.SerializeAsString()),
                                                fake_controller.seal(MessageType::stream_assign, drop.SerializeAsString())});
  EXPECT_TRUE(reaches([&] { return gateway_rejected("bad_mac"); }, gw_bad_mac + 2));
  // Under its own key but claiming another role's id: refused before the MAC.
  Forger own_key_as_gpu(NodeRole::gpu, 1, 1, stolen);
  const double gw_role = gateway_rejected("key_role");
  attacker.send_all(c.gateway(1).control_port, {own_key_as_gpu.seal(MessageType::unit_ack, "")});
  EXPECT_TRUE(reaches([&] { return gateway_rejected("key_role"); }, gw_role + 1));
  // As device 1, to the controller: close device 1's stream.
  Forger as_device_1(NodeRole::device, 1, 1, stolen);
  ctl::StreamClose close;
  close.set_stream_id(fleet.streams().front());
  close.set_device_id(1);
  const double bad_mac = controller_rejected("bad_mac");
  attacker.send_all(c.controller_port(), {as_device_1.seal(MessageType::stream_close, close.SerializeAsString())});
  EXPECT_TRUE(reaches([&] { return controller_rejected("bad_mac"); }, bad_mac + 1));
  // The stream was neither steered away, dropped nor closed.
  expect_lossless(finish(c, fleet));
}

TEST_F(ControlPortTest, CapturedEnvelopesDoNotReplayAfterARestartAndABackwardClockIsReported) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  // A device whose clock is an hour behind (a board without RTC before NTP): refused as
  // stale, counted and logged, not taken for a replay.
  Forger behind(NodeRole::device, 4, 1, c.node_key(NodeRole::device, 4), envelope_counter_start() - 3600'000'000'000ull);
  const double stale = controller_rejected("stale");
  attacker.send_all(c.controller_port(), {behind.seal(MessageType::heartbeat, device_heartbeat(4))});
  EXPECT_TRUE(reaches([&] { return controller_rejected("stale"); }, stale + 1));
  // An envelope of a quiet sender, captured while genuine, then replayed to the
  // controller after it restarted: the new windows start at its start less the skew.
  Forger device(NodeRole::device, 79, 1, c.node_key(NodeRole::device, 79));
  const auto captured = device.seal(MessageType::heartbeat, device_heartbeat(79));
  const double hb_before = metric(c.controller_metrics(), "aigw_controller_rx_messages_total", {{"type", "heartbeat"}});
  attacker.send_all(c.controller_port(), {captured});
  EXPECT_TRUE(reaches([&] { return metric(c.controller_metrics(), "aigw_controller_rx_messages_total", {{"type", "heartbeat"}}); },
                      hb_before + 1, 5000));
  c.run_for(int(kMaxClockSkewNs / 1000000) + 500);
  c.stop_controller(SIGKILL);
  c.restart_controller();
  ASSERT_TRUE(c.wait_ready(1, 1));
  attacker.send_all(c.controller_port(), {captured});
  EXPECT_TRUE(reaches([&] { return controller_rejected("stale"); }, 1));
  expect_lossless(finish(c, fleet));
}

TEST_F(ControlPortTest, AnAdmissionFloodFromThousandsOfDeviceIdsLeavesRealStreamsAlone) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 4);
  constexpr uint32_t kFake = 3000;
  std::vector<std::vector<uint8_t>> flood;
  for (uint32_t d = 0; d < kFake; ++d) {
    Forger f(NodeRole::device, 10000 + d, 2, device_key());
    ctl::AdmissionRequest r;
    r.set_request_id(d);
    r.set_device_id(10000 + d);
    r.set_unit_bytes(687504);
    r.set_period_ms(1000);
    r.set_model("openpose");
    r.set_control_address("127.0.0.4");
    r.set_control_port(attacker.port());
    r.set_source_address("127.0.0.4");
    r.set_source_port(attacker.port());
    flood.push_back(f.seal(MessageType::admission_request, r.SerializeAsString()));
  }
  attacker.send_all(c.controller_port(), flood);
  c.run_for(2000);
  const auto m = c.controller_metrics();
  const double accepted = metric(m, "aigw_controller_admissions_total", {{"status", "accepted"}});
  double decided = 0;
  for (const auto& s : m)
    if (s.name == "aigw_controller_admissions_total") decided += s.value;
  // Requests beyond what the controller's socket buffer holds are dropped by the kernel:
  // a flood costs the flooder, not the streams.
  std::fprintf(stderr, "admission flood: %u requests from made-up device ids in one burst; %.0f decided, %.0f accepted\n",
               kFake, decided, accepted);
  EXPECT_GT(decided, 0);
  EXPECT_LE(accepted * 687504 * 8, 1e9 * 1.0) << "admission never promises more than the gateway's capacity";
  expect_lossless(finish(c, fleet));
}

}  // namespace
}  // namespace aigw::hostile
