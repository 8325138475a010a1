// The socket backend end to end on loopback: devices (protocol UnitSender) send through
// a seeded impairment shim (loss, duplication, reordering) to a gateway node with
// several data ports; the node NACKs over its bypass agent, forwards whole units to a
// test GPU server that also loses fragments and NACKs the gateway's egress.
#include "gateway/backend/socket/socket_backend.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "protocol/byte_order.h"
#include "protocol/log.h"
#include "tests/gateway/socket_harness.h"

namespace aigw {
namespace {

using test::Controller;
using test::Device;
using test::DropLog;
using test::GpuSink;
using test::kLocalhost;
using test::NodeThread;
using test::Udp;

constexpr int64_t kMs = 1'000'000;
int64_t now_ns() { return log::steady_now_ns(); }

std::string http_get(const Ipv4Endpoint& ep, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa = ep.to_sockaddr();
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return {};
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// Run with egress UDP GSO on (the default) and off (the fallback a kernel without
// UDP_SEGMENT gets): the GPU server must see the same whole units either way.
class SocketBackendEgress : public ::testing::TestWithParam<bool> {};

TEST_P(SocketBackendEgress, UnitsArriveWholeThroughLossReorderAndDuplication) {
  Controller controller;
  GpuSink gpu(0.01, 99);
  GatewayConfig cfg = test::loopback_config(3, controller.sock.ep);
  cfg.socket_gso = GetParam();
  NodeThread gw(cfg);
  ASSERT_TRUE(gw.ok);
  DataPlane& dp = gw.node->data_plane();
  const Ipv4Endpoint gw_control = gw.node->agent().control_endpoint();
  controller.gateway_control = gw_control;

  constexpr uint32_t kStreams = 6, kUnits = 5;
  constexpr size_t kContent = 120'000;
  DropLog drops;
  std::map<std::pair<uint32_t, uint32_t>, std::set<uint16_t>> nacked;
  std::vector<std::unique_ptr<Device>> devices;
  for (uint32_t s = 1; s <= kStreams; ++s) {
    const size_t port = s % 3;
    devices.push_back(std::make_unique<Device>(s, dp.data_endpoint(port), 1000 + s, drops));
    gpu.add_stream(s);
    controller.assign(s, dp.data_endpoint(port).port, devices.back()->data.ep, devices.back()->control.ep, gpu.sock.ep);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // assignments applied

  // Hostile traffic on port 0: garbage, an unknown stream, a spoofed source.
  Udp spoofer;
  std::vector<uint8_t> garbage(100, 0x5a);
  spoofer.send_to(dp.data_endpoint(0), garbage);
  {
    test::Capture cap;
    UnitSender s(SenderConfig{}, cap);
    s.add_stream(3);
    s.add_stream(777);
    auto u = test::unit_bytes(3, 100, 500);
    s.submit(3, 100, u.data(), static_cast<uint32_t>(u.size()), 0, now_ns());
    s.submit(777, 0, u.data(), static_cast<uint32_t>(u.size()), 0, now_ns());
    s.poll(now_ns(), 10);
    ASSERT_EQ(cap.packets.size(), 2u);
    spoofer.send_to(dp.data_endpoint(0), cap.packets[0]);  // stream 3 lives on port 0, wrong source
    spoofer.send_to(dp.data_endpoint(0), cap.packets[1]);  // stream 777 is not admitted
  }

  const int64_t start = now_ns();
  uint32_t submitted = 0;
  const int64_t deadline = start + 20'000 * kMs;
  while (gpu.units.size() < kStreams * kUnits && now_ns() < deadline) {
    const int64_t now = now_ns();
    while (submitted < kUnits && now >= start + submitted * 30 * kMs) {
      for (uint32_t s = 1; s <= kStreams; ++s) devices[s - 1]->submit(submitted, test::unit_bytes(s, submitted, kContent), now);
      ++submitted;
    }
    for (auto& d : devices) d->poll(now, controller.keys, nacked);
    size_t got = gpu.poll(now);
    controller.poll();
    if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (gpu.units.size() != kStreams * kUnits) {
    for (uint32_t s = 1; s <= kStreams; ++s)
      for (uint32_t q = 0; q < kUnits; ++q)
        if (!gpu.units.count({s, q})) ADD_FAILURE() << "missing " << s << "/" << q;
    std::cerr << gw.metrics();
  }
  ASSERT_EQ(gpu.units.size(), kStreams * kUnits) << "lost at the GPU: " << gpu.lost.size();
  for (uint32_t s = 1; s <= kStreams; ++s)
    for (uint32_t q = 0; q < kUnits; ++q) {
      ASSERT_TRUE(gpu.units.count({s, q})) << s << "/" << q;
      EXPECT_EQ(gpu.units.at({s, q}), test::unit_bytes(s, q, kContent)) << s << "/" << q;
      EXPECT_TRUE(verify_unit_digest(gpu.units.at({s, q}).data(), gpu.units.at({s, q}).size()));
    }
  // NACKs name exactly fragments the shim dropped, and every dropped one was NACKed.
  ASSERT_FALSE(drops.empty());
  for (const auto& [unit, frags] : nacked) {
    for (uint16_t f : frags) EXPECT_TRUE(drops[unit].count(f)) << "unit " << unit.first << "/" << unit.second << " frag " << f;
  }
  for (const auto& [unit, frags] : drops) {
    if (unit.second >= 100) continue;  // the spoofed unit
    for (uint16_t f : frags) EXPECT_TRUE(nacked[unit].count(f)) << "unit " << unit.first << "/" << unit.second << " frag " << f;
  }
  EXPECT_GT(gpu.dropped, 0u);
  EXPECT_GT(gpu.nacks, 0u);

  // Let the node publish and sync once more, then check its view.
  const int64_t settle = now_ns() + 300 * kMs;
  while (now_ns() < settle) {
    gpu.poll(now_ns());
    controller.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(gw.port_stat(0, PortStat::drop_bad_magic), 1u);
  EXPECT_EQ(gw.port_stat(0, PortStat::drop_wrong_source), 1u);
  EXPECT_EQ(gw.port_stat(0, PortStat::drop_unknown_stream), 1u);
  uint64_t completed = 0, nacks = 0;
  for (size_t p = 0; p < 3; ++p) {
    completed += gw.port_stat(p, PortStat::units_completed);
    nacks += gw.port_stat(p, PortStat::nacks_sent);
    EXPECT_EQ(gw.port_stat(p, PortStat::streams), 2u);
  }
  EXPECT_EQ(completed, kStreams * kUnits);
  EXPECT_GT(nacks, 0u);
  EXPECT_GT(gw.egress_stat(EgressStat::fragments_resent), 0u);
  EXPECT_GT(gw.egress_stat(EgressStat::gpu_acks), 0u);
  EXPECT_EQ(gw.egress_stat(EgressStat::gpu_messages_rejected), 0u);

  EXPECT_GE(controller.load_syncs, 3u);
  EXPECT_EQ(controller.registers, 1u);
  ASSERT_EQ(controller.last_load.ports_size(), 3);
  EXPECT_EQ(controller.last_load.gateway_id(), 1u);
  EXPECT_EQ(controller.last_load.ports(1).port(), dp.data_endpoint(1).port);
  EXPECT_EQ(controller.last_load.ports(0).stream_count(), 2u);
  ASSERT_EQ(controller.streams.size(), kStreams);
  for (const auto& [id, e] : controller.streams) {
    EXPECT_EQ(e.units_delivered(), kUnits) << id;
    EXPECT_EQ(e.last_unit_seq(), kUnits - 1) << id;
    EXPECT_EQ(e.device_control_port(), devices[id - 1]->control.ep.port);
  }

  const std::string metrics = http_get(gw.node->metrics_endpoint(), "/metrics");
  EXPECT_NE(metrics.find("200 OK"), std::string::npos);
  EXPECT_NE(metrics.find("aigw_gateway_port_units_completed_total{port=\"" +
                         std::to_string(dp.data_endpoint(0).port) + "\"} 10"),
            std::string::npos);
  EXPECT_NE(metrics.find("aigw_gateway_port_dropped_datagrams_total{port=\"" +
                         std::to_string(dp.data_endpoint(0).port) + "\",reason=\"wrong_source\"} 1"),
            std::string::npos);
  EXPECT_NE(http_get(gw.node->metrics_endpoint(), "/other").find("404"), std::string::npos);
  const bool gso_used = metrics.find("aigw_gateway_socket_gso_sends_total 0\n") == std::string::npos;
  EXPECT_EQ(gso_used, GetParam()) << "egress GSO is used exactly when configured";
}

INSTANTIATE_TEST_SUITE_P(GsoOnAndOff, SocketBackendEgress, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "gso" : "sendmmsg"; });

TEST(SocketBackend, KeepsForwardingWithoutAControllerAndRestartsFromConfig) {
  Ipv4Endpoint nobody;
  {
    Udp gone;  // a port nobody listens on once this socket closes
    nobody = gone.ep;
  }
  GpuSink gpu(0.0, 5);
  Device* device = nullptr;
  DropLog drops;
  std::map<std::pair<uint32_t, uint32_t>, std::set<uint16_t>> nacked;
  test::GatewayPeerKeys keys;
  Udp probe;
  uint16_t data_port = probe.ep.port;  // reuse a free port number for the static config
  close(probe.fd);
  probe.fd = -1;

  for (int run = 0; run < 2; ++run) {
    GatewayConfig cfg = test::loopback_config(1, nobody);
    cfg.ports[0].port = data_port;
    auto dev = std::make_unique<Device>(1, Ipv4Endpoint{kLocalhost, data_port}, 7 + run, drops);
    device = dev.get();
    StreamRoute r;
    r.stream_id = 1;
    r.data_port = data_port;
    r.source = device->data.ep;
    r.device_control = device->control.ep;
    r.device_id = test::kTestDeviceId;
    r.gpu = gpu.sock.ep;
    cfg.static_streams.push_back(r);
    gpu.add_stream(1);
    NodeThread gw(cfg);
    ASSERT_TRUE(gw.ok);
    const uint32_t base = static_cast<uint32_t>(run) * 10;
    for (uint32_t q = 0; q < 3; ++q) device->submit(base + q, test::unit_bytes(1, base + q, 50'000), now_ns());
    const int64_t deadline = now_ns() + 10'000 * kMs;
    while (gpu.units.size() < static_cast<size_t>(3 * (run + 1)) && now_ns() < deadline) {
      device->poll(now_ns(), keys, nacked);
      if (gpu.poll(now_ns()) == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(gpu.units.size(), static_cast<size_t>(3 * (run + 1)));
    for (uint32_t q = 0; q < 3; ++q) EXPECT_EQ(gpu.units.at({1, base + q}), test::unit_bytes(1, base + q, 50'000));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a few sync periods
    const std::string m = gw.metrics();
    EXPECT_NE(m.find("aigw_gateway_control_sent_total{type=\"load_sync\"}"), std::string::npos);
    EXPECT_EQ(m.find("aigw_gateway_control_sent_total{type=\"load_sync\"} 0\n"), std::string::npos);
    EXPECT_NE(m.find("aigw_gateway_controller_silence_seconds -1"), std::string::npos);
    gw.stop();  // clean shutdown; the next run binds the same ports again
  }
}

TEST(SocketBackend, MemoryStaysWithinBudgetUnderAFloodOfIncompleteUnits) {
  Controller controller;
  GatewayConfig cfg = test::loopback_config(1, controller.sock.ep);
  const size_t budget = size_t{16} << 20;
  cfg.ports[0].memory_budget_bytes = budget;
  Udp flooder;
  StreamRoute r;
  r.stream_id = 9;
  r.source = flooder.ep;
  r.device_control = controller.sock.ep;  // NACKs land in a socket nobody reads
  r.gpu = controller.sock.ep;
  // The data port is kernel-chosen: admit the stream through the control plane below.
  NodeThread gw(cfg);
  ASSERT_TRUE(gw.ok);
  r.data_port = gw.node->data_plane().data_endpoint(0).port;
  controller.gateway_control = gw.node->agent().control_endpoint();
  controller.assign(9, r.data_port, flooder.ep, controller.sock.ep, controller.sock.ep);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));

  // First fragments of 1 MB units that never complete.
  DataHeader h;
  h.stream_id = 9;
  h.fragment_count = 1441;
  h.unit_length = 1441 * 728;
  h.payload_length = 728;
  std::vector<uint8_t> d(kDataHeaderSize + 728, 0x33);
  uint64_t max_seen = 0;
  for (uint32_t seq = 0; seq < 2000; ++seq) {
    h.unit_seq = seq;
    encode_data_header(h, d.data());
    flooder.send_to(Ipv4Endpoint{kLocalhost, r.data_port}, d);
    if (seq % 50 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      max_seen = std::max(max_seen, gw.port_stat(0, PortStat::memory_bytes));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  max_seen = std::max(max_seen, gw.port_stat(0, PortStat::memory_bytes));
  EXPECT_LE(max_seen, budget);
  EXPECT_GT(max_seen, 0u);
  const uint64_t evicted = gw.port_stat(0, PortStat::units_lost_memory_budget) +
                           gw.port_stat(0, PortStat::units_lost_superseded) +
                           gw.port_stat(0, PortStat::units_lost_table_full);
  EXPECT_GT(evicted, 1000u);
  EXPECT_GT(gw.port_stat(0, PortStat::fragments_accepted), 1000u);
}

}  // namespace
}  // namespace aigw
