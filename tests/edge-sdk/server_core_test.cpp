// The server SDK's protocol core under a fake clock, fed by the real UnitSender: held
// units point into the receiver's own buffers (from the allocator hook when set) until
// released; tokens go stale on release; a full hold table leaves units unacknowledged
// and counted; held units raise the reported load; encrypted units are opened in place
// (or handed over sealed without a key); damaged units are neither delivered nor acked.
#include "edge-sdk/server/server_core.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "aigw/edge_crypto.h"
#include "aigw/server.h"
#include "protocol/control.pb.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_sender.h"
#include "tests/common/gpu_server_wire.h"

namespace aigw::server {
namespace {

constexpr int64_t kMs = 1'000'000;

using Captured = test::CapturedControl<ServerOutput, UdpEndpoint>;
using Datagram = Captured::Datagram;
using Wire = test::FragmentWire;

// Counts the allocator hook's traffic: every buffer given back, none twice.
struct HookPool {
  std::set<void*> live;
  size_t allocations = 0;
  static void* alloc(void* user, size_t n) {
    auto* self = static_cast<HookPool*>(user);
    void* p = nullptr;
    if (posix_memalign(&p, 64, n) != 0) return nullptr;
    self->live.insert(p);
    ++self->allocations;
    return p;
  }
  static void release(void* user, void* p) {
    auto* self = static_cast<HookPool*>(user);
    EXPECT_EQ(self->live.erase(p), 1u);
    free(p);
  }
};

class ServerCoreTest : public ::testing::Test {
 protected:
  ServerCoreTest() : out_(keys_, gpu_sender_id(9)) {
    cfg_.gpu_id = 9;
    cfg_.key = node_key();
    cfg_.models = {"resnet", "bert"};
    cfg_.period_ns = 100 * kMs;
    make_endpoint("127.0.0.1", 7500, cfg_.data_endpoint);
    make_endpoint("127.0.0.1", 7501, cfg_.control_endpoint);
    cfg_.receiver.memory_budget_bytes = 1 << 20;
    cfg_.receiver.max_unit_bytes = 64 * 1024;
    make_endpoint("127.0.0.1", 9001, gw_);
    for (size_t i = 0; i < payload_key_.size(); ++i) payload_key_[i] = static_cast<uint8_t>(200 - i);
    sender_.add_stream(42);
    sender_.add_stream(43);
  }

  std::vector<uint8_t> content(uint32_t seq, uint32_t len) {
    std::vector<uint8_t> c(len);
    for (uint32_t i = 0; i < len; ++i) c[i] = static_cast<uint8_t>(seq * 31 + i * 7);
    return c;
  }

  // Wire unit (content + digest, or sealed) fragmented by the real sender.
  std::vector<std::vector<uint8_t>> fragments(uint32_t stream, uint32_t seq, const std::vector<uint8_t>& c,
                                              bool seal = false, bool corrupt = false) {
    std::vector<uint8_t> unit(c.size() + AIGW_UNIT_SEAL_OVERHEAD);
    size_t n = 0;
    if (seal) {
      EXPECT_EQ(aigw_unit_seal(payload_key_.data(), stream, seq, c.data(), c.size(), unit.data(), unit.size(), &n),
                AIGW_OK);
    } else {
      std::memcpy(unit.data(), c.data(), c.size());
      n = append_unit_digest(unit.data(), c.size());
    }
    unit.resize(n);
    if (corrupt) unit[n / 2] ^= 0x10;
    EXPECT_EQ(sender_.submit(stream, seq, unit.data(), static_cast<uint32_t>(unit.size()),
                             seal ? data_flag::encrypted : 0, now_),
              SubmitError::ok);
    wire_.packets.clear();
    sender_.poll(now_, 100000);
    return wire_.packets;
  }

  void deliver(ServerCore& core, const std::vector<std::vector<uint8_t>>& pkts, const std::set<size_t>& drop = {}) {
    for (size_t i = 0; i < pkts.size(); ++i)
      if (!drop.count(i)) core.on_data(gw_, pkts[i].data(), pkts[i].size(), now_);
  }

  void run_until(ServerCore& core, int64_t t) {
    for (int i = 0; i < 10000 && core.next_deadline_ns() <= t; ++i) {
      now_ = std::max(now_, core.next_deadline_ns());
      core.poll(now_);
    }
    now_ = t;
  }

  static ControlKey node_key() {
    ControlKey key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 5 + 2);
    return key;
  }
  // The controller's PeerKeys: the pair key of the gateway at gw_.
  void give_peer_keys(ServerCore& core) {
    const auto d = test::peer_keys_datagram(cfg_.key, {{1, gw_.host(), gw_.port()}});
    core.on_control(d.data(), d.size());
    EXPECT_EQ(core.counters().pair_keys_learned, 1u);
  }

