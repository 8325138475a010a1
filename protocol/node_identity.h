// Who speaks on the control plane (docs/security.md "Keys and roles"): an envelope's
// sender id is (role << 24) | node id, so one replay window never mixes two nodes and
// a node key, derived from the sender id, binds the role as well as the node.
#pragma once

#include <cstdint>

namespace aigw {

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
inline bool has_role(uint32_t sender_id, NodeRole role) {
  NodeRole r;
  return role_of(sender_id, r) && r == role;
}

}  // namespace aigw
