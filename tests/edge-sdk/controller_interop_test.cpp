// The SDK against the real controller daemon (controller/daemon/daemon.h) on loopback: the
// device is admitted by the controller's algorithm, the gateway learns the device's
// control address from the controller's StreamAssign and NACKs to it, an operator
// migration (`aigwctl migrate`) runs EXPECT -> SWITCH (answered by the SDK) -> RELEASE,
// and StreamClose reaches the gateway as StreamAssign{remove}. Two test gateways with
// the protocol UnitReceiver and a test GPU server stand in for the other processes.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aigw/edge.hpp"
#include "controller/daemon/daemon.h"
#include "protocol/control.pb.h"
#include "protocol/unit_digest.h"
#include "tests/edge-sdk/loopback_gateway.h"
#include "tests/edge-sdk/wait_for.h"
#include "tests/edge-sdk/udp_peer.h"

namespace aigw::edge {
namespace {

using Clock = std::chrono::steady_clock;
using test::LoopbackGateway;
using test::UdpPeer;

// A node's key as provisioned from the controller's master (the test key).
ControlKey node_key(NodeRole role, uint32_t id) { return derive_node_key(test::test_key(), make_sender_id(role, id)); }

// Gateways 1 and 2 and GPU server 1, all driven by one thread that also keeps them
// alive at the controller (LoadSync/StreamSync every 100 ms, GpuRegister once).
class Nodes {
 public:
  explicit Nodes(uint16_t controller_port)
      : gw1_(1, 0.05, 31, node_key(NodeRole::gateway, 1)), gw2_(2, 0.05, 32, node_key(NodeRole::gateway, 2)),
        gpu_(make_sender_id(NodeRole::gpu, 1), 1, node_key(NodeRole::gpu, 1)) {
    // NACKs to device 7 under the pair keys the controller gives it for each gateway.
    for (auto [gw, id] : {std::pair{&gw1_, 1u}, {&gw2_, 2u}})
      gw->set_pair_key(kPairKeyFlag | 1, derive_pair_key(node_key(NodeRole::gateway, id), make_sender_id(NodeRole::device, 7)));
    make_endpoint("127.0.0.1", controller_port, controller_);
    ctl::GpuRegister g;
    g.set_gpu_id(1);
    g.set_address("127.0.0.1");
    g.set_port(9);  // units are not forwarded in this test
    g.add_models("openpose");
    g.set_capacity_units_per_s(1000);
    gpu_.send(controller_, MessageType::gpu_register, g.SerializeAsString());
    thread_ = std::thread([this] { run(); });
  }
  ~Nodes() {
    stop_ = true;
    thread_.join();
  }
  LoopbackGateway& gw(uint32_t id) { return id == 1 ? gw1_ : gw2_; }

  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    return wait_for_locked(mu, pred, limit);
  }

  std::mutex mu;

 private:
  void run() {
    uint64_t period = 0;
    auto next_sync = Clock::now();
    while (!stop_) {
      pollfd fds[4] = {{gw1_.data_fd(), POLLIN, 0}, {gw2_.data_fd(), POLLIN, 0},
                       {gw1_.agent_fd(), POLLIN, 0}, {gw2_.agent_fd(), POLLIN, 0}};
      poll(fds, 4, 1);
      std::lock_guard<std::mutex> l(mu);
      if (fds[0].revents & POLLIN) gw1_.on_data();
      if (fds[1].revents & POLLIN) gw2_.on_data();
      if (fds[2].revents & POLLIN) gw1_.on_agent(controller_);
      if (fds[3].revents & POLLIN) gw2_.on_agent(controller_);
      gw1_.poll();
      gw2_.poll();
      if (Clock::now() >= next_sync) {
        ++period;
        gw1_.sync(controller_, period);
        gw2_.sync(controller_, period);
        next_sync += std::chrono::milliseconds(100);
      }
    }
  }

  UdpEndpoint controller_;
  LoopbackGateway gw1_;
  LoopbackGateway gw2_;
  UdpPeer gpu_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ControllerInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aigw-edge-interop-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    controller::ControllerConfig cfg;
    cfg.keys.push_back({1, KeyRing::to_hex(test::test_key()), {}});
    cfg.listen = "127.0.0.1:0";
    cfg.control_socket = dir_ + "/controller.sock";
    cfg.http_listen = "";
    cfg.log_level = "warn";
    cfg.sync_period_ms = 100;
    cfg.admission_warmup_ms = 0;
    cfg.migration_enabled = false;  // only the operator's migration below
    std::string error;
    daemon_ = controller::Daemon::create(cfg, "", error);
    ASSERT_NE(daemon_, nullptr) << error;
    loop_ = std::thread([this] { daemon_->run(false); });
  }
  void TearDown() override {
    if (daemon_) daemon_->stop();
    if (loop_.joinable()) loop_.join();
    daemon_.reset();
    std::remove((dir_ + "/controller.sock").c_str());
    std::remove(dir_.c_str());
  }

