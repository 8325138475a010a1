// The run-to-completion loop of one DPDK lcore: RX bursts from its (port, queue) pairs
// with prefetch, own Ethernet/IPv4/UDP parsing and checksum checks, ARP responder and
// ICMP echo for the ports' addresses, the ingest pipeline, TX of egress fragments (out
// of the port EgressRoutes picks, on this lcore's own TX queue of that port) and
// replies, and busy-cycle accounting. Per-lcore state only; commands arrive and events
// leave through SPSC rings; learned neighbours are shared through a NeighbourBoard.
//
// \threadbound run() and everything it calls execute on the worker's lcore; the rings,
// stop flag and published counters are the only state shared with the main thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "gateway/net/arp_table.h"
#include "gateway/core/rate_budget.h"
#include "gateway/node/config.h"
#include "gateway/core/event_relay.h"
#include "gateway/backend/dpdk/dpdk_port.h"
#include "gateway/net/egress_routes.h"
#include "gateway/net/neighbour_board.h"
#include "gateway/core/pipeline.h"
#include "gateway/core/spsc_ring.h"

struct rte_mbuf;

namespace aigw {

/// Frame-level counters of a DPDK port (the pipeline counts what follows parsing).
enum class FrameStat : uint8_t {
  rx_frames,
  rx_bytes,
  parse_error_first,  ///< parse errors occupy [parse_error_first, +ParseError::kCount)
  not_for_us = parse_error_first + static_cast<uint8_t>(net::ParseError::kCount),
  unknown_udp_port,
  multi_segment,
  arp_answered,
  arp_ignored,
  arp_unsolicited,      ///< ARP replies for addresses this gateway did not ask for: not learned
  icmp_echo_answered,
  icmp_echo_rate_limited,  ///< echo requests over the answer budget: not answered
  icmp_ignored,
  tx_frames,
  tx_dropped,       ///< replies dropped because the TX queue stayed full
  tx_no_mbuf,
  egress_no_neighbour,  ///< egress held back: next hop MAC not known yet (ARP sent)
  kCount
};
inline constexpr size_t kFrameStatCount = static_cast<size_t>(FrameStat::kCount);
const char* frame_stat_name(size_t i);
using PublishedFrameStats = PublishedStats<kFrameStatCount>;
using FrameStatsView = StatsSum<kFrameStatCount>;

/// One RX queue an lcore polls.
struct DpdkRxQueue {
  size_t port = 0;     ///< index into the backend's ports (GatewayConfig::ports order)
  uint16_t queue = 0;
};

class DpdkWorker final : private EgressOut {
 public:
  /// `ports` are all of the backend's ports (TX goes out of any of them on queue
  /// `tx_queue`); `rx` the queues this lcore polls, at most one per port.
  DpdkWorker(const GatewayConfig& config, std::vector<DpdkPort*> ports, std::vector<DpdkRxQueue> rx,
             uint16_t tx_queue, const EgressRoutes& routes, NeighbourBoard& board, const KeySource& keys);
  ~DpdkWorker() override;

  /// The lcore loop; returns after request_stop().
  void run();
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }
  /// Called (on the worker's lcore) after events were queued: wakes the agent's loop.
  void set_notify(std::function<void()> notify) { notify_ = std::move(notify); }

  SpscRing<StreamCommand>& commands() { return commands_; }
  /// The pipeline's events, for the agent's thread to drain.
  EventRelay& events() { return events_; }
  const Pipeline& pipeline() const { return *pipeline_; }
  const std::vector<DpdkRxQueue>& rx_queues() const { return rx_; }
  /// This lcore's frame counters of port `port` (RX of its queue, its own TX).
  const PublishedFrameStats& frame_stats(size_t port) const { return published_[port]; }
  uint64_t busy_cycles() const { return busy_cycles_.load(std::memory_order_relaxed); }
  uint64_t total_cycles() const { return total_cycles_.load(std::memory_order_relaxed); }
  uint64_t events_dropped() const { return events_.dropped(); }

 private:
  bool send(const Ipv4Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len,
            uint32_t payload_sum) override;
  void flush() override;

  /// Egress hop of a GPU server: port and next-hop MAC, cached per destination.
  struct EgressHop {
    uint32_t dst = 0;
    size_t port = 0;
    net::Mac mac{};
    int64_t until_ns = 0;  ///< re-resolved after this (routes are fixed, ARP is not)
  };
  const EgressHop* resolve(uint32_t dst);

  bool handle(size_t k, rte_mbuf* m, int64_t now_ns);
  bool handle_arp(size_t g, rte_mbuf* m, const net::Frame& f, int64_t now_ns);
  bool queue_tx(size_t g, rte_mbuf* m);
  rte_mbuf* take_mbuf(size_t g);
  void flush_port(size_t g);
  void bump(size_t k, FrameStat s, uint64_t n = 1) { counters_[k][static_cast<size_t>(s)] += n; }

  const GatewayConfig& config_;
  std::vector<DpdkPort*> ports_;  ///< all ports, by backend index g
  std::vector<DpdkRxQueue> rx_;   ///< polled queues, by pipeline port index k
  uint16_t tx_queue_;
  const EgressRoutes& routes_;
  NeighbourBoard& board_;
  static constexpr size_t kEgressCacheSize = 64;  ///< direct-mapped by destination
  std::array<EgressHop, kEgressCacheSize> egress_cache_{};
  std::unique_ptr<Pipeline> pipeline_;
  SpscRing<StreamCommand> commands_;
  EventRelay events_;
  std::function<void()> notify_;
  ArpTable arp_;
  RateBudget echo_budget_{100, 100};  // ICMP echo answers per second, per lcore
  bool have_static_mac_ = false;
  net::Mac static_mac_{};
  uint16_t ip_id_ = 0;
  int64_t now_ns_ = 0;

  struct TxQueue {
    std::vector<rte_mbuf*> mbufs;
    size_t count = 0;
  };
  std::vector<TxQueue> tx_;  ///< by port g
  /// Egress mbufs taken from port g's pool in bulk, handed out one per fragment.
  static constexpr unsigned kStashSize = 32;
  struct MbufStash {
    std::array<rte_mbuf*, kStashSize> mbufs{};
    unsigned count = 0;
  };
  std::vector<MbufStash> stash_;
  std::vector<std::array<uint64_t, kFrameStatCount>> counters_;  ///< by port g
  std::unique_ptr<PublishedFrameStats[]> published_;

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> busy_cycles_{0};
  std::atomic<uint64_t> total_cycles_{0};
};

/// Parses "aa:bb:cc:dd:ee:ff".
bool parse_mac(const std::string& text, net::Mac& out);

}  // namespace aigw
