// Opening UDP sockets, the same way for every party (device SDK, gateway, controller,
// simulator): one place that knows the buffer, port-sharing and dual-stack options.
// The segmentation offloads the data sockets use are in protocol/udp_offload.h.
#pragma once

#include <string>

#include "protocol/udp_endpoint.h"

namespace aigw {

struct UdpSocketOptions {
  /// SO_RCVBUF and SO_SNDBUF; 0 keeps the kernel defaults. Forced (SO_*BUFFORCE, past
  /// net.core.[rw]mem_max) when privileged, otherwise best effort under those caps.
  int buffer_bytes = 0;
  /// SO_SNDBUF instead of buffer_bytes when > 0 (a sender wants a deep send queue,
  /// not necessarily a deep receive one).
  int send_buffer_bytes = 0;
  /// SO_REUSEPORT, so several processes (or workers) can share a data port.
  bool reuse_port = false;
  /// IPV6_V6ONLY for AF_INET6 binds; false keeps the socket dual-stack (it also hears
  /// IPv4 peers, as v4-mapped addresses) whatever net.ipv6.bindv6only says.
  bool v6_only = false;
  /// Blocking socket; the default is non-blocking, which every event loop here wants.
  bool blocking = false;
};

/// Opens a close-on-exec UDP socket of bind_to's family, applies `opts` and binds it.
/// Returns the fd, with the bound address in `bound` (port 0 resolved). On failure
/// returns -1 with `error` set ("socket: ...", "bind 127.0.0.1:9: Address already in
/// use"), nothing left open, and errno as the failing call left it.
int open_udp_socket(const UdpEndpoint& bind_to, const UdpSocketOptions& opts, UdpEndpoint& bound,
                    std::string& error);
/// The address a socket is bound to, in the socket's own family (an AF_INET6 socket
/// bound to ::ffff:127.0.0.1 stays AF_INET6); not valid when getsockname fails.
UdpEndpoint local_endpoint(int fd);
/// The local numeric host the routing table would send from to reach `peer` (what to
/// tell a peer to answer to when bound to a wildcard); v4-mapped answers are given in
/// IPv4 form. "" when there is no route or `peer` is not valid. Sends nothing.
std::string local_address_towards(const UdpEndpoint& peer);

}  // namespace aigw
