#include "protocol/unit_sender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <tuple>
#include <vector>

#include "protocol/data_header.h"
#include "tests/protocol/test_units.h"

namespace aigw {
namespace {

using test::make_unit;
using test::TestUnit;

constexpr int64_t kMs = 1'000'000;

struct Packet {
  DataHeader h;
  std::vector<uint8_t> payload;
  uint32_t payload_sum = kNoPayloadSum;
};

class Capture : public PacketOut {
 public:
  bool send_fragment(uint32_t stream_id, const uint8_t* header, const uint8_t* payload,
                     size_t payload_len, uint32_t payload_sum) override {
    if (full) return false;
    std::vector<uint8_t> dg(header, header + kDataHeaderSize);
    dg.insert(dg.end(), payload, payload + payload_len);
    Packet p;
    EXPECT_EQ(decode_data_header(dg.data(), dg.size(), p.h), DecodeError::ok);
    EXPECT_EQ(p.h.stream_id, stream_id);
    EXPECT_EQ(p.h.payload_length, payload_len);
    p.payload.assign(payload, payload + payload_len);
    p.payload_sum = payload_sum;
    packets.push_back(std::move(p));
    return true;
  }
  bool full = false;
  std::vector<Packet> packets;
};

class Releases : public SenderEvents {
 public:
  void on_unit_released(uint32_t stream_id, uint32_t unit_seq, bool acknowledged) override {
    released.emplace_back(stream_id, unit_seq, acknowledged);
  }
  std::vector<std::tuple<uint32_t, uint32_t, bool>> released;
};

SenderConfig config() {
  SenderConfig c;
  c.max_streams = 16;
  c.store_budget_bytes = 16 << 20;
  c.max_unit_bytes = 4 << 20;
  return c;
}

SubmitError submit(UnitSender& tx, const TestUnit& u, int64_t now = 0) {
  return tx.submit(u.stream_id, u.seq, u.bytes.data(), static_cast<uint32_t>(u.bytes.size()),
                   u.flags, now);
}

// Feeds every chunk of a NACK for `missing` to the sender.
void nack(UnitSender& tx, const TestUnit& u, const std::vector<uint16_t>& missing,
          NackAnswer expect = NackAnswer::queued, int64_t now = 0) {
  std::vector<uint8_t> scratch(1200);
  encode_nack(missing.data(), missing.size(), u.count, scratch.data(), scratch.size(),
              [&](const NackChunk& c) {
                EXPECT_EQ(tx.on_nack(u.stream_id, u.seq, u.count, c.encoding, c.first_fragment,
                                     c.missing_count, c.bytes, c.size, now),
                          expect);
              });
}

TEST(UnitSender, FragmentsWithTheHeaderGeometry) {
  Capture out;
  UnitSender tx(config(), out);
  ASSERT_TRUE(tx.add_stream(4));
  for (uint32_t content : {688684u, 996u, 1u, 727u, 728u}) {
    out.packets.clear();
    TestUnit u = make_unit(4, content, content);
    u.flags = data_flag::encrypted;
    ASSERT_EQ(submit(tx, u), SubmitError::ok);
    EXPECT_TRUE(tx.has_pending());
    tx.poll(0, 100000);
    EXPECT_FALSE(tx.has_pending());
    ASSERT_EQ(out.packets.size(), u.count) << content;
    std::vector<uint8_t> joined;
    for (uint16_t i = 0; i < u.count; ++i) {
      const DataHeader& h = out.packets[i].h;
      EXPECT_EQ(h.fragment_index, i);
      EXPECT_EQ(h.fragment_count, u.count);
      EXPECT_EQ(h.unit_seq, u.seq);
      EXPECT_EQ(h.unit_length, u.bytes.size());
      EXPECT_EQ(h.payload_length, u.geometry().payload_length(i));
      EXPECT_LE(h.payload_length, 728);
      EXPECT_EQ((h.flags & data_flag::last_fragment) != 0, i + 1 == u.count);
      EXPECT_EQ(h.flags & data_flag::retransmission, 0);
      EXPECT_NE(h.flags & data_flag::encrypted, 0);
      joined.insert(joined.end(), out.packets[i].payload.begin(), out.packets[i].payload.end());
    }
    EXPECT_EQ(joined, u.bytes);
  }
  EXPECT_EQ(tx.counters().units_submitted, 5u);
}

TEST(UnitSender, PacesWithATokenBucket) {
  Capture out;
  SenderConfig cfg = config();
  cfg.pace_bytes_per_s = 10e6;
  cfg.burst_bytes = 64 * 1024;
  UnitSender tx(cfg, out);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 688684);
  ASSERT_EQ(submit(tx, u), SubmitError::ok);
  int64_t now = 0;
  size_t polls = 0;
  uint64_t sent_bytes = 0;
  const double wire = kDataHeaderSize + 728;
  while (tx.has_pending()) {
    tx.poll(now, 100000);
    ++polls;
    sent_bytes = tx.counters().bytes_sent;
    // Never ahead of the bucket: depth plus rate * elapsed, plus the one fragment that
    // may take the balance below zero.
    EXPECT_LE(double(sent_bytes), cfg.burst_bytes + cfg.pace_bytes_per_s * double(now) * 1e-9 + wire);
    const int64_t next = tx.next_deadline_ns();
    if (tx.has_pending()) {
      ASSERT_GT(next, now);
      now = next;
    }
    ASSERT_LT(polls, 5000u);
  }
  EXPECT_EQ(out.packets.size(), 946u);
  // The tail left when the bucket allowed it, not later.
  const double ideal_s = (double(sent_bytes) - cfg.burst_bytes) / cfg.pace_bytes_per_s;
  EXPECT_NEAR(double(now) * 1e-9, ideal_s, 0.001);
  // Retuning the rate takes effect.
  tx.set_pace(0);
  ASSERT_EQ(submit(tx, make_unit(1, 1, 688684), now), SubmitError::ok);
  EXPECT_EQ(tx.poll(now, 100000), 946u);
}

TEST(UnitSender, PacedFragmentsLeaveInBatches) {
  Capture out;
  SenderConfig cfg = config();
  cfg.pace_bytes_per_s = 10e6;
  cfg.burst_bytes = 64 * 1024;
  const double wire = kDataHeaderSize + 728;
  cfg.pace_batch_bytes = static_cast<uint32_t>(16 * wire);
  UnitSender tx(cfg, out);
  tx.add_stream(1);
  ASSERT_EQ(submit(tx, make_unit(1, 0, 688684)), SubmitError::ok);
  int64_t now = 0;
  size_t polls = 0;
  std::vector<size_t> batches;
  while (tx.has_pending() && polls < 5000) {
    const size_t before = out.packets.size();
    tx.poll(now, 100000);
    ++polls;
    batches.push_back(out.packets.size() - before);
    EXPECT_LE(double(tx.counters().bytes_sent), cfg.burst_bytes + cfg.pace_bytes_per_s * double(now) * 1e-9 + wire);
    if (tx.has_pending()) now = tx.next_deadline_ns();
  }
  EXPECT_EQ(out.packets.size(), 946u);
  // After the first burst, each wake-up sends a whole batch (16 fragments), not one.
  for (size_t i = 1; i + 1 < batches.size(); ++i) EXPECT_GE(batches[i], 15u) << "poll " << i;
  EXPECT_LT(polls, 946u / 15 + 2);
  // The rate is kept: the last batch left when the bucket allowed it, within one batch.
  const double ideal_s = (double(tx.counters().bytes_sent) - cfg.burst_bytes) / cfg.pace_bytes_per_s;
  EXPECT_NEAR(double(now) * 1e-9, ideal_s, 16 * wire / cfg.pace_bytes_per_s + 1e-4);
}

TEST(UnitSender, AnswersANackWithExactlyThoseFragments) {
  Capture out;
  UnitSender tx(config(), out);
  tx.add_stream(2);
  const TestUnit u = make_unit(2, 77, 688684);
  submit(tx, u);
  tx.poll(0, 100000);
  out.packets.clear();
  for (const std::vector<uint16_t>& missing :
       {std::vector<uint16_t>{3, 10, 11, 12, 500, 945}, std::vector<uint16_t>{100, 101, 102, 103},
        std::vector<uint16_t>{0, 2, 4, 6, 9, 13}}) {
    out.packets.clear();
    nack(tx, u, missing);
    tx.poll(1, 100000);
    ASSERT_EQ(out.packets.size(), missing.size());
    for (size_t k = 0; k < missing.size(); ++k) {
      const Packet& p = out.packets[k];
      EXPECT_EQ(p.h.fragment_index, missing[k]);
      EXPECT_NE(p.h.flags & data_flag::retransmission, 0);
      EXPECT_EQ(p.payload, std::vector<uint8_t>(u.payload(missing[k]),
                                                u.payload(missing[k]) + p.h.payload_length));
    }
  }
  EXPECT_EQ(tx.counters().nacks_received, 3u);
  EXPECT_EQ(tx.counters().fragments_resent, 16u);
}

TEST(UnitSender, RetransmissionsGoFirstAndUnsentFragmentsAreNotDoubled) {
  Capture out;
  UnitSender tx(config(), out);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 100 * 728 - 4);
  submit(tx, u);
  tx.poll(0, 10);
  out.packets.clear();
  nack(tx, u, {2, 5, 50});  // 50 has not gone out yet
  tx.poll(1, 3);
  ASSERT_EQ(out.packets.size(), 3u);
  EXPECT_EQ(out.packets[0].h.fragment_index, 2);
  EXPECT_EQ(out.packets[1].h.fragment_index, 5);
  EXPECT_EQ(out.packets[2].h.fragment_index, 10);
  EXPECT_EQ(out.packets[2].h.flags & data_flag::retransmission, 0);
  tx.poll(2, 1000);
  EXPECT_EQ(out.packets.size(), 2u + 90u);
}

