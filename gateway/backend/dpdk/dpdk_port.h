// One DPDK ethdev port as the gateway uses it: `rx_queues` RX queues (RSS on the UDP
// 4-tuple when there are several and the device hashes; each queue served by one
// lcore), one TX queue per worker lcore (so any lcore transmits on any port without a
// lock), its own mbuf pool, MAC address and checksum offload capabilities.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/node/config.h"
#include "gateway/net/frame_parser.h"

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
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;             ///< one per worker lcore
  bool rss = false;                   ///< the device hashes UDP 4-tuples onto the RX queues
  bool started = false;
};

/// Configures and starts `port` (queues, pool on `socket`). False with `error`.
bool dpdk_port_start(DpdkPort& port, const GatewayConfig& config, int socket, std::string& error);
/// Stops and closes the port (flushes pcap output files).
void dpdk_port_stop(DpdkPort& port);

}  // namespace aigw
