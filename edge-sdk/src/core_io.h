// The I/O seam of the device core: the core decides what to send and where; an
// implementation of CoreIo puts bytes on the wire (SocketIo) or hands them to a test.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/udp_endpoint.h"

namespace aigw::edge {

class CoreIo {
 public:
  virtual ~CoreIo() = default;
  /// One control datagram (an envelope) from the device's control socket.
  virtual void send_control(const UdpEndpoint& to, const uint8_t* data, size_t len) = 0;
  /// One data fragment from the data socket. Both buffers are valid only during the
  /// call. False when the transport is full: the caller keeps the fragment for later.
  virtual bool send_fragment(const UdpEndpoint& to, const uint8_t* header, size_t header_len,
                             const uint8_t* payload, size_t payload_len) = 0;
  /// End of a burst: push out anything batched.
  virtual void flush() = 0;
};

}  // namespace aigw::edge
