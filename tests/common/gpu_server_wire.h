// Test doubles for a GPU server's core (the server library's and the emulator's): one
// output that opens every control datagram it sends, as the gateway and the controller
// would, and one wire that collects a UnitSender's fragments as datagrams.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/data_header.h"
#include "protocol/envelope.h"
#include "protocol/unit_sender.h"

namespace aigw::test {

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
  CapturedControl(const KeyRing& keys, uint32_t sender_id) : opener_(keys), sender_id_(sender_id) {}
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
