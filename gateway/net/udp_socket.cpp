#include "gateway/net/udp_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aigw {

namespace {
void set_buffer(int fd, int opt_force, int opt, int bytes) {
  // The forced variant ignores rmem_max/wmem_max but needs CAP_NET_ADMIN.
  if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}
}  // namespace

int open_udp_socket(const Endpoint& bind_to, const UdpSocketOptions& opts, Endpoint& bound,
                    std::string& error) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  if (opts.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (opts.buffer_bytes > 0) {
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, opts.buffer_bytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, opts.buffer_bytes);
  }
  sockaddr_in sa = bind_to.to_sockaddr();
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    error = "bind " + to_string(bind_to) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  bound = Endpoint::from_sockaddr(sa);
  return fd;
}

}  // namespace aigw
