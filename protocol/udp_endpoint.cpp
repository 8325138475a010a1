#include "protocol/udp_endpoint.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace aigw {

namespace {

const sockaddr_in& as_v4(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr_in&>(s); }
const sockaddr_in6& as_v6(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr_in6&>(s); }
sockaddr_in& as_v4(sockaddr_storage& s) { return reinterpret_cast<sockaddr_in&>(s); }
sockaddr_in6& as_v6(sockaddr_storage& s) { return reinterpret_cast<sockaddr_in6&>(s); }

// in_addr_t (network order) and port (host order) as an AF_INET endpoint.
UdpEndpoint v4_endpoint(in_addr_t network_order_ip, uint16_t port) {
  UdpEndpoint e;
  sockaddr_in& v4 = as_v4(e.addr);
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = network_order_ip;
  v4.sin_port = htons(port);
  e.len = sizeof(sockaddr_in);
  return e;
}

// The IPv4 address inside ::ffff:a.b.c.d, in network order.
in_addr_t mapped_v4(const in6_addr& a) {
  in_addr_t ip;
  std::memcpy(&ip, &a.s6_addr[12], sizeof ip);
  return ip;
}

// Digits only, at least one, value 0-65535 (leading zeros allowed). Numbers here are
// parsed by hand: GCC 7, which device builds use, has no <charconv>.
bool parse_port(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return false;  // also keeps the running value from overflowing
  }
  out = value;
  return true;
}

std::string not_numeric(std::string_view host) {
  return fmt::format("'{}' is not a numeric IPv4 or IPv6 address", host);
}

}  // namespace

uint16_t UdpEndpoint::port() const {
  if (family() == AF_INET) return ntohs(as_v4(addr).sin_port);
  if (family() == AF_INET6) return ntohs(as_v6(addr).sin6_port);
  return 0;
}

std::string UdpEndpoint::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) inet_ntop(AF_INET, &as_v4(addr).sin_addr, buf, sizeof buf);
  else if (family() == AF_INET6) inet_ntop(AF_INET6, &as_v6(addr).sin6_addr, buf, sizeof buf);
  return buf;
}

std::string UdpEndpoint::to_string() const {
  if (family() == AF_INET) return fmt::format("{}:{}", host(), port());
  if (family() == AF_INET6) return fmt::format("[{}]:{}", host(), port());
  return {};
}

bool UdpEndpoint::is_loopback() const {
  if (family() == AF_INET) return (ntohl(as_v4(addr).sin_addr.s_addr) >> 24) == 127;
  if (family() == AF_INET6) {
    const in6_addr& a = as_v6(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return (ntohl(mapped_v4(a)) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

bool UdpEndpoint::operator==(const UdpEndpoint& o) const {
  return len == o.len && std::memcmp(&addr, &o.addr, len) == 0;
}

size_t UdpEndpoint::hash() const {
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(&addr), len));
}

std::string make_endpoint(std::string_view host, uint32_t port, UdpEndpoint& out) {
  if (port > 65535) return fmt::format("port {} is above 65535", port);
  // inet_pton needs a terminated string (so an embedded NUL would cut the host short);
  // anything longer than the longest numeric IPv6 address is not one.
  char text[INET6_ADDRSTRLEN + 1] = {};
  if (host.size() >= sizeof text || host.find('\0') != std::string_view::npos) return not_numeric(host);
  std::memcpy(text, host.data(), host.size());
  UdpEndpoint e;
  sockaddr_in& v4 = as_v4(e.addr);
  sockaddr_in6& v6 = as_v6(e.addr);
  if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in6);
  } else {
    return not_numeric(host);
  }
  out = e;
  return {};
}

std::string parse_endpoint(std::string_view text, UdpEndpoint& out) {
  std::string_view host;
  std::string_view port;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fmt::format("'{}': expected [address]:port", text);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fmt::format("'{}': expected address:port", text);
    if (text.find(':') != colon)
      return fmt::format("'{}': an IPv6 address needs brackets, as in [::1]:port", text);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty()) return fmt::format("'{}': missing port after ':'", text);
  uint32_t port_value = 0;
  if (!parse_port(port, port_value)) return fmt::format("'{}': port must be a number 0-65535", text);
  UdpEndpoint e;
  const std::string error = make_endpoint(host, port_value, e);
  if (!error.empty()) return fmt::format("'{}': {}", text, error);
  // Brackets say IPv6; "[10.0.0.1]:80" is more likely a mistake than a wish.
  if (bracketed && e.family() != AF_INET6) return fmt::format("'{}': brackets are for IPv6 addresses", text);
  out = e;
  return {};
}

