// Non-blocking IPv4 UDP sockets for the socket backend and the bypass agent; the
// segmentation offloads they use are in protocol/udp_offload.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/net/endpoint.h"
#include "protocol/udp_offload.h"  // GSO/GRO helpers the socket users need

namespace aigw {

struct UdpSocketOptions {
  int buffer_bytes = 0;    ///< SO_RCVBUF/SO_SNDBUF (forced when privileged); 0 keeps defaults
  bool reuse_port = false; ///< SO_REUSEPORT, so several processes can share a data port
};

/// Opens, configures and binds a socket. Returns the fd (and the bound address in
/// `bound`, with port 0 resolved) or -1 with `error` set.
int open_udp_socket(const Endpoint& bind, const UdpSocketOptions& opts, Endpoint& bound,
                    std::string& error);

}  // namespace aigw
