// Test doubles for a GPU server's core (the server library's and the emulator's): one
// output that opens every control datagram it sends, as the gateway and the controller
// would, and one wire that collects a UnitSender's fragments as datagrams.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/data_header.h"
#include "protocol/control.pb.h"
#include "protocol/envelope.h"
#include "protocol/node_keys.h"
#include "protocol/unit_sender.h"

namespace aigw::test {

/// The pair key every gateway in these tests gives the GPU server.
inline ControlKey gpu_pair_key() {
  ControlKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0x3C + 5 * i);
  return k;
}

/// Opens a GPU server's envelopes: to the controller under its node key, to a gateway
/// under the pair key.
class GpuServerKeys final : public KeySource {
 public:
  explicit GpuServerKeys(const ControlKey& node_key) : node_key_(node_key) {}
  KeyLookup key_for(uint32_t key_id, uint32_t, ControlKey& out) const override {
    out = is_pair_key_id(key_id) ? gpu_pair_key() : node_key_;
    return KeyLookup::found;
  }

 private:
  ControlKey node_key_;
};

struct GatewayAt {
  uint32_t gateway_id;
  std::string host;
  uint16_t port;
};

/// The controller's PeerKeys for these gateways, sealed under the server's node key.
inline std::vector<uint8_t> peer_keys_datagram(const ControlKey& node_key, const std::vector<GatewayAt>& gateways) {
  ctl::PeerKeys m;
  for (const GatewayAt& g : gateways) {
    ctl::PeerKey* k = m.add_keys();
    k->set_gateway_id(g.gateway_id);
    k->set_key_id(1);
    k->set_key_box(seal_key_box(node_key, gpu_pair_key()));
    k->set_egress_address(g.host);
    k->set_egress_port(g.port);
  }
  EnvelopeSealer controller(make_sender_id(NodeRole::controller, 1), 1, node_key, envelope_counter_start());
  std::vector<uint8_t> out;
  EXPECT_TRUE(controller.seal(MessageType::peer_keys, m.SerializeAsString(), out));
  return out;
}

/// `Output` is the core's output interface, `EndpointT` the address type it uses.
template <typename Output, typename EndpointT>
class CapturedControl final : public Output {
 public:
  struct Datagram {
    EndpointT to;
    MessageType type;
    std::string body;
  };

  /// Every datagram must open under `keys` and come from `sender_id`.
  CapturedControl(const KeySource& keys, uint32_t sender_id) : opener_(keys), sender_id_(sender_id) {}
  std::vector<Datagram> gateway, controller;
  void to_gateway(const EndpointT& to, const uint8_t* d, size_t n) override { open(to, d, n, gateway); }
  void to_controller(const uint8_t* d, size_t n) override { open({}, d, n, controller); }
  template <typename Msg>
  std::vector<Msg> of(const std::vector<Datagram>& v, MessageType t) const {
    std::vector<Msg> out;
    for (const auto& d : v)
      if (d.type == t) {
        Msg m;
        EXPECT_TRUE(m.ParseFromString(d.body));
        out.push_back(m);
      }
    return out;
  }

 private:
  void open(const EndpointT& to, const uint8_t* d, size_t n, std::vector<Datagram>& into) {
    EnvelopeView v;
    ASSERT_EQ(opener_.open(d, n, v), EnvelopeError::ok);
    EXPECT_EQ(v.sender_id, sender_id_);
    into.push_back({to, v.type, std::string(reinterpret_cast<const char*>(v.body), v.body_len)});
  }
  EnvelopeOpener opener_;
  uint32_t sender_id_;
};

/// Collects a UnitSender's fragments as datagrams (header + payload).
struct FragmentWire final : PacketOut {
  std::vector<std::vector<uint8_t>> packets;
  bool send_fragment(uint32_t, const uint8_t* h, const uint8_t* p, size_t n, uint32_t) override {
    std::vector<uint8_t> d(h, h + kDataHeaderSize);
    d.insert(d.end(), p, p + n);
    packets.push_back(std::move(d));
    return true;
  }
};

}  // namespace aigw::test
