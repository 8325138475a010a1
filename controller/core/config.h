// Controller configuration: a plain struct with defaults, read from and written back
// to TOML. `aigwctl config set` changes one key live and persists the whole file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/admission/admission.h"
#include "controller/balancing/gpu_steering.h"
#include "controller/balancing/load_model.h"
#include "controller/balancing/lsd_trigger.h"

namespace aigw::controller {

/// One control key and the roles it may authenticate.
struct KeyConfig {
  uint32_t id = 1;
  std::string hex;                 // 64 hex digits
  std::vector<std::string> roles;  // "gateway", "device", "gpu", "controller"; empty = all
};

struct ControllerConfig {
  uint32_t controller_id = 1;
  std::string listen = "0.0.0.0:7700";            // bypass UDP address
  std::string control_socket = "/run/aigw/controller.sock";
  std::string http_listen = "127.0.0.1:7780";     // "" disables the HTTP API
  uint32_t controller_key_id = 1;
  std::vector<KeyConfig> keys;
  std::string log_level = "info";

  uint32_t sync_period_ms = 1000;   // the period of the control round
  uint32_t dead_after_periods = 3;

  std::string admission_algorithm = "balanced";
  double admission_window_ms = 1.0;
  std::string admission_k_policy = "capacity";
  uint32_t admission_group_k = 0;
  double admission_memory_units = 2;  // units in flight a stream may hold
  int64_t admission_warmup_ms = -1;   // -1: one sync period + 100 ms
  // A declared demand outside these bounds is refused: the controller books what a
  // stream declares, so a declaration must not be able to make a stream nearly free.
  uint32_t admission_max_unit_bytes = 16u << 20;  // the gateways' default max_unit_bytes
  uint32_t admission_max_period_ms = 60000;
  uint32_t admission_max_streams_per_device = 64;
  uint32_t admission_max_streams_per_port = 4096;  // the gateways' egress table

  LoadParams load;
  TriggerParams trigger;

  bool migration_enabled = true;
  int64_t migration_cooldown_ms = 10000;
  uint32_t migration_max_moves = 8;
  // Sync periods after a migration before its gateways take part in balancing again:
  // their measured load needs that long to show the move.
  uint32_t migration_settle_periods = 5;
  uint32_t migration_switch_margin = 2;
  int64_t migration_retry_ms = 200;
  uint32_t migration_retries = 5;

  SteeringParams gpu;

  std::vector<uint32_t> drained_gateways;  // aigwctl drain, kept across restarts
};

/// Reads `path` into `cfg` (missing keys keep their defaults). On failure `error` says
/// which key or line is wrong and false is returned.
bool load_config(const std::string& path, ControllerConfig& cfg, std::string& error);
/// Parses TOML text (for tests and for load_config).
bool parse_config(const std::string& text, ControllerConfig& cfg, std::string& error);
/// The whole configuration as TOML text.
std::string render_config(const ControllerConfig& cfg);
/// Writes atomically (temporary file + rename).
bool save_config(const std::string& path, const ControllerConfig& cfg, std::string& error);

/// Keys `config get|set` accept, dotted as in the TOML file.
const std::vector<std::string>& settable_keys();
/// The value of one key (or every settable key for "") as JSON; false if unknown.
bool config_get(const ControllerConfig& cfg, const std::string& key, nlohmann::json& out);
/// Sets one key from its text form, range-checked. Leaves cfg untouched on error.
bool config_set(ControllerConfig& cfg, const std::string& key, const std::string& value, std::string& error);
/// Checks cross-field rules (weights, thresholds, names).
bool validate_config(const ControllerConfig& cfg, std::string& error);

}  // namespace aigw::controller
