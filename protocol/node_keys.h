// Role-bound keys (docs/security.md "Keys"). The controller holds master keys, one per
// generation (key id). Every node holds only its node key, derived from a master for its
// sender id, so a key speaks for exactly one node of one role:
//
//   node key  K_n      = KDF(master, sender id of n)                 "aigwnode"
//   pair key  K_(g,p)  = KDF(K_g, sender id of p), g a gateway       "aigwpair"
//
// The controller MACs what it sends to n with K_n: only it (holding the master) and n
// can produce those, so no node can speak for the controller to another. A gateway
// derives the pair key of any peer itself; the peer (a device, a GPU server) receives
// it from the controller in a key box, encrypted to its node key. Node-to-node envelopes
// (NACKs, acks) carry key id kPairKeyFlag | generation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "protocol/envelope.h"
#include "protocol/node_identity.h"

namespace aigw {

inline constexpr uint32_t kPairKeyFlag = 0x80000000u;
inline bool is_pair_key_id(uint32_t key_id) { return (key_id & kPairKeyFlag) != 0; }
inline uint32_t generation_of(uint32_t key_id) { return key_id & ~kPairKeyFlag; }

ControlKey derive_node_key(const ControlKey& master, uint32_t sender_id);
ControlKey derive_pair_key(const ControlKey& gateway_node_key, uint32_t peer_sender_id);

/// nonce (24) | XSalsa20-Poly1305 box of a 32-byte key (48).
inline constexpr size_t kKeyBoxSize = 24 + 16 + 32;
/// `key` encrypted to the holder of `recipient_node_key` (random nonce).
std::string seal_key_box(const ControlKey& recipient_node_key, const ControlKey& key);
/// False when the box is malformed or not for this node key.
bool open_key_box(const ControlKey& node_key, const std::string& box, ControlKey& out);

/// The keys of one node (gateway, device or GPU server): its own node keys by
/// generation, and the pair keys the controller gave it. Answers:
///  - key id without the pair flag: only the controller speaks, under this node's key;
///  - a gateway, pair key id: a GPU server, under the pair key it derives for it;
///  - a device or GPU server, pair key id: a gateway whose pair key it was given.
class NodeKeys final : public KeySource {
 public:
  static constexpr size_t kMaxPeerKeys = 4096;

  explicit NodeKeys(uint32_t self_sender_id) : self_(self_sender_id) {}

  uint32_t self() const { return self_; }
  /// This node's key of generation `key_id`; the newest one seals what it sends.
  void add_own(uint32_t key_id, const ControlKey& key) { own_.add(key_id, key); }
  const KeyRing& own() const { return own_; }
  uint32_t sealing_id() const { return own_.newest_id(); }
  const ControlKey* sealing_key() const { return own_.find(own_.newest_id()); }

  /// Opens a key box the controller sealed under this node's key `box_key_id` and keeps
  /// the pair key for `peer` (a gateway) of pair generation `pair_key_id`.
  bool learn_pair_key(uint32_t peer, uint32_t pair_key_id, uint32_t box_key_id, const std::string& box);
  /// The key this node seals envelopes to `peer` with, and its key id; false if none.
  bool pair_key_to(uint32_t peer, uint32_t& key_id, ControlKey& key) const;

  KeyLookup key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const override;

 private:
  uint32_t self_;
  KeyRing own_;
  std::map<std::pair<uint32_t, uint32_t>, ControlKey> peers_;  // (gateway, generation)
};

}  // namespace aigw
