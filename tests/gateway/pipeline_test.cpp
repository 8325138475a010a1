// The ingest pipeline with fake I/O and a fake clock: datagrams in, NACKs and unit
// outcomes out to a recording PipelineEvents, egress fragments to a recording EgressOut
// that a test GPU (a protocol UnitReceiver) reassembles.
#include "gateway/core/pipeline.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "gateway/net/checksum.h"
#include "protocol/byte_order.h"
#include "protocol/control.pb.h"
#include "protocol/data_header.h"
#include "protocol/unit_digest.h"
#include "tests/gateway/test_units.h"

namespace aigw {
namespace {

constexpr int64_t kMs = 1'000'000;
const Ipv4Endpoint kDevice{0x7f000001, 40000};
const Ipv4Endpoint kDeviceCtl{0x7f000001, 40001};
const Ipv4Endpoint kGpu{0x7f000001, 50000};

struct Events : PipelineEvents {
  struct Nack {
    Ipv4Endpoint to;
    uint32_t stream, seq;
    std::vector<uint16_t> missing;
    NackOut raw;
    std::vector<uint8_t> bytes;
  };
  std::vector<Nack> nacks;
  std::map<std::pair<uint32_t, uint32_t>, bool> done;  // (stream, seq) -> delivered
  std::vector<std::pair<uint32_t, uint32_t>> released;

  void send_nack(const Ipv4Endpoint& to, const NackOut& n) override {
    Nack r{to, n.stream_id, n.unit_seq, {}, n, {n.chunk.bytes, n.chunk.bytes + n.chunk.size}};
    std::vector<uint16_t> out(65535);
    size_t count = 0;
    EXPECT_EQ(decode_nack(n.chunk.encoding, n.chunk.first_fragment, n.chunk.missing_count, n.fragment_count,
                          n.chunk.bytes, n.chunk.size, out.data(), out.size(), count),
              NackError::ok);
    r.missing.assign(out.begin(), out.begin() + static_cast<long>(count));
    nacks.push_back(std::move(r));
  }
  void unit_done(uint32_t s, uint32_t q, bool delivered, uint32_t, LossReason) override { done[{s, q}] = delivered; }
  void stream_released(uint32_t s, uint32_t last) override { released.push_back({s, last}); }
};

struct Egress : EgressOut {
  std::vector<std::pair<Ipv4Endpoint, std::vector<uint8_t>>> sent;
  std::vector<uint32_t> payload_sums;  // per sent fragment
  bool full = false;
  bool send(const Ipv4Endpoint& to, const uint8_t* h, const uint8_t* p, size_t len, uint32_t payload_sum) override {
    if (full) return false;
    std::vector<uint8_t> d(h, h + kDataHeaderSize);
    d.insert(d.end(), p, p + len);
    sent.push_back({to, std::move(d)});
    payload_sums.push_back(payload_sum);
    return true;
  }
  void flush() override {}
};

/// A GPU server: reassembles egress fragments and keeps the whole units.
struct Gpu : ReceiverEvents {
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>> units;
  std::vector<NackOut> nacks;
  std::vector<std::vector<uint8_t>> nack_bytes;
  void on_unit_complete(const CompletedUnit& info, UnitHandle& u) override {
    units[{info.stream_id, info.unit_seq}] = std::vector<uint8_t>(u.data(), u.data() + u.size());
  }
  void on_unit_lost(const LostUnit&) override {}
  void on_nack(const NackOut& n) override {
    nacks.push_back(n);
    nack_bytes.emplace_back(n.chunk.bytes, n.chunk.bytes + n.chunk.size);
  }
};

struct PipelineTest : ::testing::Test {
  NodeKeys keys{make_sender_id(NodeRole::gateway, 1)};
  Events events;
  Egress egress;
  PipelineConfig pc;
  std::unique_ptr<Pipeline> pipe;
  int64_t now = 1'000 * kMs;

