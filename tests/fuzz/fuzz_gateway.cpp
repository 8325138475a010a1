// Fuzzes what a gateway data port reads from the network: raw frames through the DPDK
// path's parser (and the ICMP/ARP builders on what it accepts), and UDP payloads through
// the ingest pipeline, both as data and as GPU envelopes on the egress address.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gateway/net/frame_builder.h"
#include "gateway/net/frame_parser.h"
#include "gateway/core/pipeline.h"
#include "protocol/node_keys.h"
#include "tests/fuzz/quiet_logs.h"

namespace {

struct NullEvents : aigw::PipelineEvents {
  void send_nack(const aigw::Ipv4Endpoint&, const aigw::NackOut&) override {}
  void unit_done(uint32_t, uint32_t, bool, uint32_t, aigw::LossReason) override {}
  void stream_released(uint32_t, uint32_t) override {}
};

struct NullEgress : aigw::EgressOut {
  bool send(const aigw::Ipv4Endpoint&, const uint8_t*, const uint8_t*, size_t, uint32_t) override { return true; }
  void flush() override {}
};

struct Rig {
  NullEvents events;
  NullEgress egress;
  aigw::NodeKeys keys{aigw::make_sender_id(aigw::NodeRole::gateway, 1)};
  aigw::Pipeline pipeline;
  int64_t now = 0;
  static aigw::PipelineConfig config() {
    aigw::PipelineConfig c;
    c.data_ports = {{9000, 8u << 20}};
    c.receiver.max_unit_bytes = 1u << 20;
    c.receiver.max_units_in_flight = 64;
    c.egress.store_budget_bytes = 4u << 20;
    return c;
  }
  Rig() : pipeline(config(), events, egress, keys) {
    for (uint32_t id = 0; id < 4; ++id) {
      aigw::StreamCommand c;
      c.kind = aigw::StreamCommand::Kind::assign;
      c.route.stream_id = id;
      c.route.data_port = 9000;
      c.route.source = {0x7f000001, 0};
      c.route.gpu = {0x7f000001, 5000};
      pipeline.apply(c, 0);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Rig rig;
  std::vector<uint8_t> frame(data, data + size);
  aigw::net::Frame f;
  if (aigw::net::parse_frame(frame.data(), frame.size(), aigw::net::UdpChecksum::software, f) ==
      aigw::net::ParseError::ok) {
    if (f.kind == aigw::net::FrameKind::icmp) aigw::net::make_echo_reply_in_place(frame.data(), f);
    if (f.kind == aigw::net::FrameKind::arp) {
      uint8_t reply[aigw::net::kMinFrameSize];
      aigw::net::build_arp_reply(f.arp, aigw::net::Mac{}, 1, reply);
    }
  }
  aigw::net::parse_frame(data, size, aigw::net::UdpChecksum::skip, f);
  rig.now += 1'000'000;
  rig.pipeline.on_datagram(0, {0x7f000001, 1}, data, size, rig.now);
  rig.pipeline.on_egress_datagram({0x7f000001, 5000}, data, size, rig.now);
  rig.pipeline.poll(rig.now);
  return 0;
}
