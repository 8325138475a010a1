#include "controller/cli/key_commands.h"

#include <sodium.h>

#include "controller/core/config.h"
#include "controller/core/ctl_commands.h"
#include "controller/core/node_id.h"
#include "protocol/node_keys.h"

namespace aigw::controller {

int derive_key(const KeyDeriveRequest& r, nlohmann::json& out, std::string& error) {
  NodeRole role;
  if (!parse_role(r.role, role) || role == NodeRole::controller) {
    error = "role must be gateway, device or gpu, not \"" + r.role + "\"";
    return kExitUsage;
  }
  if (r.node == 0 || r.node > kMaxNodeId) {
    error = "node must be in 1.." + std::to_string(kMaxNodeId);
    return kExitUsage;
  }
  ControllerConfig cfg;
  if (!load_config(r.config_path, cfg, error)) return kExitConfig;
  const uint32_t key_id = r.key_id != 0 ? r.key_id : cfg.controller_key_id;
  for (const KeyConfig& k : cfg.keys) {
    if (k.id != key_id) continue;
    ControlKey master;
    if (!KeyRing::parse_hex(k.hex, master)) {
      error = "key " + std::to_string(k.id) + ": not 64 hex digits";
      return kExitConfig;
    }
    bool allowed = k.roles.empty();
    for (const std::string& name : k.roles) allowed = allowed || name == r.role;
    if (!allowed) {
      error = "key " + std::to_string(k.id) + " may not speak for role " + r.role;
      return kExitDataErr;
    }
    const uint32_t sender = make_sender_id(role, r.node);
    out = {{"key_id", key_id}, {"key", KeyRing::to_hex(derive_node_key(master, sender))}, {"role", r.role},
           {"node", r.node}, {"sender_id", sender}};
    return kExitOk;
  }
  error = "no key with id " + std::to_string(key_id) + " in " + r.config_path;
  return kExitDataErr;
}

std::string generate_master_key() {
  [[maybe_unused]] const int rc = sodium_init();
  ControlKey k;
  randombytes_buf(k.data(), k.size());
  return KeyRing::to_hex(k);
}

}  // namespace aigw::controller
