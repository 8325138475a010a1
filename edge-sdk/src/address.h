// UDP endpoint addresses: parsing "host:port" / "[v6]:port" (numeric hosts only, so
// nothing blocks on DNS inside the SDK) and formatting them back.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace aigw::edge {

/// An IPv4 or IPv6 UDP endpoint.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  bool valid() const { return len != 0; }
  int family() const { return addr.ss_family; }
  uint16_t port() const;
  /// The numeric host, without port ("127.0.0.1", "::1").
  std::string host() const;
  /// "host:port" or "[host]:port".
  std::string to_string() const;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&addr); }
  /// Byte-wise: both were built zeroed, so padding compares equal.
  bool operator==(const Endpoint& o) const { return len == o.len && std::memcmp(&addr, &o.addr, len) == 0; }
};

/// Parses "a.b.c.d:port", "[v6]:port". False on anything else.
bool parse_endpoint(const char* text, Endpoint& out);
/// An endpoint from a numeric host (v4 or v6, no brackets) and a port.
bool make_endpoint(const std::string& host, uint32_t port, Endpoint& out);
/// The wildcard address of `family` with `port`.
Endpoint any_endpoint(int family, uint16_t port);

}  // namespace aigw::edge
