// aigw_derive_node_key: the C face of protocol/node_keys.h's derivation.
#include <cstring>

#include "aigw/edge_crypto.h"
#include "protocol/node_keys.h"

extern "C" int aigw_derive_node_key(const uint8_t master[32], const char* role, uint32_t node, uint8_t out[32]) {
  if (master == nullptr || role == nullptr || out == nullptr || node == 0 || node > aigw::kMaxNodeId)
    return AIGW_ERR_INVALID_ARG;
  aigw::NodeRole r;
  if (std::strcmp(role, "gateway") == 0) r = aigw::NodeRole::gateway;
  else if (std::strcmp(role, "device") == 0) r = aigw::NodeRole::device;
  else if (std::strcmp(role, "gpu") == 0) r = aigw::NodeRole::gpu;
  else return AIGW_ERR_INVALID_ARG;
  aigw::ControlKey m;
  std::memcpy(m.data(), master, m.size());
  const aigw::ControlKey k = aigw::derive_node_key(m, aigw::make_sender_id(r, node));
  std::memcpy(out, k.data(), k.size());
  return AIGW_OK;
}
