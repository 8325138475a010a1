#include "sim/gpu/gpu_node.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "protocol/control.pb.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_sender.h"
#include "tests/common/gpu_server_wire.h"
#include "sim/gpu/gpu_stats.h"

namespace aigw::sim {
namespace {

constexpr int64_t kMs = 1'000'000;

using Captured = test::CapturedControl<GpuOutput, UdpEndpoint>;
using Datagram = Captured::Datagram;
using Wire = test::FragmentWire;

class GpuNodeTest : public ::testing::Test {
 protected:
  GpuNodeTest() : out_(keys_, gpu_sender_id(7)) {
    cfg_.server.gpu_id = 7;
    cfg_.server.key = node_key();
    cfg_.server.models = {"openpose"};
    make_endpoint("127.0.0.1", 7500, cfg_.server.data_endpoint);
    make_endpoint("127.0.0.1", 7501, cfg_.server.control_endpoint);
    cfg_.server.receiver.unit_deadline_ns = 500 * kMs;
    cfg_.accelerator.scale = 0;
    cfg_.accelerator.inference_ns = 2 * kMs;
    make_endpoint("127.0.0.1", 9001, gw_a_);
    make_endpoint("127.0.0.1", 9002, gw_b_);
    sender_.add_stream(42);
  }

  // A unit of `len` content bytes plus its digest, fragmented by the real sender.
  std::vector<std::vector<uint8_t>> fragments(uint32_t seq, uint32_t len, bool corrupt = false) {
    std::vector<uint8_t> unit(len + kUnitDigestSize);
    for (uint32_t i = 0; i < len; ++i) unit[i] = static_cast<uint8_t>(seq * 31 + i);
    append_unit_digest(unit.data(), len);
    if (corrupt) unit[len / 2] ^= 0x40;
    EXPECT_EQ(sender_.submit(42, seq, unit.data(), static_cast<uint32_t>(unit.size()), 0, now_), SubmitError::ok);
    wire_.packets.clear();
    sender_.poll(now_, 100000);
    return wire_.packets;
  }

  void deliver(GpuNode& node, const std::vector<std::vector<uint8_t>>& pkts, const UdpEndpoint& from,
               const std::set<size_t>& drop = {}) {
    for (size_t i = 0; i < pkts.size(); ++i)
      if (!drop.count(i)) node.on_data(from, pkts[i].data(), pkts[i].size(), now_);
  }

  void run_until(GpuNode& node, int64_t t) {
    while (node.next_deadline_ns() <= t) {
      now_ = std::max(now_, node.next_deadline_ns());
      node.poll(now_);
    }
    now_ = t;
  }

  static ControlKey node_key() {
    ControlKey key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 3 + 1);
    return key;
  }
  // The controller's PeerKeys: the pair keys of the gateways at gw_a_ and gw_b_.
  void give_peer_keys(GpuNode& node) {
    const auto d = test::peer_keys_datagram(cfg_.server.key, {{1, "127.0.0.1", 9001}, {2, "127.0.0.1", 9002}});
    node.on_control(d.data(), d.size());
  }

  test::GpuServerKeys keys_{node_key()};
  Captured out_;
  GpuNodeConfig cfg_;
  UdpEndpoint gw_a_, gw_b_;
  Wire wire_;
  UnitSender sender_{SenderConfig{}, wire_};
  int64_t now_ = 1'000 * kMs;
};

TEST_F(GpuNodeTest, RegistersWithItsModelsAndAddresses) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  auto regs = out_.of<ctl::GpuRegister>(out_.controller, MessageType::gpu_register);
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].gpu_id(), 7u);
  EXPECT_EQ(regs[0].port(), 7500u);
  EXPECT_EQ(regs[0].address(), "127.0.0.1");
  ASSERT_EQ(regs[0].models_size(), 1);
  EXPECT_EQ(regs[0].models(0), "openpose");
  EXPECT_FALSE(regs[0].leaving());
  node.leave();
  regs = out_.of<ctl::GpuRegister>(out_.controller, MessageType::gpu_register);
  EXPECT_TRUE(regs.back().leaving());
}

