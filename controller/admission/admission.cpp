#include "controller/admission/admission.h"

#include <cmath>

#include "controller/admission/admission_algorithms.h"

namespace aigw::controller {

CapacityLeft::CapacityLeft(std::span<const AdmissionTarget> targets) {
  bw.reserve(targets.size());
  mem.reserve(targets.size());
  for (const auto& t : targets) {
    bw.push_back(t.bw_remaining);
    mem.push_back(t.mem_remaining);
  }
}

std::unique_ptr<AdmissionAlgorithm> make_admission(std::string_view name, const AdmissionOptions& o) {
  if (name == "lc") return std::make_unique<LeastConnections>();
  if (name == "adga") return std::make_unique<Adga>();
  if (name == "iadga") return std::make_unique<ImprovedAdga>(o.group_policy, o.group_k);
  if (name == "balanced") return std::make_unique<BalancedMatching>(o.increment);
  return nullptr;
}

bool is_admission_name(std::string_view name) {
  return name == "lc" || name == "adga" || name == "iadga" || name == "balanced";
}

bool parse_group_policy(std::string_view text, GroupPolicy& out) {
  if (text == "capacity") out = GroupPolicy::capacity;
  else if (text == "even") out = GroupPolicy::even;
  else if (text == "fixed") out = GroupPolicy::fixed;
  else return false;
  return true;
}

const char* to_string(GroupPolicy p) {
  switch (p) {
    case GroupPolicy::capacity: return "capacity";
    case GroupPolicy::even: return "even";
    case GroupPolicy::fixed: return "fixed";
  }
  return "capacity";
}

BalanceQuality balance_quality(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                               std::span<const int32_t> assignment, const LoadIncrement& inc) {
  BalanceQuality q;
  if (targets.empty()) return q;
  std::vector<double> load(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) load[t] = targets[t].load;
  for (size_t r = 0; r < requests.size() && r < assignment.size(); ++r) {
    if (assignment[r] == kRejected) continue;
    const auto t = static_cast<size_t>(assignment[r]);
    load[t] += inc.delta(targets[t], requests[r]);
    ++q.admitted;
  }
  double sum = 0, max = 0;
  for (double l : load) {
    sum += l;
    max = std::max(max, l);
  }
  const double mean = sum / double(load.size());
  if (mean <= 0) return q;
  double var = 0;
  for (double l : load) var += (l - mean) * (l - mean);
  var /= double(load.size());
  q.max_over_mean = max / mean;
  q.coefficient_of_variation = std::sqrt(var) / mean;
  return q;
}

}  // namespace aigw::controller
