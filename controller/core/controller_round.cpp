// The periodic control round: liveness, GPU steering, assignment reconciliation, load
// prediction and migration; and the migration commands themselves.
#include <set>

#include "controller/core/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

void Controller::control_round() {
  rebalance_gpus();
  // Every round, so a GPU server that missed one (or a gateway that just joined) has
  // the pair keys it needs to ack units within a period.
  for (uint32_t id : steering_.ids())
    if (const GpuServer* g = steering_.find(id)) send_peer_keys(*g);

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
  // Orphans, with the first unit of each that may have been sent to the dead gateway.
  std::map<uint32_t, uint32_t> orphans;
  for (auto& [sid, s] : streams_)
    if (s.gateway_id == id && !executor_.migrating(sid)) orphans[sid] = s.last_unit_seq + 1;
  const size_t aborted = abort_migrations_to(id, orphans);
  log::warn("gateway_down", "gateway={} reason={} streams={} migrations_aborted={}", id, reason, orphans.size(),
            aborted);
  if (orphans.empty()) return;

  // Re-admit them together on the gateways that are left.
  std::vector<AdmissionTarget> targets = admission_targets(id);
  std::vector<AdmissionDemand> demands;
  for (const auto& [sid, from] : orphans) demands.push_back({streams_[sid].bandwidth_bps, streams_[sid].memory_bytes});
  std::vector<int32_t> out;
  algorithm_->decide(targets, demands, out);
  size_t k = 0;
  for (const auto& [sid, from] : orphans) {
    StreamState& s = streams_[sid];
    if (const int32_t t = out[k++]; t != kRejected) {
      start_failover(s, id, targets[size_t(t)].gateway_id, targets[size_t(t)].port_index, from, reason);
      continue;
    }
    log::warn("stream_dropped", "stream={} reason=no_capacity_after_{}", sid, reason);
    send_stream_close(s);
    forget_stream(sid);
  }
}

