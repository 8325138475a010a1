// End to end on loopback through real sockets: the SDK (C ABI) against a test cluster
// that plays the controller (real envelopes: admission, heartbeats, MigrateCommand
// SWITCH, StreamClose) and two gateways (the protocol UnitReceiver reassembling
// fragments, with seeded loss, and NACKs sent as RetransmitRequest envelopes to the
// device's control port). Selective retransmission, migration at a unit boundary and
// encrypted units are checked on what the gateways actually reassembled.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "aigw/edge.hpp"
#include "protocol/control.pb.h"
#include "protocol/log.h"
#include "protocol/unit_digest.h"
#include "tests/edge-sdk/loopback_gateway.h"
#include "tests/edge-sdk/wait_for.h"
#include "tests/edge-sdk/udp_peer.h"

namespace aigw::edge {
namespace {

using test::LoopbackGateway;
using test::Received;
using test::UdpPeer;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kControllerId = (4u << 24) | 1;
constexpr uint32_t kStreamId = 77;

int64_t now_ns() { return aigw::log::steady_now_ns(); }

// The controller and two gateways, run by one thread; the test reads results under mu.
class Cluster {
 public:
  explicit Cluster(double loss) : controller_(kControllerId), gw1_(1, loss, 11), gw2_(2, loss, 22) {
    thread_ = std::thread([this] { run(); });
  }
  ~Cluster() {
    stop_ = true;
    thread_.join();
  }
  std::string controller_address() const { return controller_.address(); }

  /// Queues a MigrateCommand SWITCH of the stream to gateway 2 from `seq` (gateway 2
  /// was told to EXPECT it first, as the controller does).
  void migrate_to_gw2(uint32_t seq) {
    std::lock_guard<std::mutex> l(mu);
    pending_switch_ = seq;
  }
  /// Waits (bounded) until `pred` holds under the lock.
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    return wait_for_locked(mu, pred, limit);
  }

  std::mutex mu;
  LoopbackGateway& gw1() { return gw1_; }
  LoopbackGateway& gw2() { return gw2_; }
  std::vector<ctl::MigrateAck> acks;
  std::vector<ctl::StreamClose> closes;
  uint32_t heartbeats = 0;
  ctl::AdmissionRequest request;

 private:
  void run() {
    while (!stop_) {
      pollfd fds[3] = {{controller_.fd(), POLLIN, 0}, {gw1_.data_fd(), POLLIN, 0}, {gw2_.data_fd(), POLLIN, 0}};
      poll(fds, 3, 1);
      std::lock_guard<std::mutex> l(mu);
      if (fds[0].revents & POLLIN) on_control();
      if (fds[1].revents & POLLIN) gw1_.on_data();
      if (fds[2].revents & POLLIN) gw2_.on_data();
      gw1_.poll();
      gw2_.poll();
      if (pending_switch_ != kNone) send_switch();
    }
  }
  void on_control() {
    Received r;
    if (!controller_.read_one(r)) return;
    if (r.type == MessageType::admission_request) {
      request.ParseFromString(r.body);
      make_endpoint(request.control_address(), request.control_port(), device_control_);
      gw1_.expect(kStreamId, 0, device_control_);
      ctl::AdmissionReply reply;
      reply.set_request_id(request.request_id());
      reply.set_status(ctl::ADMISSION_ACCEPTED);
      reply.set_stream_id(kStreamId);
      reply.set_gateway_id(gw1_.id());
      reply.set_gateway_address(gw1_.data().host());
      reply.set_gateway_port(gw1_.data().port());
      reply.set_gateway_key_id(1);
      reply.set_gateway_key_box(aigw::edge::test::test_pair_key_box());
      reply.set_gpu_id(1);
      controller_.send(r.from, MessageType::admission_reply, reply.SerializeAsString());
    } else if (r.type == MessageType::migrate_ack) {
      acks.emplace_back();
      acks.back().ParseFromString(r.body);
    } else if (r.type == MessageType::stream_close) {
      closes.emplace_back();
      closes.back().ParseFromString(r.body);
    } else if (r.type == MessageType::heartbeat) {
      ++heartbeats;
    }
  }
  void send_switch() {
    gw2_.expect(kStreamId, pending_switch_, device_control_);
    ctl::MigrateCommand m;
    m.set_migration_id(1);
    m.set_phase(ctl::MIGRATE_SWITCH);
    m.set_stream_id(kStreamId);
    m.set_switch_unit_seq(pending_switch_);
    m.set_source_gateway_id(gw1_.id());
    m.set_target_gateway_id(gw2_.id());
    m.set_gateway_address(gw2_.data().host());
    m.set_gateway_port(gw2_.data().port());
    m.set_gateway_key_id(1);
    m.set_gateway_key_box(aigw::edge::test::test_pair_key_box());
    m.set_reason("test");
    controller_.send(device_control_, MessageType::migrate_command, m.SerializeAsString());
    pending_switch_ = kNone;
  }

