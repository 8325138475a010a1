#include <limits>

#include "controller/admission/admission_algorithms.h"

namespace aigw::controller {

void LeastConnections::decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                              std::vector<int32_t>& out) {
  out.assign(requests.size(), kRejected);
  CapacityLeft left(targets);
  std::vector<uint32_t> conns;
  conns.reserve(targets.size());
  for (const auto& t : targets) conns.push_back(t.streams);
  for (size_t r = 0; r < requests.size(); ++r) {
    int32_t best = kRejected;
    uint32_t best_conns = std::numeric_limits<uint32_t>::max();
    for (size_t t = 0; t < targets.size(); ++t) {
      // Strictly fewer: the first port wins ties, as IPVS lc does.
      if (conns[t] < best_conns && left.fits(t, requests[r])) {
        best = static_cast<int32_t>(t);
        best_conns = conns[t];
      }
    }
    if (best == kRejected) continue;
    out[r] = best;
    left.take(static_cast<size_t>(best), requests[r]);
    ++conns[static_cast<size_t>(best)];
  }
}

}  // namespace aigw::controller
