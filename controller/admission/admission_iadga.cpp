#include <algorithm>
#include <cmath>
#include <numeric>

#include "controller/admission/admission_algorithms.h"

namespace aigw::controller {
namespace {

/// How many requests of mean demand `d` port t can still accept (docs/controller.md §2.2, n_j).
double acceptable(const CapacityLeft& left, size_t t, const AdmissionDemand& d) {
  const double by_bw = d.bandwidth_bps > 0 ? std::floor(left.bw[t] / d.bandwidth_bps) : 1e18;
  const double by_mem = d.memory_bytes > 0 ? std::floor(left.mem[t] / d.memory_bytes) : 1e18;
  return std::max(0.0, std::min(by_bw, by_mem));
}

/// Group sizes per port: K_t, summing to at most m.
std::vector<size_t> group_sizes(GroupPolicy policy, uint32_t fixed_k, const CapacityLeft& left,
                                std::span<const AdmissionDemand> requests) {
  const size_t n = left.bw.size();
  const size_t m = requests.size();
  std::vector<size_t> k(n, 0);
  AdmissionDemand mean;
  for (const auto& r : requests) {
    mean.bandwidth_bps += r.bandwidth_bps;
    mean.memory_bytes += r.memory_bytes;
  }
  mean.bandwidth_bps /= double(m);
  mean.memory_bytes /= double(m);
  std::vector<double> accept(n);
  double total = 0;
  for (size_t t = 0; t < n; ++t) {
    accept[t] = acceptable(left, t, mean);
    total += accept[t];
  }
  if (total <= 0) return k;
  if (policy == GroupPolicy::capacity) {
    // Largest remainder of m split in proportion to the acceptable counts.
    const double want = std::min(double(m), total);
    std::vector<std::pair<double, size_t>> rest;
    size_t given = 0;
    for (size_t t = 0; t < n; ++t) {
      const double share = want * accept[t] / total;
      k[t] = static_cast<size_t>(std::floor(share));
      given += k[t];
      rest.emplace_back(share - std::floor(share), t);
    }
    std::stable_sort(rest.begin(), rest.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t i = 0; given < static_cast<size_t>(want) && i < rest.size(); ++i) {
      if (double(k[rest[i].second]) < accept[rest[i].second]) {
        ++k[rest[i].second];
        ++given;
      }
    }
    return k;
  }
  const size_t live = static_cast<size_t>(std::count_if(accept.begin(), accept.end(), [](double a) { return a > 0; }));
  const size_t even = (m + live - 1) / live;
  const size_t base = policy == GroupPolicy::fixed && fixed_k > 0 ? fixed_k : even;
  size_t given = 0;
  for (size_t t = 0; t < n && given < m; ++t) {
    k[t] = std::min({base, static_cast<size_t>(accept[t]), m - given});
    given += k[t];
  }
  return k;
}

/// Kuhn's augmenting paths over groups (left) and ports (right); a group's own port
/// is tried first so that a feasible proportional split is kept as it is.
class GroupMatcher {
 public:
  GroupMatcher(const std::vector<AdmissionDemand>& group_demand, const CapacityLeft& left)
      : demand_(group_demand), left_(left), port_of_group_(group_demand.size(), -1),
        group_of_port_(left.bw.size(), -1), stamp_(left.bw.size(), 0) {}

  void run() {
    for (size_t g = 0; g < demand_.size(); ++g) {
      if (demand_[g].bandwidth_bps <= 0 && demand_[g].memory_bytes <= 0) continue;  // empty group
      ++round_;
      augment(g);
    }
  }
  const std::vector<int32_t>& port_of_group() const { return port_of_group_; }

 private:
  bool try_port(size_t g, size_t t) {
    if (stamp_[t] == round_ || !left_.fits(t, demand_[g])) return false;
    stamp_[t] = round_;
    if (group_of_port_[t] == -1 || augment(static_cast<size_t>(group_of_port_[t]))) {
      group_of_port_[t] = static_cast<int32_t>(g);
      port_of_group_[g] = static_cast<int32_t>(t);
      return true;
    }
    return false;
  }
  bool augment(size_t g) {
    if (g < left_.bw.size() && try_port(g, g)) return true;
    for (size_t t = 0; t < left_.bw.size(); ++t)
      if (t != g && try_port(g, t)) return true;
    return false;
  }

  const std::vector<AdmissionDemand>& demand_;
  const CapacityLeft& left_;
  std::vector<int32_t> port_of_group_;
  std::vector<int32_t> group_of_port_;
  std::vector<uint32_t> stamp_;
  uint32_t round_ = 0;
};

}  // namespace

void ImprovedAdga::decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                          std::vector<int32_t>& out) {
  out.assign(requests.size(), kRejected);
  if (requests.empty() || targets.empty()) return;
  CapacityLeft left(targets);
  const std::vector<size_t> k = group_sizes(policy_, k_, left, requests);

  // Group g = the next k[g] requests in arrival order.
  std::vector<size_t> begin(k.size() + 1, 0);
  std::vector<AdmissionDemand> group_demand(k.size());
  for (size_t g = 0; g < k.size(); ++g) {
    begin[g + 1] = begin[g] + k[g];
    for (size_t r = begin[g]; r < begin[g + 1]; ++r) {
      group_demand[g].bandwidth_bps += requests[r].bandwidth_bps;
      group_demand[g].memory_bytes += requests[r].memory_bytes;
    }
  }
  GroupMatcher matcher(group_demand, left);
  matcher.run();

  std::vector<uint32_t> leftover;
  for (size_t g = 0; g < k.size(); ++g) {
    const int32_t t = matcher.port_of_group()[g];
    for (size_t r = begin[g]; r < begin[g + 1]; ++r) {
      if (t == -1) {
        leftover.push_back(static_cast<uint32_t>(r));
        continue;
      }
      out[r] = t;
      left.take(static_cast<size_t>(t), requests[r]);
    }
  }
  for (size_t r = begin.back(); r < requests.size(); ++r) leftover.push_back(static_cast<uint32_t>(r));
  adga_rounds(requests, std::move(leftover), left, out);
}

}  // namespace aigw::controller
