// DeviceCore: the device side of the control protocol under a fake clock. The test
// plays controller and gateway with real envelopes (protocol/envelope.h) and reads
// what the core sends from a capturing transport.
#include "edge-sdk/src/device_core.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/control.pb.h"
#include "protocol/nack.h"
#include "tests/edge-sdk/capture_io.h"

namespace aigw::edge {
namespace {

using test::CaptureIo;

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kDevice = 17;
constexpr uint32_t kKeyId = 1;
constexpr uint32_t kController = (kRoleController << 24) | 1;
constexpr uint32_t kGateway = (kRoleGateway << 24) | 3;

ControlKey key_of(uint8_t seed) {
  ControlKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed + i);
  return k;
}

/// Gateway 3's pair key for this device, as the controller boxes it in its replies.
ControlKey pair_key() { return key_of(77); }

class DeviceCoreTest : public ::testing::Test {
 protected:
  DeviceCoreTest()
      : controller_(kController, kKeyId, key_of(1), 1000),
        gateway_(kGateway, kPairKeyFlag | kKeyId, pair_key(), 5000),
        bad_key_(kController, kKeyId, key_of(9), 1000) {
    keys_.add(kKeyId, key_of(1));
    CoreConfig c;
    c.device_id = kDevice;
    c.key_id = kKeyId;
    c.key = key_of(1);
    EXPECT_EQ(make_endpoint("127.0.0.1", 7700, c.controller), "");
    c.control_address = "127.0.0.1";
    c.control_port = 4000;
    c.source_address = "127.0.0.1";
    c.source_port = 4001;
    c.counter_start = 1;
    c.limits.store_ttl_ns = 500 * kMs;
    config_ = c;
    core_.reset(new DeviceCore(config_, io_, Allocator(), Logger(nullptr, nullptr, AIGW_LOG_OFF)));
  }

  // Opens the i-th control datagram the device sent, as the controller would.
  EnvelopeView open_sent(size_t i) {
    EnvelopeView v;
    EXPECT_LT(i, io_.control.size());
    EXPECT_EQ(opener_.open(io_.control[i].bytes.data(), io_.control[i].bytes.size(), v), EnvelopeError::ok);
    return v;
  }
  template <typename Msg>
  Msg body_of(const EnvelopeView& v) {
    Msg m;
    EXPECT_TRUE(m.ParseFromArray(v.body, static_cast<int>(v.body_len)));
    return m;
  }
  void deliver(EnvelopeSealer& from, MessageType type, const std::string& body, int64_t now) {
    std::vector<uint8_t> out;
    ASSERT_TRUE(from.seal(type, body, out));
    core_->on_control(out.data(), out.size(), now);
  }
  ctl::AdmissionReply accept(uint64_t request_id, uint32_t stream) {
    ctl::AdmissionReply r;
    r.set_request_id(request_id);
    r.set_status(ctl::ADMISSION_ACCEPTED);
    r.set_stream_id(stream);
    r.set_gateway_id(3);
    r.set_gateway_address("127.0.0.1");
    r.set_gateway_port(9000);
    r.set_gpu_id(2);
    r.set_first_unit_seq(0);
    r.set_gateway_key_id(kKeyId);
    r.set_gateway_key_box(seal_key_box(key_of(1), pair_key()));
    return r;
  }
  // Admits one stream and returns its id.
  uint32_t admit(uint32_t stream = 5) {
    StreamSetup s;
    s.unit_bytes = 8000;
    s.period_ms = 100;
    s.pace_bytes_per_s = 1e12;
    const uint64_t id = core_->begin_admission(s, 0);
    deliver(controller_, MessageType::admission_reply, accept(id, stream).SerializeAsString(), kMs);
    aigw_stream_info info{};
    info.size = sizeof info;
    EXPECT_EQ(core_->admission(id, &info), AIGW_OK);
    return info.stream_id;
  }

