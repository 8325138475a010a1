// One gateway node: the configured backend, the bypass agent and the metrics server on
// one libev loop. main() runs it until SIGTERM; tests run it on a thread and stop it
// with request_stop().
#pragma once

#include <ev.h>

#include <memory>
#include <string>

#include "gateway/node/config.h"
#include "gateway/agent/control_agent.h"
#include "gateway/agent/control_socket.h"
#include "gateway/core/data_plane.h"
#include "gateway/node/metrics_server.h"

namespace aigw {

class GatewayNode {
 public:
  explicit GatewayNode(const GatewayConfig& config);
  ~GatewayNode();
  GatewayNode(const GatewayNode&) = delete;
  GatewayNode& operator=(const GatewayNode&) = delete;

  /// Opens everything. False with `error` (and an exit code for main: 69 when a
  /// resource is unavailable, 78 for configuration problems).
  bool start(std::string& error, int& exit_code);
  /// Stops on SIGTERM and SIGINT (main only).
  void handle_signals();
  /// Runs the loop until request_stop() or a signal; then shuts down cleanly.
  void run();
  /// Thread-safe.
  void request_stop();

  DataPlane& data_plane() { return *backend_; }
  ControlAgent& agent() { return *agent_; }
  Ipv4Endpoint metrics_endpoint() const { return metrics_ ? metrics_->endpoint() : Ipv4Endpoint{}; }
  /// All metrics as Prometheus text (any thread).
  void render_metrics(std::string& out) const;

 private:
  static void on_stop(struct ev_loop* loop, ev_async* w, int revents);
  static void on_signal(struct ev_loop* loop, ev_signal* w, int revents);

  GatewayConfig config_;
  NodeKeys keys_;  // this gateway's node key; pair keys are derived from it
  struct ev_loop* loop_;
  ev_async stop_{};
  ev_signal sigterm_{};
  ev_signal sigint_{};
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<ControlSocket> control_socket_;
  std::unique_ptr<ControlAgent> agent_;
  std::unique_ptr<MetricsServer> metrics_;
};

}  // namespace aigw
