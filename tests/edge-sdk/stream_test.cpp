// Stream: fragmentation, pacing, NACK answers, the migration switch at a unit boundary,
// store expiry and sealing — all with a fake clock and a capturing transport, and
// against the real protocol UnitReceiver for the full selective-retransmission loop.
#include "edge-sdk/src/stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "aigw/edge_crypto.h"
#include "protocol/crc32c.h"
#include "protocol/nack.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_receiver.h"
#include "tests/edge-sdk/capture_io.h"

namespace aigw::edge {
namespace {

using test::CaptureIo;

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kStream = 42;

Route route(const char* host, uint32_t port, uint32_t id) {
  Route r;
  EXPECT_EQ(make_endpoint(host, port, r.endpoint), "");
  r.gateway_id = id;
  return r;
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct Fixture {
  explicit Fixture(StreamSetup setup = default_setup(), StreamLimits limits = StreamLimits(),
                   uint32_t first_seq = 0)
      : stream(kStream, setup, limits, route("127.0.0.1", 9000, 1), first_seq, io, events) {
    EXPECT_TRUE(stream.init(Allocator()));
  }
  static StreamSetup default_setup() {
    StreamSetup s;
    s.unit_bytes = 64 * 1024;
    s.period_ms = 1000;
    s.pace_bytes_per_s = 1e12;  // effectively unpaced unless a test says otherwise
    return s;
  }
  // Retransmits exactly `missing` of `seq` through one NACK chunk.
  NackAnswer nack(uint32_t seq, uint16_t count, std::vector<uint16_t> missing, int64_t now) {
    uint8_t buf[1400];
    NackChunk chunk;
    const size_t used = encode_nack_chunk(missing.data(), missing.size(), buf, sizeof buf, chunk);
    EXPECT_EQ(used, missing.size());
    return stream.on_nack(seq, count, chunk.encoding, chunk.first_fragment, chunk.missing_count,
                          chunk.bytes, chunk.size, now);
  }

  CaptureIo io;
  std::vector<aigw_event> events;
  Stream stream;
};

TEST(Stream, FragmentsAUnitWithDigestTrailer) {
  Fixture f;
  const auto unit = pattern(10000, 1);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  // 10000 bytes + 4-byte CRC32C trailer at 728 bytes per fragment: 14 fragments.
  ASSERT_EQ(f.io.fragments.size(), 14u);
  std::vector<uint8_t> wire;
  for (size_t i = 0; i < f.io.fragments.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(f.io.header(i, h), DecodeError::ok);
    EXPECT_EQ(h.stream_id, kStream);
    EXPECT_EQ(h.unit_seq, 0u);
    EXPECT_EQ(h.fragment_count, 14);
    EXPECT_EQ(h.unit_length, 10004u);
    EXPECT_EQ(h.fragment_index, i);
    EXPECT_EQ((h.flags & data_flag::last_fragment) != 0, i == 13);
    EXPECT_EQ(h.flags & (data_flag::retransmission | data_flag::encrypted), 0);
    EXPECT_EQ(f.io.fragments[i].to.port(), 9000);
    wire.insert(wire.end(), f.io.fragments[i].bytes.begin() + kDataHeaderSize,
                f.io.fragments[i].bytes.end());
  }
  ASSERT_EQ(wire.size(), 10004u);
  EXPECT_TRUE(std::equal(unit.begin(), unit.end(), wire.begin()));
  EXPECT_TRUE(verify_unit_digest(wire.data(), wire.size()));
  EXPECT_EQ(f.stream.next_unit_seq(), 1u);
}

TEST(Stream, SequenceNumbersStartAtTheAdmittedFirstSeqAndWrap) {
  Fixture f(Fixture::default_setup(), StreamLimits(), 0xFFFFFFFFu);
  const auto unit = pattern(100, 2);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 1), AIGW_OK);
  DataHeader a, b;
  ASSERT_EQ(f.io.header(0, a), DecodeError::ok);
  ASSERT_EQ(f.io.header(1, b), DecodeError::ok);
  EXPECT_EQ(a.unit_seq, 0xFFFFFFFFu);
  EXPECT_EQ(b.unit_seq, 0u);
}

TEST(Stream, PacingSpreadsAUnitOverTime) {
  StreamSetup s = Fixture::default_setup();
  s.unit_bytes = 256 * 1024;
  s.pace_bytes_per_s = 1'000'000;  // 1 MB/s: a 256 KB unit needs ~0.25 s
  Fixture f(s);
  const auto unit = pattern(s.unit_bytes, 3);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  const size_t total = (unit.size() + 4 + 727) / 728;
  const size_t at_start = f.io.fragments.size();
  EXPECT_GT(at_start, 0u);
  EXPECT_LT(at_start, total);  // only the pacer's burst leaves at once
  EXPECT_GT(f.stream.next_deadline_ns(), 0);
  int64_t t = 0;
  while (f.io.fragments.size() < total && t < 2000 * kMs) {
    t = std::max(t + kMs, f.stream.next_deadline_ns());
    f.stream.poll(t);
  }
  EXPECT_EQ(f.io.fragments.size(), total);
  EXPECT_GE(t, 150 * kMs);  // not faster than the rate allows (burst included)
  EXPECT_LE(t, 400 * kMs);
}

TEST(Stream, NackIsAnsweredWithExactlyTheMissingFragments) {
  Fixture f;
  const auto unit = pattern(20000, 4);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  const size_t first = f.io.fragments.size();
  ASSERT_EQ(f.nack(0, static_cast<uint16_t>(first), {3, 7, 20}, 5 * kMs), NackAnswer::queued);
  ASSERT_EQ(f.io.fragments.size(), first + 3);
  std::vector<uint16_t> resent;
  for (size_t i = first; i < f.io.fragments.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(f.io.header(i, h), DecodeError::ok);
    EXPECT_NE(h.flags & data_flag::retransmission, 0);
    resent.push_back(h.fragment_index);
    // Same bytes as the first transmission of that fragment.
    EXPECT_TRUE(std::equal(f.io.fragments[i].bytes.begin() + kDataHeaderSize,
                           f.io.fragments[i].bytes.end(),
                           f.io.fragments[h.fragment_index].bytes.begin() + kDataHeaderSize));
  }
  std::sort(resent.begin(), resent.end());
  EXPECT_EQ(resent, (std::vector<uint16_t>{3, 7, 20}));
  aigw_stream_stats st{};
  f.stream.fill_stats(st);
  EXPECT_EQ(st.fragments_resent, 3u);
  EXPECT_EQ(st.nacks_received, 1u);
}

TEST(Stream, NackForAnotherGeometryIsMalformed) {
  Fixture f;
  const auto unit = pattern(5000, 5);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  const size_t sent = f.io.fragments.size();
  EXPECT_EQ(f.nack(0, 3, {1}, kMs), NackAnswer::malformed);  // the unit has 7 fragments
  EXPECT_EQ(f.io.fragments.size(), sent);
}

// The whole selective-retransmission loop through the real receiver engine.
class Reassembly : public ReceiverEvents {
 public:
  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    complete[info.unit_seq] = std::vector<uint8_t>(unit.data(), unit.data() + unit.size());
  }
  void on_unit_lost(const LostUnit& info) override { lost.insert(info.unit_seq); }
  void on_nack(const NackOut& n) override { nacks.push_back({n, {n.chunk.bytes, n.chunk.bytes + n.chunk.size}}); }

