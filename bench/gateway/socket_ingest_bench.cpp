// Socket-backend ingest on loopback: 300 streams of 945 x 728-byte fragments per unit,
// sent from 8 source sockets (8 flows, so SO_REUSEPORT can spread them) as fast as one
// sender thread can to a gateway node with one data port. Arguments: `workers`
// (socket.workers) and `gro`:
//   gro=0  the sender sends one datagram per fragment (sendmmsg, 64 per call) and the
//          gateway runs with socket.gro = false;
//   gro=1  the sender sends each run of up to 64 fragments of a unit as one UDP GSO
//          datagram (UDP_SEGMENT = one fragment: header + payload; a unit's runs in one
//          sendmmsg) and the gateway runs with socket.gro = true, so loopback hands it
//          the runs whole and it splits them by the UDP_GRO size.
// Reports fragments per second, fragments per CPU-second of the gateway's threads (the
// loop's thread plus the worker threads), units reassembled per second, the share of
// the busiest worker, the share of fragments that arrived inside coalesced receives
// (`gro_share`, to show GRO really happened), and the gateway's per-core rate against
// two receivers measured just before it, on the same traffic (same `gro`), in the same
// run: `ratio_vs_recvfrom` (one blocking recvfrom() per datagram, nothing else) and
// `ratio_vs_recvmmsg` (recvmmsg of 64 datagrams per call, nothing else).
//
// The two baselines never turn on UDP_GRO, also with gro=1: they stand for what a
// receiver does without the gateway's work (one datagram per call, or per slot of a
// batch), and with GRO off the kernel splits the GSO runs back into datagrams at their
// socket, so they receive the same fragments as the gateway. With UDP_GRO a recvfrom
// would take 64 fragments per call and no longer be either baseline; the gain GRO
// brings the gateway is what the gro=1 ratios show against the gro=0 ones.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "gateway/node/gateway_node.h"
#include "gateway/backend/socket/socket_backend.h"
#include "protocol/data_header.h"
#include "protocol/log.h"
#include "protocol/udp_offload.h"
#include "protocol/udp_socket.h"

namespace aigw {
namespace {

constexpr uint32_t kStreams = 300;
constexpr uint16_t kFragments = 945;
constexpr uint16_t kPayload = 728;
constexpr size_t kSegment = kDataHeaderSize + kPayload;  ///< one fragment on the wire
constexpr size_t kBatch = 64;  ///< datagrams per sendmmsg/recvmmsg, fragments per GSO send
constexpr uint32_t kLocalhost = 0x7f000001;
constexpr auto kRunTime = std::chrono::seconds(3);
constexpr auto kWarmUp = std::chrono::milliseconds(300);
constexpr size_t kFlows = 8;  ///< source sockets; stream s is sent from socket s % kFlows

double cpu_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// A non-blocking socket on a free loopback port; -1 with `err` set on failure.
int open_loopback(int buffer_bytes, Ipv4Endpoint& bound, std::string& err) {
  UdpEndpoint bound_udp;
  const int fd = open_udp_socket(to_udp({kLocalhost, 0}), {.buffer_bytes = buffer_bytes}, bound_udp, err);
  if (fd >= 0) to_ipv4(bound_udp, bound);
  return fd;
}

std::vector<int> open_senders(std::vector<Ipv4Endpoint>& bound, std::string& err) {
  std::vector<int> fds(kFlows);
  bound.resize(kFlows);
  for (size_t i = 0; i < kFlows; ++i)
    fds[i] = open_loopback(4 << 20, bound[i], err);
  return fds;
}

/// Whether the kernel takes UDP_SEGMENT on these sockets (0 only probes: no GSO yet).
bool gso_available(const std::vector<int>& fds) {
  int off = 0;
  return std::all_of(fds.begin(), fds.end(),
                     [&](int fd) { return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &off, sizeof off) == 0; });
}

/// Sends units of every stream round-robin until `stop`; stream s leaves from
/// fds[s % fds.size()]. Without `gso`, one datagram per fragment, kBatch per sendmmsg;
/// with `gso`, each run of up to kBatch fragments of a unit is one datagram cut by
/// UDP_SEGMENT at fragment boundaries, the unit's runs in one sendmmsg. Returns 0, or
/// the errno that stopped it (a full socket buffer only drops the call's datagrams).
int send_units(const std::vector<int>& fds, Ipv4Endpoint to, bool gso, const std::atomic<bool>& stop) {
  // The unit's fragments lie back to back, so a run is one contiguous iovec.
  std::vector<uint8_t> unit(size_t{kFragments} * kSegment, 0x42);
  const size_t per_message = gso ? kBatch : 1;
  const size_t messages = (kFragments + per_message - 1) / per_message;
  const size_t per_call = gso ? messages : kBatch;
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint16_t));
  std::vector<uint8_t> control(messages * kControl);  // operator new's alignment suits cmsghdr
  std::vector<mmsghdr> msgs(messages);
  std::vector<iovec> iov(messages);
  sockaddr_in sa = to.to_sockaddr();
  for (size_t m = 0; m < messages; ++m) {
    const size_t first = m * per_message;
    const size_t count = std::min(per_message, size_t{kFragments} - first);
    iov[m] = {unit.data() + first * kSegment, count * kSegment};
    msghdr& h = msgs[m].msg_hdr;
    h = msghdr{};
    h.msg_iov = &iov[m];
    h.msg_iovlen = 1;
    h.msg_name = &sa;
    h.msg_namelen = sizeof sa;
    if (gso) {
      h.msg_control = control.data() + m * kControl;
      h.msg_controllen = kControl;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t segment = kSegment;
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
  }
  DataHeader h;
  h.fragment_count = kFragments;
  h.unit_length = uint32_t{kFragments} * kPayload;
  h.payload_length = kPayload;
  for (uint32_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
    for (uint32_t s = 1; s <= kStreams && !stop.load(std::memory_order_relaxed); ++s) {
      h.stream_id = s;
      h.unit_seq = seq;
      for (uint16_t f = 0; f < kFragments; ++f) {
        h.fragment_index = f;
        h.flags = f + 1 == kFragments ? data_flag::last_fragment : 0;
        encode_data_header(h, unit.data() + size_t{f} * kSegment);
      }
      for (size_t m = 0; m < messages;) {
        const size_t n = std::min(per_call, messages - m);
        const int r = sendmmsg(fds[s % fds.size()], msgs.data() + m, static_cast<unsigned>(n), 0);
        if (r > 0) {
          m += static_cast<size_t>(r);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
          m += n;
        } else {
          return errno;
        }
      }
    }
  }
  return 0;
}

