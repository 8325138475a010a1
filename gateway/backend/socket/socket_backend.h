// The kernel-socket backend (default, no special hardware). With `socket.workers = 1`
// one SocketWorker (sockets + pipeline) runs on the agent's libev loop. With N > 1, N
// workers each run their own loop on their own thread with their own pipeline, their
// own socket per data port (all bound to the same address with SO_REUSEPORT, so the
// kernel hashes each flow to one worker) and their own egress socket (GPU servers
// answer the address fragments came from, so acks and NACKs return to the worker that
// forwarded the unit). Commands reach every worker through an SPSC ring each; events
// come back to the agent's loop through an SPSC ring per worker and an ev_async.
//
// \threadbound The public API is called on the agent's thread (the loop's thread);
// counters are readable from any thread.
#pragma once

#include <ev.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/node/config.h"
#include "gateway/core/data_plane.h"
#include "gateway/core/event_relay.h"
#include "gateway/backend/socket/socket_worker.h"

namespace aigw {

class SocketBackend final : public Backend, private PipelineEvents {
 public:
  SocketBackend(struct ev_loop* loop, const GatewayConfig& config, const KeySource& keys);
  ~SocketBackend() override;
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;

  void set_events(PipelineEvents* events) override { events_ = events; }
  bool start(std::string& error) override;
  /// Starts the worker threads (several workers), after the agent queued its commands.
  void activate() override;
  void stop() override;

  // DataPlane
  void post(const StreamCommand& cmd) override;
  size_t port_count() const override { return config_.ports.size(); }
  Ipv4Endpoint data_endpoint(size_t i) const override { return workers_.front()->data_endpoint(i); }
  PortStatsView port_stats(size_t i) const override;
  /// Worker 0's egress address (worker w binds the configured port + w, or port 0).
  Ipv4Endpoint egress_endpoint() const override { return workers_.front()->egress_endpoint(); }
  size_t pipeline_count() const override { return workers_.size(); }
  const PublishedEgressStats& egress_stats(size_t w) const override { return workers_[w]->pipeline().egress_stats(); }
  size_t core_count() const override { return workers_.size(); }
  void cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const override;
  /// Every worker serves every port; the kernel spreads a port's flows over them.
  size_t core_of_port(size_t) const override { return 0; }
  void render_backend_metrics(std::string& out) const override;

  size_t worker_count() const { return workers_.size(); }
  /// Worker w's pipeline (counters from any thread; the rest on the worker's thread).
  const Pipeline& pipeline(size_t w = 0) const { return workers_[w]->pipeline(); }
  /// Worker w's egress address.
  Ipv4Endpoint worker_egress_endpoint(size_t w) const { return workers_[w]->egress_endpoint(); }

 private:
  // PipelineEvents of the single worker on the agent's loop (relayed to the agent).
  void send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) override;
  void unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes, LossReason reason) override;
  void stream_released(uint32_t stream_id, uint32_t last_unit_seq) override;

  static void on_events(struct ev_loop* loop, ev_async* w, int revents);
  void drain_events();
  bool threaded() const { return !relays_.empty(); }

  struct ev_loop* loop_;
  const GatewayConfig& config_;
  const KeySource& keys_;
  PipelineEvents* events_ = nullptr;
  std::vector<std::unique_ptr<EventRelay>> relays_;  ///< by worker; empty with one worker
  std::vector<std::unique_ptr<SocketWorker>> workers_;
  ev_async async_{};
  bool threads_started_ = false;
  uint64_t commands_dropped_ = 0;
};

}  // namespace aigw