UdpEndpoint any_endpoint(int family, uint16_t port) {
  if (family != AF_INET6) return v4_endpoint(htonl(INADDR_ANY), port);
  UdpEndpoint e;
  sockaddr_in6& v6 = as_v6(e.addr);
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_any;
  v6.sin6_port = htons(port);
  e.len = sizeof(sockaddr_in6);
  return e;
}

UdpEndpoint endpoint_from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return {};
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in v4;
    std::memcpy(&v4, sa, sizeof v4);
    return v4_endpoint(v4.sin_addr.s_addr, ntohs(v4.sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in;
    std::memcpy(&in, sa, sizeof in);
    if (IN6_IS_ADDR_V4MAPPED(&in.sin6_addr)) return v4_endpoint(mapped_v4(in.sin6_addr), ntohs(in.sin6_port));
    UdpEndpoint e;
    sockaddr_in6& v6 = as_v6(e.addr);
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in.sin6_addr;
    v6.sin6_port = in.sin6_port;
    v6.sin6_scope_id = in.sin6_scope_id;  // a link-local peer is only reachable through its interface
    e.len = sizeof(sockaddr_in6);
    return e;
  }
  return {};
}

bool to_socket_family(const UdpEndpoint& e, int socket_family, UdpEndpoint& out) {
  if (!e.valid()) return false;
  if (e.family() == socket_family) {
    // A v4-mapped endpoint on an AF_INET6 socket is already what the socket sends to.
    out = e;
    return true;
  }
  if (e.family() == AF_INET && socket_family == AF_INET6) {
    UdpEndpoint m;
    sockaddr_in6& v6 = as_v6(m.addr);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = as_v4(e.addr).sin_port;
    v6.sin6_addr.s6_addr[10] = 0xff;
    v6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&v6.sin6_addr.s6_addr[12], &as_v4(e.addr).sin_addr, 4);
    m.len = sizeof(sockaddr_in6);
    out = m;
    return true;
  }
  if (e.family() == AF_INET6 && socket_family == AF_INET) {
    const sockaddr_in6& v6 = as_v6(e.addr);
    if (!IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return false;
    out = v4_endpoint(mapped_v4(v6.sin6_addr), ntohs(v6.sin6_port));
    return true;
  }
  return false;
}

sockaddr_in Ipv4Endpoint::to_sockaddr() const {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(ip);
  sa.sin_port = htons(port);
  return sa;
}

Ipv4Endpoint Ipv4Endpoint::from_sockaddr(const sockaddr_in& sa) {
  return Ipv4Endpoint{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
}

UdpEndpoint to_udp(const Ipv4Endpoint& e) { return v4_endpoint(htonl(e.ip), e.port); }

bool to_ipv4(const UdpEndpoint& e, Ipv4Endpoint& out) {
  UdpEndpoint v4;
  if (!to_socket_family(e, AF_INET, v4)) return false;
  out = Ipv4Endpoint::from_sockaddr(as_v4(v4.addr));
  return true;
}

bool parse_ipv4(std::string_view text, uint32_t& out) {
  uint32_t ip = 0;
  size_t at = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (at == text.size() || text[at] != '.') return false;
      ++at;
    }
    const size_t first = at;
    uint32_t value = 0;
    // Four digits are already too many; stopping there keeps `value` small.
    while (at < text.size() && at - first < 4 && text[at] >= '0' && text[at] <= '9')
      value = value * 10 + static_cast<uint32_t>(text[at++] - '0');
    if (at == first || at - first > 3 || value > 255) return false;
    ip = (ip << 8) | value;
  }
  if (at != text.size()) return false;
  out = ip;
  return true;
}

std::string ipv4_to_string(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

std::string to_string(const Ipv4Endpoint& e) { return fmt::format("{}:{}", ipv4_to_string(e.ip), e.port); }

bool parse_ipv4_endpoint(std::string_view text, Ipv4Endpoint& out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  uint32_t ip = 0;
  uint32_t port = 0;
  if (!parse_ipv4(text.substr(0, colon), ip) || !parse_port(text.substr(colon + 1), port)) return false;
  out = Ipv4Endpoint{ip, static_cast<uint16_t>(port)};
  return true;
}

}  // namespace aigw
