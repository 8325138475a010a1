// Node identity on the control plane (docs/controller.md §1.2): envelope sender ids
// are (role << 24) | node id, so one replay window per sender never mixes two nodes.
#pragma once

#include <cstdint>
#include <string>

namespace aigw::controller {

enum class NodeRole : uint8_t { gateway = 1, device = 2, gpu = 3, controller = 4 };

inline constexpr uint32_t kMaxNodeId = 0xFFFFFF;

inline uint32_t make_sender_id(NodeRole role, uint32_t node) { return (uint32_t(role) << 24) | (node & kMaxNodeId); }
inline uint32_t node_of(uint32_t sender_id) { return sender_id & kMaxNodeId; }
/// The role of a sender id; false when the top byte names no role or the node is 0.
inline bool role_of(uint32_t sender_id, NodeRole& out) {
  const uint32_t r = sender_id >> 24;
  if (r < 1 || r > 4 || node_of(sender_id) == 0) return false;
  out = static_cast<NodeRole>(r);
  return true;
}
const char* to_string(NodeRole r);
/// "gateway", "device", "gpu", "controller".
bool parse_role(const std::string& s, NodeRole& out);

/// A UDP address as the control messages carry it: textual IP and port.
struct Endpoint {
  std::string address;
  uint16_t port = 0;
  bool valid() const { return !address.empty() && port != 0; }
  bool operator==(const Endpoint&) const = default;
  std::string str() const;
};

/// The address to reach a node at: its declared control address, with the source of
/// its latest datagram filling in what it left unspecified (docs/controller.md §1.1).
Endpoint resolve_control(const std::string& declared_address, uint32_t declared_port, const Endpoint& source);

}  // namespace aigw::controller
