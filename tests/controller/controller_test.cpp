// The controller core driven through real envelopes with a fake clock: admission,
// authentication, failure re-homing, migration, drain, restart, GPU steering.
#include "controller/core/controller.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "control_peer.h"

namespace aigw::controller {
namespace {

using namespace testing;
using Json = nlohmann::json;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1000 * kMs;

uint16_t gw_control_port(uint32_t gw) { return static_cast<uint16_t>(6000 + gw); }
uint32_t gw_data_port(uint32_t gw) { return 9000 + gw; }
uint16_t dev_port(uint32_t dev) { return static_cast<uint16_t>(7000 + dev); }

/// Gateways, devices and a GPU server that follow the protocol, around one Controller.
struct World : ::testing::Test {
  int64_t now = 1000 * kS;
  ControllerConfig cfg = test_config();
  CapturingTransport net;
  std::unique_ptr<Controller> ctl;
  std::map<uint32_t, Peer> gateway_peers;
  std::map<uint32_t, Peer> device_peers;
  Peer gpu_peer{NodeRole::gpu, 1};
  struct Gw {
    bool alive = true;
    bool acks = true;
    bool releases = true;  // acks RELEASE (else keeps the migration in its last phase)
    double cpu = 0.1;
    std::map<uint32_t, uint32_t> streams;  // stream -> gpu id
    uint64_t seq = 0;
  };
  std::map<uint32_t, Gw> gws;
  std::map<uint64_t, ctl::AdmissionReply> replies;  // by request id
  std::vector<Sent> log;                            // everything the controller sent
  uint32_t unit_seq = 10;
  bool devices_ack = true;
  uint32_t switch_late = 0;  // devices switch this many units after the command's seq

  void start() { ctl = std::make_unique<Controller>(cfg, net, now, 1); }

  Peer& gw_peer(uint32_t id) { return gateway_peers.try_emplace(id, NodeRole::gateway, id).first->second; }
  Peer& dev_peer(uint32_t id) { return device_peers.try_emplace(id, NodeRole::device, id).first->second; }

  void deliver(Peer& p, MessageType t, const google::protobuf::MessageLite& m, const UdpEndpoint& from) {
    auto d = p.seal(t, m);
    ctl->on_datagram(d.data(), d.size(), from, now);
  }
  void from_gw(uint32_t gw, MessageType t, const google::protobuf::MessageLite& m) {
    deliver(gw_peer(gw), t, m, loopback(gw_control_port(gw)));
  }
  void from_dev(uint32_t dev, MessageType t, const google::protobuf::MessageLite& m) {
    deliver(dev_peer(dev), t, m, loopback(dev_port(dev)));
  }
  std::set<uint32_t> gpus;  // GPU servers that report every period
  void register_gpu(uint32_t id = 1, const std::string& model = "openpose") {
    Peer p(NodeRole::gpu, id, 1, test_key(), uint64_t(now));
    deliver(p, MessageType::gpu_register, gpu_register(id, static_cast<uint16_t>(8000 + id), model),
            loopback(static_cast<uint16_t>(8000 + id)));
    gpus.insert(id);
  }

  void run_until(int64_t t) {
    while (ctl->next_deadline_ns() <= t) {
      now = std::max(now, ctl->next_deadline_ns());
      ctl->poll(now);
      react();
    }
    now = t;
    ctl->poll(now);
    react();
  }

  /// What the nodes do with the controller's messages.
  void react() {
    while (!net.sent.empty()) react_once();
  }
  void react_once() {
    for (const Sent& s : net.take()) {
      log.push_back(s);
      if (s.type == MessageType::admission_reply) {
        auto r = s.as<ctl::AdmissionReply>();
        replies[r.request_id()] = r;
      }
      const uint32_t gw = s.to.port() >= 6000 && s.to.port() < 7000 ? s.to.port() - 6000u : 0;
      if (s.type == MessageType::stream_assign && gw && gws[gw].alive) {
        auto a = s.as<ctl::StreamAssign>();
        if (a.remove()) gws[gw].streams.erase(a.stream().stream_id());
        else gws[gw].streams[a.stream().stream_id()] = a.stream().gpu_id();
      }
      if (s.type == MessageType::steer_command && gw && gws[gw].alive) {
        auto c = s.as<ctl::SteerCommand>();
        gws[gw].streams[c.stream_id()] = c.gpu_id();
      }
      if (s.type != MessageType::migrate_command) continue;
      auto c = s.as<ctl::MigrateCommand>();
      ctl::MigrateAck ack;
      ack.set_migration_id(c.migration_id());
      ack.set_phase(c.phase());
      ack.set_stream_id(c.stream_id());
      ack.set_switch_unit_seq(c.switch_unit_seq());
      if (c.phase() == ctl::MIGRATE_EXPECT && gw && gws[gw].alive && gws[gw].acks) {
        gws[gw].streams[c.stream_id()] = c.stream().gpu_id();
        from_gw(gw, MessageType::migrate_ack, ack);
      } else if (c.phase() == ctl::MIGRATE_RELEASE && gw && gws[gw].alive && gws[gw].acks && gws[gw].releases) {
        gws[gw].streams.erase(c.stream_id());
        from_gw(gw, MessageType::migrate_ack, ack);
      } else if (c.phase() == ctl::MIGRATE_SWITCH && devices_ack) {
        ack.set_switch_unit_seq(c.switch_unit_seq() + switch_late);
        from_dev(s.to.port() - 7000u, MessageType::migrate_ack, ack);
      }
    }
  }