TEST(UnitSender, ExpiresOldUnits) {
  Capture out;
  Releases rel;
  SenderConfig cfg = config();
  cfg.store_ttl_ns = 100 * kMs;
  UnitSender tx(cfg, out, &rel);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 5000);
  submit(tx, u, 0);
  tx.poll(0);
  EXPECT_EQ(tx.next_deadline_ns(), 100 * kMs);
  tx.poll(100 * kMs - 1);
  EXPECT_EQ(tx.counters().units_expired, 0u);
  tx.poll(100 * kMs);
  EXPECT_EQ(tx.counters().units_expired, 1u);
  ASSERT_EQ(rel.released.size(), 1u);
  EXPECT_EQ(rel.released[0], std::make_tuple(1u, 0u, false));
  nack(tx, u, {1}, NackAnswer::unit_not_stored);
  EXPECT_EQ(tx.counters().nacks_unanswerable, 1u);
  EXPECT_EQ(tx.next_deadline_ns(), INT64_MAX);
}

// A unit the receiver has not acknowledged gets its last fragment again after the probe
// timeout, then after twice and four times that; the store's expiry reports it after the
// last probe. Without probe_timeout_ns nothing is probed (ExpiresOldUnits).
TEST(UnitSender, AnUnackedUnitIsProbedWithItsLastFragmentAtDoublingIntervals) {
  Capture out;
  Releases rel;
  SenderConfig cfg = config();
  cfg.probe_timeout_ns = 100 * kMs;
  cfg.max_probes = 3;
  cfg.store_ttl_ns = 3000 * kMs;
  UnitSender tx(cfg, out, &rel);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 4, 5000);
  submit(tx, u, 0);
  tx.poll(0);
  ASSERT_EQ(out.packets.size(), u.count);
  EXPECT_EQ(tx.next_deadline_ns(), 100 * kMs);
  out.packets.clear();
  tx.poll(100 * kMs - 1);
  EXPECT_TRUE(out.packets.empty());
  for (const int64_t at : {100 * kMs, 300 * kMs, 700 * kMs}) {
    tx.poll(at);
    ASSERT_EQ(out.packets.size(), 1u) << at;
    const Packet& p = out.packets[0];
    EXPECT_EQ(p.h.fragment_index, u.count - 1);
    EXPECT_EQ(p.h.flags & (data_flag::retransmission | data_flag::last_fragment),
              data_flag::retransmission | data_flag::last_fragment);
    EXPECT_EQ(p.payload, std::vector<uint8_t>(u.payload(u.count - 1), u.payload(u.count - 1) + p.h.payload_length));
    out.packets.clear();
  }
  EXPECT_EQ(tx.counters().probes_sent, 3u);
  EXPECT_EQ(tx.next_deadline_ns(), 3000 * kMs);  // no fourth probe: only the expiry is left
  tx.poll(3000 * kMs);
  EXPECT_TRUE(out.packets.empty());
  ASSERT_EQ(rel.released.size(), 1u);
  EXPECT_EQ(rel.released[0], std::make_tuple(1u, 4u, false));
}

