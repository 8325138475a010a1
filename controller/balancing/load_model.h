// The controller's load model (docs/controller.md §2.1): per gateway, exponentially smoothed port
// bandwidth, memory and CPU, the load degree L = wc*C + wm*M + wn*N, a Brown forecast
// of L, and the load standard deviation (LSD) across live gateways. Eigen holds the
// per-port vectors and the gateways × resources matrix.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "controller/balancing/forecast.h"

namespace aigw::controller {

struct LoadParams {
  double bandwidth_smoothing = 0.8;  // δ: B' = δ*B + (1-δ)*B'
  double memory_smoothing = 0.8;
  double cpu_smoothing = 0.8;
  double utilization_cap = 0.8;      // u: admissible share of line rate and memory
  double weight_cpu = 1.0 / 3;
  double weight_memory = 1.0 / 3;
  double weight_net = 1.0 / 3;
  double forecast_alpha = 0.5;
  double forecast_horizon = 1;       // m of F(t+m), in periods
};

/// One period's report of a gateway (from LoadSync), one entry per data port.
struct LoadSample {
  Eigen::ArrayXd bandwidth_bps;
  Eigen::ArrayXd bandwidth_capacity_bps;
  Eigen::ArrayXd memory_bytes;
  Eigen::ArrayXd memory_capacity_bytes;
  double cpu_busy = 0;
  double memory_capacity_total = 0;  // Mmax; 0 = sum of the ports' budgets
};

/// Smoothed state of one gateway.
struct GatewayLoad {
  Eigen::ArrayXd bandwidth;  // B'_p
  Eigen::ArrayXd vmax;       // Vmax_p
  Eigen::ArrayXd memory;     // M'_p
  Eigen::ArrayXd memory_capacity;
  double mmax = 0;
  double cpu = 0;            // smoothed C
  double net = 0;            // N
  double mem = 0;            // M
  double load = 0;           // L
  BrownForecast forecast;
  uint64_t samples = 0;

  /// Predicted L one horizon ahead.
  double predicted(double horizon) const { return forecast.forecast(horizon); }
  double vmax_total() const { return vmax.sum(); }
};

/// Loads of a set of gateways at one instant.
struct LoadSnapshot {
  std::vector<uint32_t> ids;
  Eigen::VectorXd load;      // L_i
  Eigen::VectorXd forecast;  // F_i(t+m)
  double mean_forecast = 0;
  double lsd = 0;            // population standard deviation of forecast
};

/// Population standard deviation of a vector (0 for fewer than two values).
double population_stddev(const Eigen::VectorXd& v);

class LoadModel {
 public:
  explicit LoadModel(const LoadParams& p = {}) : params_(p) {}

  /// New factors take effect from the next sample; the forecast keeps its state.
  void set_params(const LoadParams& p);
  const LoadParams& params() const { return params_; }

  /// Feeds one period's report of gateway `id`. A change in the number of ports
  /// restarts that gateway's smoothing.
  void observe(uint32_t id, const LoadSample& s);
  void forget(uint32_t id) { gateways_.erase(id); }
  const GatewayLoad* find(uint32_t id) const;

  /// L, forecast and LSD over `live` (gateways without samples are skipped).
  LoadSnapshot evaluate(std::span<const uint32_t> live) const;

  /// Remaining admissible bandwidth and memory of one port: u*cap - smoothed use.
  double port_bandwidth_left(uint32_t id, size_t port) const;
  double port_memory_left(uint32_t id, size_t port) const;

 private:
  LoadParams params_;
  std::map<uint32_t, GatewayLoad> gateways_;
};

}  // namespace aigw::controller
