// Socket-backend ingest on loopback: 300 streams of 945 x 728-byte fragments per unit,
// sent from 8 source sockets (8 flows, so SO_REUSEPORT can spread them) as fast as one
// sender thread can (sendmmsg) to a gateway node with one data port and `socket.workers`
// = the benchmark's argument. Reports fragments per second, fragments per CPU-second of
// the gateway's threads (the loop's thread plus the worker threads), units reassembled
// per second, the share of the busiest worker, and the same per-core rate of a naive
// recvfrom() receiver (one datagram per system call, nothing else) on the same traffic
// in the same run: `ratio_vs_recvfrom`.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

#include "gateway/gateway_node.h"
#include "gateway/socket_backend.h"
#include "gateway/udp_socket.h"
#include "protocol/data_header.h"
#include "protocol/log.h"

namespace aigw {
namespace {

constexpr uint32_t kStreams = 300;
constexpr uint16_t kFragments = 945;
constexpr uint16_t kPayload = 728;
constexpr uint32_t kLocalhost = 0x7f000001;
constexpr auto kRunTime = std::chrono::seconds(3);
constexpr size_t kFlows = 8;  ///< source sockets; stream s is sent from socket s % kFlows

double cpu_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double thread_cpu_s() { return cpu_s(CLOCK_THREAD_CPUTIME_ID); }

/// Sends units of every stream round-robin until `stop`, 64 datagrams per sendmmsg;
/// stream s leaves from fds[s % fds.size()].
void send_units(const std::vector<int>& fds, Endpoint to, const std::atomic<bool>& stop) {
  constexpr size_t kBatch = 64;
  std::vector<std::vector<uint8_t>> bufs(kBatch, std::vector<uint8_t>(kDataHeaderSize + kPayload, 0x42));
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iov(kBatch);
  sockaddr_in sa = to.to_sockaddr();
  DataHeader h;
  h.fragment_count = kFragments;
  h.unit_length = uint32_t{kFragments} * kPayload;
  h.payload_length = kPayload;
  uint32_t seq = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    for (uint32_t s = 1; s <= kStreams && !stop.load(std::memory_order_relaxed); ++s) {
      h.stream_id = s;
      h.unit_seq = seq;
      for (uint16_t f = 0; f < kFragments;) {
        size_t n = 0;
        for (; n < kBatch && f < kFragments; ++n, ++f) {
          h.fragment_index = f;
          h.flags = f + 1 == kFragments ? data_flag::last_fragment : 0;
          encode_data_header(h, bufs[n].data());
          iov[n] = {bufs[n].data(), bufs[n].size()};
          msgs[n].msg_hdr = msghdr{};
          msgs[n].msg_hdr.msg_iov = &iov[n];
          msgs[n].msg_hdr.msg_iovlen = 1;
          msgs[n].msg_hdr.msg_name = &sa;
          msgs[n].msg_hdr.msg_namelen = sizeof sa;
        }
        size_t sent = 0;
        while (sent < n) {
          int r = sendmmsg(fds[s % fds.size()], msgs.data() + sent, static_cast<unsigned>(n - sent), 0);
          if (r <= 0) break;
          sent += static_cast<size_t>(r);
        }
      }
    }
    ++seq;
  }
}

struct Baseline {
  double frags_per_core_s = 0;
} baseline;

void BM_NaiveRecvfrom(benchmark::State& state) {
  std::string err;
  Endpoint rx_ep, tx_ep;
  int rx = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{32 << 20, false}, rx_ep, err);
  int tx = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{4 << 20, false}, tx_ep, err);
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> received{0};
    std::atomic<double> cpu{0};
    std::thread receiver([&] {
      const double c0 = thread_cpu_s();
      uint8_t buf[2048];
      uint64_t n = 0;
      timeval tv{0, 100000};
      setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      // Blocking socket, one datagram per call: what a first-try receiver does.
      int flags = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (recvfrom(rx, buf, sizeof buf, flags, nullptr, nullptr) > 0) ++n;
      }
      received = n;
      cpu = thread_cpu_s() - c0;
    });
    // The socket is non-blocking from open_udp_socket; the timeout above needs blocking.
    int fl = fcntl(rx, F_GETFL);
    fcntl(rx, F_SETFL, fl & ~O_NONBLOCK);
    std::thread sender([&] { send_units({tx}, rx_ep, stop); });
    std::this_thread::sleep_for(kRunTime);
    stop = true;
    sender.join();
    receiver.join();
    baseline.frags_per_core_s = static_cast<double>(received.load()) / cpu.load();
    state.counters["frags_per_core_s"] = baseline.frags_per_core_s;
    state.counters["frags_per_s"] = static_cast<double>(received.load()) / std::chrono::duration<double>(kRunTime).count();
    state.SetIterationTime(std::chrono::duration<double>(kRunTime).count());
  }
  close(rx);
  close(tx);
}

