// Generates the configuration files of a live run on loopback: one control key, the
// controller's TOML (rendered by the controller's own writer), one TOML per gateway
// and per GPU emulator, with free ports picked for every listener.
#pragma once

#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "sim/scenario/scenario.h"

namespace aigw::sim {

struct GatewayFiles {
  uint32_t id = 0;
  std::string config;
  uint16_t control_port = 0;
  uint16_t metrics_port = 0;
  std::vector<uint16_t> data_ports;
};

struct GpuFiles {
  uint32_t id = 0;
  std::string config;
  std::string stats_file;
};

struct ClusterFiles {
  std::string dir;
  ControlKey key{};
  std::string key_file;
  std::string controller_config;
  uint16_t controller_port = 0;
  uint16_t controller_http_port = 0;
  std::vector<GatewayFiles> gateways;
  std::vector<GpuFiles> gpus;
};

/// A currently free loopback port (UDP when `udp`, else TCP); 0 when none was found.
uint16_t free_loopback_port(bool udp);

/// Writes every file under `dir` for the (already scaled) scenario. "" or the error.
std::string write_cluster_files(const Scenario& scaled, const std::string& dir, ClusterFiles& out);

}  // namespace aigw::sim