  std::map<uint32_t, std::vector<uint8_t>> complete;
  std::set<uint32_t> lost;
  std::vector<std::pair<NackOut, std::vector<uint8_t>>> nacks;
};

TEST(Stream, SelectiveRetransmissionRecoversSeededLossThroughTheReceiver) {
  StreamLimits limits;
  limits.store_units = 8;  // all five units stay answerable
  Fixture f(Fixture::default_setup(), limits);
  Reassembly events;
  ReceiverConfig rc;
  UnitReceiver receiver(rc, events);
  ASSERT_TRUE(receiver.add_stream(kStream, 0));
  std::mt19937 rng(7);
  std::bernoulli_distribution drop(0.1);
  std::vector<std::vector<uint8_t>> units;
  int64_t now = 0;
  size_t delivered = 0;
  size_t dropped = 0;
  for (uint32_t seq = 0; seq < 5; ++seq) {
    units.push_back(pattern(30000 + seq * 1000, 100 + seq));
    ASSERT_EQ(f.stream.send_unit(units.back().data(), units.back().size(), now), AIGW_OK);
  }
  for (int round = 0; round < 200 && events.complete.size() < units.size(); ++round) {
    for (; delivered < f.io.fragments.size(); ++delivered) {
      if (drop(rng)) {
        ++dropped;
        continue;
      }
      DataHeader h;
      const auto& b = f.io.fragments[delivered].bytes;
      ASSERT_EQ(decode_data_header(b.data(), b.size(), h), DecodeError::ok);
      receiver.on_fragment(h, b.data() + kDataHeaderSize, now);
    }
    now += 5 * kMs;
    receiver.poll(now);
    for (auto& n : events.nacks) {
      f.stream.on_nack(n.first.unit_seq, n.first.fragment_count, n.first.chunk.encoding,
                       n.first.chunk.first_fragment, n.first.chunk.missing_count,
                       n.second.data(), n.second.size(), now);
    }
    events.nacks.clear();
  }
  EXPECT_GT(dropped, 0u);
  ASSERT_EQ(events.complete.size(), units.size());
  EXPECT_TRUE(events.lost.empty());
  for (uint32_t seq = 0; seq < units.size(); ++seq) {
    const auto& wire = events.complete[seq];
    ASSERT_TRUE(verify_unit_digest(wire.data(), wire.size()));
    EXPECT_TRUE(std::equal(units[seq].begin(), units[seq].end(), wire.begin()));
  }
  aigw_stream_stats st{};
  f.stream.fill_stats(st);
  EXPECT_GE(st.fragments_resent, dropped);  // every loss was resent (some more than once)
  EXPECT_GT(st.nacks_received, 0u);
}

