// Reads the Prometheus text exposition format that the gateways (and the controller)
// serve, so the simulator can sum counters across ports and reasons.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::sim {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// Parses every sample line; comments and malformed lines are skipped (counted in
/// `skipped` when given).
std::vector<PromSample> parse_prom_text(std::string_view text, size_t* skipped = nullptr);

/// Sum of the samples called `name` whose labels include all of `match`.
double prom_sum(const std::vector<PromSample>& samples, std::string_view name,
                const std::map<std::string, std::string>& match = {});

}  // namespace aigw::sim
