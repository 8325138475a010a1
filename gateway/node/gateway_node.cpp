#include "gateway/node/gateway_node.h"

#include <csignal>

#include "gateway/node/metrics_render.h"
#include "gateway/backend/socket/socket_backend.h"
#include "protocol/log.h"
#ifdef AIGW_HAVE_DPDK
#include "gateway/backend/dpdk/dpdk_backend.h"
#endif

namespace aigw {

GatewayNode::GatewayNode(const GatewayConfig& config)
    : config_(config), keys_(make_sender_id(NodeRole::gateway, config.gateway_id)), loop_(ev_loop_new(EVFLAG_AUTO)) {
  keys_.add_own(config_.key_id, config_.key);
  ev_async_init(&stop_, &GatewayNode::on_stop);
  stop_.data = this;
  ev_async_start(loop_, &stop_);
}

GatewayNode::~GatewayNode() {
  metrics_.reset();
  agent_.reset();
  control_socket_.reset();
  backend_.reset();
  ev_loop_destroy(loop_);
}

bool GatewayNode::start(std::string& error, int& exit_code) {
  exit_code = 69;  // EX_UNAVAILABLE
  if (!config_.have_key) {
    error = "control.key or control.key_file is required";
    exit_code = 78;
    return false;
  }
  if (config_.backend == "dpdk") {
#ifdef AIGW_HAVE_DPDK
    backend_ = std::make_unique<DpdkBackend>(loop_, config_, keys_);
#else
    error = "this build has no DPDK backend (configure with -Ddpdk=enabled)";
    exit_code = 78;
    return false;
#endif
  } else {
    backend_ = std::make_unique<SocketBackend>(loop_, config_, keys_);
  }
  if (!backend_->start(error)) return false;
  control_socket_ = std::make_unique<ControlSocket>(loop_, config_.control_bind, config_.sync_period_ns);
  if (std::string why; !control_socket_->open(why)) {
    error = "cannot bind control address " + to_string(config_.control_bind) + ": " + why;
    return false;
  }
  agent_ = std::make_unique<ControlAgent>(config_, keys_, *backend_, *control_socket_,
                                          AgentClock{envelope_wall_clock, envelope_counter_start() - kMaxClockSkewNs});
  backend_->set_events(agent_.get());
  control_socket_->start(*agent_);
  backend_->activate();
  if (config_.metrics_enabled) {
    metrics_ = std::make_unique<MetricsServer>([this](std::string& out) { render_metrics(out); });
    if (!metrics_->start(config_.metrics_bind, error)) return false;
    log::info("metrics_listening", "address={}", to_string(metrics_->endpoint()));
  }
  return true;
}

void GatewayNode::handle_signals() {
  ev_signal_init(&sigterm_, &GatewayNode::on_signal, SIGTERM);
  ev_signal_init(&sigint_, &GatewayNode::on_signal, SIGINT);
  sigterm_.data = sigint_.data = this;
  ev_signal_start(loop_, &sigterm_);
  ev_signal_start(loop_, &sigint_);
}

void GatewayNode::run() {
  ev_run(loop_, 0);
  log::info("shutting_down", "streams={}", agent_ ? agent_->snapshot().streams : 0);
  if (agent_) agent_->stop();
  if (control_socket_) control_socket_->stop();
  if (metrics_) metrics_->stop();
  if (backend_) backend_->stop();
}

void GatewayNode::request_stop() { ev_async_send(loop_, &stop_); }

void GatewayNode::on_stop(struct ev_loop* loop, ev_async*, int) { ev_break(loop, EVBREAK_ALL); }

void GatewayNode::on_signal(struct ev_loop* loop, ev_signal* w, int) {
  log::info("signal", "signal={}", w->signum);
  ev_break(loop, EVBREAK_ALL);
}

void GatewayNode::render_metrics(std::string& out) const {
  if (backend_) render_data_plane_metrics(*backend_, out);
  if (agent_) agent_->render_metrics(out);
}

}  // namespace aigw
