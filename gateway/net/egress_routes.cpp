#include "gateway/net/egress_routes.h"

#include <algorithm>

namespace aigw {

namespace {
uint32_t mask_of(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
}  // namespace

EgressRoutes::EgressRoutes(const GatewayConfig& config) : default_port_(config.dpdk_egress_port) {
  // Explicit routes first, so that after the stable sort they win over a port's subnet
  // of the same length.
  for (const RouteConfig& r : config.routes) {
    const uint32_t m = mask_of(r.prefix_len);
    entries_.push_back({r.prefix & m, m, r.prefix_len, r.port_index, r.via});
  }
  for (size_t i = 0; i < config.ports.size(); ++i) {
    const PortConfig& p = config.ports[i];
    if (p.prefix_len < 0) continue;
    const uint32_t m = mask_of(p.prefix_len);
    entries_.push_back({p.ip & m, m, p.prefix_len, i, 0});
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.len > b.len; });
}

EgressRoutes::Hop EgressRoutes::lookup(uint32_t dst) const {
  for (const Entry& e : entries_)
    if ((dst & e.mask) == e.prefix) return Hop{e.port, e.via != 0 ? e.via : dst};
  return Hop{default_port_, dst};
}

}  // namespace aigw
