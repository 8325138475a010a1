#include "edge-sdk/src/address.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

namespace aigw::edge {

uint16_t Endpoint::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

std::string Endpoint::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string Endpoint::to_string() const {
  if (family() == AF_INET6) return "[" + host() + "]:" + std::to_string(port());
  return host() + ":" + std::to_string(port());
}

bool Endpoint::operator==(const Endpoint& o) const {
  if (family() != o.family() || port() != o.port()) return false;
  if (family() == AF_INET)
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(&o.addr)->sin_addr, 4) == 0;
  if (family() == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&o.addr)->sin6_addr, 16) == 0;
  return false;
}

bool make_endpoint(const std::string& host, uint32_t port, Endpoint& out) {
  if (port > 65535) return false;
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  out = e;
  return true;
}

bool parse_endpoint(const char* text, Endpoint& out) {
  if (text == nullptr) return false;
  const std::string s(text);
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;  // bare v6 needs []
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  return make_endpoint(host, static_cast<uint32_t>(std::strtoul(port.c_str(), nullptr, 10)), out);
}

Endpoint any_endpoint(int family, uint16_t port) {
  Endpoint e;
  make_endpoint(family == AF_INET6 ? "::" : "0.0.0.0", port, e);
  return e;
}

}  // namespace aigw::edge