TEST(Stream, MigrationSwitchesExactlyAtTheUnitBoundary) {
  Fixture f;
  const Route next = route("127.0.0.2", 9100, 2);
  const auto unit = pattern(3000, 9);  // 5 fragments per unit
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);  // seq 0
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);  // seq 1
  EXPECT_EQ(f.stream.switch_gateway(next, 3, 77), 3u);
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].type, AIGW_EVENT_MIGRATED);
  EXPECT_EQ(f.events[0].unit_seq, 3u);
  EXPECT_EQ(f.events[0].gateway_id, 2u);
  EXPECT_EQ(f.events[0].gateway_port, 9100);
  EXPECT_EQ(f.stream.current_route().gateway_id, 1u);  // unit 2 still goes to gateway 1
  for (int i = 0; i < 3; ++i) ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  EXPECT_EQ(f.stream.current_route().gateway_id, 2u);
  // Every fragment of units 0..2 went to the old gateway, of 3..4 to the new one.
  for (size_t i = 0; i < f.io.fragments.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(f.io.header(i, h), DecodeError::ok);
    EXPECT_EQ(f.io.fragments[i].to.port(), h.unit_seq < 3 ? 9000 : 9100) << "seq " << h.unit_seq;
  }
  // Retransmissions follow the unit, not the current route.
  const size_t before = f.io.fragments.size();
  ASSERT_EQ(f.nack(2, 5, {1}, kMs), NackAnswer::queued);
  ASSERT_EQ(f.nack(3, 5, {4}, kMs), NackAnswer::queued);
  ASSERT_EQ(f.io.fragments.size(), before + 2);
  EXPECT_EQ(f.io.fragments[before].to.port(), 9000);
  EXPECT_EQ(f.io.fragments[before + 1].to.port(), 9100);
  aigw_stream_stats st{};
  f.stream.fill_stats(st);
  EXPECT_EQ(st.migrations, 1u);
  EXPECT_EQ(st.gateway_id, 2u);
  EXPECT_STREQ(st.gateway_address, "127.0.0.2");
}

TEST(Stream, SwitchForAUnitAlreadyBegunWaitsForTheNextUnit) {
  Fixture f;
  const auto unit = pattern(3000, 10);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  // The controller asks for seq 2 (or, re-homing, anything old): the device has begun
  // units up to 3, so the first unit it starts after the command is 4.
  EXPECT_EQ(f.stream.switch_gateway(route("127.0.0.3", 9200, 3), 2, 5), 4u);
  // A repeated command (same migration id) is acknowledged the same and changes nothing.
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);  // seq 4
  EXPECT_EQ(f.stream.switch_gateway(route("127.0.0.3", 9200, 3), 2, 5), 4u);
  EXPECT_EQ(f.events.size(), 1u);
  DataHeader h;
  ASSERT_EQ(f.io.header(f.io.fragments.size() - 1, h), DecodeError::ok);
  EXPECT_EQ(h.unit_seq, 4u);
  EXPECT_EQ(f.io.fragments.back().to.port(), 9200);
  ASSERT_EQ(f.io.header(0, h), DecodeError::ok);
  EXPECT_EQ(f.io.fragments.front().to.port(), 9000);
}