// A NACK shows the receiver knows the unit: the probe waits a full timeout from it. An
// ack ends probing.
TEST(UnitSender, ANackPostponesTheProbeAndAnAckEndsIt) {
  Capture out;
  SenderConfig cfg = config();
  cfg.probe_timeout_ns = 100 * kMs;
  UnitSender tx(cfg, out);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 5000);
  submit(tx, u, 0);
  tx.poll(0);
  out.packets.clear();
  nack(tx, u, {1}, NackAnswer::queued, 60 * kMs);
  tx.poll(60 * kMs);
  ASSERT_EQ(out.packets.size(), 1u);
  EXPECT_EQ(out.packets[0].h.fragment_index, 1);
  EXPECT_EQ(tx.next_deadline_ns(), 160 * kMs);
  tx.on_ack(1, 0);
  EXPECT_EQ(tx.next_deadline_ns(), INT64_MAX);
  out.packets.clear();
  tx.poll(1000 * kMs);
  EXPECT_TRUE(out.packets.empty());
  EXPECT_EQ(tx.counters().probes_sent, 0u);
}

TEST(UnitSender, AckReleasesTheUnit) {
  Capture out;
  Releases rel;
  UnitSender tx(config(), out, &rel);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 3, 5000);
  submit(tx, u);
  tx.poll(0);
  nack(tx, u, {1, 2});
  tx.on_ack(1, 3);
  EXPECT_EQ(tx.counters().units_acked, 1u);
  ASSERT_EQ(rel.released.size(), 1u);
  EXPECT_EQ(rel.released[0], std::make_tuple(1u, 3u, true));
  out.packets.clear();
  tx.poll(1);  // the queued resends belonged to a released unit
  EXPECT_TRUE(out.packets.empty());
  EXPECT_FALSE(tx.has_pending());
  nack(tx, u, {1}, NackAnswer::unit_not_stored);
  tx.on_ack(1, 3);  // twice is harmless
  tx.on_ack(9, 3);
  EXPECT_EQ(tx.counters().units_acked, 1u);
}

