// End to end: a UnitSender and a UnitReceiver wired through a seeded lossy in-memory
// link (loss, reordering, duplication) with NACKs carried back over a lossy return path.
// Every unit must arrive byte-identical or be reported lost with a reason, and every NACK
// must name only fragments the receiver really lacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <vector>

#include "protocol/unit_digest.h"
#include "protocol/unit_receiver.h"
#include "protocol/unit_sender.h"
#include "tests/protocol/test_units.h"

namespace aigw {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kNever = INT64_MAX;

struct Impairment {
  double loss;
  double duplicate;
  int64_t base_delay_ns;
  int64_t jitter_ns;  // uniform extra delay: reorders fragments closer than this
};

// A delayed, impaired one-way path of byte strings.
class Link {
 public:
  Link(uint64_t seed, Impairment imp) : rng_(seed), imp_(imp) {}

  void send(std::vector<uint8_t> bytes, int64_t now) {
    if (chance(imp_.loss)) {
      ++dropped;
      return;
    }
    if (chance(imp_.duplicate)) push(bytes, now);
    push(std::move(bytes), now);
  }
  int64_t next_at() const { return queue_.empty() ? kNever : queue_.top().at; }
  bool pop_due(int64_t now, std::vector<uint8_t>& out) {
    if (queue_.empty() || queue_.top().at > now) return false;
    out = queue_.top().bytes;
    queue_.pop();
    return true;
  }
  size_t dropped = 0;

 private:
  struct Item {
    int64_t at;
    uint64_t order;
    std::vector<uint8_t> bytes;
    bool operator>(const Item& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  void push(std::vector<uint8_t> bytes, int64_t now) {
    const int64_t jitter =
        imp_.jitter_ns > 0 ? std::uniform_int_distribution<int64_t>(0, imp_.jitter_ns)(rng_) : 0;
    queue_.push(Item{now + imp_.base_delay_ns + jitter, order_++, std::move(bytes)});
  }

  std::mt19937_64 rng_;
  Impairment imp_;
  uint64_t order_ = 0;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue_;
};

struct DataPath : PacketOut {
  Link* link = nullptr;
  int64_t now = 0;
  bool send_fragment(uint32_t, const uint8_t* header, const uint8_t* payload, size_t len,
                     uint32_t) override {
    std::vector<uint8_t> dg(header, header + kDataHeaderSize);
    dg.insert(dg.end(), payload, payload + len);
    link->send(std::move(dg), now);
    return true;
  }
};

// NACK serialised as a RetransmitRequest would carry it (fields, then the chunk bytes).
std::vector<uint8_t> pack_nack(const NackOut& n) {
  std::vector<uint8_t> b(20);
  wire::put_u32(b.data(), n.stream_id);
  wire::put_u32(b.data() + 4, n.unit_seq);
  wire::put_u16(b.data() + 8, n.fragment_count);
  wire::put_u8(b.data() + 10, static_cast<uint8_t>(n.chunk.encoding));
  wire::put_u16(b.data() + 12, n.chunk.first_fragment);
  wire::put_u16(b.data() + 14, n.chunk.missing_count);
  b.insert(b.end(), n.chunk.bytes, n.chunk.bytes + n.chunk.size);
  return b;
}

struct Sink : ReceiverEvents {
  // Fragments the receiver has been handed, per unit: a NACK may name none of them.
  std::map<uint64_t, std::set<uint16_t>> delivered;
  std::map<uint64_t, std::vector<uint8_t>> done;
  std::map<uint64_t, LossReason> lost;
  Link* nack_link = nullptr;
  UnitSender* sender = nullptr;
  int64_t now = 0;
  size_t nacks = 0;
  size_t bad_nacks = 0;

