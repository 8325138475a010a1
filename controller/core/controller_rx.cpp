// Receiving side of the controller: authentication and one handler per message.
#include "controller/core/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

void Controller::reject(const char* reason) {
  metrics_.rx_rejected.inc(reason);
  AIGW_WARN_RATE_LIMITED(1000, "control_rejected", "reason={}", reason);
}

bool Controller::authenticate(const uint8_t* data, size_t len, EnvelopeView& env, NodeRole& role) {
  // The key is the node key derived for the envelope's sender id: passing the MAC
  // proves the sender, and a master limited to some roles refuses others (key_role).
  const EnvelopeError e = opener_.open(data, len, env);
  if (e != EnvelopeError::ok) {
    reject(to_string(e));
    if (e == EnvelopeError::stale) {
      EnvelopeView v;
      peek_envelope(data, len, v);
      // A node whose clock went back (a board without RTC before NTP) lands here.
      AIGW_WARN_RATE_LIMITED(1000, "control_stale", "sender={:#x} behind_ms={}", v.sender_id,
                             opener_.last_stale_by() / 1000000);
    }
    return false;
  }
  if (!role_of(env.sender_id, role) || role == NodeRole::controller) {
    reject("sender_mismatch");
    return false;
  }
  masters_.heard(env.sender_id, env.key_id);
  return true;
}

void Controller::on_datagram(const uint8_t* data, size_t len, const UdpEndpoint& from, int64_t now_ns) {
  advance_clock(now_ns);
  EnvelopeView env;
  NodeRole role{};
  if (!authenticate(data, len, env, role)) return;
  switch (dispatch(env, Sender{role, env.sender_id, node_of(env.sender_id), from})) {
    case RxOutcome::handled: metrics_.rx_messages.inc(to_string(env.type)); break;
    case RxOutcome::bad_body: reject("bad_body"); break;
    case RxOutcome::refused: break;
  }
}

template <typename M, typename Handler>
Controller::RxOutcome Controller::handle(const EnvelopeView& env, const Sender& sender, Handler handler) {
  M m;
  if (!m.ParseFromArray(env.body, static_cast<int>(env.body_len))) return RxOutcome::bad_body;
  return (this->*handler)(m, sender) ? RxOutcome::handled : RxOutcome::refused;
}

Controller::RxOutcome Controller::dispatch(const EnvelopeView& env, const Sender& sender) {
  switch (env.type) {
    case MessageType::gateway_register:
      return handle<ctl::GatewayRegister>(env, sender, &Controller::on_gateway_register);
    case MessageType::load_sync: return handle<ctl::LoadSync>(env, sender, &Controller::on_load_sync);
    case MessageType::stream_sync: return handle<ctl::StreamSync>(env, sender, &Controller::on_stream_sync);
    case MessageType::admission_request:
      return handle<ctl::AdmissionRequest>(env, sender, &Controller::on_admission_request);
    case MessageType::stream_close: return handle<ctl::StreamClose>(env, sender, &Controller::on_stream_close);
    case MessageType::heartbeat: return handle<ctl::Heartbeat>(env, sender, &Controller::on_heartbeat);
    case MessageType::gpu_register: return handle<ctl::GpuRegister>(env, sender, &Controller::on_gpu_register);
    case MessageType::gpu_load_sync: return handle<ctl::GpuLoadSync>(env, sender, &Controller::on_gpu_load_sync);
    case MessageType::migrate_ack: return handle<ctl::MigrateAck>(env, sender, &Controller::on_migrate_ack);
    default:
      reject("unexpected_type");
      return RxOutcome::refused;
  }
}

bool Controller::sent_by(const Sender& sender, NodeRole role, uint32_t body_id) {
  // The role comes from the key and sender id, so a body cannot claim another node.
  if (sender.role == role && body_id == sender.node) return true;
  reject("sender_mismatch");
  return false;
}

