// Demand committed to each gateway port by the stream-access table: the admitted
// bandwidth and memory of the streams homed there, plus those migrating in. Kept up
// to date as streams are added, moved and removed, so an admission window or a
// migration plan reads it in O(ports) instead of scanning every stream.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "controller/core/tables.h"

namespace aigw::controller {

struct Committed {
  double bw = 0;
  double mem = 0;
  uint32_t streams = 0;   // streams homed on the port
  uint32_t incoming = 0;  // streams migrating to it
};

class CommittedDemand {
 public:
  /// The stream now lives on (gateway_id, port_index), or no longer does.
  void add_home(const StreamState& s) { change(s.gateway_id, s.port_index, s, +1, true); }
  void remove_home(const StreamState& s) { change(s.gateway_id, s.port_index, s, -1, true); }
  /// The stream's migration target (target_gateway, target_port) was set or cleared.
  void add_target(const StreamState& s) { change(s.target_gateway, s.target_port, s, +1, false); }
  void remove_target(const StreamState& s) { change(s.target_gateway, s.target_port, s, -1, false); }

  /// What is committed to one port (zero when nothing is).
  const Committed& port(uint32_t gateway_id, uint32_t port_index) const {
    static const Committed kNone;
    auto it = ports_.find(key(gateway_id, port_index));
    return it == ports_.end() ? kNone : it->second;
  }
  /// Streams homed on any port of the gateway.
  uint32_t streams_on(uint32_t gateway_id) const {
    auto it = per_gateway_.find(gateway_id);
    return it == per_gateway_.end() ? 0 : it->second;
  }

 private:
  static uint64_t key(uint32_t gateway_id, uint32_t port_index) { return (uint64_t(gateway_id) << 32) | port_index; }

  void change(uint32_t gateway_id, uint32_t port_index, const StreamState& s, int sign, bool home) {
    if (gateway_id == 0) return;
    Committed& c = ports_[key(gateway_id, port_index)];
    c.bw += sign * s.bandwidth_bps;
    c.mem += sign * s.memory_bytes;
    (home ? c.streams : c.incoming) += uint32_t(sign);
    if (home) per_gateway_[gateway_id] += uint32_t(sign);
    // Sums of doubles do not return exactly to zero: an empty port is reset so no
    // rounding residue accumulates over millions of changes.
    if (c.streams == 0 && c.incoming == 0) ports_.erase(key(gateway_id, port_index));
    if (home && per_gateway_[gateway_id] == 0) per_gateway_.erase(gateway_id);
  }

  std::unordered_map<uint64_t, Committed> ports_;
  std::unordered_map<uint32_t, uint32_t> per_gateway_;
};

}  // namespace aigw::controller