  PipelineTest() {
    keys.add_own(test::kTestKeyId, test::test_key());
    pc.data_ports = {{9000, 64u << 20}, {9001, 8u << 20}};
    pc.receiver.reorder_tolerance_ns = 2 * kMs;
    pc.receiver.unit_deadline_ns = 500 * kMs;
    pc.release_timeout_ns = 200 * kMs;
    pc.egress.store_ttl_ns = 300 * kMs;
    pipe = std::make_unique<Pipeline>(pc, events, egress, keys);
  }

  void assign(uint32_t id, uint16_t port, uint32_t first = 0) {
    StreamCommand c;
    c.kind = StreamCommand::Kind::assign;
    c.route.stream_id = id;
    c.route.data_port = port;
    c.route.source = {kDevice.ip, 0};
    c.route.device_control = kDeviceCtl;
    c.route.gpu = kGpu;
    c.route.first_unit_seq = first;
    pipe->apply(c, now);
  }

  /// Fragments of one unit as the device sends them.
  std::vector<std::vector<uint8_t>> fragments(uint32_t stream, uint32_t seq, size_t content) {
    test::Capture cap;
    SenderConfig sc;
    UnitSender s(sc, cap);
    s.add_stream(stream);
    auto u = test::unit_bytes(stream, seq, content);
    EXPECT_EQ(s.submit(stream, seq, u.data(), static_cast<uint32_t>(u.size()), 0, now), SubmitError::ok);
    while (s.poll(now, 100000) > 0) {
    }
    return cap.packets;
  }

  void feed(size_t port, const std::vector<uint8_t>& d, Ipv4Endpoint from = kDevice) {
    pipe->on_datagram(port, from, d.data(), d.size(), now);
  }

  void advance(int64_t ns) {
    const int64_t end = now + ns;
    while (now < end) {
      now = std::min(end, now + kMs);
      pipe->poll(now, 100000);
    }
  }

  uint64_t stat(size_t port, PortStat s) {
    pipe->publish();
    return pipe->port_stats(port).get(static_cast<size_t>(s));
  }

