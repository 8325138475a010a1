// An IPv4 UDP endpoint in host byte order, the address type used throughout the
// gateway (devices, GPU servers, the controller and the node's own ports).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace aigw {

struct Endpoint {
  uint32_t ip = 0;    ///< host order
  uint16_t port = 0;  ///< host order

  bool operator==(const Endpoint&) const = default;
  sockaddr_in to_sockaddr() const;
  static Endpoint from_sockaddr(const sockaddr_in& sa);
};

/// Parses a dotted-quad IPv4 address; false on anything else.
bool parse_ipv4(std::string_view text, uint32_t& out);
/// Parses "a.b.c.d:port"; false on anything else (port 0 allowed).
bool parse_endpoint(std::string_view text, Endpoint& out);
std::string ipv4_to_string(uint32_t ip);
std::string to_string(const Endpoint& e);

}  // namespace aigw
