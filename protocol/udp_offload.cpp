#include "protocol/udp_offload.h"

#include <cstring>

namespace aigw {

bool udp_gso_available(int fd) {
  const int off = 0;
  return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &off, sizeof off) == 0;
}

bool enable_udp_gro(int fd) {
  const int one = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
}

void set_gso_segment(msghdr& h, UdpOffloadControl& control, uint16_t segment) {
  h.msg_control = control.bytes;
  h.msg_controllen = CMSG_SPACE(sizeof segment);
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof segment);
  std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
}

void expect_gro_segment(msghdr& h, UdpOffloadControl& control) {
  h.msg_control = control.bytes;
  h.msg_controllen = sizeof control.bytes;
}

size_t gro_segment_size(const msghdr& h) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

}  // namespace aigw
