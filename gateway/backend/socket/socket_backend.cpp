#include "gateway/backend/socket/socket_backend.h"

#include "protocol/log.h"
#include "protocol/prometheus_text.h"

namespace aigw {

namespace {

constexpr size_t kEventRing = 4096;
constexpr size_t kEventsPerWake = 4096;

}  // namespace

SocketBackend::SocketBackend(struct ev_loop* loop, const GatewayConfig& config, const KeySource& keys)
    : loop_(loop), config_(config), keys_(keys) {}

SocketBackend::~SocketBackend() {
  events_ = nullptr;  // the agent may be gone already: events still queued are dropped
  stop();
  workers_.clear();
}

bool SocketBackend::start(std::string& error) {
  const size_t n = config_.socket_workers;
  std::vector<Ipv4Endpoint> data;
  for (const PortConfig& p : config_.ports) data.push_back(Ipv4Endpoint{p.ip, p.port});
  for (size_t w = 0; w < n; ++w) {
    PipelineEvents* sink = this;
    if (n > 1) {
      relays_.push_back(std::make_unique<EventRelay>(kEventRing));
      sink = relays_.back().get();
    }
    workers_.push_back(std::make_unique<SocketWorker>(config_, keys_, *sink));
    Ipv4Endpoint egress = config_.egress_bind;
    if (egress.port != 0) egress.port = static_cast<uint16_t>(egress.port + w);
    if (!workers_.back()->open(data, egress, w, n, error)) return false;
    // Later workers join the ports worker 0 bound (a configured port 0 is resolved now).
    if (w == 0)
      for (size_t i = 0; i < data.size(); ++i) data[i] = workers_[0]->data_endpoint(i);
  }
  if (threaded()) {
    ev_async_init(&async_, &SocketBackend::on_events);
    async_.data = this;
    ev_async_start(loop_, &async_);
  } else {
    workers_[0]->attach(loop_);
  }
  for (size_t i = 0; i < data.size(); ++i)
    log::info("data_port_open", "port={} backend=socket workers={} gro={}", to_string(data[i]), n,
              workers_.front()->gro_enabled() ? "on" : "off");
  if (config_.socket_gro && !workers_.front()->gro_enabled())
    log::warn("udp_gro_unavailable", "fallback=recvmmsg");
  for (const auto& w : workers_)
    log::info("egress_open", "address={} gso={}", to_string(w->egress_endpoint()), w->gso_enabled() ? "on" : "off");
  if (config_.socket_gso && !workers_.front()->gso_enabled())
    log::warn("udp_gso_unavailable", "fallback=sendmmsg");
  return true;
}

void SocketBackend::activate() {
  if (!threaded() || threads_started_) return;
  for (size_t w = 0; w < workers_.size(); ++w) {
    EventRelay* relay = relays_[w].get();
    std::string error;
    if (!workers_[w]->start_thread(
            [this, relay] {
              if (relay->take_pushed()) ev_async_send(loop_, &async_);
            },
            error))
      log::error("socket_worker_failed", "worker={} error=\"{}\"", w, error);
  }
  threads_started_ = true;
}

void SocketBackend::stop() {
  if (workers_.empty()) return;
  if (!threaded()) {
    workers_[0]->detach();
    return;
  }
  for (auto& w : workers_) w->stop_thread();
  if (ev_is_active(&async_)) {
    drain_events();
    ev_async_stop(loop_, &async_);
  }
}

void SocketBackend::post(const StreamCommand& cmd) {
  if (!threaded()) {
    workers_[0]->apply(cmd);
    return;
  }
  // Every worker serves the stream: which one its flow hashes to is the kernel's choice.
  for (auto& w : workers_)
    if (!w->post(cmd)) {
      ++commands_dropped_;
      log::error("socket_command_dropped", "stream={} reason=ring_full", cmd.route.stream_id);
    }
}

PortStatsView SocketBackend::port_stats(size_t i) const {
  PortStatsView v;
  for (const auto& w : workers_) v.add(w->pipeline().port_stats(i));
  return v;
}

void SocketBackend::cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const {
  busy = workers_[core]->cpu_ns();
  total = static_cast<uint64_t>(log::steady_now_ns());
}

void SocketBackend::send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) {
  if (events_ != nullptr) events_->send_nack(device_control, nack);
}
void SocketBackend::unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes,
                              LossReason reason) {
  if (events_ != nullptr) events_->unit_done(stream_id, unit_seq, delivered, bytes, reason);
}
void SocketBackend::stream_released(uint32_t stream_id, uint32_t last_unit_seq) {
  if (events_ != nullptr) events_->stream_released(stream_id, last_unit_seq);
}

void SocketBackend::on_events(struct ev_loop*, ev_async* w, int) { static_cast<SocketBackend*>(w->data)->drain_events(); }

void SocketBackend::drain_events() {
  if (events_ == nullptr) return;
  PipelineEvents& to = *this;
  for (auto& r : relays_)
    // More than one wake's worth: come back on the next loop turn.
    if (r->drain(to, kEventsPerWake)) ev_async_send(loop_, &async_);
}

void SocketBackend::render_backend_metrics(std::string& out) const {
  uint64_t oversize = 0, rx = 0, tx = 0, dropped = 0, gro = 0, gso = 0;
  for (const auto& w : workers_) {
    oversize += w->rx_oversize();
    gro += w->rx_gro_segments();
    gso += w->tx_gso_sends();
    rx += w->rx_errors();
    tx += w->tx_errors();
  }
  for (const auto& r : relays_) dropped += r->dropped();
  PromText w(out);
  w.family("aigw_gateway_socket_errors_total", PromType::counter, "Socket-level receive and send problems");
  w.sample({{"reason", "oversize"}}, oversize);
  w.sample({{"reason", "recv"}}, rx);
  w.sample({{"reason", "send"}}, tx);
  w.metric("aigw_gateway_socket_gro_datagrams_total", PromType::counter,
           "Datagrams received inside coalesced (UDP GRO) receives", gro);
  w.metric("aigw_gateway_socket_gso_sends_total", PromType::counter,
           "Egress sends that carried several fragments (UDP GSO)", gso);
  w.metric("aigw_gateway_socket_events_dropped_total", PromType::counter,
           "Pipeline events lost because a worker's ring to the agent was full", dropped);
}

}  // namespace aigw
