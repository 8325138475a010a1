// Hostile input on a gateway's data port, black box: the real controller, one socket
// gateway and the GPU emulator on loopback, 20 edge-SDK streams running, and crafted
// datagrams from addresses that own no stream, from a stream's wrong address, and from
// a device that owns a stream and abuses it. Each case names the counter that must move
// by exactly what was sent; every case ends with the real streams' every unit verified.
#include <sys/resource.h>

#include <random>

#include "tests/hostile/raw_device.h"

namespace aigw::hostile {
namespace {

using controller::itest::account;
using controller::itest::expect_lossless;
using controller::itest::finish;
using controller::itest::Fleet;
using controller::itest::GatewayOptions;
using controller::itest::metric;

constexpr uint64_t kSeed = 20261207;
constexpr uint32_t kRealStreams = 20;
constexpr uint32_t kRawDeviceId = 900;
// A raw device's units on the wire: 6,000 content bytes and the 4-byte digest.
constexpr uint32_t kRawUnitBytes = 6004;

/// The cluster every case runs in: controller, gateway 1, GPU 1 and 20 running streams.
class DataPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = c.controller_config();
    cfg.migration_enabled = false;
    c.start_controller(cfg);
    c.start_gateway(1, GatewayOptions{1.0});
    c.start_gpu(1);
    ASSERT_TRUE(c.wait_ready(1, 1));
    for (uint32_t d = 1; d <= kRealStreams; ++d) ASSERT_NE(fleet.open(d), 0u);
    fleet.start();
  }

  uint16_t data_port() const { return c.gateway(1).data_port; }
  double gw(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    return metric(c.gateway_metrics(1), "aigw_gateway_" + name, labels);
  }
  double dropped(const std::string& reason) const { return gw("port_dropped_datagrams_total", {{"reason", reason}}); }
  double fragments(const std::string& reason) const { return gw("port_fragments_total", {{"reason", reason}}); }

  /// Waits until `value()` reaches `want` (the gateway handles datagrams asynchronously).
  template <class F>
  ::testing::AssertionResult reaches(F&& value, double want, int timeout_ms = 3000) {
    double last = 0;
    if (c.wait_until([&] { return (last = value()) >= want; }, timeout_ms) && last == want)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "counter is " << last << ", expected " << want;
  }

  /// Stops the fleet and checks that every real unit was verified at the GPU server;
  /// what the GPU server saw of `raw_stream` (a raw device's own stream, not a real one).
  controller::itest::StreamAccount expect_real_streams_unharmed(uint32_t raw_stream = 0) {
    auto acc = finish(c, fleet);
    const auto raw = acc[raw_stream];
    const auto streams = fleet.streams();
    for (auto it = acc.begin(); it != acc.end();)
      it = std::find(streams.begin(), streams.end(), it->first) == streams.end() ? acc.erase(it) : std::next(it);
    EXPECT_EQ(acc.size(), kRealStreams);
    expect_lossless(acc);
    // Every datagram the gateway read was either dropped by a reason or became a fragment
    // with a verdict: nothing vanished uncounted.
    const auto m = c.gateway_metrics(1);
    EXPECT_EQ(metric(m, "aigw_gateway_port_datagrams_total"),
              metric(m, "aigw_gateway_port_dropped_datagrams_total") + metric(m, "aigw_gateway_port_fragments_total"));
    return raw;
  }

  Cluster c;
  Fleet fleet{c, kSeed};
};

/// The label of each decode failure in port_dropped_datagrams_total.
struct Malformed {
  const char* reason;
  std::vector<std::vector<uint8_t>> datagrams;
};

