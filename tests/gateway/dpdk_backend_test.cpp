// The DPDK backend without a NIC or hugepages, in one EAL process:
//  * port 0, net_pcap: replays a capture the test writes (ARP, ICMP echo, units with
//    lost fragments, every kind of malformed frame) and records what the gateway sends
//    (ARP/ICMP replies, egress fragments) to a tx capture the test reads back;
//  * port 1, net_af_packet on a veth pair whose peer lives in a network namespace the
//    test creates (root only): a kernel UDP socket in that namespace resolves the
//    gateway by ARP and sends units to it.
// Egress to the GPU server leaves through port 0, so every forwarded unit ends in the
// tx capture, where a protocol UnitReceiver reassembles it.
#include "gateway/backend/dpdk/dpdk_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "gateway/net/checksum.h"
#include "gateway/net/frame_builder.h"
#include "protocol/byte_order.h"
#include "protocol/log.h"
#include "tests/gateway/dpdk_test_rig.h"
#include "tests/gateway/frame_test_util.h"
#include "tests/gateway/socket_harness.h"

namespace aigw {
namespace {

namespace fs = std::filesystem;
using test::read_capture;
using test::wait_for;
using namespace std::chrono_literals;

constexpr uint32_t kGwIp = 0x0a000001;      // 10.0.0.1, port 0
constexpr uint32_t kDeviceIp = 0x0a000002;  // 10.0.0.2
constexpr uint32_t kGpuIp = 0x0a000009;     // 10.0.0.9
constexpr uint32_t kVethGwIp = 0x0a4d0001;  // 10.77.0.1, port 1
constexpr uint32_t kVethDevIp = 0x0a4d0002; // 10.77.0.2
constexpr uint16_t kDataPort0 = 9000, kDataPort1 = 9001, kGpuPort = 5000, kEgressPort = 7300;
constexpr size_t kContent = 20'000;
const net::Mac kGwMac{0x02, 0, 0, 0, 0, 0x01};
const net::Mac kDeviceMac{0x02, 0, 0, 0, 0, 0x02};
const net::Mac kGpuMac{0x02, 0, 0, 0, 0, 0x09};

/// Expected frame-level and pipeline counters for port 0, filled while writing the capture.
struct Expect {
  size_t frames = 0;
  std::map<std::string, uint64_t> frame_stats;
  std::map<PortStat, uint64_t> port_stats;
};

net::UdpFlow device_flow(uint16_t dst_port = kDataPort0) {
  net::UdpFlow f;
  f.src_mac = kDeviceMac;
  f.dst_mac = kGwMac;
  f.src_ip = kDeviceIp;
  f.dst_ip = kGwIp;
  f.src_port = 40000;
  f.dst_port = dst_port;
  return f;
}

struct Suite {
  fs::path dir;
  test::VethInNamespace veth;
  Expect expect;
  std::set<uint16_t> lost_fragments{3, 10};  // of stream 2 unit 1
  test::Udp device_control;                   // NACKs for the pcap devices land here
  test::Udp controller;
  std::unique_ptr<test::NodeThread> node;
  bool stopped = false;
  net::Mac backend_mac0{};

