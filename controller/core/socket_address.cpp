#include "controller/core/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace aigw::controller {

bool to_sockaddr(const Endpoint& e, sockaddr_storage& out, socklen_t& len) {
  std::memset(&out, 0, sizeof(out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, e.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(e.port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, e.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(e.port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool parse_host_port(const std::string& text, sockaddr_storage& out, socklen_t& len) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint16_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size()) return false;
  return to_sockaddr(Endpoint{host, p}, out, len);
}

Endpoint from_sockaddr(const sockaddr_storage& sa) {
  Endpoint e;
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    e.port = ntohs(v4->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    // A v4-mapped source (IPv6 socket, IPv4 peer) is named by its IPv4 address, the
    // form the peers use in their messages.
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, sizeof(buf));
    else inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    e.port = ntohs(v6->sin6_port);
  }
  e.address = buf;
  return e;
}

}  // namespace aigw::controller