/// Per-core rates of the baselines, by `gro`, for the gateway cases that follow them.
struct Baselines {
  double recvfrom_per_core_s = 0;
  double recvmmsg_per_core_s = 0;
} baselines[2];

/// Receives on a blocking socket until `stop`, publishing the datagram count in
/// `received`; the receive timeout bounds each wait so `stop` is seen.
using ReceiveLoop = void (*)(int fd, const std::atomic<bool>& stop, std::atomic<uint64_t>& received);

void receive_recvfrom(int fd, const std::atomic<bool>& stop, std::atomic<uint64_t>& received) {
  uint8_t buf[2048];
  uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    // One datagram per call: what a first-try receiver does.
    if (recvfrom(fd, buf, sizeof buf, 0, nullptr, nullptr) > 0) received.store(++n, std::memory_order_relaxed);
  }
}

void receive_recvmmsg(int fd, const std::atomic<bool>& stop, std::atomic<uint64_t>& received) {
  std::vector<uint8_t> bufs(kBatch * 2048);
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iov(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {bufs.data() + i * 2048, 2048};
    msgs[i].msg_hdr = msghdr{};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    // Blocks for the first datagram only, then takes what is queued, up to kBatch.
    const int r = recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (r > 0) received.store(n += static_cast<uint64_t>(r), std::memory_order_relaxed);
  }
}

/// Runs `receive` on its own thread against the sender (traffic by `gro`) and measures
/// it over kRunTime after kWarmUp, as the gateway is. Returns fragments per CPU-second.
double run_baseline(benchmark::State& state, ReceiveLoop receive) {
  const bool gro = state.range(0) != 0;
  std::string err;
  Ipv4Endpoint rx_ep;
  std::vector<Ipv4Endpoint> tx_ep;
  int rx = open_loopback(32 << 20, rx_ep, err);
  std::vector<int> tx = open_senders(tx_ep, err);
  double per_core_s = 0;
  // Blocking with a timeout (open_loopback makes it non-blocking): waits cost no CPU.
  timeval tv{0, 100000};
  setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  fcntl(rx, F_SETFL, fcntl(rx, F_GETFL) & ~O_NONBLOCK);
  if (gro && !gso_available(tx)) state.SkipWithError("UDP GSO unavailable");
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> received{0};
    std::thread receiver([&] { receive(rx, stop, received); });
    int send_error = 0;
    std::thread sender([&] { send_error = send_units(tx, rx_ep, gro, stop); });
    clockid_t clock;
    pthread_getcpuclockid(receiver.native_handle(), &clock);
    std::this_thread::sleep_for(kWarmUp);
    const uint64_t n0 = received.load();
    const double cpu0 = cpu_s(clock);
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(kRunTime);
    const uint64_t n1 = received.load();
    const double cpu1 = cpu_s(clock);
    const double wall = seconds(std::chrono::steady_clock::now() - t0);
    stop = true;
    sender.join();
    receiver.join();
    if (send_error != 0) {
      state.SkipWithError(std::strerror(send_error));
      break;
    }
    const double frags = static_cast<double>(n1 - n0);
    per_core_s = frags / (cpu1 - cpu0);
    state.counters["frags_per_core_s"] = per_core_s;
    state.counters["frags_per_s"] = frags / wall;
    state.counters["cores_busy"] = (cpu1 - cpu0) / wall;
    state.SetIterationTime(wall);
  }
  close(rx);
  for (int fd : tx) close(fd);
  return per_core_s;
}

