#include "gateway/backend/dpdk/dpdk_backend.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <fmt/format.h>


#include "gateway/backend/dpdk/dpdk_telemetry.h"
#include "protocol/log.h"
#include "protocol/prometheus_text.h"

namespace aigw {

namespace {

int worker_main(void* arg) {
  static_cast<DpdkWorker*>(arg)->run();
  return 0;
}

constexpr size_t kEventsPerWake = 4096;

}  // namespace

DpdkBackend::DpdkBackend(struct ev_loop* loop, const GatewayConfig& config, const KeySource& keys)
    : loop_(loop), config_(config), keys_(keys) {}

DpdkBackend::~DpdkBackend() {
  stop();
  dpdk_telemetry_unregister(this);
  workers_.clear();
  for (auto& p : ports_) dpdk_port_stop(p);
  if (eal_ready_) rte_eal_cleanup();
}

bool DpdkBackend::start(std::string& error) {
  std::vector<std::string> args{"aigw-gateway"};
  args.insert(args.end(), config_.eal_args.begin(), config_.eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    error = fmt::format("EAL initialisation failed: {} (dpdk.eal_args or --dpdk -- ...)", rte_strerror(rte_errno));
    return false;
  }
  eal_ready_ = true;
  std::vector<unsigned> lcores;
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) lcores.push_back(id);
  if (lcores.empty()) {
    error = "the DPDK backend needs at least one worker lcore besides the main one (e.g. -l 0-1)";
    return false;
  }
  // (port, queue) pairs onto worker lcores round-robin; a port's queues are consecutive
  // pairs, so they land on distinct lcores when the port has no more queues than lcores.
  size_t pairs = 0;
  for (const PortConfig& pc : config_.ports) pairs += pc.rx_queues;
  const size_t nworkers = std::min(lcores.size(), pairs);
  for (size_t i = 0; i < config_.ports.size(); ++i)
    if (config_.ports[i].rx_queues > nworkers) {
      error = fmt::format("port[{}].rx_queues = {} needs as many worker lcores, the EAL gave {}", i,
                          config_.ports[i].rx_queues, nworkers);
      return false;
    }
  ports_.resize(config_.ports.size());
  for (size_t i = 0; i < config_.ports.size(); ++i) {
    const PortConfig& pc = config_.ports[i];
    DpdkPort& p = ports_[i];
    p.port_id = pc.dpdk_port_id;
    p.config_index = i;
    p.ip = pc.ip;
    p.udp_port = pc.port;
    p.checksum = pc.checksum;
    p.rx_queues = pc.rx_queues;
    p.tx_queues = static_cast<uint16_t>(nworkers);
    if (pc.port == 0) {
      error = fmt::format("port[{}].port must be set for the DPDK backend", i);
      return false;
    }
    if (!dpdk_port_start(p, config_, static_cast<int>(rte_socket_id()), error)) return false;
    log::info("data_port_open",
              "port={} backend=dpdk ethdev={} mac={:02x} rx_queues={} rss={} tx_queues={} rx_cksum_offload={} "
              "tx_cksum_offload={}",
              to_string(data_endpoint(i)), p.port_id, fmt::join(p.mac, ":"), p.rx_queues,
              p.rss ? "device" : (p.rx_queues > 1 ? "driver" : "off"), p.tx_queues, p.rx_udp_cksum_offload,
              p.tx_udp_cksum_offload);
  }
  std::vector<std::vector<DpdkRxQueue>> assignment(nworkers);
  port_serving_.assign(ports_.size(), {});
  size_t j = 0;
  for (size_t i = 0; i < ports_.size(); ++i)
    for (uint16_t q = 0; q < ports_[i].rx_queues; ++q, ++j) {
      const size_t w = j % nworkers;
      port_serving_[i].push_back({w, assignment[w].size(), q});
      assignment[w].push_back({i, q});
    }
  routes_ = std::make_unique<EgressRoutes>(config_);
  std::vector<DpdkPort*> all;
  for (auto& p : ports_) all.push_back(&p);
  ev_async_init(&async_, &DpdkBackend::on_events);
  async_.data = this;
  ev_async_start(loop_, &async_);
  workers_.resize(nworkers);
  for (size_t w = 0; w < nworkers; ++w) {
    workers_[w].lcore_id = lcores[w];
    workers_[w].worker = std::make_unique<DpdkWorker>(config_, all, assignment[w], static_cast<uint16_t>(w), *routes_,
                                                      board_, keys_);
    workers_[w].worker->set_notify([this] { ev_async_send(loop_, &async_); });
  }
  dpdk_telemetry_register(this);
  return true;
}

