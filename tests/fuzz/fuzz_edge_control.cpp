// The edge SDK's control input (what arrives on a device's control port) must take any
// bytes: raw datagrams hit the envelope checks, and the same bytes sealed with the
// device's key as each message type (from a controller or a gateway sender id) reach
// the body decoders, the NACK path into the retransmit store and the migration logic.
#include <cstdint>
#include <string>
#include <vector>

#include "edge-sdk/src/device_core.h"
#include "protocol/control.pb.h"
#include "tests/fuzz/quiet_logs.h"

namespace {

using namespace aigw;
using namespace aigw::edge;

class NullIo final : public CoreIo {
 public:
  void send_control(const UdpEndpoint&, const uint8_t*, size_t) override {}
  bool send_fragment(const UdpEndpoint&, const uint8_t*, size_t, const uint8_t*, size_t) override {
    return true;
  }
  void flush() override {}
};

ControlKey key() {
  ControlKey k{};
  k.fill(0x42);
  return k;
}
// Gateway 1's pair key for this device, given in every admission reply.
ControlKey pair_key() {
  ControlKey k{};
  k.fill(0x24);
  return k;
}

// One device for the whole run (building a stream's engine per input would dominate
// the time); a stream an input closed is replaced by a fresh one.
struct Device {
  Device()
      : core(config(), io, Allocator(), Logger(nullptr, nullptr, AIGW_LOG_OFF)),
        controller((kRoleController << 24) | 1, 1, key(), 1),
        gateway((kRoleGateway << 24) | 1, kPairKeyFlag | 1, pair_key(), 1),
        unit(4000, 0x5a) {}

  static CoreConfig config() {
    CoreConfig c;
    c.device_id = 9;
    c.key_id = 1;
    c.key = key();
    make_endpoint("127.0.0.1", 7700, c.controller);
    c.counter_start = 1;
    c.limits.store_ttl_ns = 1'000'000;  // closed streams are forgotten within ~1000 inputs
    return c;
  }

  // Admits stream `id`, as the controller would; false while that id still lingers.
  bool admit(uint32_t id) {
    StreamSetup s;
    s.unit_bytes = 4000;
    s.period_ms = 100;
    const uint64_t request = core.begin_admission(s, now);
    ctl::AdmissionReply r;
    r.set_request_id(request);
    r.set_stream_id(id);
    r.set_gateway_id(1);
    r.set_gateway_address("127.0.0.1");
    r.set_gateway_port(9000);
    r.set_gateway_key_id(1);
    r.set_gateway_key_box(seal_key_box(key(), pair_key()));
    controller.seal(MessageType::admission_reply, r.SerializeAsString(), env);
    core.on_control(env.data(), env.size(), now);
    if (core.admission(request, nullptr) != AIGW_OK) return false;
    stream = id;
    return true;
  }

  NullIo io;
  DeviceCore core;
  EnvelopeSealer controller;
  EnvelopeSealer gateway;
  std::vector<uint8_t> env;
  std::vector<uint8_t> unit;
  uint32_t stream = 0;
  uint32_t next_id = 1;
  int64_t now = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Device d;
  d.now += 1000;
  // Inputs name stream ids 1..: keep the live one small so fuzzed NACKs can hit it.
  if (d.stream == 0 || d.core.send_unit(d.stream, d.unit.data(), d.unit.size(), d.now) != AIGW_OK) {
    d.stream = 0;
    for (int tries = 0; tries < 4 && d.stream == 0; ++tries) {
      d.admit(d.next_id);
      d.next_id = d.next_id % 4 + 1;
    }
    if (d.stream != 0) d.core.send_unit(d.stream, d.unit.data(), d.unit.size(), d.now);
  }
  d.core.on_control(data, size, d.now);
  if (size > 0) {
    const auto type = static_cast<MessageType>(data[0] % kMaxMessageType + 1);
    EnvelopeSealer& from = (data[0] & 0x80) != 0 ? d.gateway : d.controller;
    if (from.seal(type, data + 1, size - 1, d.env)) d.core.on_control(d.env.data(), d.env.size(), d.now);
  }
  d.core.poll(d.now);
  d.core.events().clear();
  return 0;
}
