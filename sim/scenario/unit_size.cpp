#include "sim/scenario/unit_size.h"

#include <algorithm>
#include <cmath>

namespace aigw::sim {

uint64_t mix_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {
double unit01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
}  // namespace

UnitSizeSampler::UnitSizeSampler(const StreamGroup& group, uint64_t stream_seed)
    : group_(group), rng_(stream_seed) {
  if (group.per_stream_spread > 0) factor_ = 1 + group.per_stream_spread * (2 * unit01(rng_) - 1);
}

const UnitSizePhase& UnitSizeSampler::phase_at(uint32_t period) const {
  // Phases are sorted; the last one that has started applies.
  const UnitSizePhase* p = &group_.unit_size.front();
  for (const auto& ph : group_.unit_size)
    if (ph.from_period <= period) p = &ph;
  return *p;
}

uint32_t UnitSizeSampler::next(uint32_t period) {
  const UnitSizePhase& ph = phase_at(period);
  double v = ph.mean_bytes;
  switch (ph.dist) {
    case SizeDist::constant: break;
    case SizeDist::uniform: v = ph.min_bytes + (ph.max_bytes - ph.min_bytes) * unit01(rng_); break;
    case SizeDist::normal: {
      // Box–Muller from our own uniforms: identical on every standard library.
      const double u1 = std::max(unit01(rng_), 1e-300), u2 = unit01(rng_);
      v = ph.mean_bytes + ph.stddev_bytes * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
      break;
    }
  }
  v = std::clamp(v * factor_, std::max(1.0, ph.min_bytes), ph.max_bytes);
  return static_cast<uint32_t>(std::llround(v));
}

}  // namespace aigw::sim
