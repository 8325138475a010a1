// Which streams to move (docs/controller.md §2.3): from gateways whose predicted load is above the
// mean to ones below it, smallest streams first, within each target's acceptable
// capacity, at most a cap per round, and only when the plan lowers the predicted LSD.
// Draining gateways are emptied regardless of the LSD.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace aigw::controller {

struct PlanStream {
  uint32_t stream_id = 0;
  double bandwidth_bps = 0;
  double memory_bytes = 0;
  bool movable = true;  // false while cooling down or already migrating
};

struct PlanGateway {
  uint32_t gateway_id = 0;
  double load = 0;            // predicted load degree F(t+m)
  double bw_left = 0;         // admissible bandwidth left (u*Vmax - B')
  double mem_left = 0;        // admissible memory left
  double vmax_total = 1;      // sum of the ports' line rates
  double mmax = 1;            // memory capacity
  double cpu_per_bps = 0;     // C / B': how CPU load scales with traffic
  bool draining = false;      // move everything off, admit nothing
  std::vector<PlanStream> streams;
};

struct PlanParams {
  uint32_t max_moves = 8;
  double weight_cpu = 1.0 / 3;
  double weight_memory = 1.0 / 3;
  double weight_net = 1.0 / 3;
};

struct Move {
  uint32_t stream_id = 0;
  uint32_t from = 0;  // gateway ids
  uint32_t to = 0;
};

struct Plan {
  std::vector<Move> moves;
  double lsd_before = 0;
  double lsd_after = 0;  // predicted, with the moves applied
};

/// Load a stream adds to (or takes from) gateway g.
double stream_load(const PlanGateway& g, const PlanStream& s, const PlanParams& p);

/// Balancing plan; empty when no move lowers the predicted LSD.
Plan plan_balance(std::span<const PlanGateway> gateways, const PlanParams& p);

/// Moves streams off draining gateways onto the least loaded others that can take them.
Plan plan_drain(std::span<const PlanGateway> gateways, const PlanParams& p);

}  // namespace aigw::controller
