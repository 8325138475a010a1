// Table 3 of the paper: the response time of each admission algorithm when N requests
// arrive at once. Times the controller's own algorithms (controller/admission/admission.h) on
// the reference cluster's ports with the reference streams' demand.
#pragma once

#include <string>
#include <vector>

#include "sim/report/run_report.h"
#include "sim/scenario/scenario.h"

namespace aigw::sim {

struct AdmissionTimingRow {
  uint32_t requests = 0;
  std::vector<LatencyStats> per_algorithm;  ///< decision time of the whole window, ms
  std::vector<double> admitted;             ///< fraction admitted, same order
  std::vector<double> max_over_mean;        ///< balance of the resulting loads
};

/// For each N in `requests`, runs every algorithm `repeat` times on the scenario's
/// gateways (scaled capacities) with N requests of its first stream group's demand.
std::vector<AdmissionTimingRow> time_admission(const Scenario& scaled, const std::vector<uint32_t>& requests,
                                               const std::vector<std::string>& algorithms, uint32_t repeat);

}  // namespace aigw::sim
