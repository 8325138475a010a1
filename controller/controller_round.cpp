// The periodic control round: liveness, GPU steering, assignment reconciliation, load
// prediction and migration; and the migration commands themselves.
#include "controller/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

void Controller::control_round() {
  for (uint32_t id : gateway_liveness_.expire(now_ns_)) gateway_gone(id, "gateway_dead");
  for (uint32_t id : gpu_liveness_.expire(now_ns_)) gpu_gone(id);
  rebalance_gpus();

  // Assignments not yet confirmed by the gateway's StreamSync are re-sent once a period.
  const int64_t period_ns = int64_t(cfg_.sync_period_ms) * 1000000;
  for (auto& [id, s] : streams_)
    if (!s.confirmed && s.target_gateway == 0 && now_ns_ - s.assigned_ns >= period_ns) send_assign(s, false, 0);

  std::vector<uint32_t> live;
  for (const auto& [id, g] : gateways_)
    if (g.alive) live.push_back(id);
  last_snapshot_ = load_model_.evaluate(live);
  const bool balance = trigger_.update(last_snapshot_.lsd);
  if (cfg_.migration_enabled && now_ns_ >= warmup_end_ns_) {
    planning_ = balance;
    plan_migrations();
  }
  for (auto it = replies_.begin(); it != replies_.end();)
    it = it->second.expires_ns <= now_ns_ ? replies_.erase(it) : std::next(it);
  for (auto it = closed_.begin(); it != closed_.end();)
    it = it->second <= now_ns_ ? closed_.erase(it) : std::next(it);
}

void Controller::gateway_gone(uint32_t id, const char* reason) {
  auto git = gateways_.find(id);
  if (git == gateways_.end()) return;
  git->second.alive = false;
  ++metrics_.gateway_deaths;
  load_model_.forget(id);
  std::vector<uint32_t> orphans;
  for (auto& [sid, s] : streams_)
    if (s.gateway_id == id && !executor_.migrating(sid)) orphans.push_back(sid);
  log::warn("gateway_down", "gateway={} reason={} streams={}", id, reason, orphans.size());
  if (orphans.empty()) return;

  // Re-admit them together on the gateways that are left.
  std::vector<AdmissionTarget> targets = admission_targets(id);
  std::vector<AdmissionDemand> demands;
  for (uint32_t sid : orphans) demands.push_back({streams_[sid].bandwidth_bps, streams_[sid].memory_bytes});
  std::vector<int32_t> out;
  algorithm_->decide(targets, demands, out);
  for (size_t k = 0; k < orphans.size(); ++k) {
    StreamState& s = streams_[orphans[k]];
    if (out[k] != kRejected) {
      const AdmissionTarget& t = targets[static_cast<size_t>(out[k])];
      start_migration(s, t.gateway_id, t.port_index, true, reason);
      continue;
    }
    log::warn("stream_dropped", "stream={} reason=no_capacity_after_{}", s.stream_id, reason);
    send_stream_close(s);
    forget_stream(orphans[k]);
  }
}

void Controller::gpu_gone(uint32_t id) {
  if (steering_.find(id) == nullptr) return;
  log::warn("gpu_down", "gpu={} streams={}", id, steering_.streams_on(id));
  steering_.remove(id);
  rebalance_gpus();
}

void Controller::rebalance_gpus() {
  std::vector<SteeredStream> steered;
  steered.reserve(streams_.size());
  for (const auto& [id, s] : streams_) steered.push_back({id, s.gpu_id, s.model, s.units_per_s()});
  for (const Resteer& r : steering_.rebalance(steered, cfg_.gpu)) {
    StreamState& s = streams_[r.stream_id];
    s.gpu_id = r.to;
    ++metrics_.resteers;
    log::info("stream_resteered", "stream={} from_gpu={} to_gpu={}", r.stream_id, r.from, r.to);
    if (r.to != 0) send_steer(s);
  }
}