bool Controller::on_gateway_register(const ctl::GatewayRegister& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::gateway, m.gateway_id())) return false;
  GatewayState& g = gateways_[m.gateway_id()];
  g.id = m.gateway_id();
  g.last_source = sender.from;
  g.control = resolve_control(m.control_address(), m.control_port(), sender.from);
  if (m.leaving()) {
    log::info("gateway_leaving", "gateway={}", g.id);
    gateway_gone(g.id, "gateway_left");
    gateway_liveness_.forget(g.id);
    return true;
  }
  log::info("gateway_register", "gateway={} control={}", g.id, g.control.to_string());
  return true;
}

bool Controller::on_load_sync(const ctl::LoadSync& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::gateway, m.gateway_id())) return false;
  GatewayState& g = gateways_[m.gateway_id()];
  g.id = m.gateway_id();
  g.last_source = sender.from;
  g.control = resolve_control(m.control_address(), m.control_port(), sender.from);
  g.egress = resolve_control(m.egress_address(), m.egress_port(), sender.from);
  g.period_ms = m.period_ms() ? m.period_ms() : cfg_.sync_period_ms;
  g.period_seq = m.period_seq();
  g.cpu_busy = m.cpu_busy();
  g.memory_capacity_bytes = m.memory_capacity_bytes();
  g.draining_reported = m.draining();
  g.last_sync_ns = now_ns_;
  ++g.syncs;
  g.ports.resize(static_cast<size_t>(m.ports_size()));
  LoadSample sample;
  const auto n = static_cast<Eigen::Index>(m.ports_size());
  sample.bandwidth_bps.resize(n);
  sample.bandwidth_capacity_bps.resize(n);
  sample.memory_bytes.resize(n);
  sample.memory_capacity_bytes.resize(n);
  for (int i = 0; i < m.ports_size(); ++i) {
    const ctl::PortLoad& p = m.ports(i);
    PortState& ps = g.ports[static_cast<size_t>(i)];
    ps.address = p.address().empty() || p.address() == "0.0.0.0" ? sender.from.host() : p.address();
    ps.port = p.port();
    ps.bandwidth_bps = p.bandwidth_bps();
    ps.bandwidth_capacity_bps = p.bandwidth_capacity_bps();
    ps.memory_bytes = p.memory_bytes();
    ps.memory_capacity_bytes = p.memory_capacity_bytes();
    ps.reported_streams = p.stream_count();
    sample.bandwidth_bps(i) = p.bandwidth_bps();
    sample.bandwidth_capacity_bps(i) = p.bandwidth_capacity_bps();
    sample.memory_bytes(i) = p.memory_bytes();
    sample.memory_capacity_bytes(i) = p.memory_capacity_bytes();
  }
  sample.cpu_busy = m.cpu_busy();
  sample.memory_capacity_total = m.memory_capacity_bytes();
  load_model_.observe(g.id, sample);
  if (gateway_liveness_.heard(g.id, now_ns_, g.period_ms))
    log::info("gateway_up", "gateway={} ports={} control={}", g.id, g.ports.size(), g.control.to_string());
  const bool was_alive = g.alive;
  g.alive = true;
  // A gateway (back) up: GPU servers get its pair key now, before its first unit.
  if (!was_alive)
    for (uint32_t id : steering_.ids())
      if (const GpuServer* gpu = steering_.find(id)) send_peer_keys(*gpu);
  return true;
}

