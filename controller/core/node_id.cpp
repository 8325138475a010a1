#include "controller/core/node_id.h"

namespace aigw::controller {

const char* to_string(NodeRole r) {
  switch (r) {
    case NodeRole::gateway: return "gateway";
    case NodeRole::device: return "device";
    case NodeRole::gpu: return "gpu";
    case NodeRole::controller: return "controller";
  }
  return "unknown";
}

bool parse_role(const std::string& s, NodeRole& out) {
  if (s == "gateway") out = NodeRole::gateway;
  else if (s == "device") out = NodeRole::device;
  else if (s == "gpu") out = NodeRole::gpu;
  else if (s == "controller") out = NodeRole::controller;
  else return false;
  return true;
}

std::string Endpoint::str() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

Endpoint resolve_control(const std::string& declared_address, uint32_t declared_port, const Endpoint& source) {
  Endpoint e;
  const bool unspecified = declared_address.empty() || declared_address == "0.0.0.0" || declared_address == "::";
  e.address = unspecified ? source.address : declared_address;
  e.port = declared_port != 0 && declared_port <= 65535 ? static_cast<uint16_t>(declared_port) : source.port;
  return e;
}

}  // namespace aigw::controller