std::vector<PlanGateway> Controller::plan_input() const {
  std::vector<PlanGateway> out;
  std::map<uint32_t, size_t> index;
  const std::vector<AdmissionTarget> targets = admission_targets(0);
  for (const auto& [id, g] : gateways_) {
    const GatewayLoad* gl = load_model_.find(id);
    if (!g.alive || gl == nullptr) continue;
    PlanGateway p;
    p.gateway_id = id;
    p.load = gl->predicted(cfg_.load.forecast_horizon);
    p.vmax_total = std::max(gl->vmax_total(), 1.0);
    p.mmax = std::max(gl->mmax, 1.0);
    const double bw = gl->bandwidth.sum();
    p.cpu_per_bps = bw > 0 ? gl->cpu / bw : 0;
    p.draining = g.draining();
    // Remaining capacity of the gateway as a whole (the best port is picked on moving).
    p.bw_left = 0;
    p.mem_left = 0;
    for (const AdmissionTarget& t : targets) {
      if (t.gateway_id != id) continue;
      p.bw_left = std::max(p.bw_left, t.bw_remaining);
      p.mem_left = std::max(p.mem_left, t.mem_remaining);
    }
    index[id] = out.size();
    out.push_back(std::move(p));
  }
  for (const auto& [sid, s] : streams_) {
    auto it = index.find(s.gateway_id);
    if (it == index.end()) continue;
    const bool movable = !executor_.migrating(sid) && now_ns_ >= s.cooldown_until_ns && s.confirmed;
    out[it->second].streams.push_back({sid, s.bandwidth_bps, s.memory_bytes, movable});
  }
  return out;
}

void Controller::plan_migrations() {
  const std::vector<PlanGateway> input = plan_input();
  PlanParams pp;
  pp.max_moves = cfg_.migration_max_moves > executor_.size() ? cfg_.migration_max_moves - uint32_t(executor_.size()) : 0;
  pp.weight_cpu = cfg_.load.weight_cpu;
  pp.weight_memory = cfg_.load.weight_memory;
  pp.weight_net = cfg_.load.weight_net;
  if (pp.max_moves == 0) return;
  Plan plan = plan_drain(input, pp);
  const char* reason = "drain";
  if (plan.moves.empty() && planning_) {
    plan = plan_balance(input, pp);
    reason = "balance";
    if (!plan.moves.empty())
      log::info("migration_plan", "lsd={:.4f} predicted_lsd={:.4f} moves={}", plan.lsd_before, plan.lsd_after,
                plan.moves.size());
  }
  for (const Move& m : plan.moves) {
    StreamState& s = streams_[m.stream_id];
    const uint32_t port = pick_port(m.to, s);
    if (port != UINT32_MAX) start_migration(s, m.to, port, false, reason);
  }
}

uint32_t Controller::pick_port(uint32_t gateway_id, const StreamState& s) const {
  uint32_t best = UINT32_MAX;
  double best_left = 0;
  for (const AdmissionTarget& t : admission_targets(0)) {
    if (t.gateway_id != gateway_id || !fits(t.bw_remaining, t.mem_remaining, {s.bandwidth_bps, s.memory_bytes})) continue;
    if (best == UINT32_MAX || t.bw_remaining > best_left) {
      best = t.port_index;
      best_left = t.bw_remaining;
    }
  }
  return best;
}

uint64_t Controller::start_migration(StreamState& s, uint32_t target, uint32_t port, bool source_dead, const char* reason) {
  const uint32_t seq = source_dead ? s.last_unit_seq + 1 : s.last_unit_seq + cfg_.migration_switch_margin;
  s.target_gateway = target;
  s.target_port = port;
  const uint64_t id = executor_.start(s.stream_id, s.gateway_id, target, seq, source_dead, reason, now_ns_);
  if (id == 0) {
    s.target_gateway = 0;
    return 0;
  }
  metrics_.migrations_started.inc(reason);
  log::info("migration_start", "migration={} stream={} from={} to={} switch_seq={} reason={}", id, s.stream_id,
            s.gateway_id, target, seq, reason);
  return id;
}

