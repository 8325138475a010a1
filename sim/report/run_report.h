// What one simulator run produced, in the form every report file is written from:
// per-gateway and cluster time series, per-gateway totals, delivery accounting and
// admission response times. Both the live mode and the discrete-event mode fill it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aigw::sim {

/// One gateway at the end of one period.
struct GatewaySample {
  double t_s = 0;
  uint32_t gateway_id = 0;
  bool alive = true;
  double load = 0;       ///< L_i = wc*C + wm*M + wn*N
  double predicted = 0;  ///< the controller's forecast of L_i for the next period
  double cpu = 0;
  double memory = 0;
  double net = 0;
  uint32_t streams = 0;
  uint64_t fragments_expected = 0;  ///< cumulative
  uint64_t fragments_missing = 0;   ///< cumulative: not there at first transmission
};

/// The cluster at the end of one period.
struct ClusterSample {
  double t_s = 0;
  double lsd = 0;  ///< population std-dev of the (forecast) load over live gateways
  uint32_t streams_active = 0;
  uint64_t migrations = 0;  ///< cumulative
  uint64_t units_delivered = 0;
  uint64_t units_lost = 0;
};

struct GatewaySummary {
  uint32_t id = 0;
  double mean_load = 0;
  double max_load = 0;
  uint64_t fragments_expected = 0;
  uint64_t fragments_missing = 0;
  uint64_t units_delivered = 0;
  uint64_t units_lost = 0;
  uint32_t streams_final = 0;  ///< at the last sample (streams close as the run ends)
  uint32_t streams_peak = 0;   ///< most streams in any sample
  bool failed = false;

  /// Packet-loss rate DPR: fragments missing at first transmission / fragments expected.
  double dpr() const;
};

/// Admission response time distribution of one algorithm.
struct LatencyStats {
  std::string algorithm;
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

/// Mean and nearest-rank percentiles of `samples_ms` (reordered in place).
LatencyStats latency_stats(std::string algorithm, std::vector<double>& samples_ms);

struct RunReport {
  std::string scenario;
  std::string mode;  ///< "live" (real processes) or "discrete" (event simulation)
  double scale = 1;  ///< applied to unit size and port capacity together
  uint32_t period_ms = 1000;
  uint32_t duration_periods = 0;
  uint64_t seed = 0;
  std::string admission;
  bool migration = false;
  double wall_seconds = 0;

  uint64_t streams_requested = 0;
  uint64_t streams_admitted = 0;
  uint64_t streams_rejected = 0;
  uint64_t units_sent = 0;
  uint64_t units_delivered = 0;   ///< verified end to end
  uint64_t units_recovered = 0;   ///< delivered after at least one retransmission
  uint64_t units_lost = 0;
  uint64_t units_corrupt = 0;     ///< arrived whole but failed the end-to-end digest
  uint64_t units_in_flight = 0;   ///< sent in the last moments, neither delivered nor lost
  std::map<std::string, uint64_t> lost_by_reason;
  uint64_t fragments_expected = 0;
  uint64_t fragments_missing = 0;
  uint64_t fragments_retransmitted = 0;
  uint64_t migrations = 0;
  uint64_t gateway_failures = 0;

  std::vector<GatewaySummary> gateways;
  std::vector<GatewaySample> gateway_series;
  std::vector<ClusterSample> cluster_series;
  std::vector<LatencyStats> admission_latency;
  nlohmann::json extra = nlohmann::json::object();  ///< mode-specific details

  /// Cluster-wide packet-loss rate (see GatewaySummary::dpr).
  double dpr() const;
  /// Units delivered / units whose fate is known.
  double delivery_ratio() const;
  /// Mean over time of the LSD series.
  double mean_lsd() const;
};

nlohmann::json to_json(const RunReport& r);

struct Scenario;
/// Fills what describes the run (scenario name, mode, scale, period, duration, seed,
/// admission algorithm, migration) from the scenario, as both modes report it.
void describe_run(const Scenario& s, const std::string& mode, RunReport& report);

}  // namespace aigw::sim
