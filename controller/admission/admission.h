// Admission of new streams onto gateway data ports (docs/controller.md §2.2): the bipartite problem
// "ports × requests, an edge when the demand fits the port's remaining capacity",
// solved by interchangeable algorithms behind one interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace aigw::controller {

/// One gateway data port as admission sees it at the start of a decision window.
struct AdmissionTarget {
  uint32_t gateway_id = 0;
  uint32_t port_index = 0;       // into the gateway's port list
  double bw_remaining = 0;       // bit/s still admissible (u*Vmax - committed)
  double mem_remaining = 0;      // bytes still admissible
  double bw_capacity = 1;        // Vmax of the port's gateway, for the load increment
  double mem_capacity = 1;       // Mmax of the port's gateway
  double load = 0;               // current load degree L of the gateway
  uint32_t streams = 0;          // streams currently on the port
};

/// What one request needs.
struct AdmissionDemand {
  double bandwidth_bps = 0;
  double memory_bytes = 0;
};

/// How a stream's demand raises the load degree of a target (docs/controller.md §2.1 weights).
struct LoadIncrement {
  double net_weight = 1.0 / 3;
  double memory_weight = 1.0 / 3;
  double delta(const AdmissionTarget& t, const AdmissionDemand& d) const {
    return net_weight * d.bandwidth_bps / t.bw_capacity + memory_weight * d.memory_bytes / t.mem_capacity;
  }
};

inline constexpr int32_t kRejected = -1;

/// Decides one window of requests. `out[r]` is the index into `targets` that request
/// r goes to, or kRejected. Implementations never exceed any target's remaining
/// bandwidth or memory and are deterministic for the same input.
class AdmissionAlgorithm {
 public:
  virtual ~AdmissionAlgorithm() = default;
  virtual std::string_view name() const = 0;
  virtual void decide(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                      std::vector<int32_t>& out) = 0;
};

/// How improved ADGA sizes its groups.
enum class GroupPolicy : uint8_t {
  capacity,  // quotas proportional to each port's acceptable count (the default)
  even,      // K = ceil(m / n) for every port
  fixed,     // K = a configured constant
};

struct AdmissionOptions {
  LoadIncrement increment;
  GroupPolicy group_policy = GroupPolicy::capacity;
  uint32_t group_k = 0;  // for GroupPolicy::fixed
};

/// Names accepted by make_admission: "lc", "adga", "iadga", "balanced".
std::unique_ptr<AdmissionAlgorithm> make_admission(std::string_view name, const AdmissionOptions& options);
bool is_admission_name(std::string_view name);
bool parse_group_policy(std::string_view text, GroupPolicy& out);
const char* to_string(GroupPolicy p);

/// Balance of the loads after a decision: per target, load + sum of increments.
struct BalanceQuality {
  double max_over_mean = 0;
  double coefficient_of_variation = 0;
  size_t admitted = 0;
};
BalanceQuality balance_quality(std::span<const AdmissionTarget> targets, std::span<const AdmissionDemand> requests,
                               std::span<const int32_t> assignment, const LoadIncrement& inc);

/// True when the demand fits what is left of the target.
inline bool fits(double bw_left, double mem_left, const AdmissionDemand& d) {
  return d.bandwidth_bps <= bw_left && d.memory_bytes <= mem_left;
}

}  // namespace aigw::controller