size_t Controller::abort_migrations_to(uint32_t id, std::map<uint32_t, uint32_t>& orphans) {
  std::vector<uint32_t> headed_here;
  for (const Migration& m : executor_.list())
    if (m.target_gateway == id) headed_here.push_back(m.stream_id);
  for (uint32_t sid : headed_here) {
    const std::optional<Migration> m = executor_.cancel(sid);
    StreamState& s = streams_[sid];
    set_target(s, 0, 0);
    unsettle(m->source_gateway);
    metrics_.migrations_finished.inc(to_string(MigrationOutcome::aborted_target_dead));
    log::warn("migration_end", "migration={} stream={} outcome=aborted_target_dead phase={}", m->id, sid,
              to_string(m->phase));
    if (m->source_dead) {
      // A failover whose new home died too: the device sends to one dead gateway or
      // the other, from the failover's first unit on.
      orphans[sid] = m->planned_switch_seq;
      continue;
    }
    if (m->phase == MigrationPhase::expect) continue;  // the device never left its gateway
    // Units before the (planned or actual) switch point went to the source; later ones
    // may have gone to the dead target, except those it reported finished.
    uint32_t first = m->switch_unit_seq;
    if (m->target_reported && static_cast<int32_t>(m->target_last_seq + 1 - first) > 0) first = m->target_last_seq + 1;
    const auto src = gateways_.find(s.gateway_id);
    if (src != gateways_.end() && src->second.alive && s.port_index < src->second.ports.size()) {
      // The source still holds the stream, or takes it again (EXPECT carries all it
      // needs); its demand is still booked there.
      start_failover(s, id, s.gateway_id, s.port_index, first, "target_dead");
      continue;
    }
    orphans[sid] = first;
  }
  return headed_here.size();
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

std::vector<PlanGateway> Controller::settled(std::vector<PlanGateway> input) const {
  // Without this, the next rounds would plan the same moves again on the stale
  // measurements and overshoot (everything ends up on the first target).
  std::set<uint32_t> busy;
  for (const Migration& m : executor_.list()) {
    busy.insert(m.source_gateway);
    busy.insert(m.target_gateway);
  }
  for (PlanGateway& g : input) {
    const auto it = gateways_.find(g.gateway_id);
    if (!busy.count(g.gateway_id) && (it == gateways_.end() || now_ns_ >= it->second.settled_ns)) continue;
    g.bw_left = 0;  // neither gives nor takes streams; its load still counts for the mean
    g.mem_left = 0;
    for (PlanStream& s : g.streams) s.movable = false;
  }
  return input;
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
    plan = plan_balance(settled(input), pp);
    reason = "balance";
    if (!plan.moves.empty())
      log::info("migration_plan", "lsd={:.4f} predicted_lsd={:.4f} moves={}", plan.lsd_before, plan.lsd_after,
                plan.moves.size());
  }
  for (const Move& m : plan.moves) {
    StreamState& s = streams_[m.stream_id];
    const uint32_t port = pick_port(m.to, s);
    if (port != UINT32_MAX) start_migration(s, m.to, port, reason);
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

uint64_t Controller::start_migration(StreamState& s, uint32_t target, uint32_t port, const char* reason) {
  return begin_migration(s, s.gateway_id, target, port, s.last_unit_seq + cfg_.migration_switch_margin, false, reason);
}

uint64_t Controller::start_failover(StreamState& s, uint32_t dead, uint32_t target, uint32_t port, uint32_t from_seq,
                                    const char* reason) {
  return begin_migration(s, dead, target, port, from_seq, true, reason);
}

uint64_t Controller::begin_migration(StreamState& s, uint32_t source, uint32_t target, uint32_t port, uint32_t seq,
                                     bool source_dead, const char* reason) {
  if (executor_.migrating(s.stream_id)) return 0;
  set_target(s, target, port);
  const uint64_t id = executor_.start(s.stream_id, source, target, seq, source_dead, reason, now_ns_);
  metrics_.migrations_started.inc(reason);
  log::info("migration_start", "migration={} stream={} from={} to={} switch_seq={} reason={}", id, s.stream_id,
            source, target, seq, reason);
  return id;
}

void Controller::set_target(StreamState& s, uint32_t gateway_id, uint32_t port_index) {
  committed_.remove_target(s);
  s.target_gateway = gateway_id;
  s.target_port = port_index;
  committed_.add_target(s);
}

ctl::MigrateCommand Controller::migrate_command(const Migration& m, ctl::MigratePhase phase) const {
  ctl::MigrateCommand c;
  c.set_migration_id(m.id);
  c.set_phase(phase);
  c.set_stream_id(m.stream_id);
  c.set_switch_unit_seq(m.switch_unit_seq);
  c.set_target_gateway_id(m.target_gateway);
  c.set_source_gateway_id(m.source_gateway);
  c.set_reason(m.reason);
  auto s = streams_.find(m.stream_id);
  auto t = gateways_.find(m.target_gateway);
  if (s != streams_.end() && t != gateways_.end() && s->second.target_port < t->second.ports.size()) {
    const PortState& port = t->second.ports[s->second.target_port];
    c.set_gateway_address(port.address);
    c.set_gateway_port(port.port);
  }
  return c;
}

void Controller::send_expect(const Migration& m) {
  auto s = streams_.find(m.stream_id);
  auto t = gateways_.find(m.target_gateway);
  if (s == streams_.end() || t == gateways_.end() || s->second.target_port >= t->second.ports.size()) return;
  ctl::MigrateCommand c = migrate_command(m, ctl::MIGRATE_EXPECT);
  fill_entry(s->second, c.gateway_port(), *c.mutable_stream());
  const auto [gpu_addr, gpu_port] = gpu_endpoint(s->second.gpu_id);
  c.set_gpu_address(gpu_addr);
  c.set_gpu_port(gpu_port);
  send(t->second.control, make_sender_id(NodeRole::gateway, m.target_gateway), MessageType::migrate_command, c);
}

void Controller::send_switch(const Migration& m) {
  auto s = streams_.find(m.stream_id);
  auto t = gateways_.find(m.target_gateway);
  if (s == streams_.end() || t == gateways_.end() || s->second.target_port >= t->second.ports.size()) return;
  ctl::MigrateCommand c = migrate_command(m, ctl::MIGRATE_SWITCH);
  const uint32_t device = make_sender_id(NodeRole::device, s->second.device_id);
  uint32_t pair_key_id = 0;
  if (masters_.pair_key_box(make_sender_id(NodeRole::gateway, m.target_gateway), device, pair_key_id,
                            *c.mutable_gateway_key_box()))
    c.set_gateway_key_id(pair_key_id);
  send(s->second.device_control, device, MessageType::migrate_command, c);
}

void Controller::send_release(const Migration& m) {
  auto src = gateways_.find(m.source_gateway);
  if (src == gateways_.end() || !streams_.count(m.stream_id) || !gateways_.count(m.target_gateway)) return;
  send(src->second.control, make_sender_id(NodeRole::gateway, m.source_gateway), MessageType::migrate_command,
       migrate_command(m, ctl::MIGRATE_RELEASE));
}

void Controller::report_failover_gap(const Migration& m, StreamState& s) {
  // Units from the planned switch point (one past the last unit the dead gateway
  // reported finished) up to the device's actual switch point went to the dead
  // gateway: they are lost with it, unless it forwarded some in its last moments (the
  // GPU side then has them). Signed distance: the sequence may wrap.
  const int32_t gap = static_cast<int32_t>(m.switch_unit_seq - m.planned_switch_seq);
  if (gap <= 0) return;
  s.units_lost_failover += uint32_t(gap);
  metrics_.failover_units_lost += uint32_t(gap);
  log::warn("failover_units_lost", "stream={} gateway={} from_seq={} to_seq={} units={} reason={}", m.stream_id,
            m.source_gateway, m.planned_switch_seq, m.switch_unit_seq - 1, gap, m.reason);
}

void Controller::unsettle(uint32_t gateway_id) {
  auto it = gateways_.find(gateway_id);
  if (it != gateways_.end())
    it->second.settled_ns = now_ns_ + int64_t(cfg_.migration_settle_periods) * cfg_.sync_period_ms * 1000000;
}

void Controller::finished(const Migration& m, MigrationOutcome o) {
  metrics_.migrations_finished.inc(to_string(o));
  unsettle(m.source_gateway);
  unsettle(m.target_gateway);
  auto it = streams_.find(m.stream_id);
  log::info("migration_end", "migration={} stream={} outcome={}", m.id, m.stream_id, to_string(o));
  if (it == streams_.end()) return;  // closed meanwhile
  StreamState& s = it->second;
  const bool moved = o == MigrationOutcome::completed || o == MigrationOutcome::completed_unacked;
  if (moved && m.source_dead) report_failover_gap(m, s);
  if (moved) {
    remove_home(s);
    s.gateway_id = m.target_gateway;
    s.port_index = s.target_port;
    add_home(s);
    s.first_unit_seq = m.switch_unit_seq;
    s.confirmed = false;
    s.assigned_ns = now_ns_;
    s.cooldown_until_ns = now_ns_ + cfg_.migration_cooldown_ms * 1000000;
  } else {
    send_remove(m.target_gateway, m.stream_id, 0);
  }
  set_target(s, 0, 0);
  if (!moved && m.source_dead) {
    // Its gateway is dead and the new one never took it: the device must re-apply.
    send_stream_close(s);
    forget_stream(m.stream_id);
  }
}

}  // namespace aigw::controller