std::vector<Malformed> malformed_cases() {
  std::vector<Malformed> out;
  auto many = [](const std::function<std::vector<uint8_t>(int)>& make) {
    std::vector<std::vector<uint8_t>> v;
    for (int i = 0; i < 100; ++i) v.push_back(make(i));
    return v;
  };
  const uint32_t stream = 1;  // an admitted stream: validation comes before the stream lookup
  out.push_back({"truncated", many([&](int i) {
                   auto d = fragment(stream, i, 0, 10, 7000);
                   d.resize(size_t(i % 32));
                   return d;
                 })});
  // A well-formed fragment with header byte `at` set to value(i); the CRC is made right
  // again when `reseal`, so only that field is wrong.
  auto patched = [&](size_t at, const std::function<uint8_t(int)>& value, bool reseal) {
    return many([&](int i) {
      auto d = fragment(stream, i, 0, 10, 7000);
      d[at] = value(i);
      if (reseal) reseal_header(d);
      return d;
    });
  };
  out.push_back({"bad_magic", patched(0, [](int) { return uint8_t('X'); }, false)});
  out.push_back({"bad_version", patched(2, [](int i) { return uint8_t(2 + i % 200); }, true)});
  out.push_back({"bad_header_length", patched(5, [](int i) { return uint8_t(33 + i); }, true)});  // a longer header
  out.push_back({"bad_header_checksum", many([&](int i) {
                   auto d = fragment(stream, i, 0, 10, 7000);
                   d[8 + i % 20] ^= 0x10;
                   return d;
                 })});
  out.push_back({"bad_type", patched(3, [](int i) { return uint8_t(2 + i); }, true)});
  out.push_back({"bad_flags", patched(4, [](int i) { return uint8_t(0x08 << (i % 5)); }, true)});  // undefined bits
  out.push_back({"zero_count", many([&](int i) {
                   DataHeader h;
                   h.stream_id = stream;
                   h.unit_seq = uint32_t(i);
                   h.fragment_count = 0;
                   h.unit_length = 7000;
                   h.payload_length = 700;
                   return datagram(h, 700);
                 })});
  out.push_back({"index_out_of_range", many([&](int i) {
                   DataHeader h;
                   h.stream_id = stream;
                   h.unit_seq = uint32_t(i);
                   h.fragment_index = uint16_t(10 + i);
                   h.fragment_count = 10;
                   h.unit_length = 7000;
                   h.payload_length = 700;
                   return datagram(h, 700);
                 })});
  out.push_back({"inconsistent_geometry", many([&](int i) {  // 4 fragments of 9 bytes: the 4th would be empty
                   DataHeader h;
                   h.stream_id = stream;
                   h.unit_seq = uint32_t(i);
                   h.fragment_count = 4;
                   h.unit_length = 9;
                   h.payload_length = 3;
                   return datagram(h, 3);
                 })});
  out.push_back({"length_mismatch", many([&](int i) {  // claims more than its place in the unit holds
                   DataHeader h;
                   h.stream_id = stream;
                   h.unit_seq = uint32_t(i);
                   h.fragment_count = 10;
                   h.unit_length = 7000;
                   h.payload_length = uint16_t(701 + i);
                   return datagram(h, h.payload_length);
                 })});
  out.push_back({"payload_truncated", many([&](int i) {
                   auto d = fragment(stream, i, 0, 10, 7000);
                   d.resize(d.size() - 1 - size_t(i));
                   return d;
                 })});
  return out;
}

TEST_F(DataPortTest, MalformedDatagramsAreDroppedByTheirReasonAndRealStreamsLoseNothing) {
  LoopbackSocket attacker(INADDR_LOOPBACK + 5);
  for (const Malformed& m : malformed_cases()) {
    const double before = dropped(m.reason);
    attacker.send_all(data_port(), m.datagrams);
    EXPECT_TRUE(reaches([&] { return dropped(m.reason); }, before + double(m.datagrams.size()))) << m.reason;
  }
  // Random bytes of random length: every one is dropped, and counted under some reason.
  std::mt19937 rng(kSeed);
  std::vector<std::vector<uint8_t>> noise(5000);
  for (auto& d : noise) {
    d.resize(rng() % 1500);
    for (auto& b : d) b = uint8_t(rng());
  }
  const double accepted_before = fragments("accepted");
  const double drops_before = gw("port_dropped_datagrams_total");
  attacker.send_all(data_port(), noise);
  EXPECT_TRUE(reaches([&] { return gw("port_dropped_datagrams_total") - drops_before; }, double(noise.size())));
  expect_real_streams_unharmed();
  EXPECT_GT(fragments("accepted"), accepted_before) << "the real streams kept flowing";
}

TEST_F(DataPortTest, FragmentsOfAdmittedStreamsFromAnotherAddressAreDropped) {
  LoopbackSocket spoofer(INADDR_LOOPBACK + 2);
  std::vector<std::vector<uint8_t>> forged;
  for (uint32_t s : fleet.streams())
    for (uint16_t i = 0; i < 9; ++i) forged.push_back(fragment(s, 1000 + i, i, 9, kRawUnitBytes, 0x66));
  const double before = dropped("wrong_source");
  spoofer.send_all(data_port(), forged);
  EXPECT_TRUE(reaches([&] { return dropped("wrong_source"); }, before + double(forged.size())));
  // A stream id nobody was given.
  const double unknown_before = dropped("unknown_stream");
  spoofer.send_all(data_port(), {fragment(777777, 0, 0, 9, kRawUnitBytes)});
  EXPECT_TRUE(reaches([&] { return dropped("unknown_stream"); }, unknown_before + 1));
  expect_real_streams_unharmed();
}

