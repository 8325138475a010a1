// Edge SDK micro-benchmarks: the device-side cost of sending one 672 KB unit (the
// reference scenario's feature tensor), each against a baseline measured in the same
// run (docs/PERFORMANCE.md, "Edge SDK"):
//  * plain unit: digest + store copy + fragmentation into 945 datagrams, copied into
//    send slots as the socket layer does, against one memcpy of the unit;
//  * sealed unit: the same with XChaCha20-Poly1305, against the AEAD call alone.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "edge-sdk/src/stream.h"

namespace aigw::edge {
namespace {

constexpr uint32_t kUnitBytes = 672 * 1024;
constexpr size_t kSlot = 2048;
constexpr size_t kSlots = 64;

using Clock = std::chrono::steady_clock;

double ns_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

// Copies each datagram into a ring of send slots, like SocketIo before sendmmsg.
class SlotIo final : public CoreIo {
 public:
  SlotIo() : slots_(kSlots * kSlot) {}
  void send_control(const UdpEndpoint&, const uint8_t*, size_t) override {}
  bool send_fragment(const UdpEndpoint&, const uint8_t* header, size_t header_len,
                     const uint8_t* payload, size_t payload_len) override {
    uint8_t* slot = slots_.data() + (fragments % kSlots) * kSlot;
    std::memcpy(slot, header, header_len);
    std::memcpy(slot + header_len, payload, payload_len);
    ++fragments;
    return true;
  }
  void flush() override {}
  size_t fragments = 0;

 private:
  std::vector<uint8_t> slots_;
};

StreamSetup setup(bool sealed) {
  StreamSetup s;
  s.unit_bytes = kUnitBytes;
  s.period_ms = 1000;
  s.pace_bytes_per_s = 1e15;  // pacing out of the way: the benchmark advances time
  s.encrypted = sealed;
  for (size_t i = 0; i < s.payload_key.size(); ++i) s.payload_key[i] = static_cast<uint8_t>(i);
  return s;
}

void run(benchmark::State& state, bool sealed) {
  SlotIo io;
  std::vector<aigw_event> events;
  Route route;
  make_endpoint("127.0.0.1", 9000, route.endpoint);
  Stream stream(1, setup(sealed), StreamLimits(), route, 0, io, events);
  if (!stream.init(Allocator())) state.SkipWithError("no memory");
  std::vector<uint8_t> unit(kUnitBytes, 0x5a);
  std::vector<uint8_t> base_out(kUnitBytes + AIGW_UNIT_SEAL_OVERHEAD);
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {};
  const auto& key = setup(true).payload_key;
  int64_t now = 0;
  double sdk_ns = 0, base_ns = 0;
  for (auto _ : state) {
    // Baseline, interleaved: what any sender must do at least.
    auto t0 = Clock::now();
    if (sealed) {
      unsigned long long clen = 0;
      crypto_aead_xchacha20poly1305_ietf_encrypt(base_out.data(), &clen, unit.data(), unit.size(),
                                                 nullptr, 0, nullptr, nonce, key.data());
    } else {
      std::memcpy(base_out.data(), unit.data(), unit.size());
    }
    benchmark::ClobberMemory();
    base_ns += ns_since(t0);
    t0 = Clock::now();
    now += 1'000'000;
    if (stream.send_unit(unit.data(), unit.size(), now) != AIGW_OK) state.SkipWithError("send");
    // Each poll may send one pacer burst (64 KB); time moves on until the unit is out.
    do {
      now += 1000;
    } while (stream.poll(now) > 0);
    benchmark::ClobberMemory();
    sdk_ns += ns_since(t0);
  }
  const double units = static_cast<double>(state.iterations());
  state.counters["unit_us"] = sdk_ns / units / 1e3;
  state.counters["baseline_us"] = base_ns / units / 1e3;
  state.counters["ratio"] = base_ns / sdk_ns;  // 1.0 = as fast as the baseline alone
  state.counters["fragments"] = static_cast<double>(io.fragments) / units;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kUnitBytes);
}

void BM_SendUnitPlain(benchmark::State& state) { run(state, false); }
void BM_SendUnitSealed(benchmark::State& state) { run(state, true); }

BENCHMARK(BM_SendUnitPlain)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_SendUnitSealed)->Unit(benchmark::kMicrosecond)->MinTime(1.0);

}  // namespace
}  // namespace aigw::edge

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