void Controller::adopt_stream(const ctl::StreamEntry& e, uint32_t gateway_id) {
  StreamState s;
  s.stream_id = e.stream_id();
  s.gateway_id = gateway_id;
  // The owner as the controller admitted it, kept by the gateway: without it any device
  // could close or take over a stream adopted after a restart.
  s.device_id = e.device_id();
  const GatewayState& g = gateways_.at(gateway_id);
  for (size_t i = 0; i < g.ports.size(); ++i)
    if (g.ports[i].port == e.data_port()) s.port_index = static_cast<uint32_t>(i);
  s.source_address = e.source_address();
  s.source_port = e.source_port();
  // Left not valid when the gateway does not know it (or it is not numeric): commands
  // reach the device again once it asks for the stream.
  make_endpoint(e.device_control_address(), e.device_control_port(), s.device_control);
  s.bandwidth_bps = e.bandwidth_bps();
  s.memory_bytes = e.memory_bytes();
  if (e.unit_bytes() != 0) s.unit_bytes = e.unit_bytes();
  s.last_unit_seq = e.last_unit_seq();
  s.gpu_id = e.gpu_id();
  s.confirmed = true;
  s.assigned_ns = now_ns_;
  if (s.gpu_id != 0) steering_.book(s.gpu_id, s.units_per_s());
  if (s.stream_id >= next_stream_id_) next_stream_id_ = s.stream_id + 1;
  log::info("stream_adopted", "stream={} gateway={} gpu={}", s.stream_id, gateway_id, s.gpu_id);
  ++streams_per_device_[s.device_id];
  add_home(streams_.emplace(s.stream_id, std::move(s)).first->second);
}

bool Controller::on_stream_sync(const ctl::StreamSync& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::gateway, m.gateway_id())) return false;
  auto git = gateways_.find(m.gateway_id());
  if (git == gateways_.end() || !git->second.alive) {
    reject("unknown_node");  // a StreamSync before any LoadSync: wait for the next period
    return true;             // a well-formed sync all the same: counted as received
  }
  git->second.last_source = sender.from;
  for (const ctl::StreamEntry& e : m.streams()) {
    auto it = streams_.find(e.stream_id());
    if (it == streams_.end()) {
      if (closed_.count(e.stream_id())) send_remove(m.gateway_id(), e.stream_id(), e.last_unit_seq());
      else adopt_stream(e, m.gateway_id());
      continue;
    }
    StreamState& s = it->second;
    // The stream's own gateway proves nothing about a switch: a stream coming back to
    // its source (its target died) has had units there all along.
    if (s.gateway_id != m.gateway_id()) executor_.on_progress(s.stream_id, m.gateway_id(), e.last_unit_seq(), now_ns_);
    if (s.gateway_id != m.gateway_id()) {
      // Listed by a gateway that no longer owns it and is not its migration target.
      if (s.target_gateway != m.gateway_id()) send_remove(m.gateway_id(), s.stream_id, e.last_unit_seq());
      continue;
    }
    s.confirmed = true;
    s.last_unit_seq = e.last_unit_seq();
    s.units_delivered = e.units_delivered();
    s.units_lost = e.units_lost();
    if (s.gpu_id != 0 && e.gpu_id() != s.gpu_id) send_steer(s);
  }
  return true;
}

bool Controller::on_stream_close(const ctl::StreamClose& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::device, m.device_id())) return false;
  auto it = streams_.find(m.stream_id());
  if (it == streams_.end()) return true;  // already gone: closing is idempotent
  StreamState& s = it->second;
  if (s.device_id != m.device_id()) {
    reject("sender_mismatch");  // someone else's stream; the close itself is well formed
    return true;
  }
  send_remove(s.gateway_id, s.stream_id, m.last_unit_seq());
  if (s.target_gateway != 0) send_remove(s.target_gateway, s.stream_id, m.last_unit_seq());
  log::info("stream_closed", "stream={} device={}", s.stream_id, m.device_id());
  forget_stream(m.stream_id());
  return true;
}

void Controller::forget_stream(uint32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  if (it->second.gpu_id != 0) steering_.release(it->second.gpu_id, it->second.units_per_s());
  closed_[stream_id] = now_ns_ + int64_t(cfg_.dead_after_periods + 1) * cfg_.sync_period_ms * 1000000;
  remove_home(it->second);
  committed_.remove_target(it->second);
  if (auto d = streams_per_device_.find(it->second.device_id); d != streams_per_device_.end() && --d->second == 0)
    streams_per_device_.erase(d);
  streams_.erase(it);
}

void Controller::add_home(const StreamState& s) {
  committed_.add_home(s);
  by_gateway_.add(s.gateway_id, s.stream_id);
}