TEST(UnitSender, KeepsTheLastDUnitsPerStream) {
  Capture out;
  Releases rel;
  SenderConfig cfg = config();
  cfg.store_units = 2;
  UnitSender tx(cfg, out, &rel);
  tx.add_stream(1);
  tx.add_stream(2);
  const TestUnit a = make_unit(1, 0, 3000), b = make_unit(1, 1, 3000), c = make_unit(1, 2, 3000);
  const TestUnit other = make_unit(2, 0, 3000);
  submit(tx, a);
  submit(tx, other);
  submit(tx, b);
  submit(tx, c);
  EXPECT_EQ(tx.counters().units_evicted, 1u);
  ASSERT_EQ(rel.released.size(), 1u);
  EXPECT_EQ(rel.released[0], std::make_tuple(1u, 0u, false));
  tx.poll(0, 1000);
  nack(tx, a, {0}, NackAnswer::unit_not_stored);
  nack(tx, b, {0});
  nack(tx, other, {0});
}

TEST(UnitSender, StoreBudgetEvictsOldestAndRefusesTheImpossible) {
  Capture out;
  Releases rel;
  SenderConfig cfg = config();
  UnitBufferPool sizing(1, 1 << 30);
  cfg.store_budget_bytes = 2 * sizing.class_size(100000);
  UnitSender tx(cfg, out, &rel);
  tx.add_stream(1);
  tx.add_stream(2);
  ASSERT_EQ(submit(tx, make_unit(1, 0, 99996)), SubmitError::ok);
  ASSERT_EQ(submit(tx, make_unit(2, 0, 99996)), SubmitError::ok);
  ASSERT_EQ(submit(tx, make_unit(1, 1, 99996)), SubmitError::ok);
  EXPECT_EQ(tx.counters().units_evicted, 1u);
  ASSERT_EQ(rel.released.size(), 1u);
  EXPECT_EQ(rel.released[0], std::make_tuple(1u, 0u, false));
  EXPECT_EQ(submit(tx, make_unit(2, 1, 3 * 100000)), SubmitError::store_full);
}

