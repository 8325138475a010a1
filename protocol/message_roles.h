// Which role may send each control message: one table for every receiver. The role
// comes from the authenticated sender id (its key is bound to it), never from the body.
#pragma once

#include "protocol/envelope.h"
#include "protocol/node_identity.h"

namespace aigw {

inline bool may_send(NodeRole role, MessageType type) {
  switch (type) {
    case MessageType::load_sync:
    case MessageType::stream_sync:
    case MessageType::gateway_register: return role == NodeRole::gateway;
    case MessageType::admission_request: return role == NodeRole::device;
    case MessageType::stream_close: return role == NodeRole::device || role == NodeRole::controller;
    case MessageType::admission_reply:
    case MessageType::steer_command:
    case MessageType::migrate_command:
    case MessageType::stream_assign:
    case MessageType::peer_keys: return role == NodeRole::controller;
    case MessageType::retransmit_request: return role == NodeRole::gateway || role == NodeRole::gpu;
    case MessageType::heartbeat: return true;
    case MessageType::gpu_register:
    case MessageType::gpu_load_sync:
    case MessageType::unit_ack: return role == NodeRole::gpu;
    case MessageType::migrate_ack: return role == NodeRole::device || role == NodeRole::gateway;
  }
  return false;
}

/// The sender id's role may send `type`.
inline bool sender_may_send(uint32_t sender_id, MessageType type) {
  NodeRole role;
  return role_of(sender_id, role) && may_send(role, type);
}

}  // namespace aigw
