// The server C ABI (aigw/server.h) on real loopback sockets: options and arguments
// checked, struct sizes refused, lifecycle misuse named; a test controller sees the
// GpuRegister with the bound data port and the periodic GpuLoadSync; a test gateway's
// fragments come out as a verified unit (poll and callback, both modes) in the
// application's allocator memory, acknowledged to the gateway's address.
#include <gtest/gtest.h>
#include <unistd.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aigw/server.h"
#include "protocol/control.pb.h"
#include "protocol/unit_digest.h"
#include "protocol/unit_sender.h"
#include "tests/edge-sdk/udp_peer.h"

namespace aigw::edge {
namespace {

using test::Received;
using test::UdpPeer;

// Sends a UnitSender's fragments from the test gateway's socket.
struct SocketWire final : PacketOut {
  int fd = -1;
  UdpEndpoint to;
  size_t sent = 0;
  bool send_fragment(uint32_t, const uint8_t* h, const uint8_t* p, size_t n, uint32_t) override {
    std::vector<uint8_t> d(h, h + kDataHeaderSize);
    d.insert(d.end(), p, p + n);
    if (sendto(fd, d.data(), d.size(), 0, to.sa(), to.len) > 0) ++sent;
    return true;
  }
};

struct Counting {
  std::atomic<size_t> allocs{0}, frees{0};
  static void* alloc(void* u, size_t n) {
    auto* c = static_cast<Counting*>(u);
    void* p = nullptr;
    if (posix_memalign(&p, 64, n) != 0) return nullptr;
    ++c->allocs;
    return p;
  }
  static void release(void* u, void* p) {
    ++static_cast<Counting*>(u)->frees;
    free(p);
  }
};

class ServerApiTest : public ::testing::Test {
 protected:
  ServerApiTest() : controller_((4u << 24) | 1), gateway_((1u << 24) | 1) {
    key_ = test::test_key();
    controller_address_ = controller_.address();
    aigw_server_options_init(&o_);
    o_.controller = controller_address_.c_str();
    o_.gpu_id = 5;
    o_.key = key_.data();
    o_.models = models_;
    o_.model_count = 1;
    o_.period_ms = 50;
    o_.log_level = AIGW_LOG_WARN;
  }

  // One unit of `len` bytes with its digest, sent to the server's data address.
  // `host` replaces the data address's host (a wildcard bind is reached at loopback).
  std::vector<uint8_t> send_unit(aigw_server* s, uint32_t stream, uint32_t seq, uint32_t len,
                                 const char* host = nullptr) {
    char addr[80];
    EXPECT_EQ(aigw_server_data_address(s, addr, sizeof addr), AIGW_OK);
    SocketWire wire;
    wire.fd = gateway_.fd();
    EXPECT_EQ(parse_endpoint(addr, wire.to), "");
    if (host != nullptr) {
      EXPECT_EQ(make_endpoint(host, wire.to.port(), wire.to), "");
    }
    UnitSender sender(SenderConfig{}, wire);
    sender.add_stream(stream);
    std::vector<uint8_t> unit(len + kUnitDigestSize);
    for (uint32_t i = 0; i < len; ++i) unit[i] = static_cast<uint8_t>(i * 13 + seq);
    append_unit_digest(unit.data(), len);
    EXPECT_EQ(sender.submit(stream, seq, unit.data(), static_cast<uint32_t>(unit.size()), 0, 0), SubmitError::ok);
    sender.poll(0, 1000000);
    unit.resize(len);
    return unit;
  }