TEST(UnitSender, RejectsBadSubmissionsAndNacks) {
  Capture out;
  UnitSender tx(config(), out);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 5000);
  EXPECT_EQ(submit(tx, make_unit(9, 0, 10)), SubmitError::unknown_stream);
  EXPECT_EQ(tx.submit(1, 5, u.bytes.data(), 0, 0, 0), SubmitError::empty_unit);
  EXPECT_EQ(tx.submit(1, 5, u.bytes.data(), (4 << 20) + 1, 0, 0), SubmitError::unit_too_large);
  ASSERT_EQ(submit(tx, u), SubmitError::ok);
  EXPECT_EQ(submit(tx, u), SubmitError::sequence_reused);
  const uint8_t bad[] = {0x00, 0x63};  // fragment 99 of a 7-fragment unit
  EXPECT_EQ(tx.on_nack(1, 0, u.count, NackEncoding::list, 0, 1, bad, 2, 0), NackAnswer::malformed);
  const uint8_t one[] = {0x00, 0x01};
  EXPECT_EQ(tx.on_nack(1, 0, u.count + 1, NackEncoding::list, 0, 1, one, 2, 0),
            NackAnswer::malformed);
  EXPECT_EQ(tx.on_nack(2, 0, u.count, NackEncoding::list, 0, 1, one, 2, 0),
            NackAnswer::unknown_stream);
  EXPECT_EQ(tx.counters().nacks_unanswerable, 3u);
  for (SubmitError e : {SubmitError::ok, SubmitError::unknown_stream, SubmitError::empty_unit,
                        SubmitError::unit_too_large, SubmitError::store_full,
                        SubmitError::sequence_reused}) {
    EXPECT_STRNE(to_string(e), "unknown");
  }
  for (NackAnswer a : {NackAnswer::queued, NackAnswer::unknown_stream,
                       NackAnswer::unit_not_stored, NackAnswer::malformed}) {
    EXPECT_STRNE(to_string(a), "unknown");
  }
}

