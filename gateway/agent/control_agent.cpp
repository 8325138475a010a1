#include "gateway/agent/control_agent.h"

#include "gateway/core/gpu_command.h"
#include "protocol/log.h"
#include "protocol/message_roles.h"
#include "protocol/retransmit_request.h"

namespace aigw {

namespace {

constexpr size_t kMaxDatagram = 65536;
static_assert(static_cast<size_t>(kLastEnvelopeError) < 16, "rx_rejected_ holds one counter per EnvelopeError");

Ipv4Endpoint endpoint_of(const std::string& address, uint32_t port, bool& ok) {
  Ipv4Endpoint e;
  ok = parse_ipv4(address, e.ip) && port <= 65535;
  e.port = static_cast<uint16_t>(port);
  return e;
}

}  // namespace

ControlAgent::ControlAgent(const GatewayConfig& config, const NodeKeys& keys, DataPlane& data_plane, ControlOut& out,
                           const AgentClock& clock)
    : config_(config),
      dp_(data_plane),
      keys_(keys),
      out_(out),
      opener_(keys),
      sealer_(keys.self(), config.key_id, config.key, clock.wall ? clock.wall() : 1) {
  sealer_.set_clock(clock.wall);
  opener_.set_not_before(clock.not_before);
  for (size_t i = 0; i < dp_.port_count(); ++i)
    port_meters_.emplace_back(config.load.smoothing, config.ports[i].capacity_bps,
                              static_cast<double>(config.ports[i].memory_budget_bytes));
  core_meters_.resize(dp_.core_count());
  out_buf_.reserve(kMaxDatagram);
}

void ControlAgent::start(const Ipv4Endpoint& bound, int64_t now_ns) {
  bound_ = bound;
  started_ = true;
  for (const auto& s : config_.static_streams) admit(s);
  send_register(false);
  sync(now_ns);
  log::info("control_started", "bind={} controller={} streams={}", to_string(bound_), to_string(config_.controller),
            streams_.size());
}

void ControlAgent::stop() {
  if (!started_) return;
  send_register(true);
  started_ = false;
}

void ControlAgent::on_datagram(const uint8_t* data, size_t len, const Ipv4Endpoint& from, int64_t now_ns) {
  EnvelopeView v;
  const EnvelopeError e = opener_.open(data, len, v);
  if (e != EnvelopeError::ok) {
    rx_rejected_[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
    AIGW_WARN_RATE_LIMITED(1000, "control_rejected", "from={} error={}", to_string(from), to_string(e));
    return;
  }
  // The key proved the sender id; its role must be one that may send this message.
  if (!sender_may_send(v.sender_id, v.type)) {
    rx_rejected_[static_cast<size_t>(EnvelopeError::key_role)].fetch_add(1, std::memory_order_relaxed);
    AIGW_WARN_RATE_LIMITED(1000, "control_rejected", "from={} error=key_role type={}", to_string(from),
                           to_string(v.type));
    return;
  }
  rx_by_type_[static_cast<size_t>(v.type)].fetch_add(1, std::memory_order_relaxed);
  handle(v, from, now_ns);
}

void ControlAgent::handle(const EnvelopeView& v, const Ipv4Endpoint& from, int64_t now_ns) {
  const int len = static_cast<int>(v.body_len);
  bool ok = true;
  switch (v.type) {
    case MessageType::stream_assign: {
      ctl::StreamAssign m;
      if ((ok = m.ParseFromArray(v.body, len))) handle_assign(m);
      last_controller_ns_ = now_ns;
      break;
    }
    case MessageType::steer_command: {
      ctl::SteerCommand m;
      if ((ok = m.ParseFromArray(v.body, len))) handle_steer(m);
      last_controller_ns_ = now_ns;
      break;
    }
    case MessageType::migrate_command: {
      ctl::MigrateCommand m;
      if ((ok = m.ParseFromArray(v.body, len))) handle_migrate(m);
      last_controller_ns_ = now_ns;
      break;
    }
    case MessageType::heartbeat: {
      // The controller probes a gateway whose load report is late: answering at once
      // lets it tell a late report from a dead gateway within a few probes. Answers go
      // to the configured controller only, never to the datagram's source.
      ctl::Heartbeat m;
      if ((ok = m.ParseFromArray(v.body, len)) && has_role(v.sender_id, NodeRole::controller)) {
        ctl::Heartbeat answer;
        answer.set_sender_id(sealer_.sender_id());
        answer.set_role(ctl::ROLE_GATEWAY);
        answer.set_seq(m.seq());
        send(MessageType::heartbeat, answer.SerializeAsString(), config_.controller);
      }
      last_controller_ns_ = now_ns;
      break;
    }
    case MessageType::unit_ack:
    case MessageType::retransmit_request: {
      StreamCommand cmd;
      if ((ok = gpu_command_from(v, cmd))) forward_gpu(cmd);
      break;
    }
    default:
      ok = false;
  }
  if (!ok) {
    rx_invalid_.fetch_add(1, std::memory_order_relaxed);
    AIGW_WARN_RATE_LIMITED(1000, "control_invalid", "from={} type={}", to_string(from), to_string(v.type));
  }
}

bool ControlAgent::serves_port(uint16_t udp_port) const {
  for (size_t i = 0; i < dp_.port_count(); ++i)
    if (dp_.data_endpoint(i).port == udp_port) return true;
  return false;
}

bool ControlAgent::admit(const StreamRoute& in) {
  if (!serves_port(in.data_port)) {
    log::warn("stream_rejected", "stream={} reason=unknown_port port={}", in.stream_id, in.data_port);
    return false;
  }
  if (streams_.size() >= config_.max_streams && !streams_.count(in.stream_id)) {
    log::warn("stream_rejected", "stream={} reason=table_full", in.stream_id);
    return false;
  }
  StreamRoute route = in;
  if (auto it = pending_expect_.find(route.stream_id); it != pending_expect_.end()) {
    route.first_unit_seq = it->second;
    pending_expect_.erase(it);
  }
  Stream& s = streams_[route.stream_id];
  s.route = route;
  StreamCommand cmd;
  cmd.kind = StreamCommand::Kind::assign;
  cmd.route = route;
  dp_.post(cmd);
  log::info("stream_assigned", "stream={} port={} source={} device_control={} gpu={} first_unit={}", route.stream_id,
            route.data_port, to_string(route.source), to_string(route.device_control), to_string(route.gpu),
            route.first_unit_seq);
  return true;
}

void ControlAgent::release(uint32_t stream_id, uint32_t last_unit_seq) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  StreamCommand cmd;
  cmd.kind = StreamCommand::Kind::release;
  cmd.route = it->second.route;
  cmd.unit_seq = last_unit_seq;
  dp_.post(cmd);
  log::info("stream_releasing", "stream={} last_unit={}", stream_id, last_unit_seq);
}

bool ControlAgent::route_from(const ctl::StreamEntry& e, const std::string& gpu_address, uint32_t gpu_port,
                              uint32_t first_unit_seq, StreamRoute& r) {
  bool ok1 = false, ok2 = false, ok3 = false;
  r.stream_id = e.stream_id();
  r.data_port = static_cast<uint16_t>(e.data_port());
  r.source = endpoint_of(e.source_address(), e.source_port(), ok1);
  r.device_control = endpoint_of(e.device_control_address(), e.device_control_port(), ok2);
  r.gpu = endpoint_of(gpu_address, gpu_port, ok3);
  r.gpu_id = e.gpu_id();
  r.device_id = e.device_id();
  r.bandwidth_bps = e.bandwidth_bps();
  r.memory_bytes = e.memory_bytes();
  r.unit_bytes = e.unit_bytes();
  r.first_unit_seq = first_unit_seq;
  if (r.stream_id == 0 || !ok1 || !ok2 || e.data_port() > 65535 || (!ok3 && !gpu_address.empty())) {
    rx_invalid_.fetch_add(1, std::memory_order_relaxed);
    log::warn("stream_entry_invalid", "stream={} source={} device_control={} gpu={}", e.stream_id(),
              e.source_address(), e.device_control_address(), gpu_address);
    return false;
  }
  return true;
}

void ControlAgent::handle_assign(const ctl::StreamAssign& m) {
  if (m.remove()) {
    release(m.stream().stream_id(), m.release_after_unit_seq());
    return;
  }
  StreamRoute r;
  if (route_from(m.stream(), m.gpu_address(), m.gpu_port(), m.from_unit_seq(), r)) admit(r);
}

void ControlAgent::handle_steer(const ctl::SteerCommand& m) {
  auto it = streams_.find(m.stream_id());
  bool ok = false;
  Ipv4Endpoint gpu = endpoint_of(m.gpu_address(), m.gpu_port(), ok);
  if (it == streams_.end() || !ok) {
    rx_invalid_.fetch_add(1, std::memory_order_relaxed);
    log::warn("steer_invalid", "stream={} gpu={}:{}", m.stream_id(), m.gpu_address(), m.gpu_port());
    return;
  }
  it->second.route.gpu = gpu;
  it->second.route.gpu_id = m.gpu_id();
  StreamCommand cmd;
  cmd.kind = StreamCommand::Kind::steer;
  cmd.route = it->second.route;
  dp_.post(cmd);
  log::info("stream_steered", "stream={} gpu_id={} gpu={}", m.stream_id(), m.gpu_id(), to_string(gpu));
}

void ControlAgent::handle_migrate(const ctl::MigrateCommand& m) {
  switch (m.phase()) {
    case ctl::MIGRATE_EXPECT: {
      auto it = streams_.find(m.stream_id());
      StreamRoute r;
      if (m.has_stream() && m.stream().stream_id() == m.stream_id()) {
        if (!route_from(m.stream(), m.gpu_address(), m.gpu_port(), m.switch_unit_seq(), r) || !admit(r)) return;
      } else if (it != streams_.end()) {
        r = it->second.route;
        r.first_unit_seq = m.switch_unit_seq();
        admit(r);
      } else {
        // The StreamAssign with the stream's addresses follows; it picks this up.
        pending_expect_[m.stream_id()] = m.switch_unit_seq();
      }
      send_migrate_ack(m.migration_id(), m.phase(), m.stream_id(), m.switch_unit_seq());
      break;
    }
    case ctl::MIGRATE_RELEASE: {
      auto it = streams_.find(m.stream_id());
      if (it == streams_.end()) {
        send_migrate_ack(m.migration_id(), m.phase(), m.stream_id(), m.switch_unit_seq());
        break;
      }
      it->second.release_ack_owed = true;
      it->second.release_migration_id = m.migration_id();
      release(m.stream_id(), m.switch_unit_seq() - 1);
      break;
    }
    default:
      rx_invalid_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ControlAgent::forward_gpu(const StreamCommand& in) {
  auto it = streams_.find(in.route.stream_id);
  if (it == streams_.end()) {
    rx_invalid_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  StreamCommand cmd = in;
  const uint32_t id = cmd.route.stream_id;
  cmd.route = it->second.route;
  cmd.route.stream_id = id;
  dp_.post(cmd);
}

void ControlAgent::send_nack(const Ipv4Endpoint& device_control, const NackOut& nack) {
  ctl::RetransmitRequest r;
  to_retransmit_request(nack, r);
  body_.clear();
  r.AppendToString(&body_);
  // Sealed with the pair key of the stream's device: only that device takes it.
  auto it = streams_.find(nack.stream_id);
  uint32_t key_id = 0;
  ControlKey key;
  if (it == streams_.end() || !keys_.pair_key_to(make_sender_id(NodeRole::device, it->second.route.device_id), key_id, key)) {
    tx_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  send_sealed(sealer_.seal_with(key_id, key, MessageType::retransmit_request, body_, out_buf_), MessageType::retransmit_request,
              device_control);
}

void ControlAgent::unit_done(uint32_t stream_id, uint32_t unit_seq, bool delivered, uint32_t bytes, LossReason) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  (delivered ? s.delivered : s.lost)++;
  if (!s.any_unit || seq_after(unit_seq, s.last_unit_seq)) s.last_unit_seq = unit_seq;
  s.any_unit = true;
  if (delivered) s.period_bytes += bytes;
}

void ControlAgent::stream_released(uint32_t stream_id, uint32_t last_unit_seq) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  if (it->second.release_ack_owed)
    send_migrate_ack(it->second.release_migration_id, ctl::MIGRATE_RELEASE, stream_id, last_unit_seq + 1);
  streams_.erase(it);
  log::info("stream_released", "stream={} last_unit={}", stream_id, last_unit_seq);
}

bool ControlAgent::send(MessageType type, const std::string& body, const Ipv4Endpoint& to) {
  return send_sealed(sealer_.seal(type, body, out_buf_), type, to);
}

bool ControlAgent::send_sealed(bool sealed, MessageType type, const Ipv4Endpoint& to) {
  if (!sealed) {
    tx_errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!out_.send_control(to, out_buf_.data(), out_buf_.size())) {
    tx_errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  tx_by_type_[static_cast<size_t>(type)].fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ControlAgent::send_register(bool leaving) {
  ctl::GatewayRegister m;
  m.set_gateway_id(config_.gateway_id);
  m.set_control_address(ipv4_to_string(bound_.ip));
  m.set_control_port(bound_.port);
  m.set_leaving(leaving);
  send(MessageType::gateway_register, m.SerializeAsString(), config_.controller);
}

void ControlAgent::send_migrate_ack(uint64_t migration_id, ctl::MigratePhase phase, uint32_t stream_id,
                                    uint32_t switch_unit_seq) {
  ctl::MigrateAck a;
  a.set_migration_id(migration_id);
  a.set_phase(phase);
  a.set_stream_id(stream_id);
  a.set_switch_unit_seq(switch_unit_seq);
  send(MessageType::migrate_ack, a.SerializeAsString(), config_.controller);
}

void ControlAgent::sync(int64_t now_ns) {
  ++period_seq_;
  // The first period has no previous sync to measure from: it counts as configured.
  const int64_t period_ns = last_sync_ns_ > 0 ? now_ns - last_sync_ns_ : config_.sync_period_ns;
  last_sync_ns_ = now_ns;
  const std::vector<double> core_busy = sample_cores();
  const LoadReport load = sample_load(now_ns, core_busy);
  send(MessageType::load_sync, build_load_sync(load).SerializeAsString(), config_.controller);
  const std::vector<StreamReport> streams = close_stream_periods(period_ns);
  for (const ctl::StreamSync& part : build_stream_sync(config_.gateway_id, period_seq_, streams))
    send(MessageType::stream_sync, part.SerializeAsString(), config_.controller);
  publish_snapshot(node_load(port_meters_, load.cpu_busy, config_.load), core_busy, now_ns);
}

std::vector<double> ControlAgent::sample_cores() {
  std::vector<double> core_busy(core_meters_.size());
  for (size_t c = 0; c < core_meters_.size(); ++c) {
    uint64_t busy = 0, total = 0;
    dp_.cpu_counters(c, busy, total);
    core_busy[c] = core_meters_[c].sample(busy, total);
  }
  return core_busy;
}

LoadReport ControlAgent::sample_load(int64_t now_ns, const std::vector<double>& core_busy) {
  LoadReport r;
  r.gateway_id = config_.gateway_id;
  r.period_seq = period_seq_;
  r.period_ms = static_cast<uint32_t>(config_.sync_period_ns / 1'000'000);
  for (double b : core_busy) r.cpu_busy += b;
  if (!core_busy.empty()) r.cpu_busy /= static_cast<double>(core_busy.size());
  double ports_memory_capacity = 0;
  for (size_t i = 0; i < dp_.port_count(); ++i) {
    const PortStatsView st = dp_.port_stats(i);
    port_meters_[i].sample(now_ns, st.get(static_cast<size_t>(PortStat::bytes)),
                           static_cast<double>(st.get(static_cast<size_t>(PortStat::memory_bytes))));
    const double cpu_busy = core_busy.empty() ? 0 : core_busy[dp_.core_of_port(i)];
    r.ports.push_back(port_load_report(dp_.data_endpoint(i), port_meters_[i], st, cpu_busy));
    ports_memory_capacity += port_meters_[i].memory_capacity_bytes();
  }
  // Mmax_i defaults to what the ports' budgets add up to.
  r.memory_capacity_bytes =
      config_.load.memory_capacity_bytes > 0 ? config_.load.memory_capacity_bytes : ports_memory_capacity;
  r.control = bound_;
  r.egress = dp_.egress_endpoint();
  return r;
}

std::vector<StreamReport> ControlAgent::close_stream_periods(int64_t period_ns) {
  const double period_s = static_cast<double>(period_ns) * 1e-9;
  std::vector<StreamReport> reports;
  reports.reserve(streams_.size());
  for (auto& [id, s] : streams_) {
    s.bandwidth_bps = period_s > 0 ? static_cast<double>(s.period_bytes) * 8 / period_s : 0;
    s.period_bytes = 0;
    reports.push_back({s.route, s.last_unit_seq, s.bandwidth_bps, s.delivered, s.lost});
  }
  return reports;
}

void ControlAgent::publish_snapshot(const NodeLoad& load, const std::vector<double>& core_busy, int64_t now_ns) {
  std::lock_guard lock(snapshot_mu_);
  snapshot_.load = load;
  snapshot_.port_bandwidth_bps.clear();
  snapshot_.port_memory_bytes.clear();
  for (const auto& m : port_meters_) {
    snapshot_.port_bandwidth_bps.push_back(m.bandwidth_bps());
    snapshot_.port_memory_bytes.push_back(m.memory_bytes());
  }
  snapshot_.core_busy = core_busy;
  snapshot_.streams = streams_.size();
  snapshot_.period_seq = period_seq_;
  snapshot_.seconds_since_controller =
      last_controller_ns_ < 0 ? -1 : static_cast<double>(now_ns - last_controller_ns_) * 1e-9;
}

AgentSnapshot ControlAgent::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

void ControlAgent::render_metrics(std::string& out) const {
  PromText w(out);
  w.family("aigw_gateway_control_received_total", PromType::counter,
           "Authenticated control messages received, by type");
  for (uint8_t t = 1; t <= kMaxMessageType; ++t)
    w.sample({{"type", to_string(static_cast<MessageType>(t))}}, rx_by_type_[t].load(std::memory_order_relaxed));
  w.family("aigw_gateway_control_rejected_total", PromType::counter, "Control datagrams rejected, by reason");
  for (uint8_t e = 1; e <= static_cast<uint8_t>(kLastEnvelopeError); ++e)
    w.sample({{"reason", to_string(static_cast<EnvelopeError>(e))}}, rx_rejected_[e].load(std::memory_order_relaxed));
  w.sample({{"reason", "invalid_body"}}, rx_invalid_.load(std::memory_order_relaxed));
  w.family("aigw_gateway_control_sent_total", PromType::counter, "Control messages sent, by type");
  for (uint8_t t = 1; t <= kMaxMessageType; ++t)
    w.sample({{"type", to_string(static_cast<MessageType>(t))}}, tx_by_type_[t].load(std::memory_order_relaxed));
  w.metric("aigw_gateway_control_send_errors_total", PromType::counter, "Control messages that could not be sent",
           tx_errors_.load(std::memory_order_relaxed));

  const AgentSnapshot s = snapshot();
  w.family("aigw_gateway_load", PromType::gauge, "Load degree (docs/controller.md §2.1), by component");
  w.sample({{"component", "total"}}, s.load.total);
  w.sample({{"component", "cpu"}}, s.load.cpu);
  w.sample({{"component", "memory"}}, s.load.memory);
  w.sample({{"component", "net"}}, s.load.net);
  w.family("aigw_gateway_port_bandwidth_bps", PromType::gauge, "Smoothed received bandwidth B'_p");
  for (size_t i = 0; i < s.port_bandwidth_bps.size(); ++i)
    w.sample({{"port", dp_.data_endpoint(i).port}}, s.port_bandwidth_bps[i]);
  w.family("aigw_gateway_core_busy", PromType::gauge, "Busy fraction of each data-plane core over the last period");
  for (size_t c = 0; c < s.core_busy.size(); ++c) w.sample({{"core", c}}, s.core_busy[c]);
  w.metric("aigw_gateway_streams", PromType::gauge, "Streams admitted on this gateway", s.streams);
  w.metric("aigw_gateway_controller_silence_seconds", PromType::gauge,
           "Seconds since the last controller message (-1: never)", s.seconds_since_controller);
}

}  // namespace aigw
