// Test helpers that speak the real control protocol: a Peer seals messages as a
// gateway, device or GPU server would, and a CapturingTransport opens (and so
// authenticates) everything the controller sends.
#pragma once

#include <sodium.h>

#include <set>
#include <string>
#include <vector>

#include "controller/core/config.h"
#include "controller/core/controller.h"
#include "controller/core/node_id.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/udp_endpoint.h"
#include "tests/common/test_key.h"

namespace aigw::controller::testing {

inline constexpr const char* kKeyHex = aigw::test::kTestKeyHex;
using aigw::test::test_key;

/// A configuration with the test key for all roles, loopback-only, fast periods.
inline ControllerConfig test_config() {
  ControllerConfig c;
  c.keys.push_back({1, kKeyHex, {}});
  c.listen = "127.0.0.1:0";
  c.http_listen = "";
  c.sync_period_ms = 1000;
  c.admission_warmup_ms = 0;
  return c;
}

/// 127.0.0.1:`port`, where the test nodes live.
inline UdpEndpoint loopback(uint16_t port) {
  UdpEndpoint e;
  make_endpoint("127.0.0.1", port, e);
  return e;
}

/// Every sender id a Peer has spoken as: the recipients a CapturingTransport tries.
inline std::set<uint32_t>& known_senders() {
  static std::set<uint32_t> senders;
  return senders;
}

/// A node of the cluster, holding the node key derived from `master` for its id, as
/// `aigwctl key derive` would have provisioned it.
class Peer {
 public:
  Peer(NodeRole role, uint32_t node, uint32_t key_id = 1, ControlKey master = test_key(), uint64_t first = 1)
      : sealer_(make_sender_id(role, node), key_id, derive_node_key(master, make_sender_id(role, node)), first),
        node_(node) {
    known_senders().insert(sealer_.sender_id());
  }
  std::vector<uint8_t> seal(MessageType t, const google::protobuf::MessageLite& m) {
    std::vector<uint8_t> out;
    sealer_.seal(t, m.SerializeAsString(), out);
    return out;
  }
  uint32_t node() const { return node_; }
  uint32_t sender_id() const { return sealer_.sender_id(); }

 private:
  EnvelopeSealer sealer_;
  uint32_t node_;
};

struct Sent {
  UdpEndpoint to;
  MessageType type{};
  uint32_t sender_id = 0;
  uint32_t recipient = 0;  ///< whose node key it was sealed under
  std::string body;
  template <typename M>
  M as() const {
    M m;
    m.ParseFromString(body);
    return m;
  }
};

/// Records every datagram that authenticates under the node key of a known sender
/// (derived from the test key), with the recipient whose key it was.
class CapturingTransport : public Transport {
 public:
  bool send(const UdpEndpoint& to, const std::vector<uint8_t>& d) override {
    EnvelopeView v;
    uint32_t recipient = 0;
    if (peek_envelope(d.data(), d.size(), v) == EnvelopeError::ok)
      for (uint32_t id : known_senders()) {
        const ControlKey k = derive_node_key(test_key(), id);
        if (crypto_auth_verify(d.data() + d.size() - kEnvelopeMacSize, d.data(), d.size() - kEnvelopeMacSize,
                               k.data()) == 0) {
          recipient = id;
          break;
        }
      }
    if (recipient == 0) {
      ++unauthentic;
      return true;
    }
    sent.push_back({to, v.type, v.sender_id, recipient, std::string(reinterpret_cast<const char*>(v.body), v.body_len)});
    return true;
  }
  std::vector<Sent> take() {
    std::vector<Sent> out;
    out.swap(sent);
    return out;
  }
  std::vector<Sent> sent;
  int unauthentic = 0;
};

inline ctl::LoadSync load_sync(uint32_t gw, uint64_t seq, uint16_t control_port, uint32_t data_port, double cpu = 0.1,
                               double bw = 0) {
  ctl::LoadSync m;
  m.set_gateway_id(gw);
  m.set_period_seq(seq);
  m.set_period_ms(1000);
  m.set_cpu_busy(cpu);
  m.set_control_address("127.0.0.1");
  m.set_control_port(control_port);
  ctl::PortLoad* p = m.add_ports();
  p->set_address("127.0.0.1");
  p->set_port(data_port);
  p->set_bandwidth_bps(bw);
  p->set_bandwidth_capacity_bps(1e9);
  p->set_memory_bytes(0);
  p->set_memory_capacity_bytes(256e6);
  return m;
}

inline ctl::AdmissionRequest admission(uint32_t device, uint64_t request_id, uint16_t control_port,
                                       uint32_t unit_bytes = 672000, const std::string& model = "openpose") {
  ctl::AdmissionRequest r;
  r.set_request_id(request_id);
  r.set_device_id(device);
  r.set_unit_bytes(unit_bytes);
  r.set_period_ms(1000);
  r.set_model(model);
  r.set_control_address("127.0.0.1");
  r.set_control_port(control_port);
  r.set_source_address("127.0.0.1");
  r.set_source_port(control_port);
  return r;
}

inline ctl::GpuRegister gpu_register(uint32_t id, uint16_t port, const std::string& model = "openpose") {
  ctl::GpuRegister g;
  g.set_gpu_id(id);
  g.set_address("127.0.0.1");
  g.set_port(port);
  g.add_models(model);
  g.set_capacity_units_per_s(1000);
  return g;
}

}  // namespace aigw::controller::testing