  int aigwctl(const std::string& args) {
    const std::string cmd = std::string(std::getenv("AIGWCTL")) + " -s " + dir_ + "/controller.sock " +
                            args + " >/dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string dir_;
  std::unique_ptr<controller::Daemon> daemon_;
  std::thread loop_;
};

std::vector<uint8_t> tensor(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_F(ControllerInterop, AdmissionNacksMigrationAndCloseThroughTheRealController) {
  ASSERT_NE(std::getenv("AIGWCTL"), nullptr);
  Nodes nodes(daemon_->udp_port());
  // The device's own key, derived from the controller's master.
  const ControlKey key = derive_node_key(test::test_key(), make_sender_id(NodeRole::device, 7));
  const std::string controller = "127.0.0.1:" + std::to_string(daemon_->udp_port());
  aigw_edge_options o = default_options();
  o.controller = controller.c_str();
  o.device_id = 7;
  o.key_id = 1;
  o.key = key.data();
  o.mode = AIGW_MODE_THREAD;
  o.control_bind = "127.0.0.1:0";
  o.data_bind = "127.0.0.1:0";
  o.log_level = AIGW_LOG_WARN;
  Client client;
  ASSERT_TRUE(client.create(o));

  aigw_stream_profile p = default_profile();
  p.unit_bytes = 60000;
  p.period_ms = 100;
  p.model = "openpose";
  aigw_stream_info info{};
  // The gateways' first LoadSync may not have arrived yet: no gateway, try again.
  Status admitted;
  for (int i = 0; i < 50; ++i) {
    admitted = client.open_stream(p, info);
    if (admitted.code() != AIGW_ERR_REJECTED_NO_GATEWAY && admitted.code() != AIGW_ERR_REJECTED_CAPACITY &&
        admitted.code() != AIGW_ERR_REJECTED_NO_GPU)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(admitted) << admitted.message();
  ASSERT_TRUE(info.gateway_id == 1 || info.gateway_id == 2);
  const uint32_t stream = info.stream_id;
  const uint32_t from = info.gateway_id;
  const uint32_t to = 3 - from;
  EXPECT_EQ(info.gateway_port, nodes.gw(from).data().port());
  EXPECT_EQ(info.gpu_id, 1u);
  ASSERT_TRUE(nodes.wait_for([&] { return nodes.gw(from).assigned.count(stream) == 1; }));

  std::vector<std::vector<uint8_t>> units;
  for (uint32_t seq = 0; seq < 6; ++seq) units.push_back(tensor(p.unit_bytes, 50 + seq));
  for (uint32_t seq = 0; seq < 3; ++seq) {
    ASSERT_TRUE(client.send_unit(stream, units[seq]));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(nodes.wait_for([&] { return nodes.gw(from).complete.size() == 3; }));

  // Operator migration; the controller drives EXPECT, SWITCH (to the SDK), RELEASE.
  ASSERT_EQ(aigwctl("migrate " + std::to_string(stream) + " " + std::to_string(to)), 0);
  ASSERT_TRUE(nodes.wait_for([&] { return nodes.gw(from).released_at != UINT32_MAX; }));
  uint32_t switch_seq = 0;
  {
    std::lock_guard<std::mutex> l(nodes.mu);
    switch_seq = nodes.gw(from).released_at;  // the seq the SDK acknowledged
  }
  aigw_stream_stats st{};
  ASSERT_TRUE(client.stats(stream, st));
  EXPECT_EQ(st.migrations, 1u);
  EXPECT_EQ(switch_seq, 3u);  // units 0..2 were begun when SWITCH arrived
  for (uint32_t seq = 3; seq < 6; ++seq) {
    ASSERT_TRUE(client.send_unit(stream, units[seq]));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(nodes.wait_for([&] { return nodes.gw(to).complete.size() == 3; }));
  ASSERT_TRUE(client.stats(stream, st));
  EXPECT_EQ(st.gateway_id, to);
  EXPECT_GT(st.fragments_resent, 0u);  // 5 % loss at both gateways, repaired by NACKs

  ASSERT_TRUE(client.close_stream(stream));
  ASSERT_TRUE(nodes.wait_for([&] { return nodes.gw(to).removed.count(stream) == 1; }));

  std::lock_guard<std::mutex> l(nodes.mu);
  for (uint32_t seq = 0; seq < 6; ++seq) {
    auto& gw = nodes.gw(seq < switch_seq ? from : to);
    ASSERT_EQ(gw.complete.count(seq), 1u) << seq;
    const auto& wire = gw.complete[seq];
    ASSERT_TRUE(verify_unit_digest(wire.data(), wire.size()));
    EXPECT_TRUE(std::equal(units[seq].begin(), units[seq].end(), wire.begin())) << seq;
  }
  EXPECT_TRUE(nodes.gw(from).lost.empty());
  EXPECT_TRUE(nodes.gw(to).lost.empty());
  EXPECT_GT(nodes.gw(from).nacks + nodes.gw(to).nacks, 0u);
}

}  // namespace
}  // namespace aigw::edge
