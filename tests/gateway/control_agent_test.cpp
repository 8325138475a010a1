// ControlAgent, I/O-free: the gateway's bypass agent driven with datagrams and a fake
// clock, its output captured. No sockets, no sleeps.
#include "gateway/agent/control_agent.h"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/control.pb.h"
#include "protocol/nack.h"
#include "tests/gateway/test_units.h"

namespace aigw {
namespace {

constexpr int64_t kMs = 1'000'000;
const uint32_t kGatewaySender = make_sender_id(NodeRole::gateway, 4);
const uint32_t kControllerSender = make_sender_id(NodeRole::controller, 1);
const Ipv4Endpoint kController{0x7f000001, 7700};
const Ipv4Endpoint kDeviceControl{0x7f000002, 4000};
const Ipv4Endpoint kGpu{0x7f000003, 7500};

class FakeDataPlane final : public DataPlane {
 public:
  std::vector<StreamCommand> posted;
  void post(const StreamCommand& cmd) override { posted.push_back(cmd); }
  size_t port_count() const override { return 1; }
  Ipv4Endpoint data_endpoint(size_t) const override { return {0x7f000001, 9000}; }
  PortStatsView port_stats(size_t) const override { return {}; }
  Ipv4Endpoint egress_endpoint() const override { return {0x7f000001, 9100}; }
  size_t pipeline_count() const override { return 0; }
  const PublishedEgressStats& egress_stats(size_t) const override { return egress_; }
  size_t core_count() const override { return 1; }
  void cpu_counters(size_t, uint64_t& busy, uint64_t& total) const override { busy = 0, total = 1; }
  size_t core_of_port(size_t) const override { return 0; }
  void render_backend_metrics(std::string&) const override {}

 private:
  PublishedEgressStats egress_;
};

struct Sent {
  Ipv4Endpoint to;
  std::vector<uint8_t> datagram;
};

class CapturedOut final : public ControlOut {
 public:
  std::vector<Sent> sent;
  bool send_control(const Ipv4Endpoint& to, const uint8_t* d, size_t n) override {
    sent.push_back({to, std::vector<uint8_t>(d, d + n)});
    return true;
  }
};

class ControlAgentTest : public ::testing::Test {
 protected:
  ControlAgentTest() : keys_(kGatewaySender) {
    keys_.add_own(test::kTestKeyId, test::test_key());
    config_.gateway_id = 4;
    config_.key_id = test::kTestKeyId;
    config_.key = test::test_key();
    config_.controller = kController;
    PortConfig p;
    p.port = 9000;
    config_.ports.push_back(p);
    agent_ = std::make_unique<ControlAgent>(config_, keys_, dp_, out_, AgentClock{});
    agent_->start({0x7f000001, 7710}, now_);
  }

  // What the controller seals for this gateway: its node key, a controller sender id.
  std::vector<uint8_t> from_controller(MessageType t, const google::protobuf::MessageLite& m,
                                       const ControlKey& key = test::test_key(), uint32_t sender = kControllerSender) {
    EnvelopeSealer s(sender, test::kTestKeyId, key, ++counter_);
    std::vector<uint8_t> d;
    EXPECT_TRUE(s.seal(t, m.SerializeAsString(), d));
    return d;
  }
  void deliver(const std::vector<uint8_t>& d, const Ipv4Endpoint& from = kController) {
    agent_->on_datagram(d.data(), d.size(), from, now_);
  }
  ctl::StreamAssign assign(uint32_t stream) const {
    ctl::StreamAssign a;
    ctl::StreamEntry* e = a.mutable_stream();
    e->set_stream_id(stream);
    e->set_data_port(9000);
    e->set_source_address("127.0.0.2");
    e->set_device_control_address("127.0.0.2");
    e->set_device_control_port(kDeviceControl.port);
    e->set_gpu_id(1);
    e->set_device_id(test::kTestDeviceId);
    e->set_unit_bytes(4000);
    a.set_gpu_address("127.0.0.3");
    a.set_gpu_port(kGpu.port);
    return a;
  }
  // The control messages sent to `to`, opened with `keys`.
  std::vector<EnvelopeView> sent_to(const Ipv4Endpoint& to, const KeySource& keys) {
    std::vector<EnvelopeView> out;
    EnvelopeOpener o(keys);
    for (const Sent& s : out_.sent) {
      EnvelopeView v;
      if (s.to == to && o.open(s.datagram.data(), s.datagram.size(), v) == EnvelopeError::ok) out.push_back(v);
    }
    return out;
  }
  double metric(const std::string& sample) const {
    std::string text;
    agent_->render_metrics(text);
    const size_t at = text.find(sample + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + sample.size() + 1));
  }

  GatewayConfig config_;
  NodeKeys keys_;
  FakeDataPlane dp_;
  CapturedOut out_;
  std::unique_ptr<ControlAgent> agent_;
  int64_t now_ = 1'000 * kMs;
  uint64_t counter_ = 100;
};

TEST_F(ControlAgentTest, StartRegistersAndReportsUnderItsOwnKey) {
  test::GatewayPeerKeys controller_view;
  const auto sent = sent_to(kController, controller_view);
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[0].type, MessageType::gateway_register);
  bool load_sync = false;
  for (const auto& v : sent) {
    EXPECT_EQ(v.sender_id, kGatewaySender);
    load_sync = load_sync || v.type == MessageType::load_sync;
  }
  EXPECT_TRUE(load_sync);
}

