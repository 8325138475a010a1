// Several socket workers on loopback: data ports shared through SO_REUSEPORT by two
// worker threads. Devices from several source ports (so both workers get flows) send
// through a seeded loss shim; NACKs travel from the workers through the agent; a test
// GPU server that loses fragments NACKs each worker's own egress socket. Every unit
// must arrive whole, each flow must stay on one worker, per-port counters must add up
// over the workers, and stopping must leave no thread behind.
#include "gateway/backend/socket/socket_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "gateway/backend/socket/socket_backend.h"
#include "protocol/log.h"
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
      const Endpoint to = backend->data_endpoint(port);
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

}  // namespace
}  // namespace aigw
