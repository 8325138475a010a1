// Which DPDK port a forwarded unit leaves by, and to which next hop: the longest match
// among the ports' own subnets (`[[port]] prefix_len`, on-link) and the static
// `[[route]]`s; otherwise `dpdk.egress_port`, on-link. Built once from the config and
// only read afterwards, so every lcore may share one instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gateway/node/config.h"

namespace aigw {

class EgressRoutes {
 public:
  struct Hop {
    size_t port = 0;         ///< index into GatewayConfig::ports
    uint32_t next_hop = 0;   ///< whose MAC the frame is addressed to (host order)
  };

  explicit EgressRoutes(const GatewayConfig& config);

  /// The hop for GPU server `dst` (host order).
  Hop lookup(uint32_t dst) const;

 private:
  struct Entry {
    uint32_t prefix;
    uint32_t mask;
    int len;
    size_t port;
    uint32_t via;  ///< 0: on-link
  };
  std::vector<Entry> entries_;  ///< longest prefix first
  size_t default_port_;
};

}  // namespace aigw