TEST(UnitSender, ZeroCopySubmitReturnsTheBufferOnRelease) {
  Capture out;
  UnitSender tx(config(), out);
  UnitBufferPool pool(1 << 20, 1 << 20);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 9000);
  UnitHandle h = pool.acquire(static_cast<uint32_t>(u.bytes.size()));
  std::memcpy(h.data(), u.bytes.data(), u.bytes.size());
  ASSERT_EQ(tx.submit(1, 0, std::move(h), 0, 0), SubmitError::ok);
  EXPECT_EQ(pool.buffers_in_use(), 1u);
  tx.poll(0, 1000);
  std::vector<uint8_t> joined;
  for (const Packet& p : out.packets) joined.insert(joined.end(), p.payload.begin(), p.payload.end());
  EXPECT_EQ(joined, u.bytes);
  tx.on_ack(1, 0);
  EXPECT_EQ(pool.buffers_in_use(), 0u);
}

TEST(UnitSender, PayloadSumsReachTheTransportWhenTheGeometryMatches) {
  UnitBufferPool pool(4 << 20, 1 << 20);
  const TestUnit u = make_unit(1, 0, 9000);
  const auto len = static_cast<uint32_t>(u.bytes.size());
  const uint32_t sums_at = (len + 7) & ~7u;
  auto with_sums = [&](uint32_t count) {
    UnitHandle h = pool.acquire(sums_at + 2 * count);
    std::memcpy(h.data(), u.bytes.data(), len);
    for (uint32_t i = 0; i < count; ++i) {
      const auto s = static_cast<uint16_t>(1000 + i);
      std::memcpy(h.data() + sums_at + 2 * i, &s, 2);
    }
    h.set_size(len);
    h.set_payload_sums(sums_at, count);
    return h;
  };
  Capture out;
  UnitSender tx(config(), out);
  tx.add_stream(1);
  ASSERT_EQ(tx.submit(1, 0, with_sums(u.count), 0, 0), SubmitError::ok);
  tx.poll(0, 1000);
  ASSERT_EQ(out.packets.size(), u.count);
  for (uint16_t i = 0; i < u.count; ++i) EXPECT_EQ(out.packets[i].payload_sum, 1000u + i);
  nack(tx, u, {3});  // a retransmission carries the same bytes, so the same sum
  tx.poll(1, 1000);
  ASSERT_EQ(out.packets.size(), u.count + 1u);
  EXPECT_EQ(out.packets.back().payload_sum, 1003u);

  // Sums taken with another fragmentation describe other bytes: not passed on.
  out.packets.clear();
  ASSERT_EQ(tx.submit(1, 1, with_sums(u.count + 1u), 0, 0), SubmitError::ok);
  ASSERT_EQ(submit(tx, make_unit(1, 2, 9000)), SubmitError::ok);  // a copy has none
  tx.poll(2, 1000);
  ASSERT_EQ(out.packets.size(), 2u * u.count);
  for (const Packet& p : out.packets) EXPECT_EQ(p.payload_sum, kNoPayloadSum);
}

TEST(UnitSender, FullTransportKeepsTheFragment) {
  Capture out;
  UnitSender tx(config(), out);
  tx.add_stream(1);
  const TestUnit u = make_unit(1, 0, 5000);
  submit(tx, u);
  tx.poll(0, 3);
  out.full = true;
  EXPECT_EQ(tx.poll(1), 0u);
  EXPECT_EQ(tx.counters().send_blocked, 1u);
  out.full = false;
  tx.poll(2);
  ASSERT_EQ(out.packets.size(), u.count);
  for (uint16_t i = 0; i < u.count; ++i) EXPECT_EQ(out.packets[i].h.fragment_index, i);
}

TEST(UnitSender, RemoveStreamReleasesItsUnits) {
  Capture out;
  Releases rel;
  UnitSender tx(config(), out, &rel);
  tx.add_stream(1);
  submit(tx, make_unit(1, 0, 5000));
  submit(tx, make_unit(1, 1, 5000));
  tx.remove_stream(1);
  EXPECT_EQ(rel.released.size(), 2u);
  EXPECT_FALSE(tx.has_pending());
  EXPECT_EQ(tx.poll(0), 0u);
  EXPECT_TRUE(tx.add_stream(1));
}

}  // namespace
}  // namespace aigw
