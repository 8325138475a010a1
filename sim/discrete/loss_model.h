// The discrete-event mode's packet-loss model of one gateway port: what fraction of the
// fragments offered in a period misses its first transmission, as a function of the
// port's utilisation. Three independent causes: a base rate (the access link), overload
// loss that sets in at a knee utilisation and grows to `overload_loss` at capacity (the
// paper's gateways lose packets well before their line is full: socket buffers and the
// data-plane core overflow under the paced bursts of many streams), and the M/M/1/K
// queue of the line itself.
#pragma once

#include <cstdint>

namespace aigw::sim {

struct PortLossParams {
  double base_loss = 0;         ///< at any load
  double overload_knee = 0.5;   ///< utilisation where overload loss starts
  double overload_loss = 0.05;  ///< overload loss at utilisation 1 (quadratic from the knee)
  uint32_t queue_packets = 256; ///< K of the M/M/1/K queue
};

/// Drop probability of an M/M/1/K queue at utilisation `rho` with room for `k` packets.
double mm1k_loss(double rho, uint32_t k);

/// Overload loss at utilisation `rho`: 0 up to the knee, then
/// `overload_loss × ((rho − knee) / (1 − knee))²`; beyond capacity at least the excess
/// `1 − 1/rho`. Capped at 1.
double overload_loss(const PortLossParams& p, double rho);

/// Probability that a fragment misses its first transmission at utilisation `rho`.
double port_loss(const PortLossParams& p, double rho);

}  // namespace aigw::sim