  static uint64_t key(uint32_t s, uint32_t q) { return (uint64_t{s} << 32) | q; }

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    const uint64_t k = key(info.stream_id, info.unit_seq);
    EXPECT_EQ(done.count(k) + lost.count(k), 0u);
    done[k].assign(unit.data(), unit.data() + unit.size());
    sender->on_ack(info.stream_id, info.unit_seq);  // egress-style early release
  }
  void on_unit_lost(const LostUnit& info) override {
    const uint64_t k = key(info.stream_id, info.unit_seq);
    EXPECT_EQ(done.count(k) + lost.count(k), 0u);
    lost[k] = info.reason;
  }
  void on_nack(const NackOut& n) override {
    ++nacks;
    std::vector<uint16_t> named(65535);
    size_t count = 0;
    ASSERT_EQ(decode_nack(n.chunk.encoding, n.chunk.first_fragment, n.chunk.missing_count,
                          n.fragment_count, n.chunk.bytes, n.chunk.size, named.data(),
                          named.size(), count),
              NackError::ok);
    const auto& got = delivered[key(n.stream_id, n.unit_seq)];
    for (size_t i = 0; i < count; ++i) {
      if (got.count(named[i])) ++bad_nacks;
    }
    nack_link->send(pack_nack(n), now);
  }
};

struct Outcome {
  size_t units = 0, delivered = 0, lost = 0, nacks = 0;
};

// The pace and delays of a run; the defaults are a fast sender on a short path.
struct Setting {
  double pace_bytes_per_s = 50e6;
  int64_t data_delay_ns = 1 * kMs;
  int64_t nack_delay_ns = 1 * kMs;
  int64_t period_ns = 100 * kMs;
  uint32_t units_per_stream = 8;
};

Outcome run(uint64_t seed, double loss, const Setting& set = Setting{}) {
  const Impairment data_imp{loss, 0.02, set.data_delay_ns, 300'000};
  const Impairment nack_imp{loss, 0.0, set.nack_delay_ns, 100'000};
  Link data_link(seed, data_imp), nack_link(seed * 7 + 1, nack_imp);

  SenderConfig scfg;
  scfg.max_streams = 4;
  scfg.store_units = 8;
  scfg.pace_bytes_per_s = set.pace_bytes_per_s;
  DataPath path;
  path.link = &data_link;
  UnitSender tx(scfg, path);

  ReceiverConfig rcfg;
  rcfg.memory_budget_bytes = 64 << 20;
  rcfg.max_units_in_flight = 64;
  rcfg.max_streams = 4;
  Sink sink;
  sink.nack_link = &nack_link;
  sink.sender = &tx;
  UnitReceiver rx(rcfg, sink);

  // Two streams, one unit each per 100 ms: reference-size units and odd sizes.
  struct Planned {
    int64_t at;
    test::TestUnit unit;
  };
  std::vector<Planned> plan;
  std::mt19937 sizes(static_cast<uint32_t>(seed));
  for (uint32_t s = 1; s <= 2; ++s) {
    tx.add_stream(s);
    rx.add_stream(s, 100);
    for (uint32_t k = 0; k < set.units_per_stream; ++k) {
      const uint32_t content = k % 2 == 0 ? 688684 : 1 + sizes() % 200000;
      plan.push_back({int64_t{k} * set.period_ns + s * 7 * kMs,
                      test::make_unit(s, 100 + k, content, 728, static_cast<uint32_t>(seed))});
    }
  }
  std::sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) { return a.at < b.at; });

  size_t next_submit = 0;
  int64_t now = 0;
  std::vector<uint8_t> bytes;
  for (int guard = 0; guard < 10'000'000; ++guard) {
    int64_t next = next_submit < plan.size() ? plan[next_submit].at : kNever;
    next = std::min({next, data_link.next_at(), nack_link.next_at(), rx.next_deadline_ns()});
    if (tx.has_pending()) next = std::min(next, std::max(now, tx.next_deadline_ns()));
    if (next == kNever) break;
    now = std::max(now, next);
    path.now = now;
    sink.now = now;
    while (next_submit < plan.size() && plan[next_submit].at <= now) {
      const test::TestUnit& u = plan[next_submit++].unit;
      EXPECT_EQ(tx.submit(u.stream_id, u.seq, u.bytes.data(), static_cast<uint32_t>(u.bytes.size()),
                          0, now),
                SubmitError::ok);
    }
    while (data_link.pop_due(now, bytes)) {
      DataHeader h;
      EXPECT_EQ(decode_data_header(bytes.data(), bytes.size(), h), DecodeError::ok);
      sink.delivered[Sink::key(h.stream_id, h.unit_seq)].insert(h.fragment_index);
      rx.on_fragment(h, bytes.data() + kDataHeaderSize, now);
    }
    while (nack_link.pop_due(now, bytes)) {
      tx.on_nack(wire::get_u32(bytes.data()), wire::get_u32(bytes.data() + 4),
                 wire::get_u16(bytes.data() + 8), static_cast<NackEncoding>(bytes[10]),
                 wire::get_u16(bytes.data() + 12), wire::get_u16(bytes.data() + 14),
                 bytes.data() + 20, bytes.size() - 20, now);
    }
    if (rx.next_deadline_ns() <= now) rx.poll(now);
    if (tx.has_pending() && tx.next_deadline_ns() <= now) tx.poll(now);
  }

  EXPECT_EQ(sink.bad_nacks, 0u) << "a NACK named a fragment the receiver had";
  Outcome o;
  o.units = plan.size();
  o.nacks = sink.nacks;
  for (const Planned& p : plan) {
    const uint64_t k = Sink::key(p.unit.stream_id, p.unit.seq);
    const auto d = sink.done.find(k);
    const auto l = sink.lost.find(k);
    EXPECT_NE(d == sink.done.end(), l == sink.lost.end()) << "unit neither delivered nor lost";
    if (d != sink.done.end()) {
      ++o.delivered;
      EXPECT_EQ(d->second, p.unit.bytes);
      EXPECT_TRUE(verify_unit_digest(d->second.data(), d->second.size()));
    } else if (l != sink.lost.end()) {
      ++o.lost;
      EXPECT_TRUE(l->second == LossReason::nack_rounds || l->second == LossReason::deadline)
          << to_string(l->second);
    }
  }
  EXPECT_EQ(rx.units_in_flight(), 0u);
  EXPECT_EQ(rx.memory_in_use(), 0u);
  EXPECT_LE(tx.counters().fragments_resent, rx.counters().nacked_fragments);
  return o;
}

TEST(UnitTransfer, CleanLinkDeliversWithoutNacks) {
  const Outcome o = run(1, 0.0);
  EXPECT_EQ(o.delivered, o.units);
  EXPECT_EQ(o.nacks, 0u);
}

TEST(UnitTransfer, LossyLinksDeliverEveryUnitOrReportIt) {
  for (uint64_t seed : {11u, 22u, 33u}) {
    for (double loss : {0.01, 0.05, 0.10, 0.20}) {
      SCOPED_TRACE(testing::Message() << "seed=" << seed << " loss=" << loss);
      const Outcome o = run(seed, loss);
      EXPECT_EQ(o.delivered + o.lost, o.units);
      EXPECT_GT(o.nacks, 0u);
      // Ten NACK rounds recover everything at these rates with overwhelming probability;
      // at 20% (data and NACKs) a unit may exhaust them, and must then be reported.
      if (loss <= 0.10) {
        EXPECT_EQ(o.delivered, o.units);
      }
      EXPECT_GE(o.delivered, o.units - 1);
    }
  }
}

// The reference stream as a device sends it: 688 KB units once a second paced at twice
// the stream's rate (the SDK's default), so a unit takes half a second to leave and its
// retransmissions queue behind fresh fragments. Up to 10 % independent loss on data,
// retransmissions and NACKs alike, every unit arrives: recovery never gives up early.
TEST(UnitTransfer, ReferenceStreamAtTheDevicesPaceLosesNothingUpToTenPercent) {
  Setting set;
  set.pace_bytes_per_s = 2 * 5.5e6 / 8;
  set.period_ns = 1000 * kMs;
  set.units_per_stream = 6;
  for (uint64_t seed : {5u, 6u}) {
    for (double loss : {0.01, 0.05, 0.10}) {
      SCOPED_TRACE(testing::Message() << "seed=" << seed << " loss=" << loss);
      const Outcome o = run(seed, loss, set);
      EXPECT_EQ(o.delivered, o.units);
    }
  }
}

// Answers that take longer than the initial re-request interval (a device far away or
// busy: 60 ms each way) are waited for once their time is measured, not counted as
// lost rounds; 10 % loss still delivers every unit.
TEST(UnitTransfer, SlowAnswersDoNotExhaustTheRounds) {
  Setting set;
  set.pace_bytes_per_s = 2 * 5.5e6 / 8;
  set.data_delay_ns = 60 * kMs;
  set.nack_delay_ns = 60 * kMs;
  set.period_ns = 1000 * kMs;
  set.units_per_stream = 6;
  for (uint64_t seed : {7u, 8u}) {
    SCOPED_TRACE(testing::Message() << "seed=" << seed);
    const Outcome o = run(seed, 0.10, set);
    EXPECT_EQ(o.delivered, o.units);
  }
}

// A relay as the gateway runs it: device -> (lossy) -> receiver, whose completed
// buffers are handed by reference to an egress sender -> (lossy) -> GPU receiver, which
// NACKs the egress and acknowledges whole units. Units arrive byte-identical, and once
// the GPU side has acknowledged them the relay's pool holds nothing.
TEST(UnitTransfer, RelayForwardsByReferenceAndReleasesOnAck) {
  Link up(5, {0.05, 0.01, 1 * kMs, 200'000}), up_nacks(6, {0.05, 0, 1 * kMs, 0});
  Link down(7, {0.05, 0.01, 1 * kMs, 200'000}), down_nacks(8, {0.05, 0, 1 * kMs, 0});
  SenderConfig scfg;
  scfg.max_streams = 2;
  scfg.store_units = 8;
  scfg.pace_bytes_per_s = 100e6;
  ReceiverConfig rcfg;
  rcfg.max_streams = 2;
  rcfg.max_units_in_flight = 32;
  rcfg.memory_budget_bytes = 32 << 20;

  DataPath dev_path, egress_path;
  dev_path.link = &up;
  egress_path.link = &down;
  UnitSender device(scfg, dev_path);
  UnitSender egress(scfg, egress_path);

  struct Relay : ReceiverEvents {
    UnitSender* egress = nullptr;
    Link* nacks = nullptr;
    int64_t now = 0;
    size_t lost = 0;
    void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
      EXPECT_EQ(egress->submit(info.stream_id, info.unit_seq, std::move(unit), info.flags, now),
                SubmitError::ok);
      EXPECT_FALSE(unit);  // taken by the egress store, not copied
    }
    void on_unit_lost(const LostUnit&) override { ++lost; }
    void on_nack(const NackOut& n) override { nacks->send(pack_nack(n), now); }
  } relay;
  struct Gpu : ReceiverEvents {
    UnitSender* egress = nullptr;
    Link* nacks = nullptr;
    int64_t now = 0;
    size_t lost = 0;
    std::map<uint32_t, std::vector<uint8_t>> units;
    void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
      units[info.unit_seq].assign(unit.data(), unit.data() + unit.size());
      egress->on_ack(info.stream_id, info.unit_seq);
    }
    void on_unit_lost(const LostUnit&) override { ++lost; }
    void on_nack(const NackOut& n) override { nacks->send(pack_nack(n), now); }
  } gpu;
  relay.egress = &egress;
  relay.nacks = &up_nacks;
  gpu.egress = &egress;
  gpu.nacks = &down_nacks;
  UnitReceiver gw_rx(rcfg, relay);
  UnitReceiver gpu_rx(rcfg, gpu);
  device.add_stream(9);
  egress.add_stream(9);
  gw_rx.add_stream(9);
  gpu_rx.add_stream(9);

  std::vector<test::TestUnit> sent;
  for (uint32_t k = 0; k < 6; ++k) sent.push_back(test::make_unit(9, k, k % 2 ? 688684 : 50000 + k));
  size_t next = 0;
  int64_t now = 0;
  std::vector<uint8_t> bytes;
  auto feed_nacks = [&](Link& link, UnitSender& tx) {
    while (link.pop_due(now, bytes)) {
      tx.on_nack(wire::get_u32(bytes.data()), wire::get_u32(bytes.data() + 4),
                 wire::get_u16(bytes.data() + 8), static_cast<NackEncoding>(bytes[10]),
                 wire::get_u16(bytes.data() + 12), wire::get_u16(bytes.data() + 14),
                 bytes.data() + 20, bytes.size() - 20, now);
    }
  };
  auto feed_data = [&](Link& link, UnitReceiver& rx) {
    while (link.pop_due(now, bytes)) {
      DataHeader h;
      ASSERT_EQ(decode_data_header(bytes.data(), bytes.size(), h), DecodeError::ok);
      rx.on_fragment(h, bytes.data() + kDataHeaderSize, now);
    }
  };
  for (int guard = 0; guard < 5'000'000; ++guard) {
    int64_t t = next < sent.size() ? static_cast<int64_t>(next) * 50 * kMs : kNever;
    t = std::min({t, up.next_at(), up_nacks.next_at(), down.next_at(), down_nacks.next_at(),
                  gw_rx.next_deadline_ns(), gpu_rx.next_deadline_ns()});
    for (UnitSender* tx : {&device, &egress}) {
      if (tx->has_pending()) t = std::min(t, std::max(now, tx->next_deadline_ns()));
    }
    if (t == kNever) break;
    now = std::max(now, t);
    dev_path.now = egress_path.now = relay.now = gpu.now = now;
    while (next < sent.size() && static_cast<int64_t>(next) * 50 * kMs <= now) {
      const test::TestUnit& u = sent[next++];
      ASSERT_EQ(device.submit(9, u.seq, u.bytes.data(), static_cast<uint32_t>(u.bytes.size()), 0, now),
                SubmitError::ok);
    }
    feed_data(up, gw_rx);
    feed_data(down, gpu_rx);
    feed_nacks(up_nacks, device);
    feed_nacks(down_nacks, egress);
    for (UnitReceiver* rx : {&gw_rx, &gpu_rx}) {
      if (rx->next_deadline_ns() <= now) rx->poll(now);
    }
    for (UnitSender* tx : {&device, &egress}) {
      if (tx->has_pending() && tx->next_deadline_ns() <= now) tx->poll(now);
    }
  }
  EXPECT_EQ(relay.lost, 0u);
  EXPECT_EQ(gpu.lost, 0u);
  ASSERT_EQ(gpu.units.size(), sent.size());
  for (const test::TestUnit& u : sent) EXPECT_EQ(gpu.units[u.seq], u.bytes) << u.seq;
  EXPECT_EQ(egress.counters().units_acked, sent.size());
  EXPECT_GT(egress.counters().fragments_resent, 0u);
  EXPECT_EQ(gw_rx.memory_in_use(), 0u);  // every forwarded buffer came back on its ack
  EXPECT_EQ(gpu_rx.memory_in_use(), 0u);
}

// A burst that takes a whole unit (every fragment, so the receiver never learns it
// existed) is recovered by the sender's tail-loss probe: the probe opens the unit at the
// receiver, whose gap NACK asks for the rest. Under fake time, no sockets.
TEST(UnitTransfer, AUnitLostWholeIsRecoveredThroughTheProbe) {
  struct Wire : PacketOut {
    std::vector<std::vector<uint8_t>> sent;
    bool send_fragment(uint32_t, const uint8_t* h, const uint8_t* p, size_t n, uint32_t) override {
      std::vector<uint8_t> d(h, h + kDataHeaderSize);
      d.insert(d.end(), p, p + n);
      sent.push_back(std::move(d));
      return true;
    }
  } wire;
  struct Gpu : ReceiverEvents {
    UnitSender* tx = nullptr;
    int64_t now = 0;
    std::map<uint32_t, std::vector<uint8_t>> units;
    size_t lost = 0;
    void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
      units[info.unit_seq].assign(unit.data(), unit.data() + unit.size());
      tx->on_ack(info.stream_id, info.unit_seq);
    }
    void on_unit_lost(const LostUnit&) override { ++lost; }
    void on_nack(const NackOut& n) override {
      EXPECT_EQ(tx->on_nack(n.stream_id, n.unit_seq, n.fragment_count, n.chunk.encoding, n.chunk.first_fragment,
                            n.chunk.missing_count, n.chunk.bytes, n.chunk.size, now),
                NackAnswer::queued);
    }
  } gpu;
  SenderConfig scfg;
  scfg.max_streams = 2;
  scfg.probe_timeout_ns = 100 * kMs;
  UnitSender tx(scfg, wire);
  gpu.tx = &tx;
  ReceiverConfig rcfg;
  rcfg.max_streams = 2;
  rcfg.max_units_in_flight = 8;
  rcfg.memory_budget_bytes = 8 << 20;
  UnitReceiver rx(rcfg, gpu);
  tx.add_stream(3);
  rx.add_stream(3, 0);

  const test::TestUnit a = test::make_unit(3, 0, 688684), b = test::make_unit(3, 1, 688684);
  ASSERT_EQ(tx.submit(3, 0, a.bytes.data(), static_cast<uint32_t>(a.bytes.size()), 0, 0), SubmitError::ok);
  ASSERT_EQ(tx.submit(3, 1, b.bytes.data(), static_cast<uint32_t>(b.bytes.size()), 0, 0), SubmitError::ok);
  int64_t now = 0;
  tx.poll(now, 100000);
  ASSERT_EQ(wire.sent.size(), size_t{a.count} + b.count);
  // Every fragment of unit 0 is lost; unit 1 arrives whole and is acknowledged.
  for (size_t i = a.count; i < wire.sent.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(decode_data_header(wire.sent[i].data(), wire.sent[i].size(), h), DecodeError::ok);
    rx.on_fragment(h, wire.sent[i].data() + kDataHeaderSize, now);
  }
  ASSERT_EQ(gpu.units.count(1), 1u);
  ASSERT_EQ(gpu.units.count(0), 0u);
  wire.sent.clear();
  for (int guard = 0; guard < 10'000 && gpu.units.count(0) == 0; ++guard) {
    now = std::max(now, std::min(tx.next_deadline_ns(), rx.next_deadline_ns()));
    gpu.now = now;
    tx.poll(now, 100000);
    for (const auto& d : wire.sent) {
      DataHeader h;
      ASSERT_EQ(decode_data_header(d.data(), d.size(), h), DecodeError::ok);
      rx.on_fragment(h, d.data() + kDataHeaderSize, now);
    }
    wire.sent.clear();
    if (rx.next_deadline_ns() <= now) rx.poll(now);
  }
  ASSERT_EQ(gpu.units.count(0), 1u);
  EXPECT_EQ(gpu.units[0], a.bytes);
  EXPECT_EQ(gpu.lost, 0u);
  EXPECT_EQ(tx.counters().probes_sent, 1u);
  EXPECT_EQ(tx.counters().units_acked, 2u);
  EXPECT_LT(now, 300 * kMs);  // one probe timeout and a NACK round trip, not the deadline
}

}  // namespace
}  // namespace aigw