void Controller::send_expect(const Migration& m) {
  auto s = streams_.find(m.stream_id);
  auto t = gateways_.find(m.target_gateway);
  if (s == streams_.end() || t == gateways_.end() || s->second.target_port >= t->second.ports.size()) return;
  const PortState& port = t->second.ports[s->second.target_port];
  ctl::MigrateCommand c;
  c.set_migration_id(m.id);
  c.set_phase(ctl::MIGRATE_EXPECT);
  c.set_stream_id(m.stream_id);
  c.set_switch_unit_seq(m.switch_unit_seq);
  c.set_target_gateway_id(m.target_gateway);
  c.set_gateway_address(port.address);
  c.set_gateway_port(port.port);
  c.set_source_gateway_id(m.source_gateway);
  c.set_reason(m.reason);
  fill_entry(s->second, port.port, *c.mutable_stream());
  {
    const auto [gpu_addr, gpu_port] = gpu_endpoint(s->second.gpu_id);
    c.set_gpu_address(gpu_addr);
    c.set_gpu_port(gpu_port);
  }
  send(t->second.control, MessageType::migrate_command, c);
}

void Controller::send_switch(const Migration& m) {
  auto s = streams_.find(m.stream_id);
  auto t = gateways_.find(m.target_gateway);
  if (s == streams_.end() || t == gateways_.end() || s->second.target_port >= t->second.ports.size()) return;
  const PortState& port = t->second.ports[s->second.target_port];
  ctl::MigrateCommand c;
  c.set_migration_id(m.id);
  c.set_phase(ctl::MIGRATE_SWITCH);
  c.set_stream_id(m.stream_id);
  c.set_switch_unit_seq(m.switch_unit_seq);
  c.set_target_gateway_id(m.target_gateway);
  c.set_gateway_address(port.address);
  c.set_gateway_port(port.port);
  c.set_source_gateway_id(m.source_gateway);
  c.set_reason(m.reason);
  send(s->second.device_control, MessageType::migrate_command, c);
}

void Controller::send_release(const Migration& m) {
  auto src = gateways_.find(m.source_gateway);
  auto t = gateways_.find(m.target_gateway);
  auto s = streams_.find(m.stream_id);
  if (src == gateways_.end() || t == gateways_.end() || s == streams_.end()) return;
  ctl::MigrateCommand c;
  c.set_migration_id(m.id);
  c.set_phase(ctl::MIGRATE_RELEASE);
  c.set_stream_id(m.stream_id);
  c.set_switch_unit_seq(m.switch_unit_seq);
  c.set_target_gateway_id(m.target_gateway);
  if (s->second.target_port < t->second.ports.size()) {
    c.set_gateway_address(t->second.ports[s->second.target_port].address);
    c.set_gateway_port(t->second.ports[s->second.target_port].port);
  }
  c.set_source_gateway_id(m.source_gateway);
  c.set_reason(m.reason);
  send(src->second.control, MessageType::migrate_command, c);
}

void Controller::finished(const Migration& m, MigrationOutcome o) {
  metrics_.migrations_finished.inc(to_string(o));
  auto it = streams_.find(m.stream_id);
  log::info("migration_end", "migration={} stream={} outcome={}", m.id, m.stream_id, to_string(o));
  if (it == streams_.end()) return;  // closed meanwhile
  StreamState& s = it->second;
  const bool moved = o == MigrationOutcome::completed || o == MigrationOutcome::completed_unacked;
  if (moved) {
    s.gateway_id = m.target_gateway;
    s.port_index = s.target_port;
    s.first_unit_seq = m.switch_unit_seq;
    s.confirmed = false;
    s.assigned_ns = now_ns_;
    s.cooldown_until_ns = now_ns_ + cfg_.migration_cooldown_ms * 1000000;
  } else {
    send_remove(m.target_gateway, m.stream_id, 0);
  }
  s.target_gateway = 0;
  s.target_port = 0;
  if (!moved && m.source_dead) {
    // Its gateway is dead and the new one never took it: the device must re-apply.
    send_stream_close(s);
    forget_stream(m.stream_id);
  }
}

}  // namespace aigw::controller