  test::GpuServerKeys keys_{node_key()};
  Captured out_;
  ServerConfig cfg_;
  UdpEndpoint gw_;
  std::array<uint8_t, 32> payload_key_{};
  Wire wire_;
  UnitSender sender_{SenderConfig{}, wire_};
  int64_t now_ = 1'000 * kMs;
};

TEST_F(ServerCoreTest, VerifiedUnitIsHeldInPlaceUntilReleased) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  const auto c = content(0, 20'000);
  deliver(core, fragments(42, 0, c));
  ASSERT_TRUE(core.has_ready());
  uint64_t token = 0;
  ASSERT_TRUE(core.take_ready(token));
  const HeldUnit* h = core.held(token);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->stream_id, 42u);
  EXPECT_EQ(h->unit_seq, 0u);
  EXPECT_EQ(h->length, c.size());
  EXPECT_EQ(h->offset, 0u);
  EXPECT_EQ(std::memcmp(h->buffer.data(), c.data(), c.size()), 0);
  // The unit's bytes are the receiver's buffer, still counted against its budget.
  EXPECT_EQ(core.receiver().memory_in_use(), h->buffer.capacity());
  EXPECT_EQ(core.config().models[h->model], "resnet");  // 42 % 2 == 0
  EXPECT_EQ(core.units_held(), 1u);
  auto acks = out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].unit_seq(), 0u);
  EXPECT_TRUE(out_.gateway.back().to == gw_);
  EXPECT_FALSE(core.take_ready(token));

  EXPECT_TRUE(core.release(token));
  EXPECT_FALSE(core.release(token));  // stale
  EXPECT_EQ(core.held(token), nullptr);
  EXPECT_EQ(core.units_held(), 0u);
  EXPECT_EQ(core.receiver().memory_in_use(), 0u);
}

TEST_F(ServerCoreTest, UnitsComeOutInCompletionOrderAndTokensDoNotRepeat) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  std::set<uint64_t> tokens;
  for (uint32_t seq = 0; seq < 20; ++seq) {
    deliver(core, fragments(43, seq, content(seq, 3000)));
    uint64_t t = 0;
    ASSERT_TRUE(core.take_ready(t));
    EXPECT_EQ(core.held(t)->unit_seq, seq);
    EXPECT_EQ(core.config().models[core.held(t)->model], "bert");
    EXPECT_TRUE(tokens.insert(t).second);
    core.release(t);  // the slot is reused, the token is not
  }
}

TEST_F(ServerCoreTest, FullHoldTableLeavesUnitsUnacknowledgedAndCounted) {
  cfg_.max_held_units = 2;
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  for (uint32_t seq = 0; seq < 3; ++seq) deliver(core, fragments(42, seq, content(seq, 4000)));
  EXPECT_EQ(core.units_held(), 2u);
  EXPECT_EQ(core.counters().units_refused_held, 1u);
  EXPECT_EQ(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).size(), 2u);
  // Every slot held: the next report says the server is full.
  run_until(core, now_ + cfg_.period_ns);
  auto syncs = out_.of<ctl::GpuLoadSync>(out_.controller, MessageType::gpu_load_sync);
  ASSERT_FALSE(syncs.empty());
  EXPECT_DOUBLE_EQ(syncs.back().load(), 1.0);
  ASSERT_EQ(syncs.back().models_size(), 2);
  EXPECT_EQ(syncs.back().models(0).model(), "resnet");
  EXPECT_EQ(syncs.back().models(0).queued_units(), 2u);
  uint64_t t = 0;
  while (core.take_ready(t)) core.release(t);
  run_until(core, now_ + cfg_.period_ns);
  syncs = out_.of<ctl::GpuLoadSync>(out_.controller, MessageType::gpu_load_sync);
  EXPECT_DOUBLE_EQ(syncs.back().load(), 0.0);
}