  /// One sync period: every live gateway reports, then time moves on.
  void period() {
    ++unit_seq;
    for (uint32_t id : gpus) {
      ctl::GpuLoadSync g;
      g.set_gpu_id(id);
      g.set_load(0.1);
      Peer p(NodeRole::gpu, id, 1, test_key(), uint64_t(now) + unit_seq);
      deliver(p, MessageType::gpu_load_sync, g, loopback(static_cast<uint16_t>(8000 + id)));
    }
    for (auto& [id, g] : gws) {
      if (!g.alive) continue;
      const double bw = 5.376e6 * double(g.streams.size());
      from_gw(id, MessageType::load_sync, load_sync(id, ++g.seq, gw_control_port(id), gw_data_port(id), g.cpu, bw));
      ctl::StreamSync ss;
      ss.set_gateway_id(id);
      ss.set_period_seq(g.seq);
      for (auto [sid, gpu] : g.streams) {
        ctl::StreamEntry* e = ss.add_streams();
        e->set_stream_id(sid);
        e->set_data_port(gw_data_port(id));
        e->set_last_unit_seq(unit_seq);
        e->set_gpu_id(gpu);
        e->set_bandwidth_bps(5.376e6);
        e->set_memory_bytes(1.344e6);
        e->set_device_control_address("127.0.0.1");
        e->set_device_control_port(dev_port(1));
      }
      from_gw(id, MessageType::stream_sync, ss);
    }
    run_until(now + kS);
  }

  uint64_t admit(uint32_t dev, uint64_t request_id, uint32_t unit_bytes = 672000) {
    from_dev(dev, MessageType::admission_request, admission(dev, request_id, dev_port(dev), unit_bytes));
    run_until(now + 2 * kMs);
    return request_id;
  }

  /// Two gateways, eight streams admitted, then all of them reported on gateway 1,
  /// which is busy (CPU 0.9) while gateway 2 is quiet (0.05).
  void overload_gateway_one() {
    start();
    gws[1];
    gws[2];
    register_gpu();
    period();
    for (uint32_t d = 1; d <= 8; ++d) admit(d, d);
    for (auto& [sid, gpu] : gws[2].streams) gws[1].streams[sid] = gpu;
    gws[2].streams.clear();
    gws[1].cpu = 0.9;
    gws[2].cpu = 0.05;
  }

  /// The incrementally kept committed demand equals a recount from the stream table.
  void expect_committed_consistent() const {
    std::map<std::pair<uint32_t, uint32_t>, Committed> recount;
    std::map<uint32_t, uint32_t> per_gateway;
    for (const auto& [id, s] : ctl->streams()) {
      Committed& c = recount[{s.gateway_id, s.port_index}];
      c.bw += s.bandwidth_bps;
      c.mem += s.memory_bytes;
      ++c.streams;
      ++per_gateway[s.gateway_id];
      if (s.target_gateway != 0) {
        Committed& t = recount[{s.target_gateway, s.target_port}];
        t.bw += s.bandwidth_bps;
        t.mem += s.memory_bytes;
        ++t.incoming;
      }
    }
    for (uint32_t gw = 1; gw <= 8; ++gw) {
      EXPECT_EQ(ctl->committed().streams_on(gw), per_gateway[gw]) << "gateway " << gw;
      // The listing's per-gateway index follows every move too.
      std::vector<uint32_t> want_ids, got_ids;
      for (const auto& [id, s] : ctl->streams())
        if (s.gateway_id == gw) want_ids.push_back(id);
      StreamPageQuery q;
      q.limit = UINT32_MAX;
      q.gateway = gw;
      const Json page = ctl->streams_json(q);
      for (const auto& row : page["streams"]) got_ids.push_back(row["id"]);
      EXPECT_EQ(got_ids, want_ids) << "gateway " << gw;
      EXPECT_EQ(page["total"], want_ids.size()) << "gateway " << gw;
      for (uint32_t port = 0; port < 2; ++port) {
        const Committed& got = ctl->committed().port(gw, port);
        const Committed want = recount[{gw, port}];
        EXPECT_NEAR(got.bw, want.bw, 1e-3) << gw << ":" << port;
        EXPECT_NEAR(got.mem, want.mem, 1e-3) << gw << ":" << port;
        EXPECT_EQ(got.streams, want.streams) << gw << ":" << port;
        EXPECT_EQ(got.incoming, want.incoming) << gw << ":" << port;
      }
    }
  }