  /// Reassembles everything the egress sent, as a GPU server would.
  Gpu reassemble_egress() {
    Gpu gpu;
    ReceiverConfig rc;
    UnitReceiver r(rc, gpu);
    std::set<uint32_t> streams;
    for (auto& [to, d] : egress.sent) {
      DataHeader h;
      EXPECT_EQ(to, kGpu);
      ASSERT_EQ_NOFAIL(decode_data_header(d.data(), d.size(), h));
      if (!streams.count(h.stream_id)) {
        r.add_stream(h.stream_id);
        streams.insert(h.stream_id);
      }
      r.on_fragment(h, d.data() + kDataHeaderSize, now);
    }
    return gpu;
  }
  static void ASSERT_EQ_NOFAIL(DecodeError e) { EXPECT_EQ(e, DecodeError::ok); }
};

TEST_F(PipelineTest, WholeUnitIsForwardedByteIdentical) {
  assign(1, 9000);
  auto frags = fragments(1, 0, 100'000);
  for (auto& f : frags) feed(0, f);
  advance(5 * kMs);
  EXPECT_TRUE(events.done.at({1, 0}));
  EXPECT_TRUE(events.nacks.empty());
  Gpu gpu = reassemble_egress();
  ASSERT_EQ(gpu.units.size(), 1u);
  EXPECT_EQ(gpu.units.at({1, 0}), test::unit_bytes(1, 0, 100'000));
  EXPECT_TRUE(verify_unit_digest(gpu.units.at({1, 0}).data(), gpu.units.at({1, 0}).size()));
  EXPECT_EQ(stat(0, PortStat::units_completed), 1u);
  EXPECT_EQ(stat(0, PortStat::datagrams), frags.size());
  EXPECT_EQ(pipe->egress_stats().get(static_cast<size_t>(EgressStat::units_forwarded)), 1u);
}

// Folded ones-complement sum of some bytes, the form the backends hand over.
uint32_t folded_sum(const uint8_t* p, size_t n) {
  return static_cast<uint16_t>(~net::checksum_finish(net::checksum_add(0, p, n)));
}

TEST_F(PipelineTest, IngestPayloadSumsReachEgressForTheSameBytes) {
  pc.receiver.keep_payload_sums = true;
  pipe = std::make_unique<Pipeline>(pc, events, egress, keys);
  assign(1, 9000);
  assign(2, 9000);
  for (auto& f : fragments(1, 0, 100'000)) pipe->on_datagram(0, kDevice, f.data(), f.size(), now, folded_sum(f.data(), f.size()));
  for (auto& f : fragments(2, 0, 50'000)) pipe->on_datagram(0, kDevice, f.data(), f.size(), now);  // no sums known
  advance(5 * kMs);
  ASSERT_EQ(reassemble_egress().units.size(), 2u);
  ASSERT_EQ(egress.payload_sums.size(), egress.sent.size());
  size_t with_sum = 0;
  for (size_t i = 0; i < egress.sent.size(); ++i) {
    const std::vector<uint8_t>& d = egress.sent[i].second;
    DataHeader h;
    ASSERT_EQ(decode_data_header(d.data(), d.size(), h), DecodeError::ok);
    if (h.stream_id == 2) {
      EXPECT_EQ(egress.payload_sums[i], kNoPayloadSum);
      continue;
    }
    ASSERT_LT(egress.payload_sums[i], kNoPayloadSum);
    EXPECT_EQ(egress.payload_sums[i] % 0xffff, folded_sum(d.data() + kDataHeaderSize, h.payload_length) % 0xffff);
    ++with_sum;
  }
  EXPECT_EQ(with_sum, fragments(1, 0, 100'000).size());
}

TEST_F(PipelineTest, NackNamesExactlyTheMissingFragmentsAndRetransmissionCompletes) {
  assign(2, 9000);
  auto frags = fragments(2, 5, 200'000);
  const std::set<uint16_t> lost{3, 4, 100, 101, 102, 200};
  for (size_t i = 0; i < frags.size(); ++i)
    if (!lost.count(static_cast<uint16_t>(i))) feed(0, frags[i]);
  advance(50 * kMs);
  ASSERT_FALSE(events.nacks.empty());
  const auto& n = events.nacks.front();
  EXPECT_EQ(n.to, kDeviceCtl);
  EXPECT_EQ(n.stream, 2u);
  EXPECT_EQ(n.seq, 5u);
  EXPECT_EQ(std::set<uint16_t>(n.missing.begin(), n.missing.end()), lost);
  for (uint16_t i : lost) feed(0, frags[i]);
  advance(5 * kMs);
  EXPECT_TRUE(events.done.at({2, 5}));
  Gpu gpu = reassemble_egress();
  EXPECT_EQ(gpu.units.at({2, 5}), test::unit_bytes(2, 5, 200'000));
}

TEST_F(PipelineTest, EveryDropReasonIsCounted) {
  assign(3, 9000);
  auto frags = fragments(3, 0, 5000);
  // Header decode errors.
  std::vector<uint8_t> bad = frags[0];
  bad[0] ^= 0xff;
  feed(0, bad);
  bad = frags[0];
  bad[20] ^= 1;  // header CRC no longer matches
  feed(0, bad);
  feed(0, std::vector<uint8_t>(frags[0].begin(), frags[0].begin() + 10));
  feed(0, std::vector<uint8_t>(frags[0].begin(), frags[0].end() - 1));
  EXPECT_EQ(stat(0, PortStat::drop_bad_magic), 1u);
  EXPECT_EQ(stat(0, PortStat::drop_bad_header_checksum), 1u);
  EXPECT_EQ(stat(0, PortStat::drop_truncated), 1u);
  EXPECT_EQ(stat(0, PortStat::drop_payload_truncated), 1u);
  // Stream table checks.
  auto other = fragments(99, 0, 5000);
  feed(0, other[0]);
  EXPECT_EQ(stat(0, PortStat::drop_unknown_stream), 1u);
  feed(0, frags[0], Ipv4Endpoint{0x7f000002, 40000});
  EXPECT_EQ(stat(0, PortStat::drop_wrong_source), 1u);
  feed(1, frags[0]);
  EXPECT_EQ(stat(1, PortStat::drop_wrong_port), 1u);
  // Duplicates are the receiver's.
  feed(0, frags[0]);
  feed(0, frags[0]);
  EXPECT_EQ(stat(0, PortStat::fragments_duplicate), 1u);
  EXPECT_EQ(stat(0, PortStat::datagrams), 8u);  // one of the nine went to port 1
}

TEST_F(PipelineTest, SourcePortIsCheckedWhenGiven) {
  StreamCommand c;
  c.kind = StreamCommand::Kind::assign;
  c.route.stream_id = 4;
  c.route.data_port = 9000;
  c.route.source = kDevice;
  c.route.gpu = kGpu;
  pipe->apply(c, now);
  auto frags = fragments(4, 0, 500);  // one fragment
  ASSERT_EQ(frags.size(), 1u);
  feed(0, frags[0], Ipv4Endpoint{kDevice.ip, 40009});
  EXPECT_EQ(stat(0, PortStat::drop_wrong_source), 1u);
  feed(0, frags[0]);
  EXPECT_EQ(stat(0, PortStat::units_completed), 1u);
}

TEST_F(PipelineTest, MemoryStaysWithinBudgetUnderAFloodOfIncompleteUnits) {
  assign(5, 9001);  // 8 MiB budget
  for (uint32_t seq = 0; seq < 60; ++seq) {
    auto frags = fragments(5, seq, 600'000);
    feed(1, frags[0]);  // only the first fragment: never completes
    ASSERT_LE(pipe->receiver(1).memory_in_use(), size_t{8} << 20);
  }
  EXPECT_GT(stat(1, PortStat::units_lost_memory_budget) + stat(1, PortStat::units_lost_superseded), 0u);
  EXPECT_LE(stat(1, PortStat::memory_bytes), size_t{8} << 20);
  advance(600 * kMs);  // everything left expires
  EXPECT_EQ(pipe->receiver(1).memory_in_use(), 0u);
}

TEST_F(PipelineTest, ReleaseAfterUnitFinishesThatUnitAndDropsLaterOnes) {
  assign(6, 9000);
  auto u0 = fragments(6, 0, 20'000);
  auto u1 = fragments(6, 1, 20'000);
  auto u2 = fragments(6, 2, 20'000);
  for (size_t i = 0; i + 1 < u1.size(); ++i) feed(0, u1[i]);  // unit 1 in flight
  StreamCommand rel;
  rel.kind = StreamCommand::Kind::release;
  rel.route.stream_id = 6;
  rel.unit_seq = 1;
  pipe->apply(rel, now);
  for (auto& f : u0) feed(0, f);
  for (auto& f : u2) feed(0, f);  // after the switch point: not ours any more
  EXPECT_EQ(stat(0, PortStat::drop_released), u2.size());
  advance(20 * kMs);
  EXPECT_TRUE(events.released.empty());  // unit 1 still incomplete
  feed(0, u1.back());
  advance(20 * kMs);
  ASSERT_EQ(events.released.size(), 1u);
  EXPECT_EQ(events.released[0], std::make_pair(6u, 1u));
  EXPECT_TRUE(events.done.at({6, 0}));
  EXPECT_TRUE(events.done.at({6, 1}));
  EXPECT_FALSE(events.done.count({6, 2}));
  Gpu gpu = reassemble_egress();
  EXPECT_EQ(gpu.units.size(), 2u);
  feed(0, u0[0]);
  EXPECT_EQ(stat(0, PortStat::drop_released), u2.size() + 1);
  advance(400 * kMs);  // egress store drained: the stream is forgotten
  EXPECT_EQ(pipe->streams().find(6), nullptr);
}

TEST_F(PipelineTest, ExpectFromUnitIgnoresEarlierUnits) {
  assign(7, 9000, 10);
  for (auto& f : fragments(7, 9, 3000)) feed(0, f);
  for (auto& f : fragments(7, 10, 3000)) feed(0, f);
  advance(5 * kMs);
  EXPECT_FALSE(events.done.count({7, 9}));
  EXPECT_TRUE(events.done.at({7, 10}));
}

TEST_F(PipelineTest, GpuNackInAnEnvelopeIsAnsweredAndAckReleases) {
  assign(8, 9000);
  for (auto& f : fragments(8, 0, 50'000)) feed(0, f);
  advance(5 * kMs);
  const size_t first_pass = egress.sent.size();
  ASSERT_GT(first_pass, 10u);
  EnvelopeSealer gpu_sealer = test::gpu_sealer();
  const uint16_t missing[] = {2, 7};
  uint8_t scratch[64];
  NackChunk chunk;
  ASSERT_EQ(encode_nack_chunk(missing, 2, scratch, sizeof scratch, chunk), 2u);
  ctl::RetransmitRequest r;
  r.set_stream_id(8);
  r.set_unit_seq(0);
  r.set_fragment_count(static_cast<uint32_t>(first_pass));
  r.set_encoding(static_cast<ctl::NackEncoding>(chunk.encoding));
  r.set_first_fragment(chunk.first_fragment);
  r.set_missing_count(chunk.missing_count);
  r.set_missing(chunk.bytes, chunk.size);
  std::vector<uint8_t> env;
  ASSERT_TRUE(gpu_sealer.seal(MessageType::retransmit_request, r.SerializeAsString(), env));
  pipe->on_egress_datagram(kGpu, env.data(), env.size(), now);
  advance(2 * kMs);
  ASSERT_EQ(egress.sent.size(), first_pass + 2);
  std::set<uint16_t> resent;
  for (size_t i = first_pass; i < egress.sent.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(decode_data_header(egress.sent[i].second.data(), egress.sent[i].second.size(), h), DecodeError::ok);
    EXPECT_TRUE(h.flags & data_flag::retransmission);
    resent.insert(h.fragment_index);
  }
  EXPECT_EQ(resent, (std::set<uint16_t>{2, 7}));
  // A forged envelope is rejected and counted.
  env[env.size() - 1] ^= 1;
  pipe->on_egress_datagram(kGpu, env.data(), env.size(), now);
  ctl::UnitAck ack;
  ack.set_stream_id(8);
  ack.set_unit_seq(0);
  ASSERT_TRUE(gpu_sealer.seal(MessageType::unit_ack, ack.SerializeAsString(), env));
  pipe->on_egress_datagram(kGpu, env.data(), env.size(), now);
  pipe->publish();
  EXPECT_EQ(pipe->egress_stats().get(static_cast<size_t>(EgressStat::gpu_messages_rejected)), 1u);
  EXPECT_EQ(pipe->egress_stats().get(static_cast<size_t>(EgressStat::gpu_acks)), 1u);
  EXPECT_EQ(pipe->egress_stats().get(static_cast<size_t>(EgressStat::units_acked)), 1u);
  EXPECT_EQ(pipe->receiver(0).memory_in_use(), 0u);  // the acked unit's buffer is back
}

TEST_F(PipelineTest, SteerChangesTheGpuOfLaterUnits) {
  assign(9, 9000);
  for (auto& f : fragments(9, 0, 3000)) feed(0, f);
  advance(2 * kMs);
  StreamCommand st;
  st.kind = StreamCommand::Kind::steer;
  st.route.stream_id = 9;
  st.route.gpu = Ipv4Endpoint{0x7f000001, 50001};
  st.route.gpu_id = 2;
  pipe->apply(st, now);
  const size_t before = egress.sent.size();
  for (auto& f : fragments(9, 1, 3000)) feed(0, f);
  advance(2 * kMs);
  ASSERT_GT(egress.sent.size(), before);
  for (size_t i = before; i < egress.sent.size(); ++i) EXPECT_EQ(egress.sent[i].first.port, 50001);
}

TEST_F(PipelineTest, EgressBackPressureDelaysButLosesNothing) {
  assign(10, 9000);
  egress.full = true;
  for (auto& f : fragments(10, 0, 30'000)) feed(0, f);
  advance(3 * kMs);
  EXPECT_TRUE(egress.sent.empty());
  egress.full = false;
  advance(3 * kMs);
  Gpu gpu = reassemble_egress();
  EXPECT_EQ(gpu.units.at({10, 0}), test::unit_bytes(10, 0, 30'000));
}

}  // namespace
}  // namespace aigw
