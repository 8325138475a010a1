// Several socket workers on loopback: data ports shared through SO_REUSEPORT by two
// worker threads. Devices from several source ports (so both workers get flows) send
// through a seeded loss shim; NACKs travel from the workers through the agent; a test
// GPU server that loses fragments NACKs each worker's own egress socket. Every unit
// must arrive whole, each flow must stay on one worker, per-port counters must add up
// over the workers, and stopping must leave no thread behind.
// And the kernel path a worker's data port relies on: a GRO-enabled socket receives a
// GSO burst as one coalesced buffer whose UDP_GRO size splits it back into exactly the
// datagrams sent; without GRO the same burst arrives one datagram per receive.
#include "gateway/backend/socket/socket_worker.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "gateway/backend/socket/socket_backend.h"
#include "protocol/log.h"
#include "protocol/udp_offload.h"
#include "protocol/udp_socket.h"
#include "tests/gateway/socket_harness.h"

namespace aigw {
namespace {

using test::Controller;
using test::Device;
using test::DropLog;
using test::GpuSink;
using test::NodeThread;

constexpr int64_t kMs = 1'000'000;
int64_t now_ns() { return log::steady_now_ns(); }

size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

uint64_t worker_stat(const SocketBackend& b, size_t w, size_t port, PortStat s) {
  return b.pipeline(w).port_stats(port).get(static_cast<size_t>(s));
}
uint64_t egress_stat(const SocketBackend& b, size_t w, EgressStat s) {
  return b.pipeline(w).egress_stats().get(static_cast<size_t>(s));
}

TEST(SocketWorkers, FlowsSpreadOverWorkersAndUnitsArriveWhole) {
  std::thread([] {}).join();  // helper threads created lazily (sanitizer runtimes) exist now
  const size_t threads_before = thread_count();
  {
    Controller controller;
    GpuSink gpu(0.02, 41);
    GatewayConfig cfg = test::loopback_config(2, controller.sock.ep);
    cfg.socket_workers = 2;
    NodeThread gw(cfg);
    ASSERT_TRUE(gw.ok);
    auto* backend = dynamic_cast<SocketBackend*>(&gw.node->data_plane());
    ASSERT_NE(backend, nullptr);
    ASSERT_EQ(backend->worker_count(), 2u);
    EXPECT_EQ(backend->pipeline_count(), 2u);
    EXPECT_EQ(backend->core_count(), 2u);
    EXPECT_NE(backend->worker_egress_endpoint(0).port, backend->worker_egress_endpoint(1).port);
    controller.gateway_control = gw.node->agent().control_endpoint();

    // Which worker the kernel hashes a device's flow to is only known by trying: each
    // device first sends one garbage datagram, and the worker that counts it owns the
    // flow. Devices are added until both workers own flows.
    DropLog drops;
    std::map<std::pair<uint32_t, uint32_t>, std::set<uint16_t>> nacked;
    std::vector<std::unique_ptr<Device>> devices;
    std::vector<size_t> owner;  // by stream - 1
    const std::vector<uint8_t> garbage(64, 0x5a);
    bool both = false;
    for (uint32_t s = 1; s <= 24 && (s <= 6 || !both); ++s) {
      const size_t port = s % 2;
      const Ipv4Endpoint to = backend->data_endpoint(port);
      devices.push_back(std::make_unique<Device>(s, to, 500 + s, drops));
      const uint64_t before0 = worker_stat(*backend, 0, port, PortStat::drop_bad_magic);
      const uint64_t before1 = worker_stat(*backend, 1, port, PortStat::drop_bad_magic);
      devices.back()->data.send_to(to, garbage);
      const int64_t until = now_ns() + 2'000 * kMs;
      int found = -1;
      while (found < 0 && now_ns() < until) {
        if (worker_stat(*backend, 0, port, PortStat::drop_bad_magic) > before0) found = 0;
        else if (worker_stat(*backend, 1, port, PortStat::drop_bad_magic) > before1) found = 1;
        else std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ASSERT_GE(found, 0) << "probe of stream " << s << " not counted";
      owner.push_back(static_cast<size_t>(found));
      both = std::count(owner.begin(), owner.end(), 0u) > 0 && std::count(owner.begin(), owner.end(), 1u) > 0;
    }
    ASSERT_TRUE(both) << "24 flows all hashed to one worker";
    const uint32_t streams = static_cast<uint32_t>(devices.size());
    for (uint32_t s = 1; s <= streams; ++s) {
      gpu.add_stream(s);
      controller.assign(s, backend->data_endpoint(s % 2).port, devices[s - 1]->data.ep, devices[s - 1]->control.ep,
                        gpu.sock.ep);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // assignments reached both workers

    constexpr uint32_t kUnits = 4;
    constexpr size_t kContent = 100'000;
    const int64_t start = now_ns();
    uint32_t submitted = 0;
    const int64_t deadline = start + 20'000 * kMs;
    while (gpu.units.size() < streams * kUnits && now_ns() < deadline) {
      const int64_t now = now_ns();
      while (submitted < kUnits && now >= start + submitted * 30 * kMs) {
        for (uint32_t s = 1; s <= streams; ++s)
          devices[s - 1]->submit(submitted, test::unit_bytes(s, submitted, kContent), now);
        ++submitted;
      }
      for (auto& d : devices) d->poll(now, controller.keys, nacked);
      const size_t got = gpu.poll(now);
      controller.poll();
      if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(gpu.units.size(), streams * kUnits) << "lost at the GPU: " << gpu.lost.size() << "\n" << gw.metrics();
    for (uint32_t s = 1; s <= streams; ++s)
      for (uint32_t q = 0; q < kUnits; ++q) EXPECT_EQ(gpu.units.at({s, q}), test::unit_bytes(s, q, kContent)) << s << "/" << q;
    // NACKs (relayed from the workers by the agent) name exactly the dropped fragments.
    ASSERT_FALSE(drops.empty());
    for (const auto& [unit, frags] : nacked)
      for (uint16_t f : frags) EXPECT_TRUE(drops[unit].count(f)) << unit.first << "/" << unit.second << " frag " << f;
    for (const auto& [unit, frags] : drops)
      for (uint16_t f : frags) EXPECT_TRUE(nacked[unit].count(f)) << unit.first << "/" << unit.second << " frag " << f;
    EXPECT_GT(gpu.dropped, 0u);
    EXPECT_GT(gpu.nacks, 0u);

    const int64_t settle = now_ns() + 300 * kMs;  // counters published, GPU acks in
    while (now_ns() < settle) {
      gpu.poll(now_ns());
      controller.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Each flow stayed on the worker its probe found; the port view is the sum.
    for (size_t port = 0; port < 2; ++port) {
      uint64_t expected_total = 0;
      for (size_t w = 0; w < 2; ++w) {
        uint64_t expected = 0, probes = 0;
        for (uint32_t s = 1; s <= streams; ++s)
          if (s % 2 == port && owner[s - 1] == w) {
            expected += kUnits;
            ++probes;
          }
        EXPECT_EQ(worker_stat(*backend, w, port, PortStat::units_completed), expected) << "worker " << w << " port " << port;
        EXPECT_EQ(worker_stat(*backend, w, port, PortStat::drop_bad_magic), probes) << "worker " << w << " port " << port;
        EXPECT_EQ(worker_stat(*backend, w, port, PortStat::drop_unknown_stream), 0u);
        expected_total += expected;
      }
      EXPECT_EQ(gw.port_stat(port, PortStat::units_completed), expected_total);
      // Every worker holds every stream; the port counts each once.
      EXPECT_EQ(gw.port_stat(port, PortStat::streams), (streams + port) / 2) << "port " << port;
      EXPECT_EQ(gw.port_stat(port, PortStat::datagrams), worker_stat(*backend, 0, port, PortStat::datagrams) +
                                                            worker_stat(*backend, 1, port, PortStat::datagrams));
    }
    // GPU answers came back to the worker that forwarded the unit.
    for (size_t w = 0; w < 2; ++w) {
      const uint64_t mine = static_cast<uint64_t>(std::count(owner.begin(), owner.end(), w)) * kUnits;
      EXPECT_EQ(egress_stat(*backend, w, EgressStat::units_forwarded), mine) << "worker " << w;
      EXPECT_EQ(egress_stat(*backend, w, EgressStat::units_acked), mine) << "worker " << w;
      EXPECT_EQ(egress_stat(*backend, w, EgressStat::gpu_messages_rejected), 0u);
      EXPECT_EQ(egress_stat(*backend, w, EgressStat::gpu_nacks_unanswerable), 0u);
      uint64_t busy = 0, total = 0;
      backend->cpu_counters(w, busy, total);
      EXPECT_GT(busy, 0u);
    }
    EXPECT_GT(egress_stat(*backend, 0, EgressStat::fragments_resent) + egress_stat(*backend, 1, EgressStat::fragments_resent),
              0u);
    // The agent heard every unit from both workers.
    ASSERT_EQ(controller.streams.size(), streams);
    for (const auto& [id, e] : controller.streams) EXPECT_EQ(e.units_delivered(), kUnits) << id;
    EXPECT_NE(gw.metrics().find("aigw_gateway_socket_events_dropped_total 0"), std::string::npos);
    gw.stop();
  }
  EXPECT_EQ(thread_count(), threads_before);
}

constexpr size_t kSegment = 760;

std::vector<uint8_t> burst(size_t count, size_t last_len) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i < count; ++i) {
    const size_t len = i + 1 == count ? last_len : kSegment;
    for (size_t k = 0; k < len; ++k) b.push_back(static_cast<uint8_t>(i * 31 + k));
  }
  return b;
}

// Sends `data` as one UDP GSO send cut at kSegment.
void send_gso(const UdpEndpoint& to, const std::vector<uint8_t>& data) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  UdpOffloadControl control;
  msghdr h{};
  h.msg_name = const_cast<sockaddr*>(to.sa());
  h.msg_namelen = to.len;
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  set_gso_segment(h, control, kSegment);
  ASSERT_EQ(sendmsg(fd, &h, 0), static_cast<ssize_t>(data.size())) << std::strerror(errno);
  close(fd);
}

// Every datagram the socket yields within 200 ms, split by its GRO size.
std::vector<std::vector<uint8_t>> receive_all(int fd, size_t& receives) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> buf(kGroMaxReceive);
  UdpOffloadControl control;
  receives = 0;
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 200) == 1) {
    iovec iov{buf.data(), buf.size()};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    expect_gro_segment(h, control);
    const ssize_t n = recvmsg(fd, &h, MSG_DONTWAIT);
    if (n < 0) break;
    ++receives;
    for_each_gro_segment(buf.data(), static_cast<size_t>(n), gro_segment_size(h),
                         [&](const uint8_t* d, size_t len) { out.emplace_back(d, d + len); });
  }
  return out;
}

