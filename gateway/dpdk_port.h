// One DPDK ethdev port as the gateway uses it: one RX and one TX queue served by one
// lcore, its own mbuf pool, MAC address and checksum offload capabilities.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/config.h"
#include "gateway/frame_parser.h"

struct rte_mempool;

namespace aigw {

struct DpdkPort {
  uint16_t port_id = 0;
  size_t config_index = 0;     ///< index into GatewayConfig::ports
  uint32_t ip = 0;             ///< host order
  uint16_t udp_port = 0;       ///< data port
  net::Mac mac{};
  rte_mempool* pool = nullptr;
  bool rx_udp_cksum_offload = false;  ///< the NIC reports L4 checksum status
  bool tx_udp_cksum_offload = false;  ///< the NIC fills UDP checksums
  ChecksumPolicy checksum = ChecksumPolicy::automatic;
  bool started = false;
};

/// Configures and starts `port` (queues, pool on `socket`). False with `error`.
bool dpdk_port_start(DpdkPort& port, const GatewayConfig& config, int socket, std::string& error);
/// Stops and closes the port (flushes pcap output files).
void dpdk_port_stop(DpdkPort& port);

}  // namespace aigw
