#include "gateway/node/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace aigw {
namespace {

const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string minimal() {
  return std::string("[control]\nkey = \"") + kKey + "\"\n[[port]]\naddress = \"127.0.0.1\"\nport = 9000\n";
}

TEST(Config, DefaultsWithOnePort) {
  GatewayConfig c;
  std::string err;
  ASSERT_TRUE(parse_config(minimal(), c, err)) << err;
  EXPECT_EQ(c.gateway_id, 1u);
  EXPECT_EQ(c.backend, "socket");
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].port, 9000);
  EXPECT_EQ(c.ports[0].ip, 0x7f000001u);
  EXPECT_TRUE(c.have_key);
  EXPECT_EQ(c.key[0], 0x00);
  EXPECT_EQ(c.key[1], 0x11);
  EXPECT_EQ(c.sync_period_ns, 1'000'000'000);
  EXPECT_DOUBLE_EQ(c.load.smoothing, 0.8);
  EXPECT_EQ(c.socket_workers, 1u);
}

TEST(Config, EverySectionParses) {
  std::string t = minimal() + R"(
[gateway]
id = 7
log_level = "debug"
backend = "dpdk"
max_streams = 100
[egress]
bind = "127.0.0.1:7300"
max_payload = 1400
store_units = 8
store_ttl_ms = 500
store_budget_mb = 16
pace_mbps = 800
[receiver]
reorder_tolerance_ms = 1.5
unit_deadline_ms = 2000
max_nack_rounds = 4
release_timeout_ms = 100
[load]
smoothing = 0.5
weight_cpu = 0.5
weight_memory = 0.25
weight_net = 0.25
memory_capacity_mb = 512
[metrics]
enabled = false
bind = "127.0.0.1:0"
[socket]
batch = 32
workers = 3
[dpdk]
eal_args = ["-l", "0", "--no-huge"]
burst = 64
next_hop_mac = "02:00:00:00:00:01"
egress_port = 1
[[port]]
address = "127.0.0.2"
port = 9001
capacity_gbps = 25
memory_budget_mb = 64
checksum = "software"
prefix_len = 24
rx_queues = 2
[[route]]
prefix = "10.9.0.0/16"
port = 1
via = "127.0.0.254"
[[stream]]
id = 42
port = 9001
source = "127.0.0.1:0"
device_control = "127.0.0.1:7400"
gpu = "127.0.0.1:7500"
gpu_id = 3
)";
  GatewayConfig c;
  std::string err;
  ASSERT_TRUE(parse_config(t, c, err)) << err;
  EXPECT_EQ(c.gateway_id, 7u);
  EXPECT_EQ(c.backend, "dpdk");
  EXPECT_EQ(c.socket_batch, 32u);
  EXPECT_EQ(c.socket_workers, 3u);
  EXPECT_EQ(c.egress_bind.port, 7300);
  EXPECT_EQ(c.egress.max_payload, 1400);
  EXPECT_EQ(c.egress.store_ttl_ns, 500'000'000);
  EXPECT_EQ(c.egress.store_budget_bytes, size_t{16} << 20);
  EXPECT_DOUBLE_EQ(c.egress.pace_bytes_per_s, 100e6);
  EXPECT_EQ(c.receiver.reorder_tolerance_ns, 1'500'000);
  EXPECT_EQ(c.release_timeout_ns, 100'000'000);
  EXPECT_DOUBLE_EQ(c.load.memory_capacity_bytes, 512.0 * (1 << 20));
  EXPECT_FALSE(c.metrics_enabled);
  EXPECT_EQ(c.eal_args.size(), 3u);
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[1].ip, 0x7f000002u);
  EXPECT_EQ(c.ports[1].dpdk_port_id, 1);
  EXPECT_EQ(c.ports[1].checksum, ChecksumPolicy::software);
  EXPECT_DOUBLE_EQ(c.ports[1].capacity_bps, 25e9);
  EXPECT_EQ(c.ports[1].prefix_len, 24);
  EXPECT_EQ(c.ports[1].rx_queues, 2);
  EXPECT_EQ(c.ports[0].prefix_len, -1);
  EXPECT_EQ(c.ports[0].rx_queues, 1);
  EXPECT_EQ(c.dpdk_egress_port, 1u);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].prefix, 0x0a090000u);
  EXPECT_EQ(c.routes[0].prefix_len, 16);
  EXPECT_EQ(c.routes[0].port_index, 1u);
  EXPECT_EQ(c.routes[0].via, 0x7f0000feu);
  ASSERT_EQ(c.static_streams.size(), 1u);
  EXPECT_EQ(c.static_streams[0].stream_id, 42u);
  EXPECT_EQ(c.static_streams[0].gpu.port, 7500);
  EXPECT_EQ(c.static_streams[0].device_control.port, 7400);
}

