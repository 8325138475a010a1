// Node identity on the control plane: the sender-id rule lives in
// protocol/node_identity.h; here its names and the control endpoints.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/node_identity.h"

namespace aigw::controller {

using aigw::NodeRole;
using aigw::kMaxNodeId;
using aigw::make_sender_id;
using aigw::node_of;
using aigw::role_of;

const char* to_string(NodeRole r);
/// "gateway", "device", "gpu", "controller".
bool parse_role(const std::string& s, NodeRole& out);

/// A UDP address as the control messages carry it: textual IP and port.
struct Endpoint {
  std::string address;
  uint16_t port = 0;
  bool valid() const { return !address.empty() && port != 0; }
  bool operator==(const Endpoint&) const = default;
  std::string str() const;
};

/// The address to reach a node at: its declared control address, with the source of
/// its latest datagram filling in what it left unspecified (docs/controller.md §1.1).
Endpoint resolve_control(const std::string& declared_address, uint32_t declared_port, const Endpoint& source);

}  // namespace aigw::controller
