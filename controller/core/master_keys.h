// The controller's master keys (protocol/node_keys.h): one per generation, each with the
// roles it may derive node keys for. Authenticates every node under the node key derived
// for the envelope's sender id, and remembers which generation each node speaks, so
// what is sent to it is sealed in that generation (keys rotate node by node).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "protocol/node_keys.h"

namespace aigw::controller {

class MasterKeys final : public KeySource {
 public:
  static constexpr size_t kMaxRememberedNodes = 1 << 20;

  /// `role_mask`: bit (1 << role) per role the master may speak for; 0xFF: every role.
  void add(uint32_t key_id, const ControlKey& master, uint8_t role_mask) { masters_[key_id] = {master, role_mask}; }
  void set_default_generation(uint32_t key_id) { default_ = key_id; }

  KeyLookup key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const override;

  /// The node key of `sender_id` in generation `key_id`; false when no such master.
  bool node_key(uint32_t key_id, uint32_t sender_id, ControlKey& out) const;
  /// A node authenticated under generation `key_id`: answer it in that one.
  void heard(uint32_t sender_id, uint32_t key_id);
  /// The generation to seal what goes to `sender_id` in.
  uint32_t generation_for(uint32_t sender_id) const;

  /// A gateway's pair key for `peer`, boxed to the peer's node key; false without keys.
  bool pair_key_box(uint32_t gateway_sender, uint32_t peer_sender, uint32_t& pair_key_id, std::string& box) const;

 private:
  struct Master {
    ControlKey key;
    uint8_t role_mask = 0;
  };
  std::map<uint32_t, Master> masters_;
  std::unordered_map<uint32_t, uint32_t> generation_;  // sender id -> key id it speaks
  uint32_t default_ = 1;
};

}  // namespace aigw::controller
