#include "gateway/backend/dpdk/dpdk_telemetry.h"

#include <rte_telemetry.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "gateway/backend/dpdk/dpdk_backend.h"

namespace aigw {

namespace {

// Telemetry callbacks carry no user pointer; the backend is process-wide anyway.
std::mutex g_mu;
const DpdkBackend* g_backend = nullptr;

bool port_param(const char* params, const DpdkBackend& b, size_t& out) {
  if (params == nullptr || *params == '\0') {
    out = 0;
    return b.port_count() > 0;
  }
  char* end = nullptr;
  unsigned long v = std::strtoul(params, &end, 10);
  if (end == params || *end != '\0' || v >= b.port_count()) return false;
  out = v;
  return true;
}

std::string key_of(const StatInfo& info) {
  std::string k = info.metric;
  // Telemetry accepts only [A-Za-z0-9_] in names.
  if (info.reason != nullptr) k += std::string("_") + info.reason;
  return k;
}

int cmd_ports(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  if (g_backend == nullptr) return -1;
  rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
  for (size_t i = 0; i < g_backend->port_count(); ++i) rte_tel_data_add_array_int(d, g_backend->data_endpoint(i).port);
  return 0;
}

int cmd_port(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  size_t p = 0;
  if (g_backend == nullptr || !port_param(params, *g_backend, p)) return -1;
  rte_tel_data_start_dict(d);
  const PortStatsView s = g_backend->port_stats(p);
  for (size_t i = 0; i < kPortStatCount; ++i)
    rte_tel_data_add_dict_u64(d, key_of(stat_info(static_cast<PortStat>(i))).c_str(), s.get(i));
  return 0;
}

int cmd_frames(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  size_t p = 0;
  if (g_backend == nullptr || !port_param(params, *g_backend, p)) return -1;
  rte_tel_data_start_dict(d);
  const FrameStatsView s = g_backend->frame_stats(p);
  for (size_t i = 0; i < kFrameStatCount; ++i) {
    if (i == static_cast<size_t>(FrameStat::parse_error_first)) continue;
    rte_tel_data_add_dict_u64(d, frame_stat_name(i), s.get(i));
  }
  return 0;
}

int cmd_egress(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  if (g_backend == nullptr) return -1;
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < kEgressStatCount; ++i) {
    uint64_t sum = 0;
    for (size_t w = 0; w < g_backend->pipeline_count(); ++w) sum += g_backend->egress_stats(w).get(i);
    rte_tel_data_add_dict_u64(d, key_of(stat_info(static_cast<EgressStat>(i))).c_str(), sum);
  }
  return 0;
}

int cmd_cpu(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  if (g_backend == nullptr) return -1;
  rte_tel_data_start_dict(d);
  for (size_t c = 0; c < g_backend->core_count(); ++c) {
    uint64_t busy = 0, total = 0;
    g_backend->cpu_counters(c, busy, total);
    rte_tel_data_add_dict_u64(d, ("busy_cycles." + std::to_string(c)).c_str(), busy);
    rte_tel_data_add_dict_u64(d, ("total_cycles." + std::to_string(c)).c_str(), total);
  }
  return 0;
}

}  // namespace

void dpdk_telemetry_register(const DpdkBackend* backend) {
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/aigw/ports", cmd_ports, "Data port numbers of the gateway");
    rte_telemetry_register_cmd("/aigw/port", cmd_port, "Pipeline counters of a port. Parameters: int port index");
    rte_telemetry_register_cmd("/aigw/frames", cmd_frames, "Frame counters of a port. Parameters: int port index");
    rte_telemetry_register_cmd("/aigw/egress", cmd_egress, "Egress sender counters");
    rte_telemetry_register_cmd("/aigw/cpu", cmd_cpu, "Busy and total TSC cycles per worker lcore");
  });
  std::lock_guard lock(g_mu);
  g_backend = backend;
}

void dpdk_telemetry_unregister(const DpdkBackend* backend) {
  std::lock_guard lock(g_mu);
  if (g_backend == backend) g_backend = nullptr;
}

}  // namespace aigw