void DpdkBackend::activate() {
  for (auto& w : workers_) {
    if (w.launched) continue;
    if (rte_eal_remote_launch(worker_main, w.worker.get(), w.lcore_id) == 0) w.launched = true;
    else log::error("dpdk_launch_failed", "lcore={}", w.lcore_id);
  }
}

void DpdkBackend::stop() {
  for (auto& w : workers_)
    if (w.launched) w.worker->request_stop();
  for (auto& w : workers_)
    if (w.launched) {
      rte_eal_wait_lcore(w.lcore_id);
      w.launched = false;
    }
  if (ev_is_active(&async_)) {
    drain_events();
    ev_async_stop(loop_, &async_);
  }
  // Stopping the ports flushes pcap output and returns their mbufs.
  for (auto& p : ports_) dpdk_port_stop(p);
}

void DpdkBackend::post(const StreamCommand& cmd) {
  // Every lcore serving one of the port's queues admits the stream: which queue its
  // fragments hash to is the device's choice.
  std::vector<bool> sent(workers_.size(), false);
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i].udp_port != cmd.route.data_port) continue;
    for (const Serving& s : port_serving_[i]) {
      if (sent[s.worker]) continue;
      sent[s.worker] = true;
      if (!workers_[s.worker].worker->commands().push(cmd)) {
        ++commands_dropped_;
        log::error("dpdk_command_dropped", "stream={} reason=ring_full", cmd.route.stream_id);
      }
    }
  }
}

PortStatsView DpdkBackend::port_stats(size_t i) const {
  PortStatsView v;
  for (const Serving& s : port_serving_[i]) v.add(workers_[s.worker].worker->pipeline().port_stats(s.slot));
  return v;
}

const PublishedPortStats& DpdkBackend::queue_stats(size_t i, uint16_t queue) const {
  for (const Serving& s : port_serving_[i])
    if (s.queue == queue) return workers_[s.worker].worker->pipeline().port_stats(s.slot);
  return workers_[port_serving_[i].front().worker].worker->pipeline().port_stats(port_serving_[i].front().slot);
}

FrameStatsView DpdkBackend::frame_stats(size_t i) const {
  FrameStatsView v;
  for (const auto& w : workers_) v.add(w.worker->frame_stats(i));
  return v;
}

Ipv4Endpoint DpdkBackend::egress_endpoint() const {
  return ports_.empty() ? Ipv4Endpoint{}
                        : Ipv4Endpoint{ports_[config_.dpdk_egress_port].ip, config_.dpdk_egress_udp_port};
}

void DpdkBackend::cpu_counters(size_t core, uint64_t& busy, uint64_t& total) const {
  busy = workers_[core].worker->busy_cycles();
  total = workers_[core].worker->total_cycles();
}

void DpdkBackend::on_events(struct ev_loop*, ev_async* w, int) { static_cast<DpdkBackend*>(w->data)->drain_events(); }

void DpdkBackend::drain_events() {
  if (events_ == nullptr) return;
  // More than one wake's worth: come back on the next loop turn.
  for (auto& w : workers_)
    if (w.worker->events().drain(*events_, kEventsPerWake)) ev_async_send(loop_, &async_);
}

void DpdkBackend::render_backend_metrics(std::string& out) const {
  PromText w(out);
  w.family("aigw_gateway_dpdk_frames_total", PromType::counter, "Frame-level events of DPDK ports, by kind");
  for (size_t i = 0; i < ports_.size(); ++i) {
    const FrameStatsView s = frame_stats(i);
    for (size_t k = 0; k < kFrameStatCount; ++k) {
      if (k == static_cast<size_t>(FrameStat::parse_error_first)) continue;  // the unused "ok" slot
      w.sample({{"port", ports_[i].udp_port}, {"kind", frame_stat_name(k)}}, s.get(k));
    }
  }
  uint64_t dropped = 0;
  for (const auto& wk : workers_) dropped += wk.worker->events_dropped();
  w.metric("aigw_gateway_dpdk_events_dropped_total", PromType::counter,
           "Pipeline events lost because the ring to the agent was full", dropped);
}

}  // namespace aigw
