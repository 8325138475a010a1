// Non-blocking IPv4 UDP sockets for the socket backend and the bypass agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/endpoint.h"

namespace aigw {

struct UdpSocketOptions {
  int buffer_bytes = 0;    ///< SO_RCVBUF/SO_SNDBUF (forced when privileged); 0 keeps defaults
  bool reuse_port = false; ///< SO_REUSEPORT, so several processes can share a data port
};

/// Opens, configures and binds a socket. Returns the fd (and the bound address in
/// `bound`, with port 0 resolved) or -1 with `error` set.
int open_udp_socket(const Endpoint& bind, const UdpSocketOptions& opts, Endpoint& bound,
                    std::string& error);

/// Turns on UDP GRO (Linux 5.0+): the kernel may hand several datagrams of one flow as
/// one buffer, with their size in a UDP_GRO control message. False: not available.
bool enable_udp_gro(int fd);

/// The segment size of a coalesced receive, from its control messages; 0 when the
/// buffer is one datagram.
size_t gro_segment_size(const struct msghdr& h);

/// Calls fn(data, len) for each datagram of a receive of `len` bytes that the kernel
/// coalesced at `segment` bytes (the last may be shorter); the whole buffer once when
/// `segment` is 0 or not smaller than it. Returns the number of datagrams.
template <typename Fn>
size_t for_each_gro_segment(const uint8_t* data, size_t len, size_t segment, Fn&& fn) {
  if (segment == 0 || segment >= len) {
    fn(data, len);
    return 1;
  }
  size_t n = 0;
  for (size_t off = 0; off < len; off += segment, ++n) fn(data + off, len - off < segment ? len - off : segment);
  return n;
}

}  // namespace aigw
