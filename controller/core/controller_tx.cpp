// Sending side of the controller: sealing, and the messages to gateways and devices.
#include "controller/core/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

void Controller::send(const UdpEndpoint& to, uint32_t recipient, MessageType type,
                      const google::protobuf::MessageLite& msg) {
  const uint32_t generation = masters_.generation_for(recipient);
  ControlKey key;
  // Port 0 names no socket: the node left its control port unknown.
  if (!to.valid() || to.port() == 0 || !masters_.node_key(generation, recipient, key) ||
      !sealer_.seal_with(generation, key, type, msg.SerializeAsString(), scratch_) || !transport_.send(to, scratch_)) {
    ++metrics_.tx_errors;
    AIGW_WARN_RATE_LIMITED(1000, "control_send_failed", "type={} to={}", to_string(type), to.to_string());
    return;
  }
  metrics_.tx_messages.inc(to_string(type));
}

void Controller::fill_entry(const StreamState& s, uint32_t data_port, ctl::StreamEntry& e) const {
  e.set_stream_id(s.stream_id);
  e.set_data_port(data_port);
  e.set_source_address(s.source_address);
  e.set_source_port(s.source_port);
  e.set_device_control_address(s.device_control.host());
  e.set_device_control_port(s.device_control.port());
  e.set_last_unit_seq(s.last_unit_seq);
  e.set_bandwidth_bps(s.bandwidth_bps);
  e.set_memory_bytes(s.memory_bytes);
  e.set_gpu_id(s.gpu_id);
  e.set_unit_bytes(s.unit_bytes);
  e.set_device_id(s.device_id);
}

std::pair<std::string, uint32_t> Controller::gpu_endpoint(uint32_t gpu_id) const {
  if (const GpuServer* g = steering_.find(gpu_id)) return {g->address, g->port};
  return {};
}

void Controller::send_assign(const StreamState& s, bool remove, uint32_t release_after) {
  auto g = gateways_.find(s.gateway_id);
  if (g == gateways_.end() || s.port_index >= g->second.ports.size()) return;
  ctl::StreamAssign a;
  fill_entry(s, g->second.ports[s.port_index].port, *a.mutable_stream());
  {
    const auto [gpu_addr, gpu_port] = gpu_endpoint(s.gpu_id);
    a.set_gpu_address(gpu_addr);
    a.set_gpu_port(gpu_port);
  }
  a.set_from_unit_seq(s.first_unit_seq);
  a.set_remove(remove);
  a.set_release_after_unit_seq(release_after);
  send(g->second.control, make_sender_id(NodeRole::gateway, g->first), MessageType::stream_assign, a);
}

void Controller::send_remove(uint32_t gateway_id, uint32_t stream_id, uint32_t release_after) {
  auto g = gateways_.find(gateway_id);
  if (g == gateways_.end() || !g->second.alive) return;
  ctl::StreamAssign a;
  a.mutable_stream()->set_stream_id(stream_id);
  a.set_remove(true);
  a.set_release_after_unit_seq(release_after);
  send(g->second.control, make_sender_id(NodeRole::gateway, g->first), MessageType::stream_assign, a);
}

void Controller::send_steer(const StreamState& s) {
  auto g = gateways_.find(s.gateway_id);
  if (g == gateways_.end()) return;
  ctl::SteerCommand c;
  c.set_stream_id(s.stream_id);
  c.set_gpu_id(s.gpu_id);
  {
    const auto [gpu_addr, gpu_port] = gpu_endpoint(s.gpu_id);
    c.set_gpu_address(gpu_addr);
    c.set_gpu_port(gpu_port);
  }
  send(g->second.control, make_sender_id(NodeRole::gateway, g->first), MessageType::steer_command, c);
}

void Controller::send_stream_close(const StreamState& s) {
  ctl::StreamClose c;
  c.set_stream_id(s.stream_id);
  c.set_device_id(s.device_id);
  c.set_last_unit_seq(s.last_unit_seq);
  send(s.device_control, make_sender_id(NodeRole::device, s.device_id), MessageType::stream_close, c);
}

}  // namespace aigw::controller

namespace aigw::controller {

void Controller::send_peer_keys(const GpuServer& gpu) {
  const uint32_t recipient = make_sender_id(NodeRole::gpu, gpu.id);
  ctl::PeerKeys m;
  for (const auto& [id, g] : gateways_) {
    if (!g.alive) continue;
    ctl::PeerKey* k = m.add_keys();
    uint32_t pair_key_id = 0;
    if (!masters_.pair_key_box(make_sender_id(NodeRole::gateway, id), recipient, pair_key_id, *k->mutable_key_box())) {
      m.mutable_keys()->RemoveLast();
      continue;
    }
    k->set_gateway_id(id);
    k->set_key_id(pair_key_id);
    k->set_egress_address(g.egress.host());
    k->set_egress_port(g.egress.port());
  }
  send(gpu.control, recipient, MessageType::peer_keys, m);
}

}  // namespace aigw::controller