void BM_NaiveRecvfrom(benchmark::State& state) {
  baselines[state.range(0)].recvfrom_per_core_s = run_baseline(state, receive_recvfrom);
}

void BM_Recvmmsg(benchmark::State& state) {
  baselines[state.range(0)].recvmmsg_per_core_s = run_baseline(state, receive_recvmmsg);
}

/// Datagrams the gateway took out of coalesced receives (a counter only its metrics
/// text carries; the leading newline skips the HELP line that names it too).
uint64_t gro_datagrams(const SocketBackend& dp) {
  static constexpr char kName[] = "\naigw_gateway_socket_gro_datagrams_total ";
  std::string text;
  dp.render_backend_metrics(text);
  const size_t at = text.find(kName);
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + sizeof kName - 1, nullptr, 10);
}

void BM_GatewaySocketIngest(benchmark::State& state) {
  const bool gro = state.range(1) != 0;
  log::set_level(log::Level::warn);
  std::string err;
  Ipv4Endpoint gpu_ep, ctl_ep;
  std::vector<Ipv4Endpoint> tx_ep;
  std::vector<int> tx = open_senders(tx_ep, err);
  int gpu = open_loopback(0, gpu_ep, err);  // never read: a sink
  int ctl = open_loopback(0, ctl_ep, err);  // controller + device control
  GatewayConfig c;
  c.have_key = true;
  c.control_bind = {kLocalhost, 0};
  c.controller = ctl_ep;
  c.egress_bind = {kLocalhost, 0};
  c.metrics_enabled = false;
  c.socket_buffer_bytes = 32 << 20;
  c.socket_workers = static_cast<unsigned>(state.range(0));
  c.socket_gro = gro;
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
  Ipv4Endpoint data_ep;
  int probe = open_loopback(0, data_ep, err);
  close(probe);
  c.ports[0].port = data_ep.port;
  for (auto& r : c.static_streams) r.data_port = data_ep.port;
  if (gro && !gso_available(tx)) state.SkipWithError("UDP GSO unavailable");

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
    int send_error = 0;
    std::thread sender([&] { send_error = send_units(tx, data_ep, gro, stop); });
    std::this_thread::sleep_for(kWarmUp);  // pools carved
    const uint64_t d0 = stat(PortStat::datagrams), u0 = stat(PortStat::units_completed), g0 = gro_datagrams(dp);
    std::vector<uint64_t> w0(dp.worker_count());
    for (size_t w = 0; w < w0.size(); ++w) w0[w] = worker_datagrams(w);
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = gateway_cpu_s();
    std::this_thread::sleep_for(kRunTime);
    const double cpu1 = gateway_cpu_s();
    const uint64_t d1 = stat(PortStat::datagrams), u1 = stat(PortStat::units_completed), g1 = gro_datagrams(dp);
    uint64_t busiest = 0;
    for (size_t w = 0; w < w0.size(); ++w) busiest = std::max(busiest, worker_datagrams(w) - w0[w]);
    const double wall = seconds(std::chrono::steady_clock::now() - t0);
    stop = true;
    sender.join();
    node.request_stop();
    loop.join();
    if (send_error != 0) {
      state.SkipWithError(std::strerror(send_error));
      break;
    }
    const double frags = static_cast<double>(d1 - d0);
    const double per_core_s = frags / (cpu1 - cpu0);
    state.counters["frags_per_s"] = frags / wall;
    state.counters["frags_per_core_s"] = per_core_s;
    state.counters["units_per_s"] = static_cast<double>(u1 - u0) / wall;
    state.counters["cores_busy"] = (cpu1 - cpu0) / wall;
    state.counters["busiest_worker_share"] = frags > 0 ? static_cast<double>(busiest) / frags : 0;
    state.counters["gro_share"] = frags > 0 ? static_cast<double>(g1 - g0) / frags : 0;
    const Baselines& b = baselines[gro ? 1 : 0];
    if (b.recvfrom_per_core_s > 0) state.counters["ratio_vs_recvfrom"] = per_core_s / b.recvfrom_per_core_s;
    if (b.recvmmsg_per_core_s > 0) state.counters["ratio_vs_recvmmsg"] = per_core_s / b.recvmmsg_per_core_s;
    state.SetIterationTime(wall);
  }
  for (int fd : tx) close(fd);
  close(gpu);
  close(ctl);
}

}  // namespace
}  // namespace aigw

// Registered by hand so each `gro` setting runs its baselines right before the gateway
// cases compared with them: the machine's load drifts less between them.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (int gro : {0, 1}) {
    benchmark::RegisterBenchmark("BM_NaiveRecvfrom", aigw::BM_NaiveRecvfrom)
        ->ArgName("gro")->Arg(gro)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark("BM_Recvmmsg", aigw::BM_Recvmmsg)
        ->ArgName("gro")->Arg(gro)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark("BM_GatewaySocketIngest", aigw::BM_GatewaySocketIngest)
        ->ArgNames({"workers", "gro"})->Args({1, gro})->Args({2, gro})
        ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
