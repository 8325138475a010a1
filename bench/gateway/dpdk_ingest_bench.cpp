// DPDK ingest on one worker lcore with net_pcap replaying a capture in a loop
// (infinite_rx): 8 streams of 945 x 728-byte fragments (770-byte frames). Baseline in
// the same process: a testpmd-style rx-only loop (rx burst, free) on a second net_pcap
// port replaying the same capture on the same lcore. `ratio_vs_rx_only` compares the
// gateway's fragments/s (parse, checksum checks, stream checks, reassembly, egress TX of
// every completed unit) with the raw replay rate.
//
// The capture holds 4 units per stream with sequence numbers a quarter of the 32-bit
// space apart, so each replay pass is "later" in serial arithmetic than the one before
// and every pass is reassembled anew (receiver.recent_units_window = 2 for that).
//
// UDP checksums are verified in software (net_pcap has no offload); with the environment
// variable AIGW_BENCH_CHECKSUM_NONE=1 the port skips them, as on a NIC with rx offload.
// AIGW_BENCH_NO_EGRESS=1 gives the streams no GPU server, so completed units are stored
// but never sent: the run then measures ingest alone, and the difference is egress.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "gateway/backend/dpdk/dpdk_backend.h"
#include "gateway/net/frame_builder.h"
#include "protocol/log.h"
#include "protocol/node_keys.h"

namespace aigw {
namespace {

constexpr uint32_t kStreams = 8;
constexpr uint16_t kFragments = 945;
constexpr uint16_t kPayload = 728;
constexpr uint32_t kGwIp = 0x0a000001, kDevIp = 0x0a000002, kGpuIp = 0x0a000009;
constexpr uint16_t kDataPort = 9000;
constexpr auto kRunTime = std::chrono::seconds(3);

std::string write_capture() {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("aigw_dpdk_bench_" + std::to_string(getpid()) + ".pcap")).string();
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
  net::UdpFlow flow;
  flow.src_mac = {0x02, 0, 0, 0, 0, 2};
  flow.dst_mac = {0x02, 0, 0, 0, 0, 1};
  flow.src_ip = kDevIp;
  flow.dst_ip = kGwIp;
  flow.src_port = 40000;
  flow.dst_port = kDataPort;
  std::vector<uint8_t> frame(net::kUdpFrameOverhead + kDataHeaderSize + kPayload);
  DataHeader h;
  h.fragment_count = kFragments;
  h.unit_length = uint32_t{kFragments} * kPayload;
  h.payload_length = kPayload;
  for (uint32_t u = 0; u < 4; ++u)
    for (uint32_t s = 1; s <= kStreams; ++s)
      for (uint16_t f = 0; f < kFragments; ++f) {
        h.stream_id = s;
        h.unit_seq = u << 30;
        h.fragment_index = f;
        h.flags = f + 1 == kFragments ? data_flag::last_fragment : 0;
        net::write_udp_headers(flow, f, kDataHeaderSize + kPayload, frame.data());
        encode_data_header(h, frame.data() + net::kUdpFrameOverhead);
        std::fill(frame.begin() + net::kUdpFrameOverhead + kDataHeaderSize, frame.end(), static_cast<uint8_t>(f));
        net::finish_udp_checksum(frame.data());
        pcap_pkthdr ph{};
        ph.caplen = ph.len = static_cast<bpf_u_int32>(frame.size());
        pcap_dump(reinterpret_cast<u_char*>(dump), &ph, frame.data());
      }
  pcap_dump_close(dump);
  pcap_close(dead);
  return path;
}

/// EAL, two replay ports, and the gateway backend on port 0; set up once per process.
struct Rig {
  std::string capture = write_capture();
  GatewayConfig config;
  NodeKeys keys{make_sender_id(NodeRole::gateway, 1)};
  struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
  std::unique_ptr<DpdkBackend> backend;
  DpdkPort baseline_port;
  unsigned worker_lcore = 1;
  std::string error;

