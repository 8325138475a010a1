// `aigwctl key ...`: provisioning, run on the controller's host (local, no socket).
//   key generate                     a new random master key (64 hex digits)
//   key derive --role R --node N     the node key of one node, from the master in the
//                                    controller's configuration (its [[keys]] entry)
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace aigw::controller {

struct KeyDeriveRequest {
  std::string config_path;  ///< the controller's TOML file (holds the masters)
  uint32_t key_id = 0;      ///< 0: the configuration's controller_key_id
  std::string role;         ///< gateway | device | gpu
  uint32_t node = 0;
};

/// Fills `out` with {key_id, key, role, node, sender_id}; an exit code (ctl_commands.h)
/// and `error` on failure.
int derive_key(const KeyDeriveRequest& r, nlohmann::json& out, std::string& error);
/// A new master key as 64 hex digits.
std::string generate_master_key();

}  // namespace aigw::controller