  static constexpr uint32_t kNone = 0xFFFFFFFF;
  UdpPeer controller_;
  LoopbackGateway gw1_;
  LoopbackGateway gw2_;
  UdpEndpoint device_control_;
  uint32_t pending_switch_ = kNone;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<uint8_t> tensor(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

aigw_edge_options options(const std::string& controller, int mode, const ControlKey& key) {
  aigw_edge_options o = default_options();
  static std::string keep;
  keep = controller;
  o.controller = keep.c_str();
  o.device_id = 5;
  o.key_id = 1;
  o.key = key.data();
  o.mode = mode;
  o.control_bind = "127.0.0.1:0";
  o.data_bind = "127.0.0.1:0";
  o.heartbeat_ms = 50;
  o.log_level = AIGW_LOG_WARN;
  return o;
}

TEST(Integration, LossyStreamIsRepairedAndMigratesAtAUnitBoundary) {
  const ControlKey key = test::test_key();
  Cluster cluster(0.05);
  Client client;
  // Thread mode: events arrive on the SDK's thread.
  struct Events {
    std::mutex mu;
    std::vector<aigw_event> list;
    std::thread::id thread;
  } events;
  aigw_edge_options o = options(cluster.controller_address(), AIGW_MODE_THREAD, key);
  o.on_event = [](void* user, const aigw_event* ev) {
    auto* e = static_cast<Events*>(user);
    std::lock_guard<std::mutex> l(e->mu);
    e->list.push_back(*ev);
    e->thread = std::this_thread::get_id();
  };
  o.event_user = &events;
  ASSERT_TRUE(client.create(o));
  aigw_stream_profile p = default_profile();
  p.unit_bytes = 100 * 1024;
  p.period_ms = 50;
  aigw_stream_info info{};
  ASSERT_TRUE(client.open_stream(p, info));
  EXPECT_EQ(info.stream_id, kStreamId);
  EXPECT_EQ(info.gateway_id, 1u);
  {
    std::lock_guard<std::mutex> l(cluster.mu);
    EXPECT_EQ(cluster.request.device_id(), 5u);
    EXPECT_EQ(cluster.request.control_address(), "127.0.0.1");
  }

  std::vector<std::vector<uint8_t>> units;
  for (uint32_t seq = 0; seq < 6; ++seq) units.push_back(tensor(p.unit_bytes - seq * 100, seq));
  for (uint32_t seq = 0; seq < 3; ++seq) {
    ASSERT_TRUE(client.send_unit(kStreamId, units[seq]));
    std::this_thread::sleep_for(std::chrono::milliseconds(p.period_ms));
  }
  ASSERT_TRUE(cluster.wait_for([&] { return cluster.gw1().complete.size() == 3; }));

  cluster.migrate_to_gw2(3);
  ASSERT_TRUE(cluster.wait_for([&] { return !cluster.acks.empty(); }));
  for (uint32_t seq = 3; seq < 6; ++seq) {
    ASSERT_TRUE(client.send_unit(kStreamId, units[seq]));
    std::this_thread::sleep_for(std::chrono::milliseconds(p.period_ms));
  }
  ASSERT_TRUE(cluster.wait_for([&] { return cluster.gw2().complete.size() == 3; }));

  aigw_stream_stats st{};
  ASSERT_TRUE(client.stats(kStreamId, st));
  ASSERT_TRUE(client.close_stream(kStreamId));
  ASSERT_TRUE(cluster.wait_for([&] { return !cluster.closes.empty(); }));

  std::lock_guard<std::mutex> l(cluster.mu);
  EXPECT_EQ(cluster.acks[0].switch_unit_seq(), 3u);
  EXPECT_EQ(cluster.acks[0].migration_id(), 1u);
  // Exactly units 0..2 at the old gateway and 3..5 at the new one, each intact.
  for (uint32_t seq = 0; seq < 6; ++seq) {
    auto& gw = seq < 3 ? cluster.gw1() : cluster.gw2();
    auto& other = seq < 3 ? cluster.gw2() : cluster.gw1();
    ASSERT_EQ(gw.complete.count(seq), 1u) << seq;
    EXPECT_EQ(other.complete.count(seq), 0u) << seq;
    const auto& wire = gw.complete[seq];
    ASSERT_TRUE(verify_unit_digest(wire.data(), wire.size()));
    ASSERT_EQ(wire.size(), units[seq].size() + kUnitDigestSize);
    EXPECT_TRUE(std::equal(units[seq].begin(), units[seq].end(), wire.begin())) << seq;
  }
  EXPECT_TRUE(cluster.gw1().lost.empty());
  EXPECT_TRUE(cluster.gw2().lost.empty());
  // Loss happened and was repaired by selective retransmission.
  const uint64_t dropped = cluster.gw1().dropped + cluster.gw2().dropped;
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(st.nacks_received, 0u);
  EXPECT_GE(st.fragments_resent, dropped / 2);
  EXPECT_EQ(st.units_sent, 6u);
  EXPECT_EQ(st.migrations, 1u);
  EXPECT_EQ(st.gateway_id, 2u);
  EXPECT_EQ(cluster.closes[0].stream_id(), kStreamId);
  EXPECT_EQ(cluster.closes[0].last_unit_seq(), 5u);
  EXPECT_GE(cluster.heartbeats, 1u);
  std::lock_guard<std::mutex> el(events.mu);
  ASSERT_EQ(events.list.size(), 1u);
  EXPECT_EQ(events.list[0].type, AIGW_EVENT_MIGRATED);
  EXPECT_EQ(events.list[0].stream_id, kStreamId);
  EXPECT_EQ(events.list[0].unit_seq, 3u);
  EXPECT_EQ(events.list[0].gateway_id, 2u);
  EXPECT_EQ(events.list[0].gateway_port, cluster.gw2().data().port());
  EXPECT_NE(events.thread, std::this_thread::get_id());
}

TEST(Integration, EventLoopModeWithEncryptedUnits) {
  const ControlKey key = test::test_key();
  Cluster cluster(0.03);
  Client client;
  std::vector<aigw_event> events;
  aigw_edge_options o = options(cluster.controller_address(), AIGW_MODE_EVENT_LOOP, key);
  o.on_event = [](void* user, const aigw_event* ev) {
    static_cast<std::vector<aigw_event>*>(user)->push_back(*ev);
  };
  o.event_user = &events;
  ASSERT_TRUE(client.create(o));
  uint8_t payload_key[AIGW_UNIT_KEY_BYTES];
  for (int i = 0; i < AIGW_UNIT_KEY_BYTES; ++i) payload_key[i] = static_cast<uint8_t>(3 * i + 1);
  aigw_stream_profile p = default_profile();
  p.unit_bytes = 60000;
  p.period_ms = 20;
  p.payload_key = payload_key;
  aigw_stream_info info{};
  ASSERT_TRUE(client.open_stream(p, info));

  std::vector<std::vector<uint8_t>> units;
  for (uint32_t seq = 0; seq < 4; ++seq) {
    units.push_back(tensor(p.unit_bytes, 100 + seq));
    ASSERT_TRUE(client.send_unit(kStreamId, units.back()));
  }
  // The application's loop: wait on the descriptor until the next deadline, process.
  const auto end = Clock::now() + std::chrono::seconds(10);
  bool done = false;
  while (!done && Clock::now() < end) {
    const int64_t deadline = client.next_deadline();
    const int64_t now = now_ns();
    const int timeout = deadline <= now ? 0 : static_cast<int>(std::min<int64_t>((deadline - now) / 1000000 + 1, 20));
    pollfd pfd{client.fd(), POLLIN, 0};
    poll(&pfd, 1, timeout);
    ASSERT_TRUE(client.process(now_ns()));
    std::lock_guard<std::mutex> l(cluster.mu);
    done = cluster.gw1().complete.size() == units.size();
  }
  ASSERT_TRUE(done);
  std::lock_guard<std::mutex> l(cluster.mu);
  for (uint32_t seq = 0; seq < units.size(); ++seq) {
    const auto& wire = cluster.gw1().complete[seq];
    EXPECT_NE(cluster.gw1().flags[seq] & data_flag::encrypted, 0);
    // The GPU side opens what the gateway forwarded.
    std::vector<uint8_t> plain;
    ASSERT_TRUE(open_unit(payload_key, kStreamId, seq, wire.data(), wire.size(), plain)) << seq;
    EXPECT_EQ(plain, units[seq]);
  }
  EXPECT_TRUE(cluster.gw1().lost.empty());
  EXPECT_TRUE(events.empty());  // no migration, nothing unrecoverable
}

}  // namespace
}  // namespace aigw::edge
