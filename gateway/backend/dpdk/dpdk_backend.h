// The DPDK backend: initialises the EAL with the configured arguments (passed through
// verbatim), starts every configured ethdev port with its RX queues (`rx_queues`, RSS)
// and one TX queue per worker lcore, maps the (port, queue) pairs round-robin onto the
// worker lcores (one pipeline per lcore, no locks on the data path; the queues of one
// port on distinct lcores), and relays commands and events between the agent's libev
// loop and the lcores through SPSC rings. Registers DPDK telemetry commands.
//
// One DPDK backend per process: the EAL cannot be initialised twice.
#pragma once

#include <ev.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/node/config.h"
#include "gateway/core/data_plane.h"
#include "gateway/backend/dpdk/dpdk_port.h"
#include "gateway/backend/dpdk/dpdk_worker.h"
#include "gateway/net/egress_routes.h"
#include "gateway/net/neighbour_board.h"

namespace aigw {

class DpdkBackend final : public Backend {
 public:
  DpdkBackend(struct ev_loop* loop, const GatewayConfig& config, const KeySource& keys);
  ~DpdkBackend() override;

  void set_events(PipelineEvents* events) override { events_ = events; }
  bool start(std::string& error) override;
  void activate() override;
  void stop() override;

  void post(const StreamCommand& cmd) override;
  size_t port_count() const override { return ports_.size(); }
  Ipv4Endpoint data_endpoint(size_t i) const override { return Ipv4Endpoint{ports_[i].ip, ports_[i].udp_port}; }
  PortStatsView port_stats(size_t i) const override;
  Ipv4Endpoint egress_endpoint() const override;
  size_t pipeline_count() const override { return workers_.size(); }
  const PublishedEgressStats& egress_stats(size_t p) const override { return workers_[p].worker->pipeline().egress_stats(); }
  size_t core_count() const override { return workers_.size(); }
  void cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const override;
  size_t core_of_port(size_t port) const override { return port_serving_[port].front().worker; }
  void render_backend_metrics(std::string& out) const override;

  /// Port i's ethdev state (MAC, offloads); fixed after start().
  const DpdkPort& port(size_t i) const { return ports_[i]; }
  /// Frame-level counters of port i, summed over the lcores (any thread).
  FrameStatsView frame_stats(size_t i) const;
  /// Pipeline counters of port i as seen by one of its RX queues (tests, telemetry).
  const PublishedPortStats& queue_stats(size_t i, uint16_t queue) const;
  /// Worker lcores with pipelines.
  size_t worker_count() const { return workers_.size(); }

 private:
  struct Lcore {
    unsigned lcore_id = 0;
    std::unique_ptr<DpdkWorker> worker;
    bool launched = false;
  };
  static void on_events(struct ev_loop* loop, ev_async* w, int revents);
  void drain_events();

  struct ev_loop* loop_;
  const GatewayConfig& config_;
  const KeySource& keys_;
  PipelineEvents* events_ = nullptr;
  std::vector<DpdkPort> ports_;
  std::vector<Lcore> workers_;
  struct Serving {
    size_t worker;  ///< index into workers_
    size_t slot;    ///< the queue's index within that worker's pipeline
    uint16_t queue;
  };
  std::vector<std::vector<Serving>> port_serving_;  ///< port index -> its RX queues' lcores
  std::unique_ptr<EgressRoutes> routes_;
  NeighbourBoard board_;
  ev_async async_{};
  uint64_t commands_dropped_ = 0;
  bool eal_ready_ = false;
};

}  // namespace aigw
