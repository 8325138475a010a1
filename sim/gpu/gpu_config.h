// aigw-gpu-emu's configuration file (TOML), parsed into GpuNodeConfig plus the
// process-level settings (sockets, stats file). Every key and default: docs/sim.md.
//
//   [gpu]      id, models, capacity_units_per_s, data_bind, control_bind, controller,
//              key_id, key | key_file, period_ms, max_streams, log_level
//   [batch]    batch_max, scale, inference_ms, batch_cost, max_wait_ms, max_queue
//   [receiver] unit_deadline_ms, max_nack_rounds, reorder_tolerance_ms,
//              renack_interval_ms, idle_nack_ms, memory_budget_mb, max_unit_bytes
//   [stats]    file (JSON, rewritten every period and at exit)
#pragma once

#include <string>

#include "sim/common/udp_endpoint.h"
#include "sim/gpu/gpu_node.h"

namespace aigw::sim {

struct GpuEmuConfig {
  GpuNodeConfig node;
  Endpoint data_bind;     ///< port 0: any (the bound port is advertised)
  Endpoint control_bind;
  Endpoint controller;
  bool have_key = false;
  std::string stats_file;
  std::string log_level = "info";
};

/// Defaults: data 127.0.0.1:0, control 127.0.0.1:0, controller 127.0.0.1:7700.
GpuEmuConfig default_gpu_emu_config();
/// Reads `path` over the defaults. "" or the error naming the key.
std::string load_gpu_emu_config(const std::string& path, GpuEmuConfig& out);
std::string parse_gpu_emu_config(const std::string& toml_text, GpuEmuConfig& out);

}  // namespace aigw::sim
