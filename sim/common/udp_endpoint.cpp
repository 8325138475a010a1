#include "sim/common/udp_endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace aigw::sim {

uint16_t Endpoint::port() const {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return 0;
}

std::string Endpoint::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const {
  if (addr.ss_family == AF_INET6) return fmt::format("[{}]:{}", host(), port());
  return fmt::format("{}:{}", host(), port());
}

bool Endpoint::is_loopback() const {
  if (addr.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr) >> 24) == 127;
  if (addr.ss_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr);
  return false;
}

bool Endpoint::operator==(const Endpoint& o) const {
  return len == o.len && std::memcmp(&addr, &o.addr, len) == 0;
}

std::string make_endpoint(std::string_view host, uint16_t port, Endpoint& out) {
  out = Endpoint{};
  const std::string h(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return {};
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return {};
  }
  return fmt::format("'{}' is not a numeric IPv4 or IPv6 address", h);
}

std::string parse_endpoint(std::string_view text, Endpoint& out) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fmt::format("'{}': expected [address]:port", text);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return fmt::format("'{}': expected address:port (IPv6 in brackets)", text);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || ptr != port.data() + port.size() || p > 65535)
    return fmt::format("'{}': port must be 0-65535", text);
  return make_endpoint(host, static_cast<uint16_t>(p), out);
}

int open_udp_socket(const Endpoint& local, int buffer_bytes, std::string& error, bool reuse_port) {
  const int fd = socket(local.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = fmt::format("socket: {}", std::strerror(errno));
    return -1;
  }
  const int one = 1;
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (buffer_bytes > 0) {
    // The forced variants ignore net.core.[rw]mem_max (which would cap a 16 MiB request
    // at a few hundred KiB) but need CAP_NET_ADMIN; otherwise best effort.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local.addr), local.len) != 0) {
    error = fmt::format("bind {}: {}", local.to_string(), std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

Endpoint local_endpoint(int fd) {
  Endpoint e;
  e.len = sizeof e.addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&e.addr), &e.len) != 0) e.len = 0;
  return e;
}

}  // namespace aigw::sim
