// Protocol engine micro-benchmarks. Each reports a ratio against a baseline measured in
// the same run (docs/PERFORMANCE.md, "Protocol engines"):
//  * header decode: ns per packet, and the share of it the header CRC32C takes;
//  * receiver: fragments/s reassembling 946-fragment units of 728-byte fragments, against
//    plain memcpy of the same bytes into one buffer (goal >= 0.5, target 0.75);
//  * NACK generation for a 946-fragment unit with 10% loss, against the list form alone;
//  * the unit digest (CRC32C of a whole unit), against memcpy of the unit and against
//    one CRC chain (the same bytes digested fragment by fragment).
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "protocol/crc32c.h"
#include "protocol/data_header.h"
#include "protocol/nack.h"
#include "protocol/unit_receiver.h"

namespace aigw {
namespace {

constexpr uint16_t kFragments = 946;
constexpr uint32_t kPayload = 728;
constexpr uint32_t kUnitBytes = kFragments * kPayload;
// Each datagram in its own 2 KiB slot, as a NIC ring or recvmmsg batch holds them.
constexpr size_t kSlot = 2048;

// This thread's CPU time: on a shared machine, time spent preempted would otherwise be
// charged to whichever of baseline or subject happened to be running.
int64_t cpu_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double ns_since(int64_t t0) { return double(cpu_now_ns() - t0); }

struct Datagrams {
  std::vector<uint8_t> bytes;
  std::vector<DataHeader> headers;
  const uint8_t* packet(size_t i) const { return bytes.data() + i * kSlot; }
  const uint8_t* payload(size_t i) const { return packet(i) + kDataHeaderSize; }
};

// One unit's datagrams; the seq is patched per unit in the receiver loop.
Datagrams make_unit_datagrams() {
  Datagrams d;
  d.bytes.assign(kFragments * kSlot, 0);
  d.headers.resize(kFragments);
  std::mt19937 rng(7);
  for (uint16_t i = 0; i < kFragments; ++i) {
    DataHeader& h = d.headers[i];
    h.fragment_index = i;
    h.fragment_count = kFragments;
    h.stream_id = 1;
    h.unit_seq = 0;
    h.unit_length = kUnitBytes;
    h.payload_length = kPayload;
    h.flags = i + 1 == kFragments ? data_flag::last_fragment : 0;
    uint8_t* p = d.bytes.data() + i * kSlot;
    encode_data_header(h, p);
    for (uint32_t k = 0; k < kPayload; ++k) p[kDataHeaderSize + k] = static_cast<uint8_t>(rng());
  }
  return d;
}

void BM_HeaderDecode(benchmark::State& state) {
  const Datagrams d = make_unit_datagrams();
  DataHeader h;
  uint32_t sink = 0;
  double crc_ns = 0, decode_ns = 0;
  for (auto _ : state) {
    // Baseline, interleaved: the CRC32C of the 28 covered bytes, which decoding needs anyway.
    auto t0 = cpu_now_ns();
    for (size_t i = 0; i < kFragments; ++i) sink += crc32c(d.packet(i), 28);
    benchmark::DoNotOptimize(sink);
    crc_ns += ns_since(t0);
    t0 = cpu_now_ns();
    for (size_t i = 0; i < kFragments; ++i) {
      benchmark::DoNotOptimize(decode_data_header(d.packet(i), kDataHeaderSize + kPayload, h));
    }
    benchmark::ClobberMemory();
    decode_ns += ns_since(t0);
  }
  const double packets = double(state.iterations()) * kFragments;
  state.SetItemsProcessed(state.iterations() * kFragments);
  state.counters["ns_per_packet"] = decode_ns / packets;
  state.counters["crc_ns"] = crc_ns / packets;
  state.counters["crc_share"] = crc_ns / decode_ns;
}
BENCHMARK(BM_HeaderDecode);

// The unit digest the SDK computes per unit and the GPU side verifies. Baselines,
// interleaved: memcpy of the unit, and the same CRC extended one 728-byte fragment at a
// time, which is below the interleaving threshold and so runs a single chain.
void BM_UnitDigest(benchmark::State& state) {
  std::vector<uint8_t> unit(kUnitBytes), copy(kUnitBytes);
  std::mt19937 rng(3);
  for (auto& b : unit) b = static_cast<uint8_t>(rng());
  double digest_ns = 0, memcpy_ns = 0, chain_ns = 0;
  uint32_t sink = 0;
  for (auto _ : state) {
    auto t0 = cpu_now_ns();
    std::memcpy(copy.data(), unit.data(), kUnitBytes);
    benchmark::ClobberMemory();
    memcpy_ns += ns_since(t0);
    t0 = cpu_now_ns();
    uint32_t chain = 0;
    for (uint32_t off = 0; off < kUnitBytes; off += kPayload) chain = crc32c_extend(chain, unit.data() + off, kPayload);
    benchmark::DoNotOptimize(chain);
    chain_ns += ns_since(t0);
    t0 = cpu_now_ns();
    const uint32_t digest = crc32c(unit.data(), kUnitBytes);
    benchmark::DoNotOptimize(digest);
    digest_ns += ns_since(t0);
    sink += digest ^ chain;
  }
  benchmark::DoNotOptimize(sink);
  const double n = double(state.iterations());
  state.SetBytesProcessed(state.iterations() * int64_t{kUnitBytes});
  state.counters["digest_us"] = digest_ns / n / 1e3;
  state.counters["memcpy_us"] = memcpy_ns / n / 1e3;
  state.counters["one_chain_us"] = chain_ns / n / 1e3;
  state.counters["ratio_vs_memcpy"] = memcpy_ns / digest_ns;
  state.counters["speedup_vs_one_chain"] = chain_ns / digest_ns;
}
BENCHMARK(BM_UnitDigest);

class Drop : public ReceiverEvents {
 public:
  void on_unit_complete(const CompletedUnit&, UnitHandle& unit) override {
    benchmark::DoNotOptimize(unit.data());
    ++completed;
  }
  void on_unit_lost(const LostUnit&) override { ++lost; }
  void on_nack(const NackOut&) override { ++nacks; }
  size_t completed = 0, lost = 0, nacks = 0;
};

// Seconds per fragment of copying the same payloads into one unit-sized buffer.
double memcpy_seconds_per_fragment(const Datagrams& d, std::vector<uint8_t>& dst, int reps) {
  const auto t0 = cpu_now_ns();
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < kFragments; ++i) std::memcpy(dst.data() + i * kPayload, d.payload(i), kPayload);
    benchmark::ClobberMemory();
  }
  const double s = ns_since(t0) * 1e-9;
  return s / (double(reps) * kFragments);
}

