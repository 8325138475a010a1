// Numeric UDP endpoints ("127.0.0.1:9000", "[::1]:9000"), the one address type every
// party's sockets use, and the IPv4-only compact form the gateway's data plane keeps.
// No name resolution: configs and control messages name addresses, not hosts, and
// nothing here may block on DNS (it runs inside device applications).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace aigw {

/// An IPv4 or IPv6 UDP endpoint, held as the sockaddr that bind/sendto/connect take.
/// Every builder starts from a zeroed value, so two endpoints of the same address
/// compare (and hash) equal byte for byte.
struct UdpEndpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;  ///< 0: no address

  bool valid() const { return len != 0; }
  int family() const { return addr.ss_family; }
  uint16_t port() const;
  /// The numeric host without port ("127.0.0.1", "::1"); "" when not valid.
  std::string host() const;
  /// "127.0.0.1:9000" or "[::1]:9000"; "" when not valid.
  std::string to_string() const;
  /// 127.0.0.0/8, ::1, or 127.0.0.0/8 v4-mapped.
  bool is_loopback() const;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&addr); }

  bool operator==(const UdpEndpoint& o) const;
  bool operator!=(const UdpEndpoint& o) const { return !(*this == o); }
  size_t hash() const;
};

/// Parses "a.b.c.d:port" or "[v6]:port" (numeric hosts; port 0-65535, digits only).
/// Returns "" or what is wrong; `out` is left alone on error.
std::string parse_endpoint(std::string_view text, UdpEndpoint& out);
/// An endpoint from a numeric host (IPv4 or IPv6, no brackets) and a port. Returns ""
/// or what is wrong; `out` is left alone on error. The port is 32-bit so that a
/// config or message value above 65535 is refused rather than truncated.
std::string make_endpoint(std::string_view host, uint32_t port, UdpEndpoint& out);
/// The wildcard address of `family` (AF_INET6: "::", otherwise "0.0.0.0") with `port`.
UdpEndpoint any_endpoint(int family, uint16_t port);

/// The endpoint of a sockaddr from recvfrom/getpeername. A v4-mapped IPv6 address
/// (::ffff:a.b.c.d, an IPv4 peer heard on a dual-stack socket) becomes plain AF_INET,
/// so a peer has one name whichever socket family heard it; the IPv6 flow label is
/// dropped (not part of who the peer is). Not valid for other families or a short len.
UdpEndpoint endpoint_from_sockaddr(const sockaddr* sa, socklen_t len);
/// `e` as a socket of `socket_family` can send to it: an AF_INET endpoint becomes
/// v4-mapped for an AF_INET6 (dual-stack) socket, a v4-mapped one plain for an AF_INET
/// socket. False when impossible (an IPv6 peer and an AF_INET socket) or `e` not valid.
bool to_socket_family(const UdpEndpoint& e, int socket_family, UdpEndpoint& out);

/// An IPv4 endpoint in host byte order: the gateway data plane's form. It is a 6-byte
/// value kept per stream in the stream table, compared on every packet and written by
/// the DPDK frame builder into IPv4/UDP headers, where a UdpEndpoint would be 128 bytes
/// of sockaddr_storage to copy and compare.
struct Ipv4Endpoint {
  uint32_t ip = 0;    ///< host order
  uint16_t port = 0;  ///< host order

  bool operator==(const Ipv4Endpoint& o) const { return ip == o.ip && port == o.port; }
  bool operator!=(const Ipv4Endpoint& o) const { return !(*this == o); }
  /// The per-packet sendmmsg/recvmmsg form, without going through sockaddr_storage.
  sockaddr_in to_sockaddr() const;
  static Ipv4Endpoint from_sockaddr(const sockaddr_in& sa);
};

UdpEndpoint to_udp(const Ipv4Endpoint& e);
/// False for IPv6 (except v4-mapped) and for an endpoint that is not valid.
bool to_ipv4(const UdpEndpoint& e, Ipv4Endpoint& out);
/// Parses a dotted quad: four 1-3 digit decimal parts 0-255, nothing else (no spaces,
/// signs or short forms). Leading zeros read as decimal ("010" is 10), as the gateway's
/// configs always have; parse_endpoint (inet_pton) refuses them. False on anything else.
bool parse_ipv4(std::string_view text, uint32_t& out);
std::string ipv4_to_string(uint32_t ip);
/// "a.b.c.d:port".
std::string to_string(const Ipv4Endpoint& e);
/// Parses "a.b.c.d:port" (parse_ipv4's host, port 0-65535); false on anything else.
bool parse_ipv4_endpoint(std::string_view text, Ipv4Endpoint& out);

}  // namespace aigw

// Specialised inside namespace std: older compilers (GCC 7) reject `struct std::hash<...>`.
namespace std {
template <>
struct hash<aigw::UdpEndpoint> {
  size_t operator()(const aigw::UdpEndpoint& e) const { return e.hash(); }
};

template <>
struct hash<aigw::Ipv4Endpoint> {
  size_t operator()(const aigw::Ipv4Endpoint& e) const {
    return hash<uint64_t>()((uint64_t{e.ip} << 16) | e.port);
  }
};
}  // namespace std
