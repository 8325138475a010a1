// The gateway's configuration: a plain struct with defaults (each default a named
// value here and in docs/gateway.md), loaded from TOML and range-checked at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/agent/load_meter.h"
#include "gateway/core/stream_table.h"
#include "protocol/envelope.h"
#include "protocol/udp_endpoint.h"
#include "protocol/unit_receiver.h"
#include "protocol/unit_sender.h"

namespace aigw {

/// How a DPDK port's UDP checksums are verified.
enum class ChecksumPolicy : uint8_t {
  automatic,  ///< NIC offload flags when the port has the offload, else software
  software,   ///< always in software
  none,       ///< not verified (trusted links only)
};

struct PortConfig {
  std::string address = "127.0.0.1";  ///< IPv4 address devices send to
  uint32_t ip = 0x7f000001;
  uint16_t port = 0;                  ///< UDP port (0: kernel picks, sockets only)
  double capacity_bps = 10e9;         ///< Vmax_p, line rate used by the load model
  size_t memory_budget_bytes = size_t{256} << 20;
  // DPDK only:
  uint16_t dpdk_port_id = 0;          ///< ethdev port id (EAL order)
  ChecksumPolicy checksum = ChecksumPolicy::automatic;
  /// The port's subnet is address/prefix_len: GPU servers in it are reached through
  /// this port directly. -1: no subnet (only routes and dpdk.egress_port send here).
  int prefix_len = -1;
  uint16_t rx_queues = 1;             ///< RX queues (RSS on the UDP 4-tuple), one lcore each
};

/// A static egress route of the DPDK backend: GPU servers in prefix/prefix_len leave
/// through [[port]] number `port_index`, to the next hop `via` (0: on-link).
struct RouteConfig {
  uint32_t prefix = 0;  ///< host order
  int prefix_len = 0;
  size_t port_index = 0;
  uint32_t via = 0;
};

// The egress's sender: GPU servers acknowledge units, so unacked ones are probed.
inline SenderConfig default_egress() {
  SenderConfig c;
  c.probe_timeout_ns = 100'000'000;
  return c;
}

struct GatewayConfig {
  uint32_t gateway_id = 1;
  std::string log_level = "info";
  std::string backend = "socket";  ///< "socket" or "dpdk"
  size_t max_streams = 4096;

  // Bypass agent.
  Ipv4Endpoint control_bind{0x7f000001, 7201};
  Ipv4Endpoint controller{0x7f000001, 7200};
  uint32_t key_id = 1;
  ControlKey key{};
  bool have_key = false;
  int64_t sync_period_ns = 1'000'000'000;

  // Egress to GPU servers (source address of forwarded units; GPU acks come back here).
  Ipv4Endpoint egress_bind{0x7f000001, 0};
  SenderConfig egress = default_egress();

  std::vector<PortConfig> ports;
  ReceiverConfig receiver;  ///< memory_budget_bytes is taken per port from PortConfig
  LoadModelConfig load;
  int64_t release_timeout_ns = 5'000'000'000;

  // Metrics.
  bool metrics_enabled = true;
  Ipv4Endpoint metrics_bind{0x7f000001, 9464};

  // Socket backend.
  int socket_buffer_bytes = 32 << 20;
  unsigned socket_batch = 64;           ///< datagrams per recvmmsg/sendmmsg
  unsigned socket_batches_per_turn = 8; ///< bound on work per readable event
  bool socket_gro = true;               ///< UDP GRO on the data ports when the kernel has it
  bool socket_gso = true;               ///< UDP GSO on egress sends when the kernel has it
  unsigned socket_workers = 1;          ///< pipeline threads sharing the data ports (SO_REUSEPORT)

  // DPDK backend.
  std::vector<std::string> eal_args;
  uint16_t dpdk_burst = 32;
  unsigned dpdk_mbufs = 8191;
  uint16_t dpdk_rx_descriptors = 1024;
  uint16_t dpdk_tx_descriptors = 1024;
  uint16_t dpdk_egress_udp_port = 7300;  ///< source port of egress fragments on DPDK ports
  std::string dpdk_next_hop_mac;         ///< static MAC for egress; empty = ARP
  size_t dpdk_egress_port = 0;           ///< [[port]] index for GPUs no subnet or route covers
  std::vector<RouteConfig> routes;       ///< [[route]]

  /// Streams admitted at start-up without a controller (operators, tests, labs).
  std::vector<StreamRoute> static_streams;
};

/// Loads and validates a TOML file. On failure returns false and a message naming the
/// key at fault.
bool load_config(const std::string& path, GatewayConfig& out, std::string& error);
/// Same from TOML text (tests).
bool parse_config(const std::string& toml_text, GatewayConfig& out, std::string& error);
/// Range checks after CLI overrides.
bool validate_config(const GatewayConfig& c, std::string& error);

}  // namespace aigw

#include "gateway/core/pipeline.h"

namespace aigw {

/// The pipeline settings for the config's ports listed in `port_indices`, whose bound
/// UDP port numbers are `udp_ports` (same order).
PipelineConfig make_pipeline_config(const GatewayConfig& c, const std::vector<size_t>& port_indices,
                                    const std::vector<uint16_t>& udp_ports);

}  // namespace aigw