  std::vector<Sent> sent_of(MessageType t) const {
    std::vector<Sent> out;
    for (const Sent& s : log)
      if (s.type == t) out.push_back(s);
    return out;
  }
};

TEST_F(World, AdmissionAssignsTheGatewayBeforeRepliesToTheDevice) {
  start();
  gws[1];
  register_gpu();
  period();
  log.clear();
  from_dev(7, MessageType::admission_request, admission(7, 42, dev_port(7)));
  EXPECT_TRUE(net.sent.empty());  // held for the decision window
  run_until(now + 2 * kMs);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].type, MessageType::stream_assign);
  EXPECT_EQ(log[0].to, loopback(gw_control_port(1)));
  EXPECT_EQ(log[1].type, MessageType::admission_reply);
  EXPECT_EQ(log[1].to, loopback(dev_port(7)));  // the request's source
  EXPECT_EQ(log[1].sender_id, make_sender_id(NodeRole::controller, 1));
  const auto a = log[0].as<ctl::StreamAssign>();
  const auto r = log[1].as<ctl::AdmissionReply>();
  EXPECT_EQ(r.status(), ctl::ADMISSION_ACCEPTED);
  EXPECT_EQ(r.request_id(), 42u);
  EXPECT_NE(r.stream_id(), 0u);
  EXPECT_EQ(a.stream().stream_id(), r.stream_id());
  EXPECT_EQ(r.gateway_id(), 1u);
  EXPECT_EQ(r.gateway_address(), "127.0.0.1");
  EXPECT_EQ(r.gateway_port(), gw_data_port(1));
  EXPECT_EQ(r.gpu_id(), 1u);
  EXPECT_EQ(r.gpu_port(), 8001u);
  EXPECT_EQ(a.gpu_port(), 8001u);
  EXPECT_EQ(a.stream().device_control_port(), dev_port(7));
  EXPECT_DOUBLE_EQ(a.stream().bandwidth_bps(), 672000.0 * 8);
  EXPECT_EQ(ctl->metrics().admissions.get("accepted"), 1u);
}

TEST_F(World, RequestsOfOneWindowAreDecidedTogether) {
  start();
  gws[1];
  gws[2];
  register_gpu();
  period();
  for (uint32_t d = 1; d <= 6; ++d) from_dev(d, MessageType::admission_request, admission(d, d, dev_port(d)));
  const uint64_t windows = ctl->metrics().admission_windows;
  run_until(now + 2 * kMs);
  EXPECT_EQ(ctl->metrics().admission_windows, windows + 1);
  ASSERT_EQ(replies.size(), 6u);
  std::map<uint32_t, int> per_gw;
  for (auto& [id, r] : replies) ++per_gw[r.gateway_id()];
  EXPECT_EQ(per_gw[1], 3);  // balanced on two equal gateways
  EXPECT_EQ(per_gw[2], 3);
}

TEST_F(World, RetriedRequestGetsTheSameAnswer) {
  start();
  gws[1];
  register_gpu();
  period();
  admit(7, 5);
  const uint32_t stream = replies.at(5).stream_id();
  replies.clear();
  admit(7, 5);  // the device lost the reply and asks again (new envelope, same id)
  ASSERT_EQ(replies.count(5), 1u);
  EXPECT_EQ(replies.at(5).stream_id(), stream);
  EXPECT_EQ(ctl->streams().size(), 1u);
}