/// The unit the GPU server must verify: content and its CRC32C digest, as the SDK sends it.
std::vector<std::vector<uint8_t>> genuine_unit(uint32_t stream, uint32_t seq, uint32_t content_bytes) {
  std::vector<uint8_t> unit(content_bytes);
  for (size_t i = 0; i < unit.size(); ++i) unit[i] = uint8_t(i * 7 + seq);
  const uint32_t crc = crc32c(unit.data(), unit.size());
  for (int s = 24; s >= 0; s -= 8) unit.push_back(uint8_t(crc >> s));
  const uint32_t length = uint32_t(unit.size());
  const uint16_t count = UnitGeometry::count_for(length, 728);
  const UnitGeometry g{length, count};
  std::vector<std::vector<uint8_t>> out;
  for (uint16_t i = 0; i < count; ++i) {
    auto d = fragment(stream, seq, i, count, length);
    std::memcpy(d.data() + kDataHeaderSize, unit.data() + g.offset(i), g.payload_length(i));
    out.push_back(std::move(d));
  }
  return out;
}

TEST_F(DataPortTest, ADeviceAbusingItsOwnStreamCannotHoldMoreThanItsUnitsOrMoveItsWindow) {
  RawDevice raw(c, kRawDeviceId);
  ASSERT_TRUE(raw.admit(kRawUnitBytes, 50));
  const uint32_t s = raw.stream(), seq = raw.first_seq();
  ASSERT_TRUE(c.wait_until([&] { return gw("port_streams") == kRealStreams + 1; }, 3000)) << "gateway got the stream";

  // Duplicates: every fragment but the last twice, then the last, then the whole unit
  // again after it completed.
  auto unit = genuine_unit(s, seq, 6000);
  const std::vector<std::vector<uint8_t>> head(unit.begin(), unit.end() - 1);
  const double dup = fragments("duplicate"), late = fragments("late");
  raw.send(head);
  raw.send(head);
  EXPECT_TRUE(reaches([&] { return fragments("duplicate"); }, dup + double(head.size())));
  raw.send({unit.back()});
  raw.send(unit);
  EXPECT_TRUE(reaches([&] { return fragments("late"); }, late + double(unit.size()))) << "a completed unit's fragments";

  // A unit larger than the admitted 6,000 bytes (65,535 fragments declared).
  const double too_large = fragments("unit_too_large");
  raw.send({fragment(s, seq + 1, 0, 65535, 65535u * 100u)});
  EXPECT_TRUE(reaches([&] { return fragments("unit_too_large"); }, too_large + 1));

  // Overlapping geometry: the same unit cut two ways.
  const double inconsistent = fragments("inconsistent");
  raw.send({fragment(s, seq + 2, 0, 9, kRawUnitBytes), fragment(s, seq + 2, 1, 10, kRawUnitBytes)});
  EXPECT_TRUE(reaches([&] { return fragments("inconsistent"); }, inconsistent + 1));

  // A sequence number far ahead must not raise the stream's floor.
  const double window = fragments("out_of_window");
  raw.send({fragment(s, seq + (1u << 30), 0, 9, kRawUnitBytes)});
  EXPECT_TRUE(reaches([&] { return fragments("out_of_window"); }, window + 1));
  raw.send(genuine_unit(s, seq + 3, 6000));
  c.run_for(300);
  const auto own = expect_real_streams_unharmed(s);
  EXPECT_EQ(own.verified, 2u) << "the genuine units before and after the abuse are verified at the GPU server";
  EXPECT_EQ(own.corrupt, 0u);
}

