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

UdpEndpoint resolve_control(const std::string& declared_address, uint32_t declared_port, const UdpEndpoint& source) {
  const bool unspecified = declared_address.empty() || declared_address == "0.0.0.0" || declared_address == "::";
  const uint32_t port = declared_port != 0 && declared_port <= 65535 ? declared_port : source.port();
  UdpEndpoint e;
  make_endpoint(unspecified ? source.host() : declared_address, port, e);
  return e;
}

}  // namespace aigw::controller