TEST_F(World, RejectionsSayWhy) {
  cfg.admission_max_unit_bytes = 200'000'000;
  start();
  admit(7, 1);  // nothing registered at all
  EXPECT_EQ(replies.at(1).status(), ctl::ADMISSION_REJECTED_NO_GPU);
  register_gpu();
  admit(7, 2);
  EXPECT_EQ(replies.at(2).status(), ctl::ADMISSION_REJECTED_NO_GATEWAY);
  gws[1];
  period();
  admit(7, 3, 0);
  EXPECT_EQ(replies.at(3).status(), ctl::ADMISSION_REJECTED_INVALID);
  // 1 Gb/s port, u = 0.8: a 150 MB/s stream (1.2 Gb/s) cannot fit.
  admit(7, 4, 150'000'000);
  EXPECT_EQ(replies.at(4).status(), ctl::ADMISSION_REJECTED_CAPACITY);
  EXPECT_FALSE(replies.at(4).reason().empty());
  admit(7, 6, 200'000'001);  // beyond admission.max_unit_bytes: a declaration, not a capacity question
  EXPECT_EQ(replies.at(6).status(), ctl::ADMISSION_REJECTED_INVALID);
  EXPECT_EQ(ctl->metrics().admissions_refused.get("bad_demand"), 2u);
  from_dev(7, MessageType::admission_request, admission(7, 5, dev_port(7), 1000, "resnet"));
  run_until(now + 2 * kMs);
  EXPECT_EQ(replies.at(5).status(), ctl::ADMISSION_REJECTED_NO_GPU);
}

TEST_F(World, ADeviceMayHoldOnlyItsCapOfStreamsAndNameOnlyItsOwnControlAddress) {
  cfg.admission_max_streams_per_device = 2;
  start();
  register_gpu();
  gws[1];
  period();
  // Three requests of one device in one window: the cap counts the undecided ones too.
  for (uint64_t r = 1; r <= 3; ++r) from_dev(7, MessageType::admission_request, admission(7, r, dev_port(7), 1000));
  run_until(now + 2 * kMs);
  EXPECT_EQ(replies.at(1).status(), ctl::ADMISSION_ACCEPTED);
  EXPECT_EQ(replies.at(2).status(), ctl::ADMISSION_ACCEPTED);
  EXPECT_EQ(replies.at(3).status(), ctl::ADMISSION_REJECTED_INVALID);
  EXPECT_EQ(ctl->metrics().admissions_refused.get("device_stream_cap"), 1u);
  // NACKs would go to the control address: a third host's is refused.
  ctl::AdmissionRequest aimed = admission(8, 4, dev_port(8), 1000);
  aimed.set_control_address("127.0.0.9");
  from_dev(8, MessageType::admission_request, aimed);
  run_until(now + 2 * kMs);
  EXPECT_EQ(replies.at(4).status(), ctl::ADMISSION_REJECTED_INVALID);
  EXPECT_EQ(ctl->metrics().admissions_refused.get("control_address"), 1u);
  EXPECT_EQ(ctl->streams().size(), 2u);
}

TEST_F(World, CapacityIsNeverOverbooked) {
  start();
  gws[1];
  register_gpu();
  period();
  // 0.8 Gb/s admissible, 5.376 Mb/s per stream: 148 fit; ask for 200 over a few windows.
  for (uint64_t r = 1; r <= 200; ++r) {
    from_dev(uint32_t(r), MessageType::admission_request, admission(uint32_t(r), r, dev_port(1)));
    if (r % 50 == 0) run_until(now + 2 * kMs);
  }
  size_t accepted = 0;
  for (auto& [id, r] : replies) accepted += r.status() == ctl::ADMISSION_ACCEPTED;
  EXPECT_EQ(accepted, 148u);
  EXPECT_EQ(replies.size(), 200u);
}

TEST_F(World, WarmUpHoldsAdmissionAfterARestart) {
  cfg.admission_warmup_ms = 500;
  start();
  gws[1];
  register_gpu();
  from_gw(1, MessageType::load_sync, load_sync(1, 1, gw_control_port(1), gw_data_port(1)));
  from_dev(7, MessageType::admission_request, admission(7, 1, dev_port(7)));
  run_until(now + 100 * kMs);
  EXPECT_TRUE(replies.empty());
  run_until(now + 450 * kMs);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies.at(1).status(), ctl::ADMISSION_ACCEPTED);
}