TEST_F(GpuNodeTest, WholeUnitIsVerifiedAndAcknowledgedToItsGateway) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  deliver(node, fragments(0, 20'000), gw_a_);
  auto acks = out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].stream_id(), 42u);
  EXPECT_EQ(acks[0].unit_seq(), 0u);
  EXPECT_TRUE(out_.gateway[0].to == gw_a_);
  EXPECT_EQ(node.streams().at(42).verified, 1u);
  run_until(node, now_ + 10 * kMs);
  EXPECT_EQ(node.accelerator().stats()[0].units_inferred, 1u);
}

// The gateway probes a unit whose ack it never got with the unit's last fragment
// (retransmission flag set): a verified unit is acknowledged again, once per probe; a
// corrupt one is not, and an ordinary late duplicate earns nothing.
TEST_F(GpuNodeTest, AProbeOfAVerifiedUnitIsAcknowledgedAgain) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  const auto good = fragments(0, 20'000);
  deliver(node, good, gw_a_);
  const auto bad = fragments(1, 20'000, /*corrupt=*/true);
  deliver(node, bad, gw_a_);
  ASSERT_EQ(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).size(), 1u);

  const auto as_probe = [](std::vector<uint8_t> d) {  // the sender's resend of the last fragment
    DataHeader h;
    EXPECT_EQ(decode_data_header(d.data(), d.size(), h), DecodeError::ok);
    EXPECT_NE(h.flags & data_flag::last_fragment, 0);
    h.flags |= data_flag::retransmission;
    encode_data_header(h, d.data());
    return d;
  };
  const std::vector<uint8_t> probe = as_probe(good.back());
  node.on_data(gw_a_, good.back().data(), good.back().size(), now_);  // a plain duplicate
  EXPECT_EQ(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).size(), 1u);
  node.on_data(gw_a_, probe.data(), probe.size(), now_);
  auto acks = out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[1].unit_seq(), 0u);
  EXPECT_EQ(node.counters().acks_repeated, 1u);

  const std::vector<uint8_t> bad_probe = as_probe(bad.back());
  node.on_data(gw_a_, bad_probe.data(), bad_probe.size(), now_);
  EXPECT_EQ(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).size(), 2u);
}

TEST_F(GpuNodeTest, MissingFragmentsAreNackedToTheGatewayAndRecovered) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  auto pkts = fragments(0, 20'000);
  ASSERT_GT(pkts.size(), 10u);
  deliver(node, pkts, gw_a_, {3, 7});
  run_until(node, now_ + 100 * kMs);
  auto nacks = out_.of<ctl::RetransmitRequest>(out_.gateway, MessageType::retransmit_request);
  ASSERT_GE(nacks.size(), 1u);
  const auto& n = nacks[0];
  EXPECT_EQ(n.stream_id(), 42u);
  EXPECT_EQ(n.missing_count(), 2u);
  for (const auto& d : out_.gateway) EXPECT_TRUE(d.to == gw_a_);
  // The gateway (here the real sender) answers with exactly the missing fragments.
  EXPECT_EQ(sender_.on_nack(42, 0, n.fragment_count(), static_cast<NackEncoding>(n.encoding()), n.first_fragment(),
                            n.missing_count(), reinterpret_cast<const uint8_t*>(n.missing().data()),
                            n.missing().size(), now_),
            NackAnswer::queued);
  wire_.packets.clear();
  sender_.poll(now_, 1000);
  EXPECT_EQ(wire_.packets.size(), 2u);
  deliver(node, wire_.packets, gw_a_);
  const auto& rec = node.streams().at(42);
  EXPECT_EQ(rec.verified, 1u);
  EXPECT_EQ(rec.recovered, 1u);
  EXPECT_EQ(node.counters().acks_sent, 1u);
}

