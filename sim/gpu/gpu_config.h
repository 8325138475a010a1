// aigw-gpu-emu's configuration file (TOML), parsed into GpuNodeConfig plus the
// process-level settings (sockets, stats file). Every key and default: docs/sim.md.
//
//   [gpu]      id, models, capacity_units_per_s, data_bind, advertise, control_bind, controller,
//              key_id, key | key_file, period_ms, max_streams, log_level
//   [batch]    batch_max, scale, inference_ms, batch_cost, max_wait_ms, max_queue
//   [receiver] unit_deadline_ms, max_nack_rounds, reorder_tolerance_ms,
//              renack_interval_ms, idle_nack_ms, memory_budget_mb, max_unit_bytes
//   [stats]    file (JSON, rewritten every period and at exit)
#pragma once

#include <string>

#include "protocol/udp_endpoint.h"
#include "sim/gpu/gpu_node.h"

namespace aigw::sim {

struct GpuEmuConfig {
  GpuNodeConfig node;
  UdpEndpoint data_bind;     ///< port 0: any (the bound port is advertised)
  UdpEndpoint control_bind;
  UdpEndpoint controller;
  /// Data address announced to the controller when it differs from data_bind (e.g. an
  /// aigw-impair relay in front of the emulator). Unset: the bound address.
  UdpEndpoint advertise;
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