  explicit Rig(ChecksumPolicy checksum) {
    log::set_level(log::Level::warn);
    config.backend = "dpdk";
    config.eal_args = {"-l", "0-1", "--no-huge", "-m", "1536", "--no-pci", "--no-shconf", "--file-prefix",
                       "aigwbench" + std::to_string(getpid()), "--log-level", "lib.eal:error",
                       "--vdev=net_pcap0,rx_pcap=" + capture + ",infinite_rx=1",
                       "--vdev=net_pcap1,rx_pcap=" + capture + ",infinite_rx=1"};
    config.dpdk_mbufs = 65535;
    config.dpdk_next_hop_mac = "02:00:00:00:00:09";
    config.receiver.recent_units_window = 2;
    config.receiver.max_units_in_flight = 256;
    config.egress.store_units = 1;
    config.egress.store_budget_bytes = size_t{256} << 20;
    PortConfig p;
    p.ip = kGwIp;
    p.port = kDataPort;
    p.checksum = checksum;
    p.memory_budget_bytes = size_t{256} << 20;
    config.ports.push_back(p);
    backend = std::make_unique<DpdkBackend>(loop, config, keys);
    if (!backend->start(error)) return;
    baseline_port.port_id = 1;
    if (!dpdk_port_start(baseline_port, config, static_cast<int>(rte_socket_id()), error)) return;
    for (uint32_t s = 1; s <= kStreams; ++s) {
      StreamCommand c;
      c.kind = StreamCommand::Kind::assign;
      c.route.stream_id = s;
      c.route.data_port = kDataPort;
      c.route.source = {kDevIp, 0};
      c.route.device_control = {0x7f000001, 9};
      if (std::getenv("AIGW_BENCH_NO_EGRESS") == nullptr) c.route.gpu = {kGpuIp, 5000};
      backend->post(c);
    }
  }
  ~Rig() {
    backend.reset();
    std::filesystem::remove(capture);
  }
};

Rig& rig() {
  static Rig r(std::getenv("AIGW_BENCH_CHECKSUM_NONE") ? ChecksumPolicy::none : ChecksumPolicy::software);
  return r;
}

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_rx_only{0};

int rx_only(void* arg) {
  const uint16_t port = *static_cast<uint16_t*>(arg);
  rte_mbuf* bufs[32];
  uint64_t n = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint16_t got = rte_eth_rx_burst(port, 0, bufs, 32);
    if (got > 0) rte_pktmbuf_free_bulk(bufs, got);
    n += got;
  }
  g_rx_only = n;
  return 0;
}

double g_baseline_fps = 0;

void BM_RxOnly(benchmark::State& state) {
  Rig& r = rig();
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  for (auto _ : state) {
    g_stop = false;
    uint16_t port = r.baseline_port.port_id;
    rte_eal_remote_launch(rx_only, &port, r.worker_lcore);
    std::this_thread::sleep_for(kRunTime);
    g_stop = true;
    rte_eal_wait_lcore(r.worker_lcore);
    g_baseline_fps = static_cast<double>(g_rx_only.load()) / std::chrono::duration<double>(kRunTime).count();
    state.counters["frags_per_s"] = g_baseline_fps;
    state.SetIterationTime(std::chrono::duration<double>(kRunTime).count());
  }
  dpdk_port_stop(r.baseline_port);
}

void BM_GatewayDpdkIngest(benchmark::State& state) {
  Rig& r = rig();
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  for (auto _ : state) {
    r.backend->activate();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // warm up: unit buffers carved
    auto frames = [&] { return r.backend->frame_stats(0).get(static_cast<size_t>(FrameStat::rx_frames)); };
    auto units = [&] { return r.backend->port_stats(0).get(static_cast<size_t>(PortStat::units_completed)); };
    uint64_t busy0, total0, busy1, total1;
    r.backend->cpu_counters(0, busy0, total0);
    const uint64_t f0 = frames(), u0 = units();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(kRunTime);
    const uint64_t f1 = frames(), u1 = units();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.backend->cpu_counters(0, busy1, total1);
    const uint64_t forwarded = r.backend->egress_stats(0).get(static_cast<size_t>(EgressStat::fragments_sent));
    r.backend->stop();
    const double fps = static_cast<double>(f1 - f0) / wall;
    state.counters["frags_per_s"] = fps;
    state.counters["units_per_s"] = static_cast<double>(u1 - u0) / wall;
    state.counters["busy"] = static_cast<double>(busy1 - busy0) / static_cast<double>(total1 - total0);
    state.counters["egress_frags"] = static_cast<double>(forwarded);
    if (g_baseline_fps > 0) state.counters["ratio_vs_rx_only"] = fps / g_baseline_fps;
    state.SetIterationTime(wall);
  }
}

BENCHMARK(BM_RxOnly)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_GatewayDpdkIngest)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace aigw

BENCHMARK_MAIN();