  CoreConfig config_;
  CaptureIo io_;
  KeyRing keys_;
  RingKeys ring_keys_{keys_};
  EnvelopeOpener opener_{ring_keys_};
  EnvelopeSealer controller_;
  EnvelopeSealer gateway_;
  EnvelopeSealer bad_key_;
  std::unique_ptr<DeviceCore> core_;
};

TEST_F(DeviceCoreTest, AdmissionRequestCarriesTheDemandAndAddresses) {
  StreamSetup s;
  s.unit_bytes = 688128;
  s.period_ms = 1000;
  s.model = "openpose";
  const uint64_t id = core_->begin_admission(s, 0);
  ASSERT_EQ(io_.control.size(), 1u);
  EXPECT_EQ(io_.control[0].to.port(), 7700);
  const EnvelopeView v = open_sent(0);
  EXPECT_EQ(v.type, MessageType::admission_request);
  EXPECT_EQ(v.sender_id, (kRoleDevice << 24) | kDevice);
  const auto rq = body_of<ctl::AdmissionRequest>(v);
  EXPECT_EQ(rq.request_id(), id);
  EXPECT_EQ(rq.device_id(), kDevice);
  EXPECT_EQ(rq.stream_id(), 0u);
  EXPECT_EQ(rq.unit_bytes(), 688128u + 4);  // the digest trailer travels too
  EXPECT_EQ(rq.period_ms(), 1000u);
  EXPECT_EQ(rq.model(), "openpose");
  EXPECT_EQ(rq.control_address(), "127.0.0.1");
  EXPECT_EQ(rq.control_port(), 4000u);
  EXPECT_EQ(rq.source_port(), 4001u);
  EXPECT_EQ(core_->admission(id, nullptr), kAdmissionPending);
}

TEST_F(DeviceCoreTest, AdmissionRetriesWithBackoffThenTimesOut) {
  StreamSetup s;
  s.unit_bytes = 1000;
  s.period_ms = 100;
  const uint64_t id = core_->begin_admission(s, 0);
  // Retries at 200, 600, 1400 and 3000 ms (waits 200, 400, 800, 1600 capped), 5 attempts.
  std::vector<int64_t> sent_at = {0};
  int64_t t = 0;
  int rc = kAdmissionPending;
  while (rc == kAdmissionPending) {
    t = core_->next_deadline_ns();
    ASSERT_LE(t, 6000 * kMs);
    const size_t before = io_.control.size();
    core_->poll(t);
    if (io_.control.size() > before) sent_at.push_back(t / kMs);
    rc = core_->admission(id, nullptr);
  }
  EXPECT_EQ(sent_at, (std::vector<int64_t>{0, 200, 600, 1400, 3000}));
  EXPECT_EQ(rc, AIGW_ERR_TIMEOUT);
  EXPECT_EQ(t, 4600 * kMs);  // 1.6 s after the fifth attempt
  // Each retry is a new envelope with the same request: all open (no replay).
  uint64_t request_id = 0;
  for (size_t i = 0; i < io_.control.size(); ++i) {
    const auto rq = body_of<ctl::AdmissionRequest>(open_sent(i));
    if (i == 0) request_id = rq.request_id();
    EXPECT_EQ(rq.request_id(), request_id);
  }
  // A reply arriving after the timeout is stale.
  deliver(controller_, MessageType::admission_reply, accept(id, 5).SerializeAsString(), 7000 * kMs);
  EXPECT_EQ(core_->counters().stale_replies, 1u);
}

TEST_F(DeviceCoreTest, AcceptedReplyOpensTheStream) {
  StreamSetup s;
  s.unit_bytes = 1000;
  s.period_ms = 100;
  const uint64_t id = core_->begin_admission(s, 0);
  auto r = accept(id, 11);
  r.set_first_unit_seq(40);
  deliver(controller_, MessageType::admission_reply, r.SerializeAsString(), kMs);
  aigw_stream_info info{};
  info.size = sizeof info;
  ASSERT_EQ(core_->admission(id, &info), AIGW_OK);
  EXPECT_EQ(info.stream_id, 11u);
  EXPECT_EQ(info.gateway_id, 3u);
  EXPECT_STREQ(info.gateway_address, "127.0.0.1");
  EXPECT_EQ(info.gateway_port, 9000);
  EXPECT_EQ(info.gpu_id, 2u);
  EXPECT_EQ(info.first_unit_seq, 40u);
  EXPECT_EQ(core_->admission(id, &info), AIGW_ERR_STATE);  // read once
  aigw_stream_stats st{};
  ASSERT_EQ(core_->stream_stats(11, st), AIGW_OK);
  EXPECT_EQ(st.next_unit_seq, 40u);
  // A duplicate reply (controller answered a retry) changes nothing.
  deliver(controller_, MessageType::admission_reply, r.SerializeAsString(), 2 * kMs);
  EXPECT_EQ(core_->counters().stale_replies, 1u);
}

TEST_F(DeviceCoreTest, RejectionsMapToErrorCodes) {
  const std::pair<ctl::AdmissionStatus, int> cases[] = {
      {ctl::ADMISSION_REJECTED_CAPACITY, AIGW_ERR_REJECTED_CAPACITY},
      {ctl::ADMISSION_REJECTED_NO_GPU, AIGW_ERR_REJECTED_NO_GPU},
      {ctl::ADMISSION_REJECTED_INVALID, AIGW_ERR_REJECTED_INVALID},
      {ctl::ADMISSION_REJECTED_NO_GATEWAY, AIGW_ERR_REJECTED_NO_GATEWAY}};
  for (const auto& c : cases) {
    StreamSetup s;
    s.unit_bytes = 1000;
    s.period_ms = 100;
    const uint64_t id = core_->begin_admission(s, 0);
    ctl::AdmissionReply r;
    r.set_request_id(id);
    r.set_status(c.first);
    r.set_reason("test");
    deliver(controller_, MessageType::admission_reply, r.SerializeAsString(), kMs);
    EXPECT_EQ(core_->admission(id, nullptr), c.second);
  }
}

TEST_F(DeviceCoreTest, UntrustedControlInputIsCountedAndIgnored) {
  StreamSetup s;
  s.unit_bytes = 1000;
  s.period_ms = 100;
  const uint64_t id = core_->begin_admission(s, 0);
  const std::string reply = accept(id, 5).SerializeAsString();
  deliver(bad_key_, MessageType::admission_reply, reply, kMs);  // wrong key: bad MAC
  EXPECT_EQ(core_->counters().envelope_rejected[static_cast<size_t>(EnvelopeError::bad_mac)], 1u);
  // A gateway's envelope, before any admission gave this device its pair key: unknown.
  deliver(gateway_, MessageType::admission_reply, reply, kMs);
  EXPECT_EQ(core_->counters().envelope_rejected[static_cast<size_t>(EnvelopeError::unknown_key)], 1u);
  deliver(controller_, MessageType::admission_reply, "\xff\xff\xff", kMs);  // not protobuf
  EXPECT_EQ(core_->counters().bad_body, 1u);
  deliver(controller_, MessageType::load_sync, "", kMs);
  EXPECT_EQ(core_->counters().unexpected_type, 1u);
  const uint8_t junk[] = {1, 2, 3};
  core_->on_control(junk, sizeof junk, kMs);
  EXPECT_EQ(core_->counters().envelope_rejected[static_cast<size_t>(EnvelopeError::truncated)], 1u);
  // A replayed envelope is rejected.
  std::vector<uint8_t> env;
  ASSERT_TRUE(controller_.seal(MessageType::heartbeat, std::string(), env));
  core_->on_control(env.data(), env.size(), kMs);
  core_->on_control(env.data(), env.size(), kMs);
  EXPECT_EQ(core_->counters().envelope_rejected[static_cast<size_t>(EnvelopeError::replayed)], 1u);
  EXPECT_EQ(core_->counters().controller_heartbeats, 1u);
  EXPECT_EQ(core_->admission(id, nullptr), kAdmissionPending);
}

TEST_F(DeviceCoreTest, HeartbeatsListOpenStreamsEveryPeriod) {
  const uint32_t stream = admit();
  io_.control.clear();
  core_->poll(2 * kMs);
  core_->poll(500 * kMs);  // not due yet
  core_->poll(1002 * kMs);
  ASSERT_EQ(io_.control.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const EnvelopeView v = open_sent(i);
    ASSERT_EQ(v.type, MessageType::heartbeat);
    const auto hb = body_of<ctl::Heartbeat>(v);
    EXPECT_EQ(hb.sender_id(), (kRoleDevice << 24) | kDevice);
    EXPECT_EQ(hb.role(), ctl::ROLE_DEVICE);
    EXPECT_EQ(hb.seq(), i + 1);
    ASSERT_EQ(hb.stream_ids_size(), 1);
    EXPECT_EQ(hb.stream_ids(0), stream);
  }
}

TEST_F(DeviceCoreTest, GatewayNackIsAnsweredFromTheStore) {
  const uint32_t stream = admit();
  std::vector<uint8_t> unit(3000, 0x5a);
  ASSERT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 2 * kMs), AIGW_OK);
  const size_t sent = io_.fragments.size();
  ASSERT_EQ(sent, 5u);
  uint16_t missing[] = {0, 4};
  uint8_t buf[64];
  NackChunk chunk;
  encode_nack_chunk(missing, 2, buf, sizeof buf, chunk);
  ctl::RetransmitRequest n;
  n.set_stream_id(stream);
  n.set_unit_seq(0);
  n.set_fragment_count(5);
  n.set_encoding(static_cast<ctl::NackEncoding>(chunk.encoding));
  n.set_first_fragment(chunk.first_fragment);
  n.set_missing_count(chunk.missing_count);
  n.set_missing(std::string(reinterpret_cast<const char*>(chunk.bytes), chunk.size));
  n.set_round(1);
  deliver(gateway_, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(io_.fragments.size(), sent + 2);
  // The same NACK from a non-gateway sender changes nothing.
  deliver(controller_, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(io_.fragments.size(), sent + 2);
  EXPECT_EQ(core_->counters().wrong_sender, 1u);
  // Claiming the gateway's id under this device's own key (the one the controller's
  // messages come under) or under another pair key: refused, nothing resent.
  const auto rejected = [&](EnvelopeError e) { return core_->counters().envelope_rejected[size_t(e)]; };
  EnvelopeSealer own_key_as_gateway(kGateway, kKeyId, key_of(1), 9000);
  deliver(own_key_as_gateway, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(rejected(EnvelopeError::key_role), 1u);
  EnvelopeSealer other_pair(kGateway, kPairKeyFlag | kKeyId, key_of(78), 9000);
  deliver(other_pair, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(rejected(EnvelopeError::bad_mac), 1u);
  EnvelopeSealer other_gateway((kRoleGateway << 24) | 4, kPairKeyFlag | kKeyId, pair_key(), 9000);
  deliver(other_gateway, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(rejected(EnvelopeError::unknown_key), 1u) << "no pair key was given for gateway 4";
  EXPECT_EQ(io_.fragments.size(), sent + 2);
  // NACKs for unknown streams and bad encodings are counted.
  n.set_stream_id(999);
  deliver(gateway_, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(core_->counters().unknown_stream, 1u);
  n.set_stream_id(stream);
  n.set_encoding(static_cast<ctl::NackEncoding>(9));
  deliver(gateway_, MessageType::retransmit_request, n.SerializeAsString(), 3 * kMs);
  EXPECT_EQ(core_->counters().nacks_malformed, 1u);
  aigw_stream_stats st{};
  ASSERT_EQ(core_->stream_stats(stream, st), AIGW_OK);
  EXPECT_EQ(st.fragments_resent, 2u);
}

TEST_F(DeviceCoreTest, MigrateSwitchIsAckedWithTheActualSequence) {
  const uint32_t stream = admit();
  std::vector<uint8_t> unit(1000, 1);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 2 * kMs), AIGW_OK);
  io_.control.clear();
  ctl::MigrateCommand m;
  m.set_migration_id(900);
  m.set_phase(ctl::MIGRATE_SWITCH);
  m.set_stream_id(stream);
  m.set_switch_unit_seq(1);  // already begun: the switch happens at unit 3
  m.set_target_gateway_id(4);
  m.set_gateway_address("127.0.0.9");
  m.set_gateway_port(9400);
  m.set_source_gateway_id(3);
  deliver(controller_, MessageType::migrate_command, m.SerializeAsString(), 3 * kMs);
  ASSERT_EQ(io_.control.size(), 1u);
  EnvelopeView v = open_sent(0);
  ASSERT_EQ(v.type, MessageType::migrate_ack);
  auto ack = body_of<ctl::MigrateAck>(v);
  EXPECT_EQ(ack.migration_id(), 900u);
  EXPECT_EQ(ack.phase(), ctl::MIGRATE_SWITCH);
  EXPECT_EQ(ack.stream_id(), stream);
  EXPECT_EQ(ack.switch_unit_seq(), 3u);
  ASSERT_EQ(core_->events().size(), 1u);
  EXPECT_EQ(core_->events()[0].type, AIGW_EVENT_MIGRATED);
  // The controller's retry gets the same answer.
  ASSERT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 4 * kMs), AIGW_OK);
  deliver(controller_, MessageType::migrate_command, m.SerializeAsString(), 5 * kMs);
  ASSERT_EQ(io_.control.size(), 2u);
  ack = body_of<ctl::MigrateAck>(open_sent(1));
  EXPECT_EQ(ack.switch_unit_seq(), 3u);
  EXPECT_EQ(io_.fragments.back().to.port(), 9400);
  // Other phases are not for devices.
  m.set_phase(ctl::MIGRATE_EXPECT);
  deliver(controller_, MessageType::migrate_command, m.SerializeAsString(), 5 * kMs);
  EXPECT_EQ(core_->counters().unexpected_type, 1u);
}

TEST_F(DeviceCoreTest, CloseSendsStreamCloseAndForgetsAfterTheStoreTtl) {
  const uint32_t stream = admit();
  std::vector<uint8_t> unit(1000, 1);
  ASSERT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 2 * kMs), AIGW_OK);
  ASSERT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 2 * kMs), AIGW_OK);
  io_.control.clear();
  ASSERT_EQ(core_->close_stream(stream, 10 * kMs), AIGW_OK);
  ASSERT_EQ(io_.control.size(), 1u);
  const EnvelopeView v = open_sent(0);
  ASSERT_EQ(v.type, MessageType::stream_close);
  const auto c = body_of<ctl::StreamClose>(v);
  EXPECT_EQ(c.stream_id(), stream);
  EXPECT_EQ(c.device_id(), kDevice);
  EXPECT_EQ(c.last_unit_seq(), 1u);
  EXPECT_EQ(core_->close_stream(stream, 11 * kMs), AIGW_ERR_CLOSED);
  EXPECT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 11 * kMs), AIGW_ERR_CLOSED);
  aigw_stream_stats st{};
  EXPECT_EQ(core_->stream_stats(stream, st), AIGW_OK);  // still visible while it lingers
  core_->poll(600 * kMs);
  EXPECT_EQ(core_->stream_stats(stream, st), AIGW_ERR_UNKNOWN_STREAM);
  EXPECT_EQ(core_->close_stream(stream, 600 * kMs), AIGW_ERR_UNKNOWN_STREAM);
  EXPECT_EQ(core_->next_deadline_ns(), INT64_MAX);  // nothing open: no heartbeats either
}

TEST_F(DeviceCoreTest, ControllerStreamCloseEndsTheStream) {
  const uint32_t stream = admit();
  ctl::StreamClose c;
  c.set_stream_id(stream);
  c.set_device_id(kDevice);
  deliver(controller_, MessageType::stream_close, c.SerializeAsString(), 2 * kMs);
  ASSERT_EQ(core_->events().size(), 1u);
  EXPECT_EQ(core_->events()[0].type, AIGW_EVENT_STREAM_CLOSED);
  EXPECT_EQ(core_->events()[0].stream_id, stream);
  std::vector<uint8_t> unit(100, 1);
  EXPECT_EQ(core_->send_unit(stream, unit.data(), unit.size(), 3 * kMs), AIGW_ERR_CLOSED);
}

}  // namespace
}  // namespace aigw::edge
