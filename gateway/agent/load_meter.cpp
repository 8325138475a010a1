#include "gateway/agent/load_meter.h"

#include <algorithm>

namespace aigw {

void PortLoadMeter::sample(int64_t now_ns, uint64_t rx_bytes_total, double memory_bytes) {
  smoothed_mem_ = have_mem_ ? d_ * memory_bytes + (1 - d_) * smoothed_mem_ : memory_bytes;
  have_mem_ = true;
  if (have_baseline_ && now_ns > last_ns_) {
    const double seconds = static_cast<double>(now_ns - last_ns_) * 1e-9;
    raw_bps_ = static_cast<double>(rx_bytes_total - last_bytes_) * 8.0 / seconds;
    smoothed_bps_ = have_bw_ ? d_ * raw_bps_ + (1 - d_) * smoothed_bps_ : raw_bps_;
    have_bw_ = true;
  }
  have_baseline_ = true;
  last_ns_ = now_ns;
  last_bytes_ = rx_bytes_total;
}

double BusyMeter::sample(uint64_t busy_total, uint64_t all_total) {
  if (have_ && all_total > all_) {
    last_ = std::clamp(static_cast<double>(busy_total - busy_) / static_cast<double>(all_total - all_),
                       0.0, 1.0);
  }
  have_ = true;
  busy_ = busy_total;
  all_ = all_total;
  return last_;
}

NodeLoad node_load(std::span<const PortLoadMeter> ports, double cpu_busy,
                   const LoadModelConfig& config) {
  double bw = 0, cap = 0, mem = 0, mem_cap = 0;
  for (const auto& p : ports) {
    bw += p.bandwidth_bps();
    cap += p.capacity_bps();
    mem += p.memory_bytes();
    mem_cap += p.memory_capacity_bytes();
  }
  if (config.memory_capacity_bytes > 0) mem_cap = config.memory_capacity_bytes;
  NodeLoad l;
  l.net = cap > 0 ? bw / cap : 0;
  l.memory = mem_cap > 0 ? mem / mem_cap : 0;
  l.cpu = std::clamp(cpu_busy, 0.0, 1.0);
  l.total = config.weight_cpu * l.cpu + config.weight_memory * l.memory + config.weight_net * l.net;
  return l;
}

}  // namespace aigw
