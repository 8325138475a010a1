#include "protocol/udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace aigw {

namespace {

// Sets `error`, closes `fd` and returns -1 with the errno of the call that failed.
int fail(int fd, std::string& error, const std::string& what) {
  const int saved = errno;
  error = fmt::format("{}: {}", what, std::strerror(saved));
  if (fd >= 0) close(fd);
  errno = saved;
  return -1;
}

void set_buffer(int fd, int forced_option, int option, int bytes) {
  // The forced variant ignores net.core.[rw]mem_max (which would cap a 16 MiB request
  // at a few hundred KiB) but needs CAP_NET_ADMIN; without it, take what the cap allows.
  if (setsockopt(fd, SOL_SOCKET, forced_option, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

}  // namespace

int open_udp_socket(const UdpEndpoint& bind_to, const UdpSocketOptions& opts, UdpEndpoint& bound,
                    std::string& error) {
  const int type = SOCK_DGRAM | SOCK_CLOEXEC | (opts.blocking ? 0 : SOCK_NONBLOCK);
  const int fd = socket(bind_to.family(), type, 0);
  if (fd < 0) return fail(-1, error, "socket");
  const int one = 1;
  if (opts.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return fail(fd, error, "setsockopt SO_REUSEPORT");
  if (bind_to.family() == AF_INET6) {
    // Set either way: left alone, net.ipv6.bindv6only would decide.
    const int v6_only = opts.v6_only ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof v6_only) != 0)
      return fail(fd, error, "setsockopt IPV6_V6ONLY");
  }
  if (opts.buffer_bytes > 0) set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, opts.buffer_bytes);
  const int send_bytes = opts.send_buffer_bytes > 0 ? opts.send_buffer_bytes : opts.buffer_bytes;
  if (send_bytes > 0) set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, send_bytes);
  if (bind(fd, bind_to.sa(), bind_to.len) != 0) return fail(fd, error, "bind " + bind_to.to_string());
  UdpEndpoint local;
  local.len = sizeof local.addr;
  if (getsockname(fd, local.sa(), &local.len) != 0) return fail(fd, error, "getsockname");
  bound = local;
  return fd;
}

UdpEndpoint local_endpoint(int fd) {
  UdpEndpoint e;
  e.len = sizeof e.addr;
  if (getsockname(fd, e.sa(), &e.len) != 0) return {};
  return e;
}

std::string local_address_towards(const UdpEndpoint& peer) {
  const int fd = socket(peer.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};  // also a peer that is not valid: AF_UNSPEC has no sockets
  // connect() on a UDP socket sends nothing; it only asks the routing table.
  std::string host;
  if (connect(fd, peer.sa(), peer.len) == 0) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
      host = endpoint_from_sockaddr(reinterpret_cast<sockaddr*>(&local), len).host();
  }
  close(fd);
  return host;
}

}  // namespace aigw
