#include <algorithm>
#include <numeric>
#include <queue>

#include "controller/admission/admission_algorithms.h"

namespace aigw::controller {

// Within one class of equal demand the requests are interchangeable, so the flow
// problem reduces to choosing counts x_t <= n_t with sum x_t maximal and
// sum_t (L_t + x_t*delta_t)^2 minimal. Each term is convex in x_t, so taking the
// cheapest marginal increment (L_t + delta_t)^2 - L_t^2 one request at a time is
// optimal (separable convex resource allocation). Classes are taken largest first.
void BalancedMatching::decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                              std::vector<int32_t>& out) {
  out.assign(requests.size(), kRejected);
  if (requests.empty() || targets.empty()) return;
  CapacityLeft left(targets);
  std::vector<double> load(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) load[t] = targets[t].load;

  std::vector<uint32_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0u);
  auto bigger = [&](uint32_t a, uint32_t b) {
    if (requests[a].bandwidth_bps != requests[b].bandwidth_bps)
      return requests[a].bandwidth_bps > requests[b].bandwidth_bps;
    return requests[a].memory_bytes > requests[b].memory_bytes;
  };
  std::stable_sort(order.begin(), order.end(), bigger);

  using Entry = std::pair<double, uint32_t>;  // marginal cost, port
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    const AdmissionDemand d = requests[order[i]];
    while (j < order.size() && !bigger(order[i], order[j])) ++j;  // [i, j): one class
    std::vector<double> delta(targets.size());
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    for (size_t t = 0; t < targets.size(); ++t) {
      delta[t] = inc_.delta(targets[t], d);
      if (left.fits(t, d)) heap.emplace(delta[t] * (2 * load[t] + delta[t]), static_cast<uint32_t>(t));
    }
    for (size_t r = i; r < j && !heap.empty(); ++r) {
      const uint32_t t = heap.top().second;
      heap.pop();
      out[order[r]] = static_cast<int32_t>(t);
      left.take(t, d);
      load[t] += delta[t];
      if (left.fits(t, d)) heap.emplace(delta[t] * (2 * load[t] + delta[t]), t);
    }
    i = j;
  }
}

}  // namespace aigw::controller
