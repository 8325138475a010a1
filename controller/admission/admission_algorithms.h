// The admission algorithms behind AdmissionAlgorithm (admission.h). Private to the
// controller library; make_admission() is the way in.
#pragma once

#include <vector>

#include "controller/admission/admission.h"

namespace aigw::controller {

/// Remaining capacity of every target while a window is being decided.
struct CapacityLeft {
  std::vector<double> bw;
  std::vector<double> mem;
  explicit CapacityLeft(std::span<const AdmissionTarget> targets);
  bool fits(size_t t, const AdmissionDemand& d) const { return controller::fits(bw[t], mem[t], d); }
  void take(size_t t, const AdmissionDemand& d) {
    bw[t] -= d.bandwidth_bps;
    mem[t] -= d.memory_bytes;
  }
};

/// IPVS least connections: each request to the fitting port with the fewest streams,
/// the first one on ties.
class LeastConnections final : public AdmissionAlgorithm {
 public:
  std::string_view name() const override { return "lc"; }
  void decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
              std::vector<int32_t>& out) override;
};

/// ADGA: repeated rounds of maximum bipartite matching (augmenting paths) between
/// ports and the still-unassigned requests, one request per port per round, until a
/// round matches nothing.
class Adga final : public AdmissionAlgorithm {
 public:
  std::string_view name() const override { return "adga"; }
  void decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
              std::vector<int32_t>& out) override;
};

/// Runs ADGA rounds over the requests in `pending` (indices into `requests`) with the
/// capacity in `left`, writing `out` for each one it places.
void adga_rounds(std::span<const AdmissionDemand> requests, std::vector<uint32_t> pending, CapacityLeft& left,
                 std::vector<int32_t>& out);

/// Improved ADGA: requests are cut into one group per port, sized by the group policy
/// (by default proportional to what each port can still accept), groups are matched
/// to ports as wholes by augmenting paths, and what no group match placed falls back
/// to ADGA rounds.
class ImprovedAdga final : public AdmissionAlgorithm {
 public:
  ImprovedAdga(GroupPolicy policy, uint32_t k) : policy_(policy), k_(k) {}
  std::string_view name() const override { return "iadga"; }
  void decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
              std::vector<int32_t>& out) override;

 private:
  GroupPolicy policy_;
  uint32_t k_;
};

/// Exact balanced capacitated matching: a min-cost flow with the convex cost
/// sum_t (load_t)^2, solved by marginal-cost greedy per class of equal demand (see
/// docs/controller.md §2.2 for why that is optimal). Admits as many requests of a
/// class as the ports can take.
class BalancedMatching final : public AdmissionAlgorithm {
 public:
  explicit BalancedMatching(LoadIncrement inc) : inc_(inc) {}
  std::string_view name() const override { return "balanced"; }
  void decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
              std::vector<int32_t>& out) override;

 private:
  LoadIncrement inc_;
};

}  // namespace aigw::controller