TEST_F(World, ForgedReplayedAndMisattributedPacketsAreRejectedAndCounted) {
  start();
  gws[1];
  period();
  const auto& rej = ctl->metrics().rx_rejected;
  const size_t gateways_before = ctl->gateways().size();

  // Forged: right key id, wrong key.
  ControlKey wrong{};
  wrong.fill(0x42);
  Peer forger(NodeRole::gateway, 9, 1, wrong);
  deliver(forger, MessageType::load_sync, load_sync(9, 1, 6009, 9009), loopback(6009));
  EXPECT_EQ(rej.get("bad_mac"), 1u);
  // Unknown key id.
  Peer stranger(NodeRole::gateway, 9, 77);
  deliver(stranger, MessageType::load_sync, load_sync(9, 1, 6009, 9009), loopback(6009));
  EXPECT_EQ(rej.get("unknown_key"), 1u);
  // Replayed: the same datagram twice.
  auto d = gw_peer(1).seal(MessageType::load_sync, load_sync(1, 99, gw_control_port(1), gw_data_port(1)));
  ctl->on_datagram(d.data(), d.size(), loopback(6001), now);
  ctl->on_datagram(d.data(), d.size(), loopback(6001), now);
  EXPECT_EQ(rej.get("replayed"), 1u);
  // A device speaking for gateway 9.
  deliver(dev_peer(3), MessageType::load_sync, load_sync(9, 1, 6009, 9009), loopback(7003));
  // A gateway naming another gateway's id.
  from_gw(1, MessageType::load_sync, load_sync(9, 1, 6009, 9009));
  EXPECT_EQ(rej.get("sender_mismatch"), 2u);
  // Garbage and truncation.
  std::vector<uint8_t> junk(100, 0xAB);
  ctl->on_datagram(junk.data(), junk.size(), loopback(1), now);
  ctl->on_datagram(junk.data(), 10, loopback(1), now);
  EXPECT_EQ(rej.get("bad_magic"), 1u);
  EXPECT_EQ(rej.get("truncated"), 1u);
  // An authentic envelope whose body is not the message it claims to be.
  ctl::LoadSync body = load_sync(1, 100, gw_control_port(1), gw_data_port(1));
  std::string bytes = body.SerializeAsString();
  bytes[0] = '\xFF';
  EnvelopeSealer raw(make_sender_id(NodeRole::gateway, 5), 1,
                     derive_node_key(test_key(), make_sender_id(NodeRole::gateway, 5)), 1);
  std::vector<uint8_t> bad;
  raw.seal(MessageType::load_sync, bytes, bad);
  ctl->on_datagram(bad.data(), bad.size(), loopback(6005), now);
  EXPECT_EQ(rej.get("bad_body"), 1u);
  // A message only the controller sends.
  from_gw(1, MessageType::admission_reply, ctl::AdmissionReply());
  EXPECT_EQ(rej.get("unexpected_type"), 1u);
  EXPECT_EQ(ctl->gateways().size(), gateways_before);  // nothing learnt from any of it
}

TEST_F(World, KeysAreLimitedToTheirRoles) {
  cfg.keys.clear();
  cfg.keys.push_back({1, kKeyHex, {"gateway", "gpu"}});
  start();
  from_dev(7, MessageType::admission_request, admission(7, 1, dev_port(7)));
  EXPECT_EQ(ctl->metrics().rx_rejected.get("key_role"), 1u);
  from_gw(1, MessageType::load_sync, load_sync(1, 1, gw_control_port(1), gw_data_port(1)));
  EXPECT_EQ(ctl->gateways().size(), 1u);
}

TEST_F(World, DeadGatewayStreamsAreReHomedAndDevicesTold) {
  start();
  gws[1];
  gws[2];
  register_gpu();
  period();
  for (uint32_t d = 1; d <= 4; ++d) admit(d, d);
  period();
  std::vector<uint32_t> on_one;
  for (auto& [sid, s] : ctl->streams())
    if (s.gateway_id == 1) on_one.push_back(sid);
  ASSERT_FALSE(on_one.empty());
  log.clear();
  gws[1].alive = false;  // gateway 1 dies
  for (int i = 0; i < 4; ++i) period();
  EXPECT_EQ(ctl->metrics().gateway_deaths, 1u);
  for (uint32_t sid : on_one) EXPECT_EQ(ctl->streams().at(sid).gateway_id, 2u) << sid;
  auto switches = sent_of(MessageType::migrate_command);
  size_t expect = 0, sw = 0;
  for (const Sent& s : switches) {
    auto c = s.as<ctl::MigrateCommand>();
    EXPECT_EQ(c.reason(), "gateway_dead");
    EXPECT_EQ(c.source_gateway_id(), 1u);
    EXPECT_NE(c.phase(), ctl::MIGRATE_RELEASE);
    expect += c.phase() == ctl::MIGRATE_EXPECT;
    if (c.phase() == ctl::MIGRATE_SWITCH) {
      ++sw;
      EXPECT_EQ(c.gateway_port(), gw_data_port(2));
      EXPECT_GE(s.to.port(), 7001);  // to the device's control port
    }
  }
  EXPECT_EQ(expect, on_one.size());
  EXPECT_EQ(sw, on_one.size());
  expect_committed_consistent();
}