// state.range(0): 0 = headers already decoded (the engine alone), 1 = decode included.
void BM_ReceiverThroughput(benchmark::State& state) {
  const bool with_decode = state.range(0) != 0;
  const Datagrams d = make_unit_datagrams();
  std::vector<uint8_t> dst(kUnitBytes);
  ReceiverConfig cfg;
  cfg.memory_budget_bytes = 64 << 20;
  cfg.max_units_in_flight = 64;
  cfg.max_streams = 16;
  Drop events;
  UnitReceiver rx(cfg, events);
  rx.add_stream(1);
  // Warm both paths so neither pays first-touch page faults inside the measurement.
  memcpy_seconds_per_fragment(d, dst, 20);
  uint32_t seq = 0;
  std::vector<DataHeader> headers = d.headers;
  DataHeader h;
  int64_t now = 0;
  double memcpy_s = 0;
  double receiver_s = 0;
  uint64_t fragments = 0;
  for (auto _ : state) {
    // Interleave baseline and engine so both see the same machine conditions.
    state.PauseTiming();
    memcpy_s += memcpy_seconds_per_fragment(d, dst, 1) * kFragments;
    for (DataHeader& x : headers) x.unit_seq = seq;
    state.ResumeTiming();
    const auto t0 = cpu_now_ns();
    for (size_t i = 0; i < kFragments; ++i) {
      if (with_decode) {
        decode_data_header(d.packet(i), kDataHeaderSize + kPayload, h);
        h.unit_seq = seq;  // the datagrams carry seq 0; each pass is a new unit
        rx.on_fragment(h, d.payload(i), now);
      } else {
        rx.on_fragment(headers[i], d.payload(i), now);
      }
    }
    receiver_s += ns_since(t0) * 1e-9;
    fragments += kFragments;
    ++seq;
    now += 1000;
  }
  if (events.completed != static_cast<size_t>(state.iterations())) state.SkipWithError("units did not complete");
  state.SetItemsProcessed(int64_t(fragments));
  state.SetBytesProcessed(int64_t(fragments) * kPayload);
  state.counters["fragments_per_s"] = double(fragments) / receiver_s;
  state.counters["memcpy_fragments_per_s"] = double(fragments) / memcpy_s;
  state.counters["ratio_vs_memcpy"] = memcpy_s / receiver_s;
}
BENCHMARK(BM_ReceiverThroughput)->Arg(0)->Arg(1)->ArgName("decode")->MinTime(1.0);

void BM_NackGeneration(benchmark::State& state) {
  // A 946-fragment unit with 10% of its fragments missing, as the receiver's bitmap.
  std::vector<uint64_t> received((kFragments + 63) / 64, ~uint64_t{0});
  std::mt19937 rng(10);
  std::bernoulli_distribution lost(0.10);
  size_t n_lost = 0;
  for (uint32_t i = 0; i < kFragments; ++i) {
    if (lost(rng)) {
      received[i / 64] &= ~(uint64_t{1} << (i % 64));
      ++n_lost;
    }
  }
  std::vector<uint16_t> missing(kFragments);
  std::vector<uint8_t> scratch(1200);
  size_t chunk_bytes = 0;
  constexpr int kBatch = 64;
  double list_ns = 0, nack_ns = 0;
  for (auto _ : state) {
    // Baseline, interleaved: the same bitmap scan written out in the paper's list form.
    auto t0 = cpu_now_ns();
    for (int r = 0; r < kBatch; ++r) {
      const size_t n = missing_fragments(received.data(), 0, kFragments, missing.data());
      for (size_t i = 0; i < n; ++i) {
        scratch[2 * (i % 600)] = static_cast<uint8_t>(missing[i] >> 8);
        scratch[2 * (i % 600) + 1] = static_cast<uint8_t>(missing[i]);
      }
      benchmark::ClobberMemory();
    }
    list_ns += ns_since(t0);
    t0 = cpu_now_ns();
    for (int r = 0; r < kBatch; ++r) {
      const size_t n = missing_fragments(received.data(), 0, kFragments, missing.data());
      encode_nack(missing.data(), n, kFragments, scratch.data(), scratch.size(),
                  [&](const NackChunk& c) { chunk_bytes = c.size; });
      benchmark::ClobberMemory();
    }
    nack_ns += ns_since(t0);
  }
  const double nacks = double(state.iterations()) * kBatch;
  state.counters["missing"] = double(n_lost);
  state.counters["chunk_bytes"] = double(chunk_bytes);
  state.counters["list_bytes"] = double(2 * n_lost);
  state.counters["ns_per_nack"] = nack_ns / nacks;
  state.counters["list_only_ns"] = list_ns / nacks;
  state.counters["ratio_vs_list_only"] = list_ns / nack_ns;
}
BENCHMARK(BM_NackGeneration);

}  // namespace
}  // namespace aigw

BENCHMARK_MAIN();
