// The DPDK backend with two worker lcores, in its own EAL process (the EAL starts once
// per process, and this layout differs from dpdk_backend_test's):
//  * egress port selection: port 0 (net_pcap, 10.0.0.1/24) receives the devices' units;
//    GPU servers in port 1's subnet (10.1.0.0/24) or behind its [[route]] must leave by
//    port 1, the others by port 0. Each port has one TX queue per lcore (two tx_pcap
//    files), so the test reads where every egress fragment left. Port 1's neighbours
//    are learned by the lcore serving port 1 and used by the lcore serving port 0;
//  * a GPU's ack arriving on the lcore that does not serve the stream reaches, through
//    the agent, the lcore that does;
//  * RSS / multi-queue (root only): port 2 is net_af_packet with qpairs=2 on a veth pair
//    whose peer lives in a network namespace the test creates; several streams from
//    distinct source ports are spread by the kernel's fanout hash over the two queues
//    (one lcore each), and every unit must arrive whole, with the per-queue counters
//    adding up to the port's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gateway/backend/dpdk/dpdk_backend.h"
#include "gateway/net/frame_builder.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "tests/gateway/dpdk_test_rig.h"
#include "tests/gateway/frame_test_util.h"
#include "tests/gateway/socket_harness.h"

namespace aigw {
namespace {

namespace fs = std::filesystem;
using test::read_capture;
using test::wait_for;
using namespace std::chrono_literals;

constexpr uint32_t kGw0 = 0x0a000001;        // 10.0.0.1/24, port 0
constexpr uint32_t kGw1 = 0x0a010001;        // 10.1.0.1/24, port 1
constexpr uint32_t kDevice = 0x0a000002;     // 10.0.0.2
constexpr uint32_t kGpuNear = 0x0a000009;    // 10.0.0.9: port 0's subnet
constexpr uint32_t kGpuFar = 0x0a010009;     // 10.1.0.9: port 1's subnet
constexpr uint32_t kGpuRouted = 0xc0a80709;  // 192.168.7.9: [[route]] 192.168.7.0/24 via 10.1.0.254
constexpr uint32_t kRouter = 0x0a0100fe;     // 10.1.0.254
constexpr uint32_t kVethGw = 0x0a4e0001;     // 10.78.0.1, port 2
constexpr uint32_t kVethDev = 0x0a4e0002;
constexpr uint16_t kData0 = 9000, kData1 = 9001, kData2 = 9002, kGpuPort = 5000;
constexpr size_t kContent = 12'000;
constexpr uint32_t kRssStreams = 6;
const net::Mac kDeviceMac{0x02, 0, 0, 0, 0, 0x02};
const net::Mac kGpuNearMac{0x02, 0, 0, 0, 0, 0x09};
const net::Mac kGpuFarMac{0x02, 0, 0, 0, 1, 0x09};
const net::Mac kRouterMac{0x02, 0, 0, 0, 1, 0xfe};

std::vector<uint8_t> arp_announce(const net::Mac& mac, uint32_t ip) {
  net::Arp a;
  a.sender_mac = mac;
  a.sender_ip = ip;
  a.target_ip = ip;
  std::vector<uint8_t> f(net::kMinFrameSize);
  net::build_arp_reply(a, mac, ip, f.data());
  return f;
}

/// Which GPU each pcap stream is steered to, and through which port it must leave.
struct PcapStream {
  uint32_t id;
  uint32_t gpu;
  size_t egress_port;
  net::Mac next_hop_mac;
};
const PcapStream kPcapStreams[] = {
    {1, kGpuNear, 0, kGpuNearMac},
    {2, kGpuFar, 1, kGpuFarMac},
    {3, kGpuRouted, 1, kRouterMac},
};

struct Suite {
  fs::path dir;
  test::VethInNamespace veth;
  test::Udp device_control;
  test::Udp controller;
  std::unique_ptr<test::NodeThread> node;
  bool stopped = false;