  void write_rx_capture() {
    test::PcapWriter c((dir / "rx.pcap").string());
    uint8_t buf[net::kMinFrameSize];
    // The GPU server announces itself (gratuitous ARP reply), then a device resolves us.
    net::Arp gpu;
    gpu.sender_mac = kGpuMac;
    gpu.sender_ip = kGpuIp;
    gpu.target_ip = kGpuIp;
    net::build_arp_reply(gpu, kGpuMac, kGpuIp, buf);
    c.add({buf, buf + sizeof buf});
    expect.frame_stats["arp_ignored"]++;
    net::build_arp_request(kDeviceMac, kDeviceIp, kGwIp, buf);
    c.add({buf, buf + sizeof buf});
    expect.frame_stats["arp_answered"]++;
    // ICMP echo request.
    {
      std::vector<uint8_t> f = test::udp_frame(device_flow(), std::vector<uint8_t>(32, 0x61));
      uint8_t* ip = f.data() + net::kEthHeaderSize;
      ip[9] = net::kIpProtoIcmp;
      wire::put_u16(ip + 10, 0);
      wire::put_u16(ip + 10, net::checksum_finish(net::checksum_add(0, ip, 20)));
      uint8_t* icmp = ip + 20;
      icmp[0] = 8;
      icmp[1] = 0;
      wire::put_u16(icmp + 2, 0);
      wire::put_u16(icmp + 2, net::checksum_finish(net::checksum_add(0, icmp, f.size() - 34)));
      c.add(f);
      expect.frame_stats["icmp_echo_answered"]++;
    }
    auto add_unit = [&](uint32_t stream, uint32_t seq, const std::set<uint16_t>& skip) {
      auto frags = test::unit_fragments(stream, seq, kContent);
      for (size_t i = 0; i < frags.size(); ++i)
        if (!skip.count(static_cast<uint16_t>(i))) c.add(test::udp_frame(device_flow(), frags[i]));
      return frags.size() - skip.size();
    };
    uint64_t accepted = 0;
    for (uint32_t q = 0; q < 3; ++q) accepted += add_unit(1, q, {});
    accepted += add_unit(2, 0, {});
    accepted += add_unit(2, 1, lost_fragments);
    expect.port_stats[PortStat::units_completed] = 4;
    auto frag = test::unit_fragments(1, 50, kContent)[0];
    // Malformed at every layer, each counted once.
    {
      auto f = test::udp_frame(device_flow(), frag);
      f[net::kEthHeaderSize + 8] ^= 1;  // IP header checksum stale
      c.add(f);
      expect.frame_stats["ip_bad_checksum"]++;
    }
    {
      auto f = test::udp_frame(device_flow(), frag);
      f[f.size() - 1] ^= 1;  // payload no longer matches the UDP checksum
      c.add(f);
      expect.frame_stats["udp_bad_checksum"]++;
    }
    c.add(std::vector<uint8_t>(10, 0xee));
    expect.frame_stats["runt"]++;
    {
      auto f = test::udp_frame(device_flow(), frag);
      wire::put_u16(f.data() + 12, 0x86dd);  // IPv6
      c.add(f);
      expect.frame_stats["unsupported_ethertype"]++;
    }
    {
      auto bad = frag;
      bad[0] ^= 0xff;
      c.add(test::udp_frame(device_flow(), bad));
      expect.port_stats[PortStat::drop_bad_magic] = 1;
    }
    c.add(test::udp_frame(device_flow(), test::unit_fragments(99, 0, kContent)[0]));
    expect.port_stats[PortStat::drop_unknown_stream] = 1;
    {
      auto flow = device_flow();
      flow.src_ip = 0x0a000042;  // spoofed source
      c.add(test::udp_frame(flow, frag));
      expect.port_stats[PortStat::drop_wrong_source] = 1;
    }
    {
      auto flow = device_flow();
      flow.dst_ip = 0x0a000063;
      c.add(test::udp_frame(flow, frag));
      expect.frame_stats["not_for_us"]++;
    }
    c.add(test::udp_frame(device_flow(4444), frag));
    expect.frame_stats["unknown_udp_port"]++;
    expect.frames = c.count;
    expect.port_stats[PortStat::fragments_accepted] = accepted - 4;  // completing ones counted apart
  }