TEST_F(ControlAgentTest, TheControllersAssignReachesTheDataPlaneAndTheNextStreamSync) {
  deliver(from_controller(MessageType::stream_assign, assign(7)));
  ASSERT_EQ(dp_.posted.size(), 1u);
  EXPECT_EQ(dp_.posted[0].kind, StreamCommand::Kind::assign);
  EXPECT_EQ(dp_.posted[0].route.stream_id, 7u);
  EXPECT_EQ(dp_.posted[0].route.gpu, kGpu);
  EXPECT_EQ(dp_.posted[0].route.device_id, test::kTestDeviceId);
  out_.sent.clear();
  now_ += config_.sync_period_ns;
  agent_->sync(now_);
  test::GatewayPeerKeys controller_view;
  bool listed = false;
  for (const auto& v : sent_to(kController, controller_view)) {
    if (v.type != MessageType::stream_sync) continue;
    ctl::StreamSync s;
    ASSERT_TRUE(s.ParseFromArray(v.body, int(v.body_len)));
    for (const auto& e : s.streams()) listed = listed || (e.stream_id() == 7 && e.device_id() == test::kTestDeviceId);
  }
  EXPECT_TRUE(listed);
}

TEST_F(ControlAgentTest, NoOtherKeyOrRoleCanCommandTheGateway) {
  // A device's key (any key but this gateway's) claiming the controller: bad MAC.
  ControlKey device_key = derive_node_key(test::test_key(), make_sender_id(NodeRole::device, 3));
  deliver(from_controller(MessageType::stream_assign, assign(8), device_key));
  EXPECT_EQ(metric("aigw_gateway_control_rejected_total{reason=\"bad_mac\"}"), 1);
  // This gateway's own key with a GPU server's sender id: refused before the MAC.
  deliver(from_controller(MessageType::steer_command, ctl::SteerCommand(), test::test_key(), test::kTestGpuSender));
  EXPECT_EQ(metric("aigw_gateway_control_rejected_total{reason=\"key_role\"}"), 1);
  // A GPU server's pair key is real, but a GPU server may not assign streams.
  EnvelopeSealer gpu = test::gpu_sealer();
  std::vector<uint8_t> d;
  ASSERT_TRUE(gpu.seal(MessageType::stream_assign, assign(9).SerializeAsString(), d));
  deliver(d, kGpu);
  EXPECT_EQ(metric("aigw_gateway_control_rejected_total{reason=\"key_role\"}"), 2);
  EXPECT_TRUE(dp_.posted.empty());
}

TEST_F(ControlAgentTest, NacksGoToTheDeviceUnderItsPairKeyAndProbesToTheController) {
  deliver(from_controller(MessageType::stream_assign, assign(7)));
  out_.sent.clear();
  NackOut n{};
  n.stream_id = 7;
  n.unit_seq = 3;
  n.fragment_count = 10;
  n.round = 1;
  const uint16_t missing[] = {2, 5};
  uint8_t scratch[64];
  encode_nack_chunk(missing, 2, scratch, sizeof scratch, n.chunk);
  agent_->send_nack(kDeviceControl, n);
  test::GatewayPeerKeys device_view;  // derives the pair key of kTestDeviceId
  const auto nacks = sent_to(kDeviceControl, device_view);
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_TRUE(is_pair_key_id(nacks[0].key_id));
  ctl::RetransmitRequest r;
  ASSERT_TRUE(r.ParseFromArray(nacks[0].body, int(nacks[0].body_len)));
  EXPECT_EQ(r.unit_seq(), 3u);
  EXPECT_EQ(r.missing_count(), 2u);

  // A probe from another address is answered to the configured controller only.
  out_.sent.clear();
  ctl::Heartbeat probe;
  probe.set_sender_id(kControllerSender);
  probe.set_role(ctl::ROLE_CONTROLLER);
  probe.set_seq(5);
  deliver(from_controller(MessageType::heartbeat, probe), Ipv4Endpoint{0x7f000009, 1});
  ASSERT_EQ(out_.sent.size(), 1u);
  EXPECT_EQ(out_.sent[0].to, kController);
}

TEST_F(ControlAgentTest, AGpuAckForwardsToTheStreamsEgressAndAReplayIsRefused) {
  deliver(from_controller(MessageType::stream_assign, assign(7)));
  dp_.posted.clear();
  ctl::UnitAck ack;
  ack.set_stream_id(7);
  ack.set_unit_seq(3);
  EnvelopeSealer gpu = test::gpu_sealer();
  std::vector<uint8_t> d;
  ASSERT_TRUE(gpu.seal(MessageType::unit_ack, ack.SerializeAsString(), d));
  deliver(d, kGpu);
  ASSERT_EQ(dp_.posted.size(), 1u);
  EXPECT_EQ(dp_.posted[0].kind, StreamCommand::Kind::gpu_ack);
  EXPECT_EQ(dp_.posted[0].unit_seq, 3u);
  deliver(d, kGpu);
  EXPECT_EQ(dp_.posted.size(), 1u);
  EXPECT_EQ(metric("aigw_gateway_control_rejected_total{reason=\"replayed\"}"), 1);
}

}  // namespace
}  // namespace aigw