  void start() {
    dir = fs::temp_directory_path() / ("aigw_dpdk_mq_" + std::to_string(getpid()));
    fs::create_directories(dir);
    // Port 0: the GPU next to it announces itself, then the devices' units.
    std::vector<std::vector<uint8_t>> rx0{arp_announce(kGpuNearMac, kGpuNear)};
    net::UdpFlow flow;
    flow.src_mac = kDeviceMac;
    flow.dst_mac = {0x02, 0, 0, 0, 0, 0x01};
    flow.src_ip = kDevice;
    flow.dst_ip = kGw0;
    flow.src_port = 40000;
    flow.dst_port = kData0;
    for (const auto& s : kPcapStreams)
      for (uint32_t seq = 0; seq < 2; ++seq)
        for (auto& f : test::unit_fragments(s.id, seq, kContent)) rx0.push_back(test::udp_frame(flow, f));
    test::write_capture((dir / "rx0.pcap").string(), rx0);
    // Port 1: its neighbours announce themselves (learned by the lcore serving port 1),
    // then the far GPU acks a unit of stream 2, whose pipeline is on the other lcore.
    std::vector<std::vector<uint8_t>> rx1{arp_announce(kGpuFarMac, kGpuFar), arp_announce(kRouterMac, kRouter)};
    {
      ctl::UnitAck ack;
      ack.set_stream_id(2);
      ack.set_unit_seq(7);
      EnvelopeSealer sealer = test::gpu_sealer();
      std::vector<uint8_t> env;
      sealer.seal(MessageType::unit_ack, ack.SerializeAsString(), env);
      net::UdpFlow gpu;
      gpu.src_mac = kGpuFarMac;
      gpu.src_ip = kGpuFar;
      gpu.dst_ip = kGw1;
      gpu.src_port = kGpuPort;
      gpu.dst_port = 7300;  // dpdk.egress_udp_port
      rx1.push_back(test::udp_frame(gpu, env));
    }
    test::write_capture((dir / "rx1.pcap").string(), rx1);
    if (geteuid() == 0) veth.create("aigwm", "10.78.0.2/24");

    GatewayConfig c = test::loopback_config(0, controller.ep);
    c.backend = "dpdk";
    auto pcap = [&](int n) {
      const std::string p = (dir / ("tx" + std::to_string(n))).string();
      return "--vdev=net_pcap" + std::to_string(n) + ",rx_pcap=" + (dir / ("rx" + std::to_string(n) + ".pcap")).string() +
             ",tx_pcap=" + p + "a.pcap,tx_pcap=" + p + "b.pcap";
    };
    // Two worker lcores on a 2-CPU machine: lcore 2 shares CPU 0 with the main lcore.
    c.eal_args = {"--lcores", "0@0,1@1,2@0", "--no-huge", "-m", "768", "--no-pci", "--no-shconf", "--file-prefix",
                  "aigwmq" + std::to_string(getpid()), "--log-level", "lib.eal:error", pcap(0), pcap(1)};
    if (veth.up) c.eal_args.push_back("--vdev=net_af_packet0,iface=" + veth.gw + ",qpairs=2");
    c.dpdk_mbufs = 4095;
    c.receiver.unit_deadline_ns = 2'000'000'000;
    PortConfig p0;
    p0.ip = kGw0;
    p0.address = "10.0.0.1";
    p0.port = kData0;
    p0.dpdk_port_id = 0;
    p0.prefix_len = 24;
    p0.memory_budget_bytes = 32u << 20;
    PortConfig p1 = p0;
    p1.ip = kGw1;
    p1.address = "10.1.0.1";
    p1.port = kData1;
    p1.dpdk_port_id = 1;
    c.ports = {p0, p1};
    if (veth.up) {
      PortConfig p2 = p0;
      p2.ip = kVethGw;
      p2.address = "10.78.0.1";
      p2.port = kData2;
      p2.dpdk_port_id = 2;
      p2.prefix_len = -1;
      p2.rx_queues = 2;
      c.ports.push_back(p2);
    }
    c.routes.push_back({0xc0a80700, 24, 1, kRouter});
    auto stream = [&](uint32_t id, uint16_t port, uint32_t src_ip, uint32_t gpu) {
      StreamRoute r;
      r.stream_id = id;
      r.data_port = port;
      r.source = {src_ip, 0};
      r.device_control = device_control.ep;
      r.device_id = test::kTestDeviceId;
      r.gpu = {gpu, kGpuPort};
      c.static_streams.push_back(r);
    };
    for (const auto& s : kPcapStreams) stream(s.id, kData0, kDevice, s.gpu);
    if (veth.up)
      for (uint32_t i = 0; i < kRssStreams; ++i) stream(100 + i, kData2, kVethDev, kGpuNear);
    node = std::make_unique<test::NodeThread>(c);
  }
  DpdkBackend& backend() { return static_cast<DpdkBackend&>(node->node->data_plane()); }
  void stop() {
    if (!stopped && node) node->stop();
    stopped = true;
  }
};

using DpdkMultiQueueTest = test::DpdkSuiteTest<Suite>;
Suite*& suite = DpdkMultiQueueTest::suite;

/// Reassembles the egress fragments of some tx captures, recording where each left.
struct GpuSide : ReceiverEvents {
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>> units;
  std::map<uint32_t, std::set<size_t>> ports_of_stream;
  std::map<uint32_t, std::set<net::Mac>> macs_of_stream;
  std::map<uint32_t, std::set<uint32_t>> sources_of_stream;
  UnitReceiver rx{ReceiverConfig{}, *this};
  void on_unit_complete(const CompletedUnit& i, UnitHandle& u) override {
    units[{i.stream_id, i.unit_seq}] = std::vector<uint8_t>(u.data(), u.data() + u.size());
  }
  void on_unit_lost(const LostUnit&) override {}
  void on_nack(const NackOut&) override {}
  void read(size_t port, const fs::path& file) {
    for (const auto& f : read_capture(file.string())) {
      net::Frame p;
      ASSERT_EQ(net::parse_frame(f.data(), f.size(), net::UdpChecksum::software, p), net::ParseError::ok);
      if (p.kind != net::FrameKind::udp) continue;
      DataHeader h;
      ASSERT_EQ(decode_data_header(p.payload, p.payload_len, h), DecodeError::ok);
      if (!rx.has_stream(h.stream_id)) rx.add_stream(h.stream_id);
      rx.on_fragment(h, p.payload + kDataHeaderSize, 0);
      ports_of_stream[h.stream_id].insert(port);
      macs_of_stream[h.stream_id].insert(p.dst_mac);
      sources_of_stream[h.stream_id].insert(p.src_ip);
    }
  }
};

TEST_F(DpdkMultiQueueTest, RssQueuesShareTheStreamsOfOnePort) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for veth and network namespaces";
  ASSERT_TRUE(suite->veth.up) << suite->veth.error;
  // Sockets in the namespace, one source port per stream, so the fanout hash spreads them.
  std::vector<int> fds(kRssStreams, -1);
  std::thread([&] {
    int ns = open(("/var/run/netns/" + suite->veth.netns).c_str(), O_RDONLY);
    if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0)
      for (auto& fd : fds) fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (ns >= 0) close(ns);
  }).join();
  for (int fd : fds) ASSERT_GE(fd, 0);
  sockaddr_in to = Ipv4Endpoint{kVethGw, kData2}.to_sockaddr();
  size_t sent = 0;
  for (uint32_t seq = 0; seq < 2; ++seq)
    for (uint32_t i = 0; i < kRssStreams; ++i)
      for (auto& f : test::unit_fragments(100 + i, seq, kContent)) {
        ASSERT_EQ(sendto(fds[i], f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(f.size()));
        ++sent;
        std::this_thread::sleep_for(200us);  // the veth queue is short
      }
  for (int fd : fds) close(fd);
  const uint64_t want_units = 2 * kRssStreams;
  ASSERT_TRUE(wait_for([&] { return suite->node->port_stat(2, PortStat::units_completed) == want_units; }, 15s))
      << suite->node->port_stat(2, PortStat::units_completed) << " of " << want_units;
  // The queues' own counters add up to the port's, and each fragment was taken once.
  uint64_t units = 0, fragments = 0;
  for (uint16_t q = 0; q < 2; ++q) {
    const PublishedPortStats& s = suite->backend().queue_stats(2, q);
    units += s.get(static_cast<size_t>(PortStat::units_completed));
    fragments += s.get(static_cast<size_t>(PortStat::fragments_accepted)) +
                 s.get(static_cast<size_t>(PortStat::fragments_completing));
    EXPECT_EQ(s.get(static_cast<size_t>(PortStat::fragments_duplicate)), 0u) << "queue " << q;
    std::printf("queue %u: %llu units\n", q,
                static_cast<unsigned long long>(s.get(static_cast<size_t>(PortStat::units_completed))));
  }
  EXPECT_EQ(units, want_units);
  EXPECT_EQ(fragments, sent);
  EXPECT_EQ(suite->node->port_stat(2, PortStat::streams), kRssStreams);  // counted once, not per queue
  EXPECT_EQ(suite->node->port_stat(2, PortStat::units_lost_deadline), 0u);
}

TEST_F(DpdkMultiQueueTest, GpuAnswersReachTheLcoreServingTheStream) {
  // The ack arrived on port 1 (lcore of pipeline 1), stream 2 lives in pipeline 0.
  auto acks = [](size_t pipeline) {
    return suite->node->node->data_plane().egress_stats(pipeline).get(static_cast<size_t>(EgressStat::gpu_acks));
  };
  ASSERT_EQ(suite->node->node->data_plane().pipeline_count(), 2u);
  EXPECT_TRUE(wait_for([&] { return acks(0) == 1; }, 5s)) << acks(0);
  EXPECT_EQ(acks(1), 0u);
  EXPECT_EQ(suite->node->node->data_plane().egress_stats(1).get(static_cast<size_t>(EgressStat::gpu_messages_rejected)),
            0u);
}

TEST_F(DpdkMultiQueueTest, EgressLeavesByThePortOfTheGpusSubnetOrRoute) {
  const uint64_t want = 2 * std::size(kPcapStreams);
  ASSERT_TRUE(wait_for([&] { return suite->node->port_stat(0, PortStat::units_completed) == want; }, 10s));
  // Every fragment of the forwarded units has been handed to a TX queue.
  const uint64_t fragments_per_unit = test::unit_fragments(1, 0, kContent).size();
  const uint64_t expect_tx = want * fragments_per_unit + (suite->veth.up ? 2 * kRssStreams * test::unit_fragments(100, 0, kContent).size() : 0);
  ASSERT_TRUE(wait_for([&] {
    uint64_t tx = 0;
    for (size_t p = 0; p < 2; ++p) tx += suite->backend().frame_stats(p).get(static_cast<size_t>(FrameStat::tx_frames));
    return tx >= expect_tx;
  }, 10s));
  suite->stop();  // closes the ports: the tx captures are complete
  GpuSide gpu;
  for (size_t p = 0; p < 2; ++p)
    for (const char* q : {"a", "b"}) gpu.read(p, suite->dir / ("tx" + std::to_string(p) + q + ".pcap"));
  for (const auto& s : kPcapStreams) {
    EXPECT_EQ(gpu.ports_of_stream[s.id], std::set<size_t>{s.egress_port}) << "stream " << s.id;
    EXPECT_EQ(gpu.macs_of_stream[s.id], std::set<net::Mac>{s.next_hop_mac}) << "stream " << s.id;
    EXPECT_EQ(gpu.sources_of_stream[s.id], std::set<uint32_t>{s.egress_port == 0 ? kGw0 : kGw1}) << "stream " << s.id;
    for (uint32_t seq = 0; seq < 2; ++seq) {
      ASSERT_TRUE(gpu.units.count({s.id, seq})) << s.id << "/" << seq;
      EXPECT_EQ(gpu.units.at({s.id, seq}), test::unit_bytes(s.id, seq, kContent));
    }
  }
  if (suite->veth.up)
    for (uint32_t i = 0; i < kRssStreams; ++i)
      for (uint32_t seq = 0; seq < 2; ++seq) {
        ASSERT_TRUE(gpu.units.count({100 + i, seq})) << 100 + i << "/" << seq;
        EXPECT_EQ(gpu.units.at({100 + i, seq}), test::unit_bytes(100 + i, seq, kContent));
        EXPECT_EQ(gpu.ports_of_stream[100 + i], std::set<size_t>{0});
      }
}

}  // namespace
}  // namespace aigw