TEST_F(World, OverloadTriggersMigrationToTheQuietGateway) {
  cfg.trigger = {0.1, 0.05, 2};
  cfg.migration_cooldown_ms = 60000;
  overload_gateway_one();
  for (int i = 0; i < 6; ++i) period();
  EXPECT_GE(ctl->metrics().migrations_started.get("balance"), 1u);
  EXPECT_GE(ctl->metrics().migrations_finished.get("completed"), 1u);
  size_t on_two = 0;
  for (auto& [sid, s] : ctl->streams()) on_two += s.gateway_id == 2;
  EXPECT_GE(on_two, 1u);
  EXPECT_EQ(on_two, gws[2].streams.size());
  // Make-before-break order for one of them.
  std::vector<int> phases;
  uint32_t stream = 0;
  for (const Sent& s : sent_of(MessageType::migrate_command)) {
    auto c = s.as<ctl::MigrateCommand>();
    if (stream == 0) stream = c.stream_id();
    if (c.stream_id() == stream) phases.push_back(c.phase());
  }
  EXPECT_EQ(phases, (std::vector<int>{ctl::MIGRATE_EXPECT, ctl::MIGRATE_SWITCH, ctl::MIGRATE_RELEASE}));
  expect_committed_consistent();
}

TEST_F(World, BalancingWaitsUntilTheLoadShowsTheLastMoves) {
  cfg.trigger = {0.1, 0.05, 2};
  cfg.migration_cooldown_ms = 0;     // only the settle window holds the streams back
  cfg.migration_max_moves = 1;
  cfg.migration_settle_periods = 4;
  overload_gateway_one();  // its reported CPU load then stays skewed whatever moves: a stale measurement
  uint64_t started = 0;
  int64_t first_ns = 0;
  while (started == 0) {
    period();
    started = ctl->metrics().migrations_started.get("balance");
    first_ns = now;
  }
  EXPECT_EQ(started, 1u);
  std::vector<int64_t> starts;  // when later balance migrations began, after the first
  for (int i = 0; i < 8; ++i) {
    period();
    const uint64_t n = ctl->metrics().migrations_started.get("balance");
    if (n != started) starts.push_back(now - first_ns);
    started = n;
  }
  ASSERT_FALSE(starts.empty()) << "balancing resumes once settled";
  EXPECT_GE(starts[0], 4 * kS) << "no move while the last one's gateways settle";
  expect_committed_consistent();
}

TEST_F(World, OperatorMigrationAndAbortWhenTheTargetIsSilent) {
  start();
  gws[1];
  gws[2];
  register_gpu();
  period();
  admit(1, 1);
  period();
  const uint32_t sid = replies.at(1).stream_id();
  const uint32_t from = ctl->streams().at(sid).gateway_id;
  const uint32_t to = from == 1 ? 2 : 1;
  std::string error;
  uint64_t id = 0;
  EXPECT_TRUE(ctl->migrate(sid, to, true, now, error, id)) << error;
  EXPECT_EQ(id, 0u);  // dry run
  EXPECT_FALSE(ctl->migrate(sid, from, false, now, error, id));
  EXPECT_FALSE(ctl->migrate(999, to, false, now, error, id));
  gws[to].acks = false;
  ASSERT_TRUE(ctl->migrate(sid, to, false, now, error, id)) << error;
  EXPECT_NE(id, 0u);
  for (int i = 0; i < 3; ++i) period();
  EXPECT_EQ(ctl->metrics().migrations_finished.get("aborted_expect"), 1u);
  EXPECT_EQ(ctl->streams().at(sid).gateway_id, from);
  gws[to].acks = true;
  ASSERT_TRUE(ctl->migrate(sid, to, false, now, error, id)) << error;
  period();
  EXPECT_EQ(ctl->streams().at(sid).gateway_id, to);
  EXPECT_EQ(gws[from].streams.count(sid), 0u);
  EXPECT_EQ(gws[to].streams.count(sid), 1u);
  expect_committed_consistent();
}

/// Starts an operator migration of one stream and lets the device switch; the source
/// never acknowledges RELEASE, so the migration is still in its last phase.
struct TargetDies : World {
  uint32_t sid = 0, from = 0, to = 0;
  void SetUp() override {
    // RELEASE retries outlast the target's death detection (3 periods).
    cfg.migration_retry_ms = 1000;
    cfg.migration_retries = 20;
    start();
    gws[1];
    gws[2];
    gws[3];
    register_gpu();
    period();
    admit(1, 1);
    period();
    sid = replies.at(1).stream_id();
    from = ctl->streams().at(sid).gateway_id;
    to = from == 1 ? 2 : 1;
  }
  void migrate_until_switched() {
    gws[from].releases = false;
    std::string error;
    uint64_t id = 0;
    ASSERT_TRUE(ctl->migrate(sid, to, false, now, error, id)) << error;
    run_until(now + 10 * kMs);
    ASSERT_EQ(ctl->metrics().migrations_finished.get("completed"), 0u);
    log.clear();
  }
  std::vector<ctl::MigrateCommand> commands(ctl::MigratePhase phase) const {
    std::vector<ctl::MigrateCommand> out;
    for (const Sent& s : sent_of(MessageType::migrate_command))
      if (s.as<ctl::MigrateCommand>().phase() == phase) out.push_back(s.as<ctl::MigrateCommand>());
    return out;
  }
};

