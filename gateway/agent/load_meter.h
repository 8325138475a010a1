// Load measurement of docs/controller.md §2.1, I/O-free: callers pass cumulative counters and the
// time, once per sync period.
//   B_p  = bits received on port p in the period / period
//   B'_p = d*B_p + (1-d)*B'_p(prev)          (the first sample initialises B'_p = B_p)
//   M'_p = d*M_p + (1-d)*M'_p(prev)          M_p = bytes held by in-flight units
//   N_i  = sum B'_p / sum Vmax_p,  M_i = sum M'_p / Mmax_i,  C_i = busy fraction
//   L_i  = wc*C_i + wm*M_i + wn*N_i
#pragma once

#include <cstdint>
#include <span>

namespace aigw {

struct LoadModelConfig {
  double smoothing = 0.8;              ///< d
  double weight_cpu = 1.0 / 3;         ///< wc
  double weight_memory = 1.0 / 3;      ///< wm
  double weight_net = 1.0 / 3;         ///< wn
  double memory_capacity_bytes = 0;    ///< Mmax_i; 0 = sum of the ports' budgets
};

/// Bandwidth and memory of one data port.
class PortLoadMeter {
 public:
  PortLoadMeter(double smoothing, double capacity_bps, double memory_capacity_bytes)
      : d_(smoothing), capacity_bps_(capacity_bps), memory_capacity_(memory_capacity_bytes) {}

  /// Closes the period ending at `now_ns`. `rx_bytes_total` is the port's cumulative
  /// received byte count, `memory_bytes` what its in-flight units hold now. The first
  /// call only sets the baseline for bandwidth.
  void sample(int64_t now_ns, uint64_t rx_bytes_total, double memory_bytes);

  double bandwidth_bps() const { return smoothed_bps_; }    ///< B'_p
  double raw_bandwidth_bps() const { return raw_bps_; }     ///< B_p of the last period
  double memory_bytes() const { return smoothed_mem_; }     ///< M'_p
  double capacity_bps() const { return capacity_bps_; }     ///< Vmax_p
  double memory_capacity_bytes() const { return memory_capacity_; }

 private:
  double d_;
  double capacity_bps_;
  double memory_capacity_;
  bool have_baseline_ = false;
  bool have_bw_ = false;
  bool have_mem_ = false;
  int64_t last_ns_ = 0;
  uint64_t last_bytes_ = 0;
  double raw_bps_ = 0;
  double smoothed_bps_ = 0;
  double smoothed_mem_ = 0;
};

/// Busy fraction from cumulative busy and total counts (TSC cycles on DPDK lcores,
/// CPU and wall nanoseconds on the socket backend).
class BusyMeter {
 public:
  /// Returns the busy fraction since the previous call (0 on the first), in [0, 1].
  double sample(uint64_t busy_total, uint64_t all_total);
  double last() const { return last_; }

 private:
  bool have_ = false;
  uint64_t busy_ = 0;
  uint64_t all_ = 0;
  double last_ = 0;
};

struct NodeLoad {
  double net = 0;     ///< N_i
  double memory = 0;  ///< M_i
  double cpu = 0;     ///< C_i
  double total = 0;   ///< L_i
};

/// Combines the ports' meters and the CPU busy fraction into the node's load degree.
NodeLoad node_load(std::span<const PortLoadMeter> ports, double cpu_busy,
                   const LoadModelConfig& config);

}  // namespace aigw