  void start() {
    dir = fs::temp_directory_path() / ("aigw_dpdk_test_" + std::to_string(getpid()));
    fs::create_directories(dir);
    write_rx_capture();
    if (geteuid() == 0) veth.create("aigwt", "10.77.0.2/24");
    GatewayConfig c = test::loopback_config(0, controller.ep);
    c.backend = "dpdk";
    c.eal_args = {"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                  "--file-prefix", "aigwtest" + std::to_string(getpid()), "--log-level", "lib.eal:error",
                  "--vdev=net_pcap0,rx_pcap=" + (dir / "rx.pcap").string() + ",tx_pcap=" + (dir / "tx.pcap").string()};
    if (veth.up) c.eal_args.push_back("--vdev=net_af_packet0,iface=" + veth.gw);
    c.dpdk_mbufs = 4095;
    c.dpdk_egress_udp_port = kEgressPort;
    c.receiver.unit_deadline_ns = 600'000'000;
    c.receiver.idle_nack_ns = 50'000'000;
    c.receiver.renack_interval_ns = 100'000'000;
    c.receiver.max_nack_rounds = 3;
    PortConfig p0;
    p0.ip = kGwIp;
    p0.address = "10.0.0.1";
    p0.port = kDataPort0;
    p0.dpdk_port_id = 0;
    p0.checksum = ChecksumPolicy::software;
    p0.memory_budget_bytes = 32u << 20;
    c.ports.push_back(p0);
    if (veth.up) {
      PortConfig p1 = p0;
      p1.ip = kVethGwIp;
      p1.address = "10.77.0.1";
      p1.port = kDataPort1;
      p1.dpdk_port_id = 1;
      c.ports.push_back(p1);
    }
    auto stream = [&](uint32_t id, uint16_t port, uint32_t src_ip) {
      StreamRoute r;
      r.stream_id = id;
      r.data_port = port;
      r.source = {src_ip, 0};
      r.device_control = device_control.ep;
      r.device_id = test::kTestDeviceId;
      r.gpu = {kGpuIp, kGpuPort};
      c.static_streams.push_back(r);
    };
    stream(1, kDataPort0, kDeviceIp);
    stream(2, kDataPort0, kDeviceIp);
    if (veth.up) stream(3, kDataPort1, kVethDevIp);
    node = std::make_unique<test::NodeThread>(c);
    if (node->ok) backend_mac0 = backend().port(0).mac;
  }

