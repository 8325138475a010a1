#include "gateway/backend/dpdk/dpdk_port.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fmt/format.h>

namespace aigw {

bool dpdk_port_start(DpdkPort& port, const GatewayConfig& config, int socket, std::string& error) {
  if (!rte_eth_dev_is_valid_port(port.port_id)) {
    error = fmt::format("DPDK port {} does not exist (check the EAL --vdev/-a arguments)", port.port_id);
    return false;
  }
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port.port_id, &info) != 0) {
    error = fmt::format("DPDK port {}: no device info", port.port_id);
    return false;
  }
  const std::string pool_name = fmt::format("aigw_pool_{}", port.port_id);
  port.pool = rte_pktmbuf_pool_create(pool_name.c_str(), config.dpdk_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (port.pool == nullptr) {
    error = fmt::format("DPDK port {}: cannot create a pool of {} mbufs: {}", port.port_id, config.dpdk_mbufs,
                        rte_strerror(rte_errno));
    return false;
  }
  rte_eth_conf conf{};
  port.rx_udp_cksum_offload = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  port.tx_udp_cksum_offload = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0 &&
                              (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  if (port.rx_udp_cksum_offload && port.checksum == ChecksumPolicy::automatic)
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  if (port.tx_udp_cksum_offload) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (port.rx_queues > info.max_rx_queues || port.tx_queues > info.max_tx_queues) {
    error = fmt::format("DPDK port {}: needs {} rx and {} tx queues (one tx queue per worker lcore), the device has "
                        "{} and {}", port.port_id, port.rx_queues, port.tx_queues, info.max_rx_queues,
                        info.max_tx_queues);
    return false;
  }
  // Several RX queues: hash UDP 4-tuples so one stream stays on one queue (one lcore).
  // Devices without hash offload (net_af_packet) spread flows themselves (PACKET_FANOUT).
  const uint64_t rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_IPV4);
  port.rss = port.rx_queues > 1 && rss_hf != 0;
  if (port.rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  }
  int rc = rte_eth_dev_configure(port.port_id, port.rx_queues, port.tx_queues, &conf);
  if (rc != 0) {
    error = fmt::format("DPDK port {}: configure failed: {}", port.port_id, rte_strerror(-rc));
    return false;
  }
  uint16_t rxd = config.dpdk_rx_descriptors, txd = config.dpdk_tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rxd, &txd);
  rte_eth_rxconf rxq = info.default_rxconf;
  rxq.offloads = conf.rxmode.offloads;
  rc = 0;
  for (uint16_t q = 0; q < port.rx_queues && rc == 0; ++q)
    rc = rte_eth_rx_queue_setup(port.port_id, q, rxd, static_cast<unsigned>(socket), &rxq, port.pool);
  rte_eth_txconf txq = info.default_txconf;
  txq.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < port.tx_queues && rc == 0; ++q)
    rc = rte_eth_tx_queue_setup(port.port_id, q, txd, static_cast<unsigned>(socket), &txq);
  if (rc != 0) {
    error = fmt::format("DPDK port {}: queue setup failed: {}", port.port_id, rte_strerror(-rc));
    return false;
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port.port_id, &mac);
  std::copy(mac.addr_bytes, mac.addr_bytes + 6, port.mac.begin());
  rc = rte_eth_dev_start(port.port_id);
  if (rc != 0) {
    error = fmt::format("DPDK port {}: start failed: {}", port.port_id, rte_strerror(-rc));
    return false;
  }
  // Devices address the port's IP; ARP and our MAC filter the rest in software.
  rte_eth_promiscuous_enable(port.port_id);
  port.started = true;
  return true;
}

void dpdk_port_stop(DpdkPort& port) {
  if (!port.started) return;
  rte_eth_dev_stop(port.port_id);
  rte_eth_dev_close(port.port_id);
  port.started = false;
}

}  // namespace aigw
