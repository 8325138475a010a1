// Numeric UDP endpoints ("127.0.0.1:9000", "[::1]:9000") and non-blocking UDP sockets,
// for the simulator's tools. No name resolution: configs name addresses, not hosts.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace aigw::sim {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  bool valid() const { return len != 0; }
  uint16_t port() const;
  /// "127.0.0.1:9000" or "[::1]:9000".
  std::string to_string() const;
  /// The address alone, e.g. "127.0.0.1".
  std::string host() const;
  bool is_loopback() const;
  bool operator==(const Endpoint& o) const;
};

/// Parses "a.b.c.d:port" or "[v6]:port". Returns "" or what is wrong.
std::string parse_endpoint(std::string_view text, Endpoint& out);
/// Endpoint from an address string ("127.0.0.1", "::1") and a port.
std::string make_endpoint(std::string_view host, uint16_t port, Endpoint& out);

/// Opens a non-blocking UDP socket bound to `local` (port 0: any free port), with the
/// given kernel buffer sizes (0: leave the default). With `reuse_port` the socket may
/// share its port with other SO_REUSEPORT sockets of the same user (see RelayConfig).
/// Returns the fd, or -1 with `error`.
int open_udp_socket(const Endpoint& local, int buffer_bytes, std::string& error, bool reuse_port = false);
/// The address a socket is bound to (resolves port 0).
Endpoint local_endpoint(int fd);

}  // namespace aigw::sim