void BM_GatewaySocketIngest(benchmark::State& state) {
  log::set_level(log::Level::warn);
  std::string err;
  Endpoint gpu_ep, ctl_ep;
  std::vector<int> tx(kFlows);
  std::vector<Endpoint> tx_ep(kFlows);
  for (size_t i = 0; i < kFlows; ++i)
    tx[i] = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{4 << 20, false}, tx_ep[i], err);
  int gpu = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{}, gpu_ep, err);   // never read: a sink
  int ctl = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{}, ctl_ep, err);   // controller + device control
  GatewayConfig c;
  c.have_key = true;
  c.control_bind = {kLocalhost, 0};
  c.controller = ctl_ep;
  c.egress_bind = {kLocalhost, 0};
  c.metrics_enabled = false;
  c.socket_buffer_bytes = 32 << 20;
  c.socket_workers = static_cast<unsigned>(state.range(0));
  c.max_streams = kStreams;
  c.receiver.unit_deadline_ns = 500'000'000;
  PortConfig p;
  p.memory_budget_bytes = size_t{1} << 30;
  c.ports.push_back(p);
  c.egress.store_units = 1;
  c.egress.store_budget_bytes = size_t{512} << 20;
  for (uint32_t s = 1; s <= kStreams; ++s) {
    StreamRoute r;
    r.stream_id = s;
    r.source = tx_ep[s % kFlows];
    r.device_control = ctl_ep;
    r.gpu = gpu_ep;
    c.static_streams.push_back(r);
  }
  // The data port is bound first so static streams can name it.
  Endpoint data_ep;
  int probe = open_udp_socket({kLocalhost, 0}, UdpSocketOptions{}, data_ep, err);
  close(probe);
  c.ports[0].port = data_ep.port;
  for (auto& r : c.static_streams) r.data_port = data_ep.port;

  for (auto _ : state) {
    GatewayNode node(c);
    int code = 0;
    if (!node.start(err, code)) {
      state.SkipWithError(err.c_str());
      break;
    }
    std::thread loop([&] { node.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto& dp = dynamic_cast<const SocketBackend&>(node.data_plane());
    auto stat = [&](PortStat s) { return dp.port_stats(0).get(static_cast<size_t>(s)); };
    auto worker_datagrams = [&](size_t w) {
      return dp.pipeline(w).port_stats(0).get(static_cast<size_t>(PortStat::datagrams));
    };
    clockid_t loop_clock;
    pthread_getcpuclockid(loop.native_handle(), &loop_clock);
    // The loop's thread runs the agent (and with one worker, the pipeline); several
    // workers add their own threads.
    auto gateway_cpu_s = [&] {
      double t = cpu_s(loop_clock);
      if (dp.worker_count() > 1)
        for (size_t w = 0; w < dp.worker_count(); ++w) {
          uint64_t busy = 0, total = 0;
          dp.cpu_counters(w, busy, total);
          t += static_cast<double>(busy) * 1e-9;
        }
      return t;
    };
    std::atomic<bool> stop{false};
    std::thread sender([&] { send_units(tx, data_ep, stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up: pools carved
    const uint64_t d0 = stat(PortStat::datagrams), u0 = stat(PortStat::units_completed);
    std::vector<uint64_t> w0(dp.worker_count());
    for (size_t w = 0; w < w0.size(); ++w) w0[w] = worker_datagrams(w);
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = gateway_cpu_s();
    std::this_thread::sleep_for(kRunTime);
    const double cpu1 = gateway_cpu_s();
    const uint64_t d1 = stat(PortStat::datagrams), u1 = stat(PortStat::units_completed);
    uint64_t busiest = 0;
    for (size_t w = 0; w < w0.size(); ++w) busiest = std::max(busiest, worker_datagrams(w) - w0[w]);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stop = true;
    sender.join();
    node.request_stop();
    loop.join();
    const double frags = static_cast<double>(d1 - d0);
    state.counters["frags_per_s"] = frags / wall;
    state.counters["frags_per_core_s"] = frags / (cpu1 - cpu0);
    state.counters["units_per_s"] = static_cast<double>(u1 - u0) / wall;
    state.counters["cores_busy"] = (cpu1 - cpu0) / wall;
    state.counters["busiest_worker_share"] = frags > 0 ? static_cast<double>(busiest) / frags : 0;
    if (baseline.frags_per_core_s > 0) state.counters["ratio_vs_recvfrom"] = frags / (cpu1 - cpu0) / baseline.frags_per_core_s;
    state.SetIterationTime(wall);
  }
  for (int fd : tx) close(fd);
  close(gpu);
  close(ctl);
}

BENCHMARK(BM_NaiveRecvfrom)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_GatewaySocketIngest)->ArgName("workers")->Arg(1)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace aigw

BENCHMARK_MAIN();
