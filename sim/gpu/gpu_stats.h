// The GPU emulator's statistics as JSON: what aigw-gpu-emu writes to its stats file
// every period and at exit, and what aigw-sim reads back to account for every unit.
#pragma once

#include <nlohmann/json.hpp>

#include "sim/gpu/gpu_node.h"

namespace aigw::sim {

/// {gpu_id, load, counters{..}, receiver{..}, models[..], streams{"<id>": {..}}}
nlohmann::json gpu_stats_json(const GpuNode& node, uint32_t gpu_id);

}  // namespace aigw::sim
