#include "controller/balancing/load_model.h"

namespace aigw::controller {

double population_stddev(const Eigen::VectorXd& v) {
  if (v.size() < 2) return 0;
  const double mean = v.mean();
  return std::sqrt((v.array() - mean).square().mean());
}

void LoadModel::set_params(const LoadParams& p) {
  params_ = p;
  for (auto& [id, g] : gateways_) g.forecast.set_alpha(p.forecast_alpha);
}

void LoadModel::observe(uint32_t id, const LoadSample& s) {
  GatewayLoad& g = gateways_[id];
  const auto n = s.bandwidth_bps.size();
  const bool restart = g.samples == 0 || g.bandwidth.size() != n;
  if (restart) {
    g.bandwidth = s.bandwidth_bps;
    g.memory = s.memory_bytes;
    g.cpu = s.cpu_busy;
    g.forecast = BrownForecast(params_.forecast_alpha);
  } else {
    const double d = params_.bandwidth_smoothing, dm = params_.memory_smoothing, dc = params_.cpu_smoothing;
    g.bandwidth = d * s.bandwidth_bps + (1 - d) * g.bandwidth;
    g.memory = dm * s.memory_bytes + (1 - dm) * g.memory;
    g.cpu = dc * s.cpu_busy + (1 - dc) * g.cpu;
  }
  g.vmax = s.bandwidth_capacity_bps;
  g.memory_capacity = s.memory_capacity_bytes;
  g.mmax = s.memory_capacity_total > 0 ? s.memory_capacity_total : s.memory_capacity_bytes.sum();
  const double vmax = g.vmax.sum();
  g.net = vmax > 0 ? g.bandwidth.sum() / vmax : 0;
  g.mem = g.mmax > 0 ? g.memory.sum() / g.mmax : 0;
  Eigen::Vector3d r(g.cpu, g.mem, g.net);
  Eigen::Vector3d w(params_.weight_cpu, params_.weight_memory, params_.weight_net);
  g.load = r.dot(w);
  g.forecast.update(g.load);
  ++g.samples;
}

const GatewayLoad* LoadModel::find(uint32_t id) const {
  auto it = gateways_.find(id);
  return it == gateways_.end() ? nullptr : &it->second;
}

LoadSnapshot LoadModel::evaluate(std::span<const uint32_t> live) const {
  LoadSnapshot s;
  std::vector<const GatewayLoad*> rows;
  for (uint32_t id : live) {
    const GatewayLoad* g = find(id);
    if (g == nullptr || g->samples == 0) continue;
    s.ids.push_back(id);
    rows.push_back(g);
  }
  const auto n = static_cast<Eigen::Index>(rows.size());
  // Gateways × (C, M, N) times the weights gives every L at once.
  Eigen::MatrixXd resources(n, 3);
  s.forecast.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const GatewayLoad& g = *rows[static_cast<size_t>(i)];
    resources.row(i) << g.cpu, g.mem, g.net;
    s.forecast(i) = g.predicted(params_.forecast_horizon);
  }
  const Eigen::Vector3d w(params_.weight_cpu, params_.weight_memory, params_.weight_net);
  s.load = resources * w;
  s.mean_forecast = n > 0 ? s.forecast.mean() : 0;
  s.lsd = population_stddev(s.forecast);
  return s;
}

double LoadModel::port_bandwidth_left(uint32_t id, size_t port) const {
  const GatewayLoad* g = find(id);
  if (g == nullptr || port >= static_cast<size_t>(g->vmax.size())) return 0;
  const auto p = static_cast<Eigen::Index>(port);
  return params_.utilization_cap * g->vmax(p) - g->bandwidth(p);
}

double LoadModel::port_memory_left(uint32_t id, size_t port) const {
  const GatewayLoad* g = find(id);
  if (g == nullptr || port >= static_cast<size_t>(g->memory_capacity.size())) return 0;
  const auto p = static_cast<Eigen::Index>(port);
  return params_.utilization_cap * g->memory_capacity(p) - g->memory(p);
}

}  // namespace aigw::controller