TEST(Config, ErrorsNameTheKey) {
  struct Case {
    std::string text;
    const char* expect;
  } cases[] = {
      {minimal() + "[gateway]\nid = -1\n", "gateway.id"},
      {minimal() + "[gateway]\nbackend = \"xdp\"\n", "gateway.backend"},
      {minimal() + "[gateway]\nidd = 1\n", "unknown key gateway.idd"},
      {minimal() + "[bogus]\n", "unknown section bogus"},
      {minimal() + "[control]\n", "TOML syntax"},
      {"[control]\nkey = \"abc\"\n[[port]]\nport = 1\n", "control.key"},
      {std::string("[control]\nkey = \"") + kKey + "\"\n", "at least one [[port]]"},
      {minimal() + "[[port]]\naddress = \"1.2.3\"\nport = 1\n", "port[1].address"},
      {minimal() + "[[port]]\nport = 9000\n", "duplicates"},
      {minimal() + "[load]\nsmoothing = 1.5\n", "load.smoothing"},
      {minimal() + "[[stream]]\nid = 1\nport = 1234\n", "names a port"},
      {minimal() + "[[stream]]\nid = 1\nport = 9000\ngpu = \"x\"\n", "stream[0].gpu"},
      {minimal() + "[egress]\nmax_payload = 10\n", "egress.max_payload"},
      {minimal() + "[dpdk]\negress_port = 1\n", "dpdk.egress_port"},
      {minimal() + "[[route]]\nprefix = \"10.0.0.0\"\n", "route[0].prefix"},
      {minimal() + "[[route]]\nprefix = \"10.0.0.0/33\"\n", "route[0].prefix"},
      {minimal() + "[[route]]\nprefix = \"10.0.0.0/8\"\nport = 3\n", "route[0].port"},
      {minimal() + "[[route]]\nprefix = \"10.0.0.0/8\"\nvia = \"x\"\n", "route[0].via"},
      {minimal() + "[[port]]\nport = 9001\nprefix_len = 40\n", "port[1].prefix_len"},
      {minimal() + "[[port]]\nport = 9001\nrx_queues = 0\n", "port[1].rx_queues"},
      {minimal() + "[socket]\nworkers = 0\n", "socket.workers"},
      {minimal() + "[socket]\nworkers = 65\n", "socket.workers"},
      {minimal() + "[socket]\nworkers = 4\n[egress]\nbind = \"127.0.0.1:65534\"\n", "socket.workers"},
      {"route = 5\n" + minimal(), "route must be an array of tables"},
      {"stream = [1]\n" + minimal(), "stream must be an array of tables"},

  };
  for (const auto& c : cases) {
    GatewayConfig cfg;
    std::string err;
    EXPECT_FALSE(parse_config(c.text, cfg, err)) << c.text;
    EXPECT_NE(err.find(c.expect), std::string::npos) << "error: " << err << " expected: " << c.expect;
  }
}

TEST(Config, MissingFileIsAnError) {
  GatewayConfig c;
  std::string err;
  EXPECT_FALSE(load_config("/nonexistent/gw.toml", c, err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}

TEST(Config, AKeyFileOthersCanReadIsRefused) {
  char dir[] = "/tmp/aigw-keyfile-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/gateway.key";
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(kKey, f);
  std::fclose(f);
  const std::string text = "[control]\nkey_file = \"" + path + "\"\n[[port]]\naddress = \"127.0.0.1\"\nport = 9000\n";
  GatewayConfig c;
  std::string err;
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(parse_config(text, c, err));
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(parse_config(text, c, err)) << err;
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace aigw