TEST(Stream, ExpiredUnitsCannotBeResent) {
  StreamLimits limits;
  limits.store_ttl_ns = 100 * kMs;
  Fixture f(Fixture::default_setup(), limits);
  const auto unit = pattern(3000, 11);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  ASSERT_EQ(f.nack(0, 5, {2}, 50 * kMs), NackAnswer::queued);  // still stored
  f.stream.poll(200 * kMs);                                     // past its TTL
  EXPECT_EQ(f.nack(0, 5, {2}, 200 * kMs), NackAnswer::unit_not_stored);
  ASSERT_FALSE(f.events.empty());
  EXPECT_EQ(f.events.back().type, AIGW_EVENT_UNIT_UNRECOVERABLE);
  EXPECT_EQ(f.events.back().unit_seq, 0u);
  aigw_stream_stats st{};
  f.stream.fill_stats(st);
  EXPECT_EQ(st.units_expired, 1u);
  EXPECT_EQ(st.nacks_unanswerable, 1u);
}

TEST(Stream, StoreKeepsOnlyTheLastDUnits) {
  StreamLimits limits;
  limits.store_units = 2;
  Fixture f(Fixture::default_setup(), limits);
  const auto unit = pattern(3000, 12);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), i * kMs), AIGW_OK);
  EXPECT_EQ(f.nack(0, 5, {1}, 5 * kMs), NackAnswer::unit_not_stored);
  EXPECT_EQ(f.nack(3, 5, {1}, 5 * kMs), NackAnswer::queued);
  aigw_stream_stats st{};
  f.stream.fill_stats(st);
  EXPECT_EQ(st.units_evicted, 2u);
}

TEST(Stream, SealedUnitsOpenOnlyWithTheKey) {
  StreamSetup s = Fixture::default_setup();
  s.encrypted = true;
  for (size_t i = 0; i < s.payload_key.size(); ++i) s.payload_key[i] = static_cast<uint8_t>(i);
  Fixture f(s);
  const auto unit = pattern(5000, 13);
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  std::vector<uint8_t> wire;
  for (size_t i = 0; i < f.io.fragments.size(); ++i) {
    DataHeader h;
    ASSERT_EQ(f.io.header(i, h), DecodeError::ok);
    EXPECT_NE(h.flags & data_flag::encrypted, 0);
    wire.insert(wire.end(), f.io.fragments[i].bytes.begin() + kDataHeaderSize,
                f.io.fragments[i].bytes.end());
  }
  ASSERT_EQ(wire.size(), unit.size() + AIGW_UNIT_SEAL_OVERHEAD);
  // The gateway sees no plaintext.
  EXPECT_EQ(std::search(wire.begin(), wire.end(), unit.begin(), unit.begin() + 64), wire.end());
  std::vector<uint8_t> plain(unit.size());
  size_t n = 0;
  ASSERT_EQ(aigw_unit_open(s.payload_key.data(), kStream, 0, wire.data(), wire.size(), plain.data(),
                           plain.size(), &n), AIGW_OK);
  EXPECT_EQ(plain, unit);
}

TEST(Stream, RejectsBadUnitsAndStopsAfterClose) {
  Fixture f;
  const auto big = pattern(64 * 1024 + 1, 14);
  EXPECT_EQ(f.stream.send_unit(big.data(), big.size(), 0), AIGW_ERR_TOO_LARGE);
  EXPECT_EQ(f.stream.send_unit(big.data(), 0, 0), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(f.stream.next_unit_seq(), 0u);
  ASSERT_EQ(f.stream.send_unit(big.data(), 1000, 0), AIGW_OK);
  f.stream.close(kMs * 1000);
  EXPECT_TRUE(f.stream.closed());
  EXPECT_EQ(f.stream.send_unit(big.data(), 1000, 0), AIGW_ERR_CLOSED);
  // A closed stream still answers NACKs for what it stored.
  EXPECT_EQ(f.nack(0, 2, {1}, kMs), NackAnswer::queued);
}

TEST(Stream, FullTransportKeepsFragmentsForTheNextPoll) {
  Fixture f;
  const auto unit = pattern(5000, 15);
  f.io.refuse = true;
  ASSERT_EQ(f.stream.send_unit(unit.data(), unit.size(), 0), AIGW_OK);
  EXPECT_TRUE(f.io.fragments.empty());
  EXPECT_GT(f.io.refused, 0u);
  f.io.refuse = false;
  f.stream.poll(kMs);
  EXPECT_EQ(f.io.fragments.size(), 7u);
}

}  // namespace
}  // namespace aigw::edge