  // As the controller does on registration: the test gateway's pair key, so the server
  // can seal acks that gateway accepts. Returns once the server has taken it.
  void give_peer_keys(aigw_server* s) {
    Received r;
    for (int i = 0; i < 50 && !(controller_.receive(r, 100) && r.type == MessageType::gpu_register); ++i) {
    }
    ASSERT_EQ(r.type, MessageType::gpu_register);
    ctl::PeerKeys m;
    ctl::PeerKey* k = m.add_keys();
    k->set_gateway_id(1);
    k->set_key_id(1);
    k->set_key_box(test::test_pair_key_box());
    k->set_egress_address(gateway_.local().host());
    k->set_egress_port(gateway_.local().port());
    controller_.send(r.from, MessageType::peer_keys, m.SerializeAsString());
    aigw_server_counters c{};
    c.size = sizeof c;
    for (int i = 0; i < 300 && c.pair_keys_learned == 0; ++i) {
      ASSERT_EQ(aigw_server_get_counters(s, &c), AIGW_OK);
      if (c.pair_keys_learned == 0) usleep(10'000);
    }
    ASSERT_EQ(c.pair_keys_learned, 1u);
    EXPECT_EQ(c.control_rejected, 0u);
  }

  // Reads the test gateway's socket until a UnitAck for `seq` came (bounded).
  bool acked(uint32_t seq) {
    for (int i = 0; i < 50; ++i) {
      Received r;
      if (!gateway_.receive(r, 100)) continue;
      if (r.type != MessageType::unit_ack) continue;
      ctl::UnitAck a;
      if (a.ParseFromString(r.body) && a.unit_seq() == seq) return true;
    }
    return false;
  }

  ControlKey key_;
  UdpPeer controller_;
  UdpPeer gateway_;
  std::string controller_address_;
  const char* models_[1] = {"resnet"};
  aigw_server_options o_;
};

TEST_F(ServerApiTest, OptionsAreChecked) {
  aigw_server* s = reinterpret_cast<aigw_server*>(1);
  EXPECT_EQ(aigw_server_create(nullptr, &s), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_server_create(&o_, nullptr), AIGW_ERR_INVALID_ARG);
  auto refused = [&](auto&& change, int code) {
    aigw_server_options o = o_;
    change(o);
    aigw_server* out = reinterpret_cast<aigw_server*>(1);
    EXPECT_EQ(aigw_server_create(&o, &out), code);
    EXPECT_EQ(out, nullptr);
  };
  refused([](aigw_server_options& o) { o.size = 8; }, AIGW_ERR_STRUCT_SIZE);
  refused([](aigw_server_options& o) { o.controller = nullptr; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.controller = "nowhere"; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.gpu_id = 0; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.gpu_id = 1u << 24; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.key = nullptr; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.model_count = 0; }, AIGW_ERR_INVALID_ARG);
  static const char* empty[] = {""};
  refused([](aigw_server_options& o) { o.models = empty; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.mode = 7; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.alloc = &Counting::alloc; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.data_bind = "1.2.3"; }, AIGW_ERR_INVALID_ARG);
  refused([](aigw_server_options& o) { o.log_level = 9; }, AIGW_ERR_INVALID_ARG);
  refused(
      [](aigw_server_options& o) {
        o.mode = AIGW_MODE_THREAD;
        o.clock = [](void*) -> int64_t { return 0; };
      },
      AIGW_ERR_INVALID_ARG);
  aigw_server_destroy(nullptr);
}

TEST_F(ServerApiTest, ATakenPortFailsWithIoAndTheSystemsErrno) {
  const std::string taken = gateway_.address();
  for (const bool data_socket : {true, false}) {
    SCOPED_TRACE(data_socket ? "data_bind" : "control_bind");
    aigw_server_options o = o_;
    (data_socket ? o.data_bind : o.control_bind) = taken.c_str();
    aigw_server* s = nullptr;
    errno = 0;
    EXPECT_EQ(aigw_server_create(&o, &s), AIGW_ERR_IO);
    EXPECT_EQ(errno, EADDRINUSE);
    EXPECT_EQ(s, nullptr);
  }
}

TEST_F(ServerApiTest, RegistersWithTheBoundAddressAndReportsLoad) {
  aigw_server* s = nullptr;
  ASSERT_EQ(aigw_server_create(&o_, &s), AIGW_OK);
  char addr[80];
  ASSERT_EQ(aigw_server_data_address(s, addr, sizeof addr), AIGW_OK);
  EXPECT_EQ(aigw_server_data_address(s, addr, 4), AIGW_ERR_BUFFER);
  Received r;
  ASSERT_TRUE(controller_.receive(r, 1000));
  EXPECT_EQ(r.type, MessageType::gpu_register);
  EXPECT_EQ(r.sender_id, (3u << 24) | 5u);
  ctl::GpuRegister reg;
  ASSERT_TRUE(reg.ParseFromString(r.body));
  EXPECT_EQ("127.0.0.1:" + std::to_string(reg.port()), std::string(addr));
  EXPECT_EQ(reg.models(0), "resnet");
  EXPECT_EQ(aigw_server_report_load(s, 0.25, nullptr, 0), AIGW_OK);
  EXPECT_EQ(aigw_server_report_load(s, 1.5, nullptr, 0), AIGW_ERR_INVALID_ARG);
  // Event-loop mode: the handle does nothing until driven.
  bool synced = false;
  for (int i = 0; i < 40 && !synced; ++i) {
    pollfd p{aigw_server_fd(s), POLLIN, 0};
    poll(&p, 1, 20);
    aigw_server_process(s, std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count());
    while (controller_.receive(r, 0))
      if (r.type == MessageType::gpu_load_sync) {
        ctl::GpuLoadSync sync;
        ASSERT_TRUE(sync.ParseFromString(r.body));
        EXPECT_DOUBLE_EQ(sync.load(), 0.25);
        synced = true;
      }
  }
  EXPECT_TRUE(synced);
  aigw_server_destroy(s);
  ASSERT_TRUE(controller_.receive(r, 1000));
  ASSERT_TRUE(reg.ParseFromString(r.body));
  EXPECT_TRUE(reg.leaving());
}

TEST_F(ServerApiTest, ThreadModeDeliversVerifiedUnitsInApplicationMemory) {
  Counting pool;
  o_.mode = AIGW_MODE_THREAD;
  o_.alloc = &Counting::alloc;
  o_.free = &Counting::release;
  o_.alloc_user = &pool;
  aigw_server* s = nullptr;
  ASSERT_EQ(aigw_server_create(&o_, &s), AIGW_OK);
  EXPECT_EQ(aigw_server_fd(s), AIGW_ERR_STATE);
  EXPECT_EQ(aigw_server_process(s, 0), AIGW_ERR_STATE);
  aigw_unit u;
  std::memset(&u, 0, sizeof u);
  u.size = sizeof u;
  EXPECT_EQ(aigw_server_next_unit(s, &u, 0), AIGW_ERR_TIMEOUT);
  u.size = 4;
  EXPECT_EQ(aigw_server_next_unit(s, &u, 0), AIGW_ERR_STRUCT_SIZE);
  u.size = sizeof u;
  give_peer_keys(s);

  const auto sent = send_unit(s, 77, 3, 50'000);
  ASSERT_EQ(aigw_server_next_unit(s, &u, 3000), AIGW_OK);
  EXPECT_EQ(u.stream_id, 77u);
  EXPECT_EQ(u.unit_seq, 3u);
  EXPECT_STREQ(u.model, "resnet");
  ASSERT_EQ(u.length, sent.size());
  EXPECT_EQ(std::memcmp(u.data, sent.data(), sent.size()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(u.data) % 64, 0u);
  EXPECT_EQ(std::string(u.gateway_address), "127.0.0.1");
  EXPECT_EQ(u.gateway_port, gateway_.local().port());
  EXPECT_TRUE(acked(3));
  aigw_server_counters c;
  std::memset(&c, 0, sizeof c);
  c.size = sizeof c;
  ASSERT_EQ(aigw_server_get_counters(s, &c), AIGW_OK);
  EXPECT_EQ(c.units_verified, 1u);
  EXPECT_EQ(c.units_held, 1u);
  EXPECT_EQ(aigw_server_release(s, u.token), AIGW_OK);
  EXPECT_EQ(aigw_server_release(s, u.token), AIGW_ERR_INVALID_ARG);
  ASSERT_EQ(aigw_server_get_counters(s, &c), AIGW_OK);
  EXPECT_EQ(c.units_held, 0u);
  aigw_server_destroy(s);
  EXPECT_GE(pool.allocs.load(), 1u);
  EXPECT_EQ(pool.allocs.load(), pool.frees.load());
}

// A server on dual-stack sockets hears an IPv4 gateway v4-mapped, while the controller
// names that gateway's egress in IPv4 form: the server must find the pair key and ack.
TEST_F(ServerApiTest, ADualStackServerAcksIPv4GatewaysUnderTheirPairKey) {
  o_.mode = AIGW_MODE_THREAD;
  o_.data_bind = "[::]:0";
  o_.control_bind = "[::]:0";
  aigw_server* s = nullptr;
  ASSERT_EQ(aigw_server_create(&o_, &s), AIGW_OK);
  give_peer_keys(s);
  send_unit(s, 78, 4, 20'000, "127.0.0.1");
  aigw_unit u;
  std::memset(&u, 0, sizeof u);
  u.size = sizeof u;
  ASSERT_EQ(aigw_server_next_unit(s, &u, 3000), AIGW_OK);
  EXPECT_EQ(std::string(u.gateway_address), "127.0.0.1");
  EXPECT_TRUE(acked(4));
  aigw_server_counters c{};
  c.size = sizeof c;
  ASSERT_EQ(aigw_server_get_counters(s, &c), AIGW_OK);
  EXPECT_EQ(c.no_pair_key, 0u);
  EXPECT_EQ(aigw_server_release(s, u.token), AIGW_OK);
  aigw_server_destroy(s);
}

TEST_F(ServerApiTest, CallbackGetsUnitsAndMayReleaseLater) {
  struct Got {
    std::vector<aigw_unit> units;
  } got;
  o_.on_unit = [](void* user, const aigw_unit* u) { static_cast<Got*>(user)->units.push_back(*u); };
  o_.unit_user = &got;
  aigw_server* s = nullptr;
  ASSERT_EQ(aigw_server_create(&o_, &s), AIGW_OK);
  aigw_unit u;
  std::memset(&u, 0, sizeof u);
  u.size = sizeof u;
  EXPECT_EQ(aigw_server_next_unit(s, &u, 0), AIGW_ERR_STATE);
  for (uint32_t seq = 0; seq < 3; ++seq) send_unit(s, 8, seq, 9000);
  for (int i = 0; i < 100 && got.units.size() < 3; ++i) {
    pollfd p{aigw_server_fd(s), POLLIN, 0};
    poll(&p, 1, 20);
    aigw_server_process(s, std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count());
  }
  ASSERT_EQ(got.units.size(), 3u);
  for (uint32_t seq = 0; seq < 3; ++seq) {
    EXPECT_EQ(got.units[seq].unit_seq, seq);
    EXPECT_EQ(aigw_server_release(s, got.units[seq].token), AIGW_OK);
  }
  aigw_server_destroy(s);
}

}  // namespace
}  // namespace aigw::edge