  DpdkBackend& backend() { return static_cast<DpdkBackend&>(node->node->data_plane()); }
  uint64_t frame_stat(size_t port, const std::string& name) {
    for (size_t k = 0; k < kFrameStatCount; ++k)
      if (name == frame_stat_name(k)) return backend().frame_stats(port).get(k);
    ADD_FAILURE() << "no frame stat " << name;
    return 0;
  }
  void stop() {
    if (!stopped && node) node->stop();
    stopped = true;
  }
};

using DpdkBackendTest = test::DpdkSuiteTest<Suite>;
Suite*& suite = DpdkBackendTest::suite;

TEST_F(DpdkBackendTest, PcapReplayIsParsedCountedAndNacked) {
  ASSERT_TRUE(wait_for([] { return suite->frame_stat(0, "rx_frames") == suite->expect.frames; }, 10s))
      << suite->frame_stat(0, "rx_frames") << " of " << suite->expect.frames;
  // The two missing fragments are NACKed, exactly, to the device's control socket.
  std::set<uint16_t> nacked;
  test::GatewayPeerKeys keys;
  EnvelopeOpener opener(keys);
  wait_for([&] {
    uint8_t buf[2048];
    ssize_t n;
    while ((n = suite->device_control.recv(buf, sizeof buf)) >= 0) {
      EnvelopeView v;
      if (opener.open(buf, static_cast<size_t>(n), v) != EnvelopeError::ok) continue;
      ctl::RetransmitRequest r;
      if (v.type != MessageType::retransmit_request || !r.ParseFromArray(v.body, static_cast<int>(v.body_len))) continue;
      EXPECT_EQ(r.stream_id(), 2u);
      EXPECT_EQ(r.unit_seq(), 1u);
      std::vector<uint16_t> out(1024);
      size_t count = 0;
      EXPECT_EQ(decode_nack(static_cast<NackEncoding>(r.encoding()), r.first_fragment(), r.missing_count(),
                            r.fragment_count(), reinterpret_cast<const uint8_t*>(r.missing().data()),
                            r.missing().size(), out.data(), out.size(), count),
                NackError::ok);
      nacked.insert(out.begin(), out.begin() + static_cast<long>(count));
    }
    return nacked.size() >= suite->lost_fragments.size();
  }, 5s);
  EXPECT_EQ(nacked, suite->lost_fragments);
  ASSERT_TRUE(wait_for([] { return suite->node->port_stat(0, PortStat::units_lost_nack_rounds) +
                                       suite->node->port_stat(0, PortStat::units_lost_deadline) == 1; }, 5s));
  for (const auto& [name, v] : suite->expect.frame_stats) EXPECT_EQ(suite->frame_stat(0, name), v) << name;
  for (const auto& [stat, v] : suite->expect.port_stats)
    EXPECT_EQ(suite->node->port_stat(0, stat), v) << stat_info(stat).metric << " " << (stat_info(stat).reason ? stat_info(stat).reason : "");
  EXPECT_EQ(suite->frame_stat(0, "udp_no_checksum"), 0u);
  EXPECT_EQ(suite->frame_stat(0, "multi_segment"), 0u);
}

/// Sends one ICMP echo request from inside `netns` (an unprivileged ICMP datagram
/// socket, which needs no ping binary) and waits for the reply.
::testing::AssertionResult echo_from_namespace(const std::string& netns, uint32_t ip) {
  ::testing::AssertionResult result = ::testing::AssertionFailure() << "no ICMP echo reply";
  std::thread([&] {
    int ns = open(("/var/run/netns/" + netns).c_str(), O_RDONLY);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
      result = ::testing::AssertionFailure() << "cannot enter network namespace " << netns << ": " << strerror(errno);
      if (ns >= 0) close(ns);
      return;
    }
    close(ns);
    // Inside the namespace only: lets this unprivileged-style ICMP socket open.
    const auto sysctl = test::setup_step("sysctl -w net.ipv4.ping_group_range='0 2147483647'");
    if (!sysctl) {
      result = sysctl;
      return;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) {
      result = ::testing::AssertionFailure() << "ICMP datagram socket: " << strerror(errno);
      return;
    }
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t req[16] = {8, 0, 0, 0, 0, 0, 0, 1, 'a', 'i', 'g', 'w'};
    sockaddr_in to = Ipv4Endpoint{ip, 0}.to_sockaddr();
    if (sendto(fd, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == sizeof req) {
      uint8_t rep[64];
      ssize_t n = recv(fd, rep, sizeof rep, 0);
      if (n >= 8 && rep[0] == 0) result = ::testing::AssertionSuccess();
    }
    close(fd);
  }).join();
  return result;
}

TEST_F(DpdkBackendTest, AfPacketOnVethInANetworkNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for veth and network namespaces";
  ASSERT_TRUE(suite->veth.up) << suite->veth.error;
  // A socket that lives in the test namespace: created on a thread that entered it.
  int fd = -1;
  std::thread([&] {
    int ns = open(("/var/run/netns/" + suite->veth.netns).c_str(), O_RDONLY);
    if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0) fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (ns >= 0) close(ns);
  }).join();
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(echo_from_namespace(suite->veth.netns, kVethGwIp)) << "ICMP echo over af_packet";
  sockaddr_in to = Ipv4Endpoint{kVethGwIp, kDataPort1}.to_sockaddr();
  for (uint32_t q = 0; q < 2; ++q)
    for (auto& f : test::unit_fragments(3, q, kContent)) {
      ASSERT_EQ(sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(f.size()));
      std::this_thread::sleep_for(200us);  // the veth queue is short
    }
  close(fd);
  EXPECT_TRUE(wait_for([] { return suite->node->port_stat(1, PortStat::units_completed) == 2; }, 10s));
  EXPECT_GE(suite->frame_stat(1, "arp_answered"), 1u);
  EXPECT_GE(suite->frame_stat(1, "icmp_echo_answered"), 1u);
  EXPECT_EQ(suite->frame_stat(1, "udp_bad_checksum"), 0u);
}

TEST_F(DpdkBackendTest, TelemetryServesTheCounters) {
  ASSERT_TRUE(wait_for([] { return suite->node->port_stat(0, PortStat::units_completed) == 4; }, 10s));
  const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
  int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << path;
  char buf[65536];
  ASSERT_GT(read(fd, buf, sizeof buf), 0);  // greeting
  const std::string cmd = "/aigw/frames,0";
  ASSERT_EQ(write(fd, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
  ssize_t n = read(fd, buf, sizeof buf);
  ASSERT_GT(n, 0);
  auto j = nlohmann::json::parse(std::string(buf, static_cast<size_t>(n)));
  EXPECT_EQ(j["/aigw/frames"]["rx_frames"].get<uint64_t>(), suite->expect.frames);
  EXPECT_EQ(j["/aigw/frames"]["arp_answered"].get<uint64_t>(), 1u);
  const std::string cmd2 = "/aigw/port,0";
  ASSERT_EQ(write(fd, cmd2.data(), cmd2.size()), static_cast<ssize_t>(cmd2.size()));
  n = read(fd, buf, sizeof buf);
  ASSERT_GT(n, 0);
  j = nlohmann::json::parse(std::string(buf, static_cast<size_t>(n)));
  EXPECT_EQ(j["/aigw/port"]["port_units_completed_total"].get<uint64_t>(), 4u);
  EXPECT_EQ(j["/aigw/port"]["port_dropped_datagrams_total_wrong_source"].get<uint64_t>(), 1u);
  close(fd);
}

TEST_F(DpdkBackendTest, TxCaptureHoldsRepliesAndWholeUnits) {
  suite->stop();  // closes the ports: the tx capture is complete
  auto frames = read_capture((suite->dir / "tx.pcap").string());
  ASSERT_FALSE(frames.empty());
  bool arp_reply = false, echo_reply = false;
  struct Gpu : ReceiverEvents {
    std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>> units;
    void on_unit_complete(const CompletedUnit& i, UnitHandle& u) override {
      units[{i.stream_id, i.unit_seq}] = std::vector<uint8_t>(u.data(), u.data() + u.size());
    }
    void on_unit_lost(const LostUnit&) override {}
    void on_nack(const NackOut&) override {}
  } gpu;
  UnitReceiver rx(ReceiverConfig{}, gpu);
  for (uint32_t s = 1; s <= 3; ++s) rx.add_stream(s);
  for (const auto& f : frames) {
    net::Frame p;
    ASSERT_EQ(net::parse_frame(f.data(), f.size(), net::UdpChecksum::software, p), net::ParseError::ok);
    if (p.kind == net::FrameKind::arp && p.arp.op == 2 && p.arp.target_ip == kDeviceIp) {
      arp_reply = p.arp.sender_ip == kGwIp && p.arp.sender_mac == suite->backend_mac0;
    } else if (p.kind == net::FrameKind::icmp && p.payload[0] == 0 && p.dst_ip == kDeviceIp) {
      echo_reply = true;
    } else if (p.kind == net::FrameKind::udp) {
      EXPECT_EQ(p.dst_mac, kGpuMac);
      EXPECT_EQ(p.dst_ip, kGpuIp);
      EXPECT_EQ(p.dst_port, kGpuPort);
      EXPECT_EQ(p.src_ip, kGwIp);
      EXPECT_EQ(p.src_port, kEgressPort);
      DataHeader h;
      ASSERT_EQ(decode_data_header(p.payload, p.payload_len, h), DecodeError::ok);
      rx.on_fragment(h, p.payload + kDataHeaderSize, 0);
    }
  }
  EXPECT_TRUE(arp_reply);
  EXPECT_TRUE(echo_reply);
  std::vector<std::pair<uint32_t, uint32_t>> want{{1, 0}, {1, 1}, {1, 2}, {2, 0}};
  if (suite->veth.up) want.insert(want.end(), {{3, 0}, {3, 1}});
  EXPECT_EQ(gpu.units.size(), want.size());
  for (const auto& u : want) {
    ASSERT_TRUE(gpu.units.count(u)) << u.first << "/" << u.second;
    EXPECT_EQ(gpu.units.at(u), test::unit_bytes(u.first, u.second, kContent));
  }
}

}  // namespace
}  // namespace aigw
