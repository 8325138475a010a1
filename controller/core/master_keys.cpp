#include "controller/core/master_keys.h"

namespace aigw::controller {

KeyLookup MasterKeys::key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const {
  auto it = masters_.find(key_id);
  if (it == masters_.end()) return KeyLookup::unknown_key;
  NodeRole role;
  if (!role_of(sender_id, role) || role == NodeRole::controller ||
      (it->second.role_mask & (1u << uint32_t(role))) == 0)
    return KeyLookup::key_role;
  out = derive_node_key(it->second.key, sender_id);
  return KeyLookup::found;
}

bool MasterKeys::node_key(uint32_t key_id, uint32_t sender_id, ControlKey& out) const {
  auto it = masters_.find(key_id);
  if (it == masters_.end()) return false;
  out = derive_node_key(it->second.key, sender_id);
  return true;
}

void MasterKeys::heard(uint32_t sender_id, uint32_t key_id) {
  auto it = generation_.find(sender_id);
  if (it != generation_.end()) it->second = key_id;
  else if (generation_.size() < kMaxRememberedNodes) generation_.emplace(sender_id, key_id);
}

uint32_t MasterKeys::generation_for(uint32_t sender_id) const {
  auto it = generation_.find(sender_id);
  // A generation that was removed since: fall back to the default one.
  if (it != generation_.end() && masters_.count(it->second) != 0) return it->second;
  return default_;
}

bool MasterKeys::pair_key_box(uint32_t gateway_sender, uint32_t peer_sender, uint32_t& pair_key_id,
                              std::string& box) const {
  const uint32_t gateway_gen = generation_for(gateway_sender);
  const uint32_t peer_gen = generation_for(peer_sender);
  ControlKey gateway_key, peer_key;
  if (!node_key(gateway_gen, gateway_sender, gateway_key) || !node_key(peer_gen, peer_sender, peer_key)) return false;
  pair_key_id = gateway_gen;
  box = seal_key_box(peer_key, derive_pair_key(gateway_key, peer_sender));
  return true;
}

}  // namespace aigw::controller