TEST_F(ServerCoreTest, ReportedLoadIsTheLargerOfApplicationAndHeldShare) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  core.set_app_load(0.3, {{"bert", {5, 12.5}}});
  run_until(core, now_ + cfg_.period_ns);
  auto syncs = out_.of<ctl::GpuLoadSync>(out_.controller, MessageType::gpu_load_sync);
  ASSERT_EQ(syncs.size(), 1u);
  EXPECT_DOUBLE_EQ(syncs[0].load(), 0.3);
  EXPECT_EQ(syncs[0].models(1).queued_units(), 5u);
  EXPECT_DOUBLE_EQ(syncs[0].models(1).batch_latency_ms(), 12.5);
  // Half the memory budget held by the application outweighs its own 0.3.
  deliver(core, fragments(42, 0, content(0, 40'000)));
  uint64_t t = 0;
  ASSERT_TRUE(core.take_ready(t));
  const double share = static_cast<double>(core.bytes_held()) / static_cast<double>(cfg_.receiver.memory_budget_bytes);
  EXPECT_NEAR(core.current_load(), std::max(0.3, share), 1e-12);
}

TEST_F(ServerCoreTest, EncryptedUnitIsOpenedInPlace) {
  cfg_.have_payload_key = true;
  cfg_.payload_key = payload_key_;
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  const auto c = content(5, 10'000);
  deliver(core, fragments(42, 5, c, true));
  uint64_t t = 0;
  ASSERT_TRUE(core.take_ready(t));
  const HeldUnit* h = core.held(t);
  EXPECT_EQ(h->flags & AIGW_UNIT_DECRYPTED, unsigned(AIGW_UNIT_DECRYPTED));
  EXPECT_EQ(h->offset, 24u);  // past the nonce, in the same buffer
  ASSERT_EQ(h->length, c.size());
  EXPECT_EQ(std::memcmp(h->buffer.data() + h->offset, c.data(), c.size()), 0);
}

TEST_F(ServerCoreTest, WrongKeyIsCountedAndNotDelivered) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  std::array<uint8_t, 32> other{};
  core.set_stream_key(42, other.data());  // before the stream's first fragment
  deliver(core, fragments(42, 0, content(0, 5000), true));
  EXPECT_FALSE(core.has_ready());
  EXPECT_EQ(core.counters().units_auth_failed, 1u);
  // Whole as sent: acknowledged, so the gateway does not resend what cannot be repaired.
  EXPECT_EQ(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).size(), 1u);
}

TEST_F(ServerCoreTest, EncryptedUnitWithoutKeyIsHandedOverSealed) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  const auto c = content(1, 3000);
  deliver(core, fragments(43, 1, c, true));
  uint64_t t = 0;
  ASSERT_TRUE(core.take_ready(t));
  const HeldUnit* h = core.held(t);
  EXPECT_EQ(h->flags & AIGW_UNIT_SEALED, unsigned(AIGW_UNIT_SEALED));
  ASSERT_EQ(h->length, c.size() + AIGW_UNIT_SEAL_OVERHEAD - AIGW_UNIT_DIGEST_BYTES);
  // The application can open it itself.
  std::vector<uint8_t> plain(c.size());
  size_t n = 0;
  EXPECT_EQ(aigw_unit_open(payload_key_.data(), 43, 1, h->buffer.data(), h->length + AIGW_UNIT_DIGEST_BYTES,
                           plain.data(), plain.size(), &n),
            AIGW_OK);
  EXPECT_EQ(plain, c);
}

TEST_F(ServerCoreTest, DamagedUnitIsNeitherDeliveredNorAcknowledged) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  deliver(core, fragments(42, 0, content(0, 8000), false, true));
  EXPECT_FALSE(core.has_ready());
  EXPECT_EQ(core.counters().units_corrupt, 1u);
  EXPECT_TRUE(out_.of<ctl::UnitAck>(out_.gateway, MessageType::unit_ack).empty());
}

TEST_F(ServerCoreTest, MissingFragmentsAreNackedToTheSendingGatewayAndRepaired) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  const auto c = content(0, 20'000);
  auto pkts = fragments(42, 0, c);
  ASSERT_GT(pkts.size(), 10u);
  deliver(core, pkts, {3, 4});
  run_until(core, now_ + 50 * kMs);
  auto nacks = out_.of<ctl::RetransmitRequest>(out_.gateway, MessageType::retransmit_request);
  ASSERT_FALSE(nacks.empty());
  EXPECT_EQ(nacks[0].missing_count(), 2u);
  EXPECT_TRUE(out_.gateway[0].to == gw_);
  for (size_t i : {3u, 4u}) core.on_data(gw_, pkts[i].data(), pkts[i].size(), now_);
  uint64_t t = 0;
  ASSERT_TRUE(core.take_ready(t));
  EXPECT_EQ(core.held(t)->flags & AIGW_UNIT_RECOVERED, unsigned(AIGW_UNIT_RECOVERED));
  EXPECT_EQ(std::memcmp(core.held(t)->buffer.data(), c.data(), c.size()), 0);
}

TEST_F(ServerCoreTest, UnitBuffersComeFromTheAllocatorHook) {
  HookPool pool;
  cfg_.receiver.allocator = BufferAllocator{&HookPool::alloc, &HookPool::release, &pool};
  {
    ServerCore core(cfg_, out_, now_);
    give_peer_keys(core);
    for (uint32_t seq = 0; seq < 4; ++seq) {
      deliver(core, fragments(42, seq, content(seq, 30'000)));
      uint64_t t = 0;
      ASSERT_TRUE(core.take_ready(t));
      EXPECT_EQ(pool.live.count(core.held(t)->buffer.data()), 1u);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(core.held(t)->buffer.data()) % 64, 0u);
      core.release(t);
    }
    // Steady state reuses the buffer: one allocation for four units.
    EXPECT_EQ(pool.allocations, 1u);
    deliver(core, fragments(42, 4, content(4, 30'000)));  // held at destruction
  }
  EXPECT_TRUE(pool.live.empty());
}

TEST_F(ServerCoreTest, RegistersAndLeaves) {
  ServerCore core(cfg_, out_, now_);
  give_peer_keys(core);
  auto regs = out_.of<ctl::GpuRegister>(out_.controller, MessageType::gpu_register);
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].gpu_id(), 9u);
  EXPECT_EQ(regs[0].port(), 7500u);
  EXPECT_EQ(regs[0].control_port(), 7501u);
  ASSERT_EQ(regs[0].models_size(), 2);
  core.leave();
  EXPECT_TRUE(out_.of<ctl::GpuRegister>(out_.controller, MessageType::gpu_register).back().leaving());
}

}  // namespace
}  // namespace aigw::server