TEST_F(TargetDies, AfterTheDeviceSwitchedTheStreamReturnsToItsSource) {
  migrate_until_switched();
  switch_late = 3;  // the device is 3 units into the dead target when it hears
  gws[to].alive = false;
  for (int i = 0; i < 5; ++i) period();
  EXPECT_EQ(ctl->metrics().migrations_finished.get("aborted_target_dead"), 1u);
  EXPECT_EQ(ctl->metrics().migrations_started.get("target_dead"), 1u);
  const auto expects = commands(ctl::MIGRATE_EXPECT);
  ASSERT_EQ(expects.size(), 1u);
  EXPECT_EQ(expects[0].target_gateway_id(), from);
  EXPECT_EQ(expects[0].source_gateway_id(), to);
  EXPECT_EQ(expects[0].stream().stream_id(), sid);
  const auto switches = commands(ctl::MIGRATE_SWITCH);
  ASSERT_FALSE(switches.empty());
  EXPECT_EQ(switches[0].gateway_port(), gw_data_port(from)) << "the device is told to go back";
  for (const auto& c : commands(ctl::MIGRATE_RELEASE))
    EXPECT_EQ(c.reason(), "operator") << "the first migration's retries only: nothing to release on a dead gateway";
  const StreamState& s = ctl->streams().at(sid);
  EXPECT_EQ(s.gateway_id, from);
  EXPECT_EQ(s.target_gateway, 0u);
  // The units the device sent to the dead target are reported, with the reason.
  EXPECT_EQ(s.units_lost_failover, 3u);
  EXPECT_EQ(ctl->metrics().failover_units_lost, 3u);
  EXPECT_EQ(gws[from].streams.count(sid), 1u);
  expect_committed_consistent();
}

TEST_F(TargetDies, WhenTheSourceIsGoneTooTheStreamGoesToAThirdGateway) {
  migrate_until_switched();
  gws[to].alive = false;
  gws[from].alive = false;
  for (int i = 0; i < 5; ++i) period();
  const uint32_t third = 6 - from - to;
  const StreamState& s = ctl->streams().at(sid);
  EXPECT_EQ(s.gateway_id, third);
  EXPECT_EQ(ctl->metrics().migrations_finished.get("aborted_target_dead"), 1u);
  const auto switches = commands(ctl::MIGRATE_SWITCH);
  ASSERT_FALSE(switches.empty());
  EXPECT_EQ(switches.back().gateway_port(), gw_data_port(third));
  expect_committed_consistent();
}

TEST_F(TargetDies, BeforeExpectWasAckedTheStreamSimplyStays) {
  gws[to].acks = false;
  std::string error;
  uint64_t id = 0;
  ASSERT_TRUE(ctl->migrate(sid, to, false, now, error, id)) << error;
  log.clear();
  gws[to].alive = false;
  for (int i = 0; i < 5; ++i) period();
  EXPECT_EQ(ctl->metrics().migrations_finished.get("aborted_target_dead"), 1u);
  EXPECT_TRUE(commands(ctl::MIGRATE_SWITCH).empty()) << "the device never left";
  EXPECT_EQ(ctl->streams().at(sid).gateway_id, from);
  EXPECT_EQ(ctl->streams().at(sid).units_lost_failover, 0u);
  expect_committed_consistent();
}

TEST_F(World, DrainMovesStreamsAwayAndStopsAdmission) {
  start();
  gws[1];
  gws[2];
  register_gpu();
  period();
  for (uint32_t d = 1; d <= 4; ++d) admit(d, d);
  period();
  std::string error;
  ASSERT_TRUE(ctl->set_drain(1, true, error));
  EXPECT_EQ(ctl->config().drained_gateways, (std::vector<uint32_t>{1}));
  for (int i = 0; i < 3; ++i) period();
  for (auto& [sid, s] : ctl->streams()) EXPECT_EQ(s.gateway_id, 2u);
  admit(9, 9);
  EXPECT_EQ(replies.at(9).gateway_id(), 2u);
  ASSERT_TRUE(ctl->set_drain(1, false, error));
  EXPECT_TRUE(ctl->config().drained_gateways.empty());
  EXPECT_FALSE(ctl->set_drain(77, true, error));
}

