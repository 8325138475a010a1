// Receiving side of the controller: authentication and one handler per message.
#include "controller/core/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

namespace {

template <typename M>
bool parse(const EnvelopeView& env, M& m) {
  return m.ParseFromArray(env.body, static_cast<int>(env.body_len));
}

}  // namespace

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
  const uint32_t node = node_of(env.sender_id);
  // Each message: the role that may send it, then its body, then the id inside it
  // must be the sender's own.
  auto expect = [&](NodeRole r, uint32_t body_id) {
    if (role != r || body_id != node) {
      reject("sender_mismatch");
      return false;
    }
    return true;
  };
  bool ok = true;
  switch (env.type) {
    case MessageType::gateway_register: {
      ctl::GatewayRegister m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::gateway, m.gateway_id())) on_gateway_register(m, from);
      else return;
      break;
    }
    case MessageType::load_sync: {
      ctl::LoadSync m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::gateway, m.gateway_id())) on_load_sync(m, from);
      else return;
      break;
    }
    case MessageType::stream_sync: {
      ctl::StreamSync m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::gateway, m.gateway_id())) on_stream_sync(m, from);
      else return;
      break;
    }
    case MessageType::admission_request: {
      ctl::AdmissionRequest m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::device, m.device_id())) on_admission_request(m, from);
      else return;
      break;
    }
    case MessageType::stream_close: {
      ctl::StreamClose m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::device, m.device_id())) on_stream_close(m);
      else return;
      break;
    }
    case MessageType::heartbeat: {
      ctl::Heartbeat m;
      if (!(ok = parse(env, m))) break;
      if (m.sender_id() != env.sender_id) {
        reject("sender_mismatch");
        return;
      }
      on_heartbeat(m, from, role);
      break;
    }
    case MessageType::gpu_register: {
      ctl::GpuRegister m;
      if (!(ok = parse(env, m))) break;
      if (expect(NodeRole::gpu, m.gpu_id())) on_gpu_register(m, from);
      else return;
      break;
    }
    case MessageType::gpu_load_sync: {
      ctl::GpuLoadSync m;
      if (!(ok = parse(env, m))) break;
      if (!expect(NodeRole::gpu, m.gpu_id())) return;
      if (steering_.find(m.gpu_id()) == nullptr) {
        reject("unknown_node");
        return;
      }
      on_gpu_load_sync(m);
      break;
    }
    case MessageType::migrate_ack: {
      ctl::MigrateAck m;
      if (!(ok = parse(env, m))) break;
      if (!on_migrate_ack(m, role, node)) return;
      break;
    }
    default:
      reject("unexpected_type");
      return;
  }
  if (!ok) {
    reject("bad_body");
    return;
  }
  metrics_.rx_messages.inc(to_string(env.type));
}

void Controller::on_gateway_register(const ctl::GatewayRegister& m, const UdpEndpoint& from) {
  GatewayState& g = gateways_[m.gateway_id()];
  g.id = m.gateway_id();
  g.last_source = from;
  g.control = resolve_control(m.control_address(), m.control_port(), from);
  if (m.leaving()) {
    log::info("gateway_leaving", "gateway={}", g.id);
    gateway_gone(g.id, "gateway_left");
    gateway_liveness_.forget(g.id);
    return;
  }
  log::info("gateway_register", "gateway={} control={}", g.id, g.control.to_string());
}

