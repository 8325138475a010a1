#include "protocol/node_keys.h"

#include <sodium.h>

namespace aigw {

namespace {

ControlKey kdf(const ControlKey& from, uint64_t subkey_id, const char (&context)[9]) {
  static_assert(crypto_kdf_CONTEXTBYTES == 8 && crypto_kdf_KEYBYTES == kControlKeySize, "kdf sizes");
  ControlKey out;
  crypto_kdf_derive_from_key(out.data(), out.size(), subkey_id, context, from.data());
  return out;
}

// A separate key for the boxes, so no key both MACs and encrypts.
ControlKey box_key_of(const ControlKey& node_key) { return kdf(node_key, 1, "aigwbox_"); }

}  // namespace

ControlKey derive_node_key(const ControlKey& master, uint32_t sender_id) { return kdf(master, sender_id, "aigwnode"); }

ControlKey derive_pair_key(const ControlKey& gateway_node_key, uint32_t peer_sender_id) {
  return kdf(gateway_node_key, peer_sender_id, "aigwpair");
}

std::string seal_key_box(const ControlKey& recipient_node_key, const ControlKey& key) {
  static_assert(kKeyBoxSize == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + kControlKeySize, "box");
  [[maybe_unused]] const int rc = sodium_init();
  std::string box(kKeyBoxSize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(box.data());
  randombytes_buf(p, crypto_secretbox_NONCEBYTES);
  const ControlKey k = box_key_of(recipient_node_key);
  crypto_secretbox_easy(p + crypto_secretbox_NONCEBYTES, key.data(), key.size(), p, k.data());
  return box;
}

bool open_key_box(const ControlKey& node_key, const std::string& box, ControlKey& out) {
  if (box.size() != kKeyBoxSize) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(box.data());
  const ControlKey k = box_key_of(node_key);
  return crypto_secretbox_open_easy(out.data(), p + crypto_secretbox_NONCEBYTES,
                                    kKeyBoxSize - crypto_secretbox_NONCEBYTES, p, k.data()) == 0;
}

bool NodeKeys::learn_pair_key(uint32_t peer, uint32_t pair_key_id, uint32_t box_key_id, const std::string& box) {
  const ControlKey* mine = own_.find(box_key_id);
  ControlKey key;
  if (mine == nullptr || !has_role(peer, NodeRole::gateway) || !open_key_box(*mine, box, key)) return false;
  const auto id = std::make_pair(peer, generation_of(pair_key_id));
  if (peers_.size() >= kMaxPeerKeys && peers_.find(id) == peers_.end()) peers_.erase(peers_.begin());
  peers_[id] = key;
  return true;
}

bool NodeKeys::pair_key_to(uint32_t peer, uint32_t& key_id, ControlKey& key) const {
  if (has_role(self_, NodeRole::gateway)) {
    const ControlKey* mine = sealing_key();
    if (mine == nullptr) return false;
    key_id = kPairKeyFlag | sealing_id();
    key = derive_pair_key(*mine, peer);
    return true;
  }
  // The newest generation the controller gave for that gateway.
  auto it = peers_.upper_bound({peer, ~0u});
  if (it == peers_.begin() || (--it)->first.first != peer) return false;
  key_id = kPairKeyFlag | it->first.second;
  key = it->second;
  return true;
}

KeyLookup NodeKeys::key_for(uint32_t key_id, uint32_t sender_id, ControlKey& out) const {
  if (!is_pair_key_id(key_id)) {
    if (!has_role(sender_id, NodeRole::controller)) return KeyLookup::key_role;
    const ControlKey* k = own_.find(key_id);
    if (k == nullptr) return KeyLookup::unknown_key;
    out = *k;
    return KeyLookup::found;
  }
  if (has_role(self_, NodeRole::gateway)) {
    if (!has_role(sender_id, NodeRole::gpu)) return KeyLookup::key_role;
    const ControlKey* k = own_.find(generation_of(key_id));
    if (k == nullptr) return KeyLookup::unknown_key;
    out = derive_pair_key(*k, sender_id);
    return KeyLookup::found;
  }
  if (!has_role(sender_id, NodeRole::gateway)) return KeyLookup::key_role;
  auto it = peers_.find({sender_id, generation_of(key_id)});
  if (it == peers_.end()) return KeyLookup::unknown_key;
  out = it->second;
  return KeyLookup::found;
}

}  // namespace aigw
