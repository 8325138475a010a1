// A simulator scenario: the cluster (gateways, GPU servers), the controller's settings,
// the device streams and how their unit sizes change over time, link impairment,
// failures, the duration T in periods and the scale factor. Parsed from TOML
// (scenario_toml.h); every live and discrete run is driven by one of these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controller/core/config.h"
#include "sim/impair/impairment.h"

namespace aigw::sim {

/// The reference fragment payload (docs/PERFORMANCE.md): 945 fragments of 728 B per 672 KB unit.
inline constexpr uint32_t kReferenceFragmentPayload = 728;

struct GatewaySpec {
  uint32_t id = 0;
  uint32_t ports = 1;
  double port_capacity_bps = 1e9;    ///< Vmax_p of each data port
  double memory_bytes = 256e6;       ///< Mmax_i: reassembly memory of the whole gateway
  double cpu_fragments_per_s = 4e5;  ///< discrete mode: data-plane fragment rate at 100% CPU
  // Discrete mode's loss model of each port (sim/discrete/loss_model.h).
  double base_loss = 0;              ///< fragment loss at any load
  double overload_knee = 0.5;        ///< utilisation where overload loss starts
  double overload_loss = 0.05;       ///< overload loss at full utilisation
};

struct GpuSpec {
  uint32_t id = 0;
  std::vector<std::string> models;
  double capacity_units_per_s = 1000;  ///< advertised to the controller
  uint32_t batch_max = 16;
  double batch_scale = 0.5;   ///< 0: lowest latency (no waiting) .. 1: largest batches
  double inference_ms = 5;    ///< one unit alone
  double batch_cost = 0.15;   ///< each extra unit in a batch costs this fraction of one
};


enum class SizeDist : uint8_t { constant, uniform, normal };

/// From `from_period` on, unit sizes follow this distribution (bytes of content).
struct UnitSizePhase {
  uint32_t from_period = 0;
  SizeDist dist = SizeDist::constant;
  double mean_bytes = 687956;  ///< constant: the size; normal: the mean
  double stddev_bytes = 0;
  double min_bytes = 1;        ///< uniform bounds; clip bounds for normal
  double max_bytes = 16e6;
};

struct StreamGroup {
  std::string name;
  uint32_t count = 0;
  std::string model = "openpose";
  uint32_t period_ms = 0;            ///< 0: the scenario's period
  uint32_t start_period = 0;
  uint32_t start_spread_periods = 0; ///< starts spread evenly over this many periods
  uint32_t stop_period = 0;          ///< 0: until the end
  double per_stream_spread = 0;      ///< each stream's sizes times a factor in [1-s, 1+s]
  uint32_t fragment_payload = kReferenceFragmentPayload;
  std::vector<UnitSizePhase> unit_size;  ///< sorted by from_period, first at 0
};

/// Which data-path hop `[impairment]` applies to in live mode (the discrete mode adds
/// the impairment's loss to every fragment either way).
enum class ImpairedHop : uint8_t {
  device,  ///< device -> gateway: recovered by the gateway's NACKs to the device (the paper's DPR)
  gpu,     ///< gateway egress -> GPU server: recovered by the GPU side's NACKs to the gateway
  both,
};

/// "device", "gpu", "both".
bool parse_impaired_hop(std::string_view text, ImpairedHop& out);
const char* to_string(ImpairedHop hop);

struct FailureEvent {
  uint32_t at_period = 0;
  uint32_t gateway_id = 0;
};

struct Scenario {
  std::string name;
  std::string description;
  std::string mode = "live";  ///< default mode: live | discrete
  uint64_t seed = 1;
  uint32_t period_ms = 1000;
  uint32_t duration_periods = 100;  ///< T
  double scale = 1;                 ///< applied to unit sizes, port capacity and memory together
  /// The controller's own configuration ([controller] uses its keys, docs/controller.md);
  /// listen addresses and keys are filled in by the simulator.
  controller::ControllerConfig controller;
  std::vector<GatewaySpec> gateways;
  std::vector<GpuSpec> gpus;
  std::vector<StreamGroup> streams;
  bool impaired = false;
  ImpairmentConfig impairment;  ///< the link of `impaired_hop`
  ImpairedHop impaired_hop = ImpairedHop::device;
  std::vector<FailureEvent> failures;

  bool impairs_device_hop() const { return impaired && impaired_hop != ImpairedHop::gpu; }
  bool impairs_gpu_hop() const { return impaired && impaired_hop != ImpairedHop::device; }
  uint64_t total_streams() const;
  /// Offered load of all streams at their first phase's mean size, bits per second.
  double nominal_offered_bps() const;
};

/// The scenario with `scale` applied: unit sizes, port capacities and gateway memory
/// multiplied by it (dimensionless results — load degree, DPR, LSD — stay comparable).
/// The returned scenario has scale recorded but applies no further scaling.
Scenario apply_scale(const Scenario& s);

/// Checks cross-references and ranges that a single table cannot (ids unique,
/// failures name existing gateways, models served by some GPU). "" or the problem.
std::string validate(const Scenario& s);

}  // namespace aigw::sim