TEST_F(GpuNodeTest, CorruptUnitIsCountedAndNotAcknowledged) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  deliver(node, fragments(0, 5'000, /*corrupt=*/true), gw_a_);
  EXPECT_EQ(node.counters().units_corrupt, 1u);
  EXPECT_EQ(node.streams().at(42).corrupt, 1u);
  EXPECT_EQ(node.counters().acks_sent, 0u);
  EXPECT_EQ(node.accelerator().stats()[0].units_inferred + node.accelerator().stats()[0].queued, 0u);
}

TEST_F(GpuNodeTest, UnrecoveredUnitIsReportedLostWithAReason) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  deliver(node, fragments(0, 8'000), gw_a_, {1});
  run_until(node, now_ + 2'000 * kMs);  // nobody answers the NACKs
  const auto& rec = node.streams().at(42);
  EXPECT_EQ(rec.verified, 0u);
  uint64_t lost = 0;
  for (const auto& [reason, n] : rec.lost) {
    EXPECT_TRUE(reason == "deadline" || reason == "nack_rounds") << reason;
    lost += n;
  }
  EXPECT_EQ(lost, 1u);
  const auto j = gpu_stats_json(node, 7);
  EXPECT_EQ(j["counters"]["units_lost"], 1);
  EXPECT_EQ(j["streams"]["42"]["verified"], 0);
}

TEST_F(GpuNodeTest, NacksFollowTheGatewayThatSentEachUnit) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  auto u0 = fragments(0, 8'000);
  auto u1 = fragments(1, 8'000);
  deliver(node, u0, gw_a_, {2});  // the old gateway's last unit misses a fragment
  deliver(node, u1, gw_b_);       // the stream moved to gateway B
  run_until(node, now_ + 100 * kMs);
  auto nacks = out_.of<ctl::RetransmitRequest>(out_.gateway, MessageType::retransmit_request);
  ASSERT_GE(nacks.size(), 1u);
  for (const auto& d : out_.gateway) {
    if (d.type != MessageType::retransmit_request) continue;
    ctl::RetransmitRequest r;
    r.ParseFromString(d.body);
    EXPECT_EQ(r.unit_seq(), 0u);
    EXPECT_TRUE(d.to == gw_a_);
  }
  for (const auto& d : out_.gateway)
    if (d.type == MessageType::unit_ack) {
      EXPECT_TRUE(d.to == gw_b_);
    }
}

TEST_F(GpuNodeTest, ReportsLoadEveryPeriod) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  for (uint32_t s = 0; s < 5; ++s) deliver(node, fragments(s, 4'000), gw_a_);
  run_until(node, now_ + cfg_.server.period_ns + kMs);
  auto syncs = out_.of<ctl::GpuLoadSync>(out_.controller, MessageType::gpu_load_sync);
  ASSERT_EQ(syncs.size(), 1u);
  EXPECT_EQ(syncs[0].gpu_id(), 7u);
  EXPECT_EQ(syncs[0].units_verified(), 5u);
  EXPECT_GT(syncs[0].load(), 0.0);
  EXPECT_LT(syncs[0].load(), 0.1);  // 5 units x 2 ms in one second
  ASSERT_EQ(syncs[0].models_size(), 1);
  // All five arrive at once: the first runs alone (2 ms), the other four wait for it and
  // run as one batch of 2 * (1 + 0.15 * 3) = 2.9 ms: mean (2 + 4 * 4.9) / 5 = 4.32 ms.
  EXPECT_NEAR(syncs[0].models(0).batch_latency_ms(), 4.32, 1e-6);
}

TEST_F(GpuNodeTest, MalformedDatagramsAreCountedNotFatal) {
  GpuNode node(cfg_, out_, now_);
  give_peer_keys(node);
  const uint8_t junk[50] = {0x41, 0x47, 9};
  node.on_data(gw_a_, junk, sizeof junk, now_);
  node.on_data(gw_a_, junk, 3, now_);
  EXPECT_EQ(node.counters().malformed, 2u);
  EXPECT_TRUE(node.streams().empty());
}

}  // namespace
}  // namespace aigw::sim
