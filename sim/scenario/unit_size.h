// Draws the size of each unit of a stream from its group's phase in effect at that
// period, times the stream's own persistent factor. Seeded per stream so a run is
// reproducible and independent of how streams are spread over threads.
#pragma once

#include <cstdint>
#include <random>

#include "sim/scenario/scenario.h"

namespace aigw::sim {

class UnitSizeSampler {
 public:
  /// `stream_seed` should differ per stream (e.g. scenario seed mixed with its index).
  UnitSizeSampler(const StreamGroup& group, uint64_t stream_seed);

  /// Content bytes of the unit sent in `period` (>= 1).
  uint32_t next(uint32_t period);
  double stream_factor() const { return factor_; }

 private:
  const UnitSizePhase& phase_at(uint32_t period) const;

  const StreamGroup& group_;
  std::mt19937_64 rng_;
  double factor_ = 1;
};

/// Mixes a scenario seed and an index into a well-spread per-stream seed (splitmix64).
uint64_t mix_seed(uint64_t seed, uint64_t index);

}  // namespace aigw::sim
