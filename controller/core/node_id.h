// Node identity on the control plane: the sender-id rule lives in
// protocol/node_identity.h; here its names and where a node's control address is.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/node_identity.h"
#include "protocol/udp_endpoint.h"

namespace aigw::controller {

using aigw::NodeRole;
using aigw::kMaxNodeId;
using aigw::make_sender_id;
using aigw::node_of;
using aigw::role_of;

const char* to_string(NodeRole r);
/// "gateway", "device", "gpu", "controller".
bool parse_role(const std::string& s, NodeRole& out);

/// The address to reach a node at: its declared control address, with the source of
/// its latest datagram filling in what it left unspecified (docs/controller.md §1.1).
/// Not valid when the declared address is not numeric: such a node cannot be reached.
UdpEndpoint resolve_control(const std::string& declared_address, uint32_t declared_port, const UdpEndpoint& source);

}  // namespace aigw::controller