TEST_F(World, RestartedControllerAdoptsRunningStreamsSilently) {
  start();
  gws[1];
  register_gpu();
  period();
  for (uint32_t d = 1; d <= 3; ++d) admit(d, d);
  period();
  std::set<uint32_t> before;
  for (auto& [sid, s] : ctl->streams()) before.insert(sid);
  // A new controller process: empty tables.
  ctl = std::make_unique<Controller>(cfg, net, now, uint64_t(now));
  log.clear();
  register_gpu();
  period();
  std::set<uint32_t> after;
  for (auto& [sid, s] : ctl->streams()) after.insert(sid);
  EXPECT_EQ(after, before);
  for (const Sent& s : log) {
    EXPECT_NE(s.type, MessageType::stream_assign);
    EXPECT_NE(s.type, MessageType::migrate_command);
  }
  admit(4, 4);
  EXPECT_EQ(before.count(replies.at(4).stream_id()), 0u);  // no id collision
}

TEST_F(World, StreamCloseReleasesTheGatewayAndGpu) {
  start();
  gws[1];
  register_gpu();
  period();
  admit(7, 1);
  const uint32_t sid = replies.at(1).stream_id();
  ctl::StreamClose c;
  c.set_stream_id(sid);
  c.set_device_id(8);  // not the owner
  from_dev(8, MessageType::stream_close, c);
  EXPECT_EQ(ctl->streams().size(), 1u);
  c.set_device_id(7);
  gws[1].alive = false;  // the removal is lost: the gateway keeps listing the stream
  from_dev(7, MessageType::stream_close, c);
  run_until(now + kMs);
  EXPECT_TRUE(ctl->streams().empty());
  gws[1].alive = true;
  period();
  EXPECT_TRUE(ctl->streams().empty());  // not resurrected by the stale StreamSync
  EXPECT_EQ(gws[1].streams.count(sid), 0u);
  expect_committed_consistent();
}

TEST_F(World, GpuLeavingReSteersItsStreams) {
  start();
  gws[1];
  register_gpu(1);
  register_gpu(2);
  period();
  for (uint32_t d = 1; d <= 4; ++d) admit(d, d);
  period();
  ctl::GpuRegister leave = gpu_register(1, 8001);
  leave.set_leaving(true);
  Peer p(NodeRole::gpu, 1, 1, test_key(), uint64_t(now) * 2);
  deliver(p, MessageType::gpu_register, leave, loopback(8001));
  run_until(now + kMs);
  for (auto& [sid, s] : ctl->streams()) EXPECT_EQ(s.gpu_id, 2u);
  for (auto& [sid, gpu] : gws[1].streams) EXPECT_EQ(gpu, 2u);
  EXPECT_FALSE(sent_of(MessageType::steer_command).empty());
}

TEST_F(World, HeartbeatIsAnswered) {
  start();
  ctl::Heartbeat h;
  h.set_sender_id(dev_peer(3).sender_id());
  h.set_role(ctl::ROLE_DEVICE);
  h.set_seq(77);
  from_dev(3, MessageType::heartbeat, h);
  auto sent = net.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, loopback(dev_port(3)));
  auto r = sent[0].as<ctl::Heartbeat>();
  EXPECT_EQ(r.seq(), 77u);
  EXPECT_EQ(r.role(), ctl::ROLE_CONTROLLER);
}

TEST_F(World, LiveConfigChangeSwitchesTheAlgorithm) {
  start();
  ControllerConfig next = ctl->config();
  next.admission_algorithm = "lc";
  std::string error;
  ASSERT_TRUE(ctl->apply_config(next, error)) << error;
  EXPECT_EQ(ctl->status_json(now)["admission_algorithm"], "lc");
  next.admission_algorithm = "nope";
  EXPECT_FALSE(ctl->apply_config(next, error));
}

TEST_F(World, MetricsAndViews) {
  start();
  gws[1];
  register_gpu();
  period();
  admit(7, 1);
  const std::string text = ctl->prometheus(now);
  EXPECT_NE(text.find("aigw_controller_admissions_total{status=\"accepted\"} 1"), std::string::npos);
  EXPECT_NE(text.find("aigw_controller_gateway_up{gateway=\"1\"} 1"), std::string::npos);
  EXPECT_EQ(ctl->gateways_json().size(), 1u);
  EXPECT_EQ(ctl->streams_json({})["streams"].size(), 1u);
  EXPECT_EQ(ctl->gpus_json().size(), 1u);
  EXPECT_EQ(ctl->status_json(now)["streams"], 1);
}

}  // namespace
}  // namespace aigw::controller
