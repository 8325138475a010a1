#include "sim/discrete/admission_timing.h"

#include <chrono>

#include "controller/admission/admission.h"
#include "sim/scenario/unit_size.h"

namespace aigw::sim {

std::vector<AdmissionTimingRow> time_admission(const Scenario& s, const std::vector<uint32_t>& requests,
                                               const std::vector<std::string>& algorithms, uint32_t repeat) {
  using namespace aigw::controller;
  const double u = s.controller.load.utilization_cap;
  std::vector<AdmissionTarget> targets;
  for (const auto& g : s.gateways)
    for (uint32_t p = 0; p < g.ports; ++p) {
      AdmissionTarget t;
      t.gateway_id = g.id;
      t.port_index = p;
      t.bw_capacity = g.port_capacity_bps * g.ports;
      t.mem_capacity = g.memory_bytes;
      t.bw_remaining = u * g.port_capacity_bps;
      t.mem_remaining = u * g.memory_bytes / g.ports;
      targets.push_back(t);
    }
  AdmissionOptions opt;
  opt.increment.net_weight = s.controller.load.weight_net;
  opt.increment.memory_weight = s.controller.load.weight_memory;
  const StreamGroup& grp = s.streams.front();
  const double period_s = (grp.period_ms ? grp.period_ms : s.period_ms) / 1000.0;
  std::vector<AdmissionTimingRow> rows;
  for (uint32_t n : requests) {
    // Demands vary per stream as the scenario's per-stream spread says.
    std::vector<AdmissionDemand> demand;
    for (uint32_t i = 0; i < n; ++i) {
      UnitSizeSampler sz(grp, mix_seed(s.seed, i));
      const double bytes = grp.unit_size.front().mean_bytes * sz.stream_factor();
      demand.push_back({bytes * 8 / period_s, bytes * s.controller.admission_memory_units});
    }
    AdmissionTimingRow row;
    row.requests = n;
    for (const auto& name : algorithms) {
      auto algo = make_admission(name, opt);
      std::vector<double> ms;
      std::vector<int32_t> out;
      for (uint32_t r = 0; r < repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        algo->decide(targets, demand, out);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      const BalanceQuality q = balance_quality(targets, demand, out, opt.increment);
      row.per_algorithm.push_back(latency_stats(name, ms));
      row.admitted.push_back(double(q.admitted) / n);
      row.max_over_mean.push_back(q.max_over_mean);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace aigw::sim