/// The gateway's resident memory, from /proc.
long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST_F(DataPortTest, AFloodOfFirstFragmentsKeepsTheMemoryBudgetAndRealStreamsLoseNothing) {
  RawDevice raw(c, kRawDeviceId);
  ASSERT_TRUE(raw.admit(kRawUnitBytes, 50));
  ASSERT_TRUE(c.wait_until([&] { return gw("port_streams") == kRealStreams + 1; }, 3000));
  LoopbackSocket stranger(INADDR_LOOPBACK + 7);
  const long rss_before = rss_kib(c.gateway(1).pid);
  ASSERT_GT(rss_before, 0);

  // 100,000 first fragments of distinct units of the device's own stream, and 100,000
  // of units of streams that do not exist, as fast as loopback takes them.
  constexpr uint32_t kFlood = 100000;
  std::vector<std::vector<uint8_t>> own, unknown;
  for (uint32_t k = 0; k < kFlood; ++k) {
    own.push_back(fragment(raw.stream(), raw.first_seq() + k, 0, 9, kRawUnitBytes));
    unknown.push_back(fragment(500000 + k, k, 0, 945, 687500));
  }
  double peak_memory = 0;
  const double budget = 32.0 * 1024 * 1024;  // the harness's memory_budget_mb
  for (uint32_t off = 0; off < kFlood; off += 10000) {
    raw.send({own.begin() + off, own.begin() + off + 10000});
    stranger.send_all(data_port(), {unknown.begin() + off, unknown.begin() + off + 10000});
    peak_memory = std::max(peak_memory, gw("port_memory_bytes"));
  }
  const long rss_after = rss_kib(c.gateway(1).pid);
  std::fprintf(stderr, "flood: %u + %u datagrams; gateway RSS %ld -> %ld KiB; peak unit memory %.0f bytes\n", kFlood,
               kFlood, rss_before, rss_after, peak_memory);
  EXPECT_LE(peak_memory, budget);
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "memory grew by more than the budget allows";
  EXPECT_GT(dropped("unknown_stream"), 0);
  // Every datagram of the flood that reached the gateway is accounted under some reason.
  const double rcvd = gw("port_datagrams_total");
  EXPECT_GT(rcvd, 0);
  expect_real_streams_unharmed();
}

TEST_F(DataPortTest, NacksToAThirdAddressNeverCarryMoreBytesThanTheAttackerSent) {
  LoopbackSocket victim(INADDR_LOOPBACK + 3);
  RawDevice raw(c, kRawDeviceId);
  // Naming the third host as the stream's control address is refused at admission:
  // NACKs go only to the host that asked.
  const auto refused_before = [&] {
    return metric(c.controller_metrics(), "aigw_controller_admissions_refused_total", {{"reason", "control_address"}});
  };
  const double aimed = refused_before();
  EXPECT_FALSE(raw.admit(kRawUnitBytes, 50, &victim));
  EXPECT_TRUE(reaches(refused_before, aimed + 1));
  // What is left to bound is what the device's own NACK bait costs the gateway: NACK
  // bytes to its own control address, measured on that socket.
  ASSERT_TRUE(raw.admit(kRawUnitBytes, 50));
  (void)raw.control().drain();
  ASSERT_TRUE(c.wait_until([&] { return gw("port_streams") == kRealStreams + 1; }, 3000));
  // One 3-byte fragment of each of 300 units of 3,000 fragments (refused at decode: no
  // sender cuts that fine), then the first 668-byte fragment of each of 300 units of 9
  // (each misses 8).
  std::vector<std::vector<uint8_t>> bait;
  for (uint32_t k = 0; k < 300; ++k)
    bait.push_back(fragment(raw.stream(), raw.first_seq() + k, 0, 3000, kRawUnitBytes));
  for (uint32_t k = 300; k < 600; ++k) bait.push_back(fragment(raw.stream(), raw.first_seq() + k, 0, 9, kRawUnitBytes));
  const double refused = dropped("inconsistent_geometry");
  const uint64_t sent = raw.send(bait);
  EXPECT_TRUE(reaches([&] { return dropped("inconsistent_geometry"); }, refused + 300));
  c.run_for(2500);  // the unit deadline (1.5 s) and every NACK round
  const auto [bytes, datagrams] = raw.control().drain();
  EXPECT_EQ(victim.drain().first, 0u);
  std::fprintf(stderr, "reflection: attacker sent %llu bytes, its control address received %llu bytes in %llu datagrams (%.3fx)\n",
               (unsigned long long)sent, (unsigned long long)bytes, (unsigned long long)datagrams,
               double(bytes) / double(sent));
  EXPECT_LE(bytes, sent) << "amplification";
  expect_real_streams_unharmed();
}

}  // namespace
}  // namespace aigw::hostile
