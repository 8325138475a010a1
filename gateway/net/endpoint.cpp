#include "gateway/net/endpoint.h"

#include <arpa/inet.h>

#include <charconv>

namespace aigw {

sockaddr_in Endpoint::to_sockaddr() const {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(ip);
  sa.sin_port = htons(port);
  return sa;
}

Endpoint Endpoint::from_sockaddr(const sockaddr_in& sa) {
  return Endpoint{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
}

bool parse_ipv4(std::string_view text, uint32_t& out) {
  uint32_t ip = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    unsigned v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{} || next == p || v > 255 || next - p > 3) return false;
    ip = (ip << 8) | v;
    p = next;
    if (i < 3) {
      if (p == end || *p != '.') return false;
      ++p;
    }
  }
  if (p != end) return false;
  out = ip;
  return true;
}

bool parse_endpoint(std::string_view text, Endpoint& out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  uint32_t ip = 0;
  if (!parse_ipv4(text.substr(0, colon), ip)) return false;
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [next, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || next != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty())
    return false;
  out = Endpoint{ip, static_cast<uint16_t>(port)};
  return true;
}

std::string ipv4_to_string(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

std::string to_string(const Endpoint& e) { return ipv4_to_string(e.ip) + ":" + std::to_string(e.port); }

}  // namespace aigw
