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
  /// With an impaired device hop: one aigw-impair relay config per data port (the relay
  /// stands at `gateway_host(id):port`, the address devices are told).
  std::vector<std::string> relay_configs;
};

struct GpuFiles {
  uint32_t id = 0;
  std::string config;
  std::string stats_file;
  uint16_t data_port = 0;
  /// With [impairment]: gateways reach the emulator through an aigw-impair relay
  /// listening here (0: no relay).
  uint16_t relay_port = 0;
  std::string relay_config;
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

// Loopback addressing when the device -> gateway hop is impaired. Every gateway gets
// its own address: its control socket binds it, its data ports bind the wildcard
// address and advertise "0.0.0.0", so the controller tells devices the control socket's
// address (docs/controller.md §1.1) — where a relay with SO_REUSEPORT stands in front
// of each data port. Device i gets two addresses: its control socket and announced
// source on 127.2.x.y, its data socket on 127.3.x.y; the relay translates 127.3.x.y:P to
// 127.2.x.y:P (RelayConfig source NAT), so the gateway's source check compares
// against exactly what the device announced, while NACKs reach 127.2.x.y directly.

/// The most devices the per-device addresses cover.
inline constexpr uint32_t kMaxAddressedDevices = 65534;
/// The relays' source NAT: the devices' announced network.
inline constexpr const char* kDeviceSourceNat = "127.2.0.0/16";
/// "127.1.x.y" for gateway `id`.
std::string gateway_host(uint32_t id);
/// Device `index`'s control and announced source address "127.2.x.y" (`data` false) or
/// its data socket's address "127.3.x.y" (`data` true).
std::string device_host(uint32_t index, bool data);

/// A currently free loopback port (UDP when `udp`, else TCP); 0 when none was found.
uint16_t free_loopback_port(bool udp);

/// Writes every file under `dir` for the (already scaled) scenario. "" or the error.
std::string write_cluster_files(const Scenario& scaled, const std::string& dir, ClusterFiles& out);

}  // namespace aigw::sim
