#include "sim/report/run_report.h"

#include "sim/scenario/scenario.h"

#include <algorithm>
#include <cmath>

namespace aigw::sim {

namespace {
double ratio(uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0; }
}  // namespace

double GatewaySummary::dpr() const { return ratio(fragments_missing, fragments_expected); }

double RunReport::dpr() const { return ratio(fragments_missing, fragments_expected); }

double RunReport::delivery_ratio() const {
  return ratio(units_delivered, units_delivered + units_lost + units_corrupt);
}

double RunReport::mean_lsd() const {
  if (cluster_series.empty()) return 0;
  double s = 0;
  for (const auto& c : cluster_series) s += c.lsd;
  return s / static_cast<double>(cluster_series.size());
}

LatencyStats latency_stats(std::string algorithm, std::vector<double>& samples) {
  LatencyStats st;
  st.algorithm = std::move(algorithm);
  st.count = samples.size();
  if (samples.empty()) return st;
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double v : samples) sum += v;
  st.mean_ms = sum / static_cast<double>(samples.size());
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto pct = [&](double p) {
    const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
  };
  st.p50_ms = pct(0.50);
  st.p95_ms = pct(0.95);
  st.p99_ms = pct(0.99);
  st.max_ms = samples.back();
  return st;
}

nlohmann::json to_json(const RunReport& r) {
  nlohmann::json gws = nlohmann::json::array();
  for (const auto& g : r.gateways)
    gws.push_back({{"id", g.id},
                   {"mean_load", g.mean_load},
                   {"max_load", g.max_load},
                   {"dpr", g.dpr()},
                   {"fragments_expected", g.fragments_expected},
                   {"fragments_missing", g.fragments_missing},
                   {"units_delivered", g.units_delivered},
                   {"units_lost", g.units_lost},
                   {"streams_final", g.streams_final},
                   {"streams_peak", g.streams_peak},
                   {"failed", g.failed}});
  nlohmann::json adm = nlohmann::json::array();
  for (const auto& a : r.admission_latency)
    adm.push_back({{"algorithm", a.algorithm},
                   {"count", a.count},
                   {"mean_ms", a.mean_ms},
                   {"p50_ms", a.p50_ms},
                   {"p95_ms", a.p95_ms},
                   {"p99_ms", a.p99_ms},
                   {"max_ms", a.max_ms}});
  double max_lsd = 0;
  for (const auto& c : r.cluster_series) max_lsd = std::max(max_lsd, c.lsd);
  return {{"scenario", r.scenario},
          {"mode", r.mode},
          {"scale", r.scale},
          {"period_ms", r.period_ms},
          {"duration_periods", r.duration_periods},
          {"seed", r.seed},
          {"admission", r.admission},
          {"migration", r.migration},
          {"wall_seconds", r.wall_seconds},
          {"streams", {{"requested", r.streams_requested},
                       {"admitted", r.streams_admitted},
                       {"rejected", r.streams_rejected}}},
          {"units", {{"sent", r.units_sent},
                     {"delivered", r.units_delivered},
                     {"recovered", r.units_recovered},
                     {"lost", r.units_lost},
                     {"corrupt", r.units_corrupt},
                     {"in_flight", r.units_in_flight},
                     {"lost_by_reason", r.lost_by_reason},
                     {"delivery_ratio", r.delivery_ratio()}}},
          {"fragments", {{"expected", r.fragments_expected},
                         {"missing", r.fragments_missing},
                         {"retransmitted", r.fragments_retransmitted}}},
          {"dpr", r.dpr()},
          {"lsd", {{"mean", r.mean_lsd()}, {"max", max_lsd}}},
          {"migrations", r.migrations},
          {"gateway_failures", r.gateway_failures},
          {"gateways", gws},
          {"admission_latency", adm},
          {"extra", r.extra}};
}

void describe_run(const Scenario& s, const std::string& mode, RunReport& report) {
  report.scenario = s.name;
  report.mode = mode;
  report.scale = s.scale;
  report.period_ms = s.period_ms;
  report.duration_periods = s.duration_periods;
  report.seed = s.seed;
  report.admission = s.controller.admission_algorithm;
  report.migration = s.controller.migration_enabled;
}

}  // namespace aigw::sim
