#include <algorithm>
#include <numeric>

#include "controller/admission/admission_algorithms.h"

namespace aigw::controller {
namespace {

/// One round of maximum matching between ports (left) and pending requests (right),
/// each port taking at most one request. Kuhn's augmenting paths, with a greedy first
/// pass so that the common dense case costs O(ports) per round.
class RoundMatcher {
 public:
  RoundMatcher(std::span<const AdmissionDemand> requests, const std::vector<uint32_t>& pending,
               const CapacityLeft& left, std::vector<bool>& exhausted)
      : requests_(requests), pending_(pending), left_(left), exhausted_(exhausted),
        match_of_pending_(pending.size(), -1), match_of_port_(left.bw.size(), -1),
        stamp_(pending.size(), 0) {}

  /// Returns the number of ports matched; match_of_port() tells which request each got.
  size_t run() {
    size_t matched = 0;
    size_t cursor = 0;
    for (size_t t = 0; t < match_of_port_.size(); ++t) {
      if (exhausted_[t]) continue;
      // Greedy: the first free pending request that fits.
      for (size_t i = cursor; i < pending_.size(); ++i) {
        if (match_of_pending_[i] == -1 && left_.fits(t, requests_[pending_[i]])) {
          match_of_pending_[i] = static_cast<int32_t>(t);
          match_of_port_[t] = static_cast<int32_t>(i);
          ++matched;
          if (i == cursor) ++cursor;
          break;
        }
      }
    }
    for (size_t t = 0; t < match_of_port_.size(); ++t) {
      if (exhausted_[t] || match_of_port_[t] != -1) continue;
      ++round_;
      bool any_fit = false;
      if (augment(t, any_fit)) {
        ++matched;
      } else if (!any_fit) {
        // Capacity only shrinks and pending only loses requests: nothing will fit later.
        exhausted_[t] = true;
      }
    }
    return matched;
  }

  const std::vector<int32_t>& match_of_port() const { return match_of_port_; }

 private:
  bool augment(size_t t, bool& any_fit) {
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (stamp_[i] == round_ || !left_.fits(t, requests_[pending_[i]])) continue;
      any_fit = true;
      stamp_[i] = round_;
      bool ignored = false;
      if (match_of_pending_[i] == -1 || augment(static_cast<size_t>(match_of_pending_[i]), ignored)) {
        match_of_pending_[i] = static_cast<int32_t>(t);
        match_of_port_[t] = static_cast<int32_t>(i);
        return true;
      }
    }
    return false;
  }

  std::span<const AdmissionDemand> requests_;
  const std::vector<uint32_t>& pending_;
  const CapacityLeft& left_;
  std::vector<bool>& exhausted_;
  std::vector<int32_t> match_of_pending_;
  std::vector<int32_t> match_of_port_;
  std::vector<uint32_t> stamp_;
  uint32_t round_ = 0;
};

}  // namespace

void adga_rounds(std::span<const AdmissionDemand> requests, std::vector<uint32_t> pending, CapacityLeft& left,
                 std::vector<int32_t>& out) {
  std::vector<bool> exhausted(left.bw.size(), false);
  std::vector<bool> placed;
  while (!pending.empty()) {
    RoundMatcher m(requests, pending, left, exhausted);
    if (m.run() == 0) break;
    placed.assign(pending.size(), false);
    const auto& match = m.match_of_port();
    for (size_t t = 0; t < match.size(); ++t) {
      if (match[t] == -1) continue;
      const uint32_t r = pending[static_cast<size_t>(match[t])];
      out[r] = static_cast<int32_t>(t);
      left.take(t, requests[r]);
      placed[static_cast<size_t>(match[t])] = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < pending.size(); ++i)
      if (!placed[i]) pending[w++] = pending[i];
    pending.resize(w);
  }
}

void Adga::decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                  std::vector<int32_t>& out) {
  out.assign(requests.size(), kRejected);
  CapacityLeft left(targets);
  std::vector<uint32_t> pending(requests.size());
  std::iota(pending.begin(), pending.end(), 0u);
  adga_rounds(requests, std::move(pending), left, out);
}

}  // namespace aigw::controller
