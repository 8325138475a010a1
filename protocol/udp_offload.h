// Linux UDP segmentation offloads, shared by every UDP hop (device, gateway, GPU side):
// GSO sends a run of equal-size datagrams to one destination as one sendmsg cut by the
// kernel (UDP_SEGMENT, Linux 4.18+); GRO hands a run of datagrams of one flow to one
// receive, with their size in a UDP_GRO control message (Linux 5.0+). Both are probed
// on the socket at start so a caller can fall back, and say so, when a kernel lacks them.
#pragma once

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace aigw {

/// The kernel's limits on one GSO send: segments (UDP_MAX_SEGMENTS) and bytes (below
/// the 64 KiB IP datagram).
constexpr size_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65000;
/// Receive buffer that holds any coalesced (GRO) receive.
constexpr size_t kGroMaxReceive = 65535;

/// Whether the kernel takes UDP_SEGMENT on this socket (sets it to 0, i.e. off, to ask).
bool udp_gso_available(int fd);

/// Turns on UDP GRO on a receiving socket. False: the kernel does not have it.
bool enable_udp_gro(int fd);

/// Room for the one control message either offload uses, per message.
struct UdpOffloadControl {
  alignas(cmsghdr) uint8_t bytes[CMSG_SPACE(sizeof(int))];
};

/// Makes `h` a GSO send cut at `segment` bytes; `control` must outlive the send.
void set_gso_segment(msghdr& h, UdpOffloadControl& control, uint16_t segment);

/// Points `h` at `control` so a receive can carry its UDP_GRO size.
void expect_gro_segment(msghdr& h, UdpOffloadControl& control);

/// The segment size of a coalesced receive, from its control messages; 0 when the
/// buffer is one datagram.
size_t gro_segment_size(const msghdr& h);

/// How many datagrams from `first` (of `count` queued) one GSO send may carry: the
/// kernel cuts every segment at the first one's length, so the run is datagrams of
/// that length with the same destination, the last of them possibly shorter, within
/// kGsoMaxSegments and kGsoMaxBytes. `length(i)` and `same_destination(i, j)` describe
/// the queue. Always at least 1.
template <typename Length, typename SameDestination>
size_t gso_run(size_t first, size_t count, Length length, SameDestination same_destination) {
  const size_t segment = length(first);
  size_t n = 1, bytes = segment;
  while (first + n < count && n < kGsoMaxSegments && length(first + n - 1) == segment &&
         length(first + n) <= segment && bytes + length(first + n) <= kGsoMaxBytes &&
         same_destination(first, first + n)) {
    bytes += length(first + n);
    ++n;
  }
  return n;
}

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