TEST(DataPortGro, ReceivesABurstCoalescedAndSplitsItBack) {
  for (const bool gro : {true, false}) {
    SCOPED_TRACE(gro ? "gro" : "plain");
    UdpEndpoint bound;
    std::string error;
    const int fd = open_udp_socket(to_udp({test::kLocalhost, 0}), {.buffer_bytes = 1 << 20}, bound, error);
    ASSERT_GE(fd, 0) << error;
    if (gro) {
      ASSERT_TRUE(enable_udp_gro(fd));  // Linux >= 5.0
    }
    const auto data = burst(20, 100);
    send_gso(bound, data);
    size_t receives = 0;
    const auto got = receive_all(fd, receives);
    ASSERT_EQ(got.size(), 20u);
    size_t off = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const size_t len = i == 19 ? 100 : kSegment;
      ASSERT_EQ(got[i].size(), len) << i;
      EXPECT_EQ(0, std::memcmp(got[i].data(), data.data() + off, len)) << i;
      off += len;
    }
    if (gro) {
      EXPECT_LT(receives, 20u);
    } else {
      EXPECT_EQ(receives, 20u);
    }
    close(fd);
  }
}

// A receive is split only when the kernel coalesced it: no UDP_GRO message, or a size
// that covers the whole buffer, leaves it one datagram.
TEST(DataPortGro, AReceiveThatIsNotCoalescedStaysWhole) {
  std::vector<uint8_t> b(1000);
  std::vector<size_t> lens;
  const auto collect = [&](const uint8_t*, size_t len) { lens.push_back(len); };
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 1000, collect), 1u);  // one segment
  EXPECT_EQ(for_each_gro_segment(b.data(), 1000, 5000, collect), 1u);  // a size beyond the buffer
  EXPECT_EQ(lens, (std::vector<size_t>{1000, 1000}));
  msghdr none{};
  EXPECT_EQ(gro_segment_size(none), 0u);
}

}  // namespace
}  // namespace aigw