void Controller::remove_home(const StreamState& s) {
  committed_.remove_home(s);
  by_gateway_.remove(s.gateway_id, s.stream_id);
}

bool Controller::on_heartbeat(const ctl::Heartbeat& m, const Sender& sender) {
  // Any role may send one, but only under its own sender id.
  if (m.sender_id() != sender.sender_id) {
    reject("sender_mismatch");
    return false;
  }
  if (sender.role == NodeRole::gateway) {
    // A gateway's answer to a probe: alive. Never answered (it would answer back).
    auto g = gateways_.find(sender.node);
    if (g != gateways_.end() && g->second.alive) gateway_liveness_.heard(g->first, now_ns_, g->second.period_ms);
    return true;
  }
  ctl::Heartbeat r;
  r.set_sender_id(sealer_.sender_id());
  r.set_role(ctl::ROLE_CONTROLLER);
  r.set_seq(m.seq());
  send(sender.from, m.sender_id(), MessageType::heartbeat, r);
  // The role the key and sender id carry, not the one the body claims.
  if (sender.role == NodeRole::gpu) gpu_liveness_.heard(sender.node, now_ns_, cfg_.sync_period_ms);
  return true;
}

bool Controller::on_gpu_register(const ctl::GpuRegister& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::gpu, m.gpu_id())) return false;
  if (m.leaving()) {
    log::info("gpu_leaving", "gpu={}", m.gpu_id());
    gpu_gone(m.gpu_id());
    gpu_liveness_.forget(m.gpu_id());
    return true;
  }
  GpuServer s;
  s.id = m.gpu_id();
  s.address = m.address().empty() ? sender.from.host() : m.address();
  s.port = m.port();
  s.models.assign(m.models().begin(), m.models().end());
  s.capacity_units_per_s = m.capacity_units_per_s();
  s.control = resolve_control(m.control_address(), m.control_port(), sender.from);
  const bool known = steering_.find(s.id) != nullptr;
  steering_.upsert(s);
  send_peer_keys(s);
  gpu_liveness_.heard(s.id, now_ns_, cfg_.sync_period_ms);
  if (!known) log::info("gpu_register", "gpu={} address={}:{} models={}", s.id, s.address, s.port, s.models.size());
  return true;
}

bool Controller::on_gpu_load_sync(const ctl::GpuLoadSync& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::gpu, m.gpu_id())) return false;
  if (steering_.find(m.gpu_id()) == nullptr) {
    reject("unknown_node");
    return false;
  }
  steering_.report_load(m.gpu_id(), m.load());
  gpu_liveness_.heard(m.gpu_id(), now_ns_, cfg_.sync_period_ms);
  return true;
}

bool Controller::on_migrate_ack(const ctl::MigrateAck& m, const Sender& sender) {
  const Migration* mig = executor_.find(m.migration_id());
  if (mig == nullptr) return true;  // a late duplicate of a finished migration
  MigrationPhase phase;
  bool from_right_node = false;
  switch (m.phase()) {
    case ctl::MIGRATE_EXPECT:
      phase = MigrationPhase::expect;
      from_right_node = sender.role == NodeRole::gateway && sender.node == mig->target_gateway;
      break;
    case ctl::MIGRATE_SWITCH: {
      phase = MigrationPhase::switching;
      auto it = streams_.find(mig->stream_id);
      from_right_node = sender.role == NodeRole::device && it != streams_.end() &&
                        it->second.device_id == sender.node;
      break;
    }
    case ctl::MIGRATE_RELEASE:
      phase = MigrationPhase::release;
      from_right_node = sender.role == NodeRole::gateway && sender.node == mig->source_gateway;
      break;
    default:
      reject("bad_body");
      return false;
  }
  if (!from_right_node) {
    reject("sender_mismatch");
    return false;
  }
  executor_.on_ack(m.migration_id(), phase, m.switch_unit_seq(), now_ns_);
  return true;
}

}  // namespace aigw::controller