void Controller::on_load_sync(const ctl::LoadSync& m, const UdpEndpoint& from) {
  GatewayState& g = gateways_[m.gateway_id()];
  g.id = m.gateway_id();
  g.last_source = from;
  g.control = resolve_control(m.control_address(), m.control_port(), from);
  g.egress = resolve_control(m.egress_address(), m.egress_port(), from);
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
    ps.address = p.address().empty() || p.address() == "0.0.0.0" ? from.host() : p.address();
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

void Controller::on_stream_sync(const ctl::StreamSync& m, const UdpEndpoint& from) {
  auto git = gateways_.find(m.gateway_id());
  if (git == gateways_.end() || !git->second.alive) {
    reject("unknown_node");  // a StreamSync before any LoadSync: wait for the next period
    return;
  }
  git->second.last_source = from;
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
}

void Controller::on_stream_close(const ctl::StreamClose& m) {
  auto it = streams_.find(m.stream_id());
  if (it == streams_.end()) return;  // already gone: closing is idempotent
  StreamState& s = it->second;
  if (s.device_id != m.device_id()) {
    reject("sender_mismatch");
    return;
  }
  send_remove(s.gateway_id, s.stream_id, m.last_unit_seq());
  if (s.target_gateway != 0) send_remove(s.target_gateway, s.stream_id, m.last_unit_seq());
  log::info("stream_closed", "stream={} device={}", s.stream_id, m.device_id());
  forget_stream(m.stream_id());
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

void Controller::on_heartbeat(const ctl::Heartbeat& m, const UdpEndpoint& from, NodeRole role) {
  if (role == NodeRole::gateway) {
    // A gateway's answer to a probe: alive. Never answered (it would answer back).
    auto g = gateways_.find(node_of(m.sender_id()));
    if (g != gateways_.end() && g->second.alive) gateway_liveness_.heard(g->first, now_ns_, g->second.period_ms);
    return;
  }
  ctl::Heartbeat r;
  r.set_sender_id(sealer_.sender_id());
  r.set_role(ctl::ROLE_CONTROLLER);
  r.set_seq(m.seq());
  send(from, m.sender_id(), MessageType::heartbeat, r);
  // The role the key and sender id carry, not the one the body claims.
  if (role == NodeRole::gpu) gpu_liveness_.heard(node_of(m.sender_id()), now_ns_, cfg_.sync_period_ms);
}

void Controller::on_gpu_register(const ctl::GpuRegister& m, const UdpEndpoint& from) {
  if (m.leaving()) {
    log::info("gpu_leaving", "gpu={}", m.gpu_id());
    gpu_gone(m.gpu_id());
    gpu_liveness_.forget(m.gpu_id());
    return;
  }
  GpuServer s;
  s.id = m.gpu_id();
  s.address = m.address().empty() ? from.host() : m.address();
  s.port = m.port();
  s.models.assign(m.models().begin(), m.models().end());
  s.capacity_units_per_s = m.capacity_units_per_s();
  s.control = resolve_control(m.control_address(), m.control_port(), from);
  const bool known = steering_.find(s.id) != nullptr;
  steering_.upsert(s);
  send_peer_keys(s);
  gpu_liveness_.heard(s.id, now_ns_, cfg_.sync_period_ms);
  if (!known) log::info("gpu_register", "gpu={} address={}:{} models={}", s.id, s.address, s.port, s.models.size());
}

void Controller::on_gpu_load_sync(const ctl::GpuLoadSync& m) {
  steering_.report_load(m.gpu_id(), m.load());
  gpu_liveness_.heard(m.gpu_id(), now_ns_, cfg_.sync_period_ms);
}

bool Controller::on_migrate_ack(const ctl::MigrateAck& m, NodeRole role, uint32_t node) {
  const Migration* mig = executor_.find(m.migration_id());
  if (mig == nullptr) return true;  // a late duplicate of a finished migration
  MigrationPhase phase;
  bool from_right_node = false;
  switch (m.phase()) {
    case ctl::MIGRATE_EXPECT:
      phase = MigrationPhase::expect;
      from_right_node = role == NodeRole::gateway && node == mig->target_gateway;
      break;
    case ctl::MIGRATE_SWITCH: {
      phase = MigrationPhase::switching;
      auto it = streams_.find(mig->stream_id);
      from_right_node = role == NodeRole::device && it != streams_.end() &&
                        it->second.device_id == node;
      break;
    }
    case ctl::MIGRATE_RELEASE:
      phase = MigrationPhase::release;
      from_right_node = role == NodeRole::gateway && node == mig->source_gateway;
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
