// Textual "host:port" / "[v6]:port" addresses <-> sockaddr, for the daemon's sockets.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "controller/core/node_id.h"

namespace aigw::controller {

/// Parses "127.0.0.1:7700", "[::1]:7700" or "0.0.0.0:0" (numeric hosts only).
bool parse_host_port(const std::string& text, sockaddr_storage& out, socklen_t& len);
/// An Endpoint (textual IP + port) as a sockaddr; false when the IP is not numeric.
bool to_sockaddr(const Endpoint& e, sockaddr_storage& out, socklen_t& len);
/// The Endpoint of a received datagram's source.
Endpoint from_sockaddr(const sockaddr_storage& sa);

}  // namespace aigw::controller
