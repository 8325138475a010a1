// The C ABI: error codes and names, argument and struct-size checks, lifecycle misuse,
// mode checks, hooks, and admission outcomes against a loopback controller.
#include "aigw/edge.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "aigw/edge.hpp"
#include "protocol/control.pb.h"
#include "protocol/log.h"
#include "tests/edge-sdk/udp_peer.h"

namespace {

using aigw::edge::test::Received;
using aigw::edge::test::UdpPeer;
using aigw::MessageType;

constexpr uint32_t kControllerId = (4u << 24) | 1;
const aigw::ControlKey kKey = aigw::edge::test::test_key();

aigw_edge_options options_for(const std::string& controller, int mode = AIGW_MODE_EVENT_LOOP) {
  aigw_edge_options o;
  aigw_edge_options_init(&o);
  static std::string keep;
  keep = controller;
  o.controller = keep.c_str();
  o.device_id = 17;
  o.key_id = 1;
  o.key = kKey.data();
  o.mode = mode;
  o.control_bind = "127.0.0.1:0";
  o.data_bind = "127.0.0.1:0";
  o.log_level = AIGW_LOG_OFF;
  return o;
}

aigw_stream_profile profile() {
  aigw_stream_profile p;
  aigw_stream_profile_init(&p);
  p.unit_bytes = 10000;
  p.period_ms = 100;
  return p;
}

// Answers admission requests on `peer` with `status` until `stop`.
std::thread serve_admissions(UdpPeer& peer, aigw::ctl::AdmissionStatus status, std::atomic<bool>& stop,
                             uint16_t gateway_port = 9) {
  return std::thread([&peer, status, &stop, gateway_port] {
    while (!stop) {
      Received r;
      if (!peer.receive(r, 20) || r.type != MessageType::admission_request) continue;
      aigw::ctl::AdmissionRequest rq;
      rq.ParseFromString(r.body);
      aigw::ctl::AdmissionReply reply;
      reply.set_request_id(rq.request_id());
      reply.set_status(status);
      reply.set_stream_id(31);
      reply.set_gateway_id(2);
      reply.set_gateway_address("127.0.0.1");
      reply.set_gateway_port(gateway_port);
      reply.set_gateway_key_id(1);
      reply.set_gateway_key_box(aigw::edge::test::test_pair_key_box());
      peer.send(r.from, MessageType::admission_reply, reply.SerializeAsString());
    }
  });
}

TEST(CApi, StrerrorNamesEveryCode) {
  std::set<std::string> names;
  for (int code = AIGW_OK; code >= AIGW_ERR_CRYPTO; --code) {
    const char* s = aigw_strerror(code);
    ASSERT_NE(s, nullptr);
    EXPECT_STRNE(s, "unknown error") << code;
    names.insert(s);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(1 - AIGW_ERR_CRYPTO));  // all distinct
  EXPECT_STREQ(aigw_strerror(-1000), "unknown error");
  EXPECT_STREQ(aigw_strerror(5), "unknown error");
  EXPECT_STREQ(aigw_edge_version(), AIGW_EDGE_VERSION);
}

TEST(CApi, AnOptionsStructOfTheFirstLayoutIsAccepted) {
  // A 0.1 application declares the struct without data_path: it gets the default.
  auto o = options_for("127.0.0.1:7700");
  o.size = static_cast<uint32_t>(offsetof(aigw_edge_options, data_path));
  o.data_path = 99;  // beyond the declared size: must not be read
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  aigw_edge_destroy(e);
}

TEST(CApi, CreateRejectsInvalidOptions) {
  aigw_edge* e = reinterpret_cast<aigw_edge*>(0x1);
  auto o = options_for("127.0.0.1:7700");
  EXPECT_EQ(aigw_edge_create(nullptr, &e), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(e, nullptr);  // cleared on failure
  EXPECT_EQ(aigw_edge_create(&o, nullptr), AIGW_ERR_INVALID_ARG);

  auto bad = o;
  bad.size = 8;
  EXPECT_EQ(aigw_edge_create(&bad, &e), AIGW_ERR_STRUCT_SIZE);
  const auto expect_invalid = [&](aigw_edge_options x, const char* what) {
    aigw_edge* h = nullptr;
    EXPECT_EQ(aigw_edge_create(&x, &h), AIGW_ERR_INVALID_ARG) << what;
    EXPECT_EQ(h, nullptr);
  };
  bad = o; bad.controller = nullptr; expect_invalid(bad, "no controller");
  bad = o; bad.controller = "controller:7700"; expect_invalid(bad, "DNS name");
  bad = o; bad.controller = "127.0.0.1:0"; expect_invalid(bad, "port 0");
  bad = o; bad.device_id = 0; expect_invalid(bad, "device 0");
  bad = o; bad.data_path = 7; expect_invalid(bad, "unknown data path");
  bad = o; bad.device_id = 1u << 24; expect_invalid(bad, "device id beyond 24 bits");
  bad = o; bad.key = nullptr; expect_invalid(bad, "no key");
  bad = o; bad.mode = 2; expect_invalid(bad, "mode");
  bad = o; bad.alloc = [](void*, size_t n) { return malloc(n); }; expect_invalid(bad, "alloc without free");
  bad = o; bad.log_level = 9; expect_invalid(bad, "log level");
  bad = o; bad.max_payload = 10; expect_invalid(bad, "tiny payload");
  bad = o; bad.max_payload = 70000; expect_invalid(bad, "payload beyond a datagram");
  bad = o; bad.store_units = 5000; expect_invalid(bad, "store units");
  bad = o; bad.control_bind = "nowhere"; expect_invalid(bad, "control bind");
  bad = o; bad.data_bind = "1.2.3:4"; expect_invalid(bad, "data bind");
  bad = o; bad.advertise_address = "host.example"; expect_invalid(bad, "advertise");
}

TEST(CApi, ATakenPortFailsWithIoAndTheSystemsErrno) {
  UdpPeer taken(kControllerId);
  const std::string address = taken.address();
  for (const bool data_socket : {false, true}) {
    SCOPED_TRACE(data_socket ? "data_bind" : "control_bind");
    auto o = options_for("127.0.0.1:7700");
    (data_socket ? o.data_bind : o.control_bind) = address.c_str();
    aigw_edge* e = nullptr;
    errno = 0;
    EXPECT_EQ(aigw_edge_create(&o, &e), AIGW_ERR_IO);
    EXPECT_EQ(errno, EADDRINUSE);
    EXPECT_EQ(e, nullptr);
  }
}

TEST(CApi, NullHandleIsRefusedEverywhere) {
  aigw_stream_info info{};
  info.size = sizeof info;
  auto p = profile();
  aigw_stream_stats st{};
  st.size = sizeof st;
  char buf[8];
  const uint8_t unit[4] = {};
  EXPECT_EQ(aigw_edge_open_stream(nullptr, &p, &info), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_send_unit(nullptr, 1, unit, 4), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_close_stream(nullptr, 1), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_fd(nullptr), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_process(nullptr, 0), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_next_deadline(nullptr), INT64_MAX);
  EXPECT_EQ(aigw_edge_stream_stats(nullptr, 1, &st), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_stream_stats_json(nullptr, 1, buf, sizeof buf, nullptr), AIGW_ERR_INVALID_ARG);
  aigw_edge_destroy(nullptr);  // accepted, does nothing
}

TEST(CApi, EventLoopHandleChecksItsArguments) {
  UdpPeer controller(kControllerId);
  auto o = options_for(controller.address());
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  ASSERT_NE(e, nullptr);
  EXPECT_GE(aigw_edge_fd(e), 0);
  EXPECT_EQ(aigw_edge_process(e, 0), AIGW_OK);
  EXPECT_EQ(aigw_edge_next_deadline(e), INT64_MAX);  // nothing to do without streams

  const uint8_t unit[16] = {};
  EXPECT_EQ(aigw_edge_send_unit(e, 5, unit, sizeof unit), AIGW_ERR_UNKNOWN_STREAM);
  EXPECT_EQ(aigw_edge_send_unit(e, 5, nullptr, 3), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_close_stream(e, 5), AIGW_ERR_UNKNOWN_STREAM);
  aigw_stream_stats st{};
  st.size = sizeof st;
  EXPECT_EQ(aigw_edge_stream_stats(e, 5, &st), AIGW_ERR_UNKNOWN_STREAM);
  st.size = 4;
  EXPECT_EQ(aigw_edge_stream_stats(e, 5, &st), AIGW_ERR_STRUCT_SIZE);
  EXPECT_EQ(aigw_edge_stream_stats(e, 5, nullptr), AIGW_ERR_INVALID_ARG);
  char buf[4];
  EXPECT_EQ(aigw_edge_stream_stats_json(e, 5, nullptr, 4, nullptr), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_stream_stats_json(e, 5, buf, sizeof buf, nullptr), AIGW_ERR_UNKNOWN_STREAM);

  aigw_stream_info info{};
  info.size = sizeof info;
  auto p = profile();
  EXPECT_EQ(aigw_edge_open_stream(e, nullptr, &info), AIGW_ERR_INVALID_ARG);
  EXPECT_EQ(aigw_edge_open_stream(e, &p, nullptr), AIGW_ERR_INVALID_ARG);
  auto bad = p;
  bad.size = 4;
  EXPECT_EQ(aigw_edge_open_stream(e, &bad, &info), AIGW_ERR_STRUCT_SIZE);
  info.size = 4;
  EXPECT_EQ(aigw_edge_open_stream(e, &p, &info), AIGW_ERR_STRUCT_SIZE);
  info.size = sizeof info;
  bad = p; bad.unit_bytes = 0;
  EXPECT_EQ(aigw_edge_open_stream(e, &bad, &info), AIGW_ERR_INVALID_ARG);
  bad = p; bad.period_ms = 0;
  EXPECT_EQ(aigw_edge_open_stream(e, &bad, &info), AIGW_ERR_INVALID_ARG);
  bad = p; bad.pace_bytes_per_s = -1;
  EXPECT_EQ(aigw_edge_open_stream(e, &bad, &info), AIGW_ERR_INVALID_ARG);
  bad = p; bad.unit_bytes = 65535u * 728u;  // more fragments than the header can number
  EXPECT_EQ(aigw_edge_open_stream(e, &bad, &info), AIGW_ERR_TOO_LARGE);
  Received r;
  EXPECT_FALSE(controller.receive(r, 0));  // nothing invalid reached the wire
  aigw_edge_destroy(e);
}

TEST(CApi, ThreadModeRefusesEventLoopCalls) {
  UdpPeer controller(kControllerId);
  auto o = options_for(controller.address(), AIGW_MODE_THREAD);
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  EXPECT_EQ(aigw_edge_fd(e), AIGW_ERR_STATE);
  EXPECT_EQ(aigw_edge_process(e, 0), AIGW_ERR_STATE);
  aigw_edge_destroy(e);
}

TEST(CApi, AdmissionTimesOutWhenTheControllerIsSilent) {
  UdpPeer controller(kControllerId);
  auto o = options_for(controller.address());
  o.admission_timeout_ms = 1000;
  o.request_retry_ms = 50;
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  auto p = profile();
  aigw_stream_info info{};
  info.size = sizeof info;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(aigw_edge_open_stream(e, &p, &info), AIGW_ERR_TIMEOUT);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(990));
  size_t requests = 0;
  for (Received r; controller.receive(r, 0);) {
    if (r.type == MessageType::admission_request) ++requests;
  }
  // Attempts at 0, 50, 150, 350 and 750 ms; the sixth would be at 1550, past the deadline.
  EXPECT_GE(requests, 3u);  // (a loaded machine may delay the last ones)
  EXPECT_LE(requests, 5u);
  aigw_edge_destroy(e);
}

TEST(CApi, RejectionIsReportedWithItsCode) {
  UdpPeer controller(kControllerId);
  std::atomic<bool> stop{false};
  std::thread t = serve_admissions(controller, aigw::ctl::ADMISSION_REJECTED_NO_GPU, stop);
  auto o = options_for(controller.address(), AIGW_MODE_THREAD);
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  auto p = profile();
  p.model = "unknown-model";
  aigw_stream_info info{};
  info.size = sizeof info;
  EXPECT_EQ(aigw_edge_open_stream(e, &p, &info), AIGW_ERR_REJECTED_NO_GPU);
  aigw_edge_destroy(e);
  stop = true;
  t.join();
}

struct HookCounts {
  std::atomic<int> allocs{0};
  std::atomic<int> frees{0};
  std::atomic<int> lines{0};
  std::atomic<int> created{0};
};

TEST(CApi, AllocatorAndLogHooksAreUsed) {
  UdpPeer controller(kControllerId);
  std::atomic<bool> stop{false};
  std::thread t = serve_admissions(controller, aigw::ctl::ADMISSION_ACCEPTED, stop);
  HookCounts counts;
  auto o = options_for(controller.address());
  o.alloc = [](void* u, size_t n) {
    ++static_cast<HookCounts*>(u)->allocs;
    return malloc(n);
  };
  o.free = [](void* u, void* p) {
    ++static_cast<HookCounts*>(u)->frees;
    free(p);
  };
  o.alloc_user = &counts;
  o.log = [](void* u, int level, const char* event, const char* fields) {
    auto* c = static_cast<HookCounts*>(u);
    ++c->lines;
    if (std::strcmp(event, "edge_created") == 0 && level == AIGW_LOG_INFO &&
        std::strstr(fields, "device=17") != nullptr)
      ++c->created;
  };
  o.log_user = &counts;
  o.log_level = AIGW_LOG_INFO;
  aigw_edge* e = nullptr;
  ASSERT_EQ(aigw_edge_create(&o, &e), AIGW_OK);
  auto p = profile();
  aigw_stream_info info{};
  info.size = sizeof info;
  ASSERT_EQ(aigw_edge_open_stream(e, &p, &info), AIGW_OK);
  EXPECT_GE(counts.allocs.load(), 3);  // handle, core, stream and its unit buffer
  aigw_edge_destroy(e);
  stop = true;
  t.join();
  EXPECT_EQ(counts.allocs.load(), counts.frees.load());
  EXPECT_EQ(counts.created.load(), 1);
  EXPECT_GE(counts.lines.load(), 2);  // created, admitted, ...
}

TEST(CApi, RefusedControlTrafficIsCountedByReason) {
  UdpPeer controller(kControllerId);
  UdpPeer stranger(kControllerId, 1, aigw::ControlKey{});  // right sender id, wrong key
  aigw::UdpEndpoint device;
  std::mutex mu;
  std::thread t([&] {
    Received r;
    ASSERT_TRUE(controller.receive(r, 5000));
    aigw::ctl::AdmissionRequest rq;
    rq.ParseFromString(r.body);
    {
      std::lock_guard<std::mutex> l(mu);
      device = r.from;  // requests leave from the device's control socket
    }
    aigw::ctl::AdmissionReply reply;
    reply.set_request_id(rq.request_id());
    reply.set_status(aigw::ctl::ADMISSION_ACCEPTED);
    reply.set_stream_id(31);
    reply.set_gateway_address("127.0.0.1");
    reply.set_gateway_port(9);
    reply.set_gateway_key_id(1);
    reply.set_gateway_key_box(aigw::edge::test::test_pair_key_box());
    controller.send(r.from, MessageType::admission_reply, reply.SerializeAsString());
  });
  aigw::edge::Client client;
  ASSERT_TRUE(client.create(options_for(controller.address())));
  aigw_stream_info info{};
  ASSERT_TRUE(client.open_stream(profile(), info));
  t.join();
  std::lock_guard<std::mutex> l(mu);
  const uint8_t junk[] = {0x41, 0x43, 1, 3};
  sendto(controller.fd(), junk, sizeof junk, 0, device.sa(), device.len);      // truncated
  stranger.send(device, MessageType::heartbeat, "");                          // bad MAC
  controller.send(device, MessageType::heartbeat, "");                        // answer
  controller.send(device, MessageType::retransmit_request, "");               // not a gateway
  controller.send(device, MessageType::admission_reply, "\x08\x01");         // stale reply
  controller.send(device, MessageType::load_sync, "");                        // not for devices
  aigw_edge_counters c{};
  for (int i = 0; i < 100; ++i) {
    pollfd p{client.fd(), POLLIN, 0};
    poll(&p, 1, 10);
    ASSERT_TRUE(client.process(aigw::log::steady_now_ns()));
    ASSERT_TRUE(client.counters(c));
    if (c.control_received >= 7) break;
  }
  EXPECT_EQ(c.control_received, 7u);  // the admission reply and the six above
  EXPECT_EQ(c.control_bad_envelope, 2u);
  EXPECT_EQ(c.controller_heartbeats, 1u);
  EXPECT_EQ(c.control_wrong_sender, 1u);
  EXPECT_EQ(c.stale_replies, 1u);
  EXPECT_EQ(c.control_unexpected, 1u);
  EXPECT_GT(c.controller_seen_ns, 0);
  EXPECT_GE(c.heartbeats_sent, 1u);
  c.size = 4;
  EXPECT_EQ(aigw_edge_get_counters(client.get(), &c), AIGW_ERR_STRUCT_SIZE);
  EXPECT_EQ(aigw_edge_get_counters(nullptr, &c), AIGW_ERR_INVALID_ARG);
}

TEST(CApi, StatsJsonReportsTheNeededSize) {
  UdpPeer controller(kControllerId);
  std::atomic<bool> stop{false};
  std::thread t = serve_admissions(controller, aigw::ctl::ADMISSION_ACCEPTED, stop, 9);
  auto o = options_for(controller.address());
  aigw::edge::Client client;
  ASSERT_TRUE(client.create(o));
  aigw_stream_info info{};
  ASSERT_TRUE(client.open_stream(profile(), info));
  EXPECT_EQ(info.stream_id, 31u);
  EXPECT_EQ(info.gateway_port, 9);
  char small[8];
  size_t needed = 0;
  EXPECT_EQ(aigw_edge_stream_stats_json(client.get(), info.stream_id, small, sizeof small, &needed),
            AIGW_ERR_BUFFER);
  EXPECT_GT(needed, sizeof small);
  const std::string json = client.stats_json(info.stream_id);
  EXPECT_EQ(json.size(), needed);
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["stream_id"], 31);
  EXPECT_EQ(j["gateway"]["id"], 2);
  // Lifecycle: closing twice, sending after close.
  const uint8_t unit[10] = {};
  EXPECT_TRUE(client.close_stream(info.stream_id));
  EXPECT_EQ(client.close_stream(info.stream_id).code(), AIGW_ERR_CLOSED);
  EXPECT_EQ(client.send_unit(info.stream_id, unit, sizeof unit).code(), AIGW_ERR_CLOSED);
  stop = true;
  t.join();
}

}  // namespace
