#include "controller/core/controller.h"

#include <algorithm>

#include "protocol/log.h"

namespace aigw::controller {

bool build_master_keys(const ControllerConfig& cfg, MasterKeys& keys, std::string& error) {
  bool has_default = false;
  for (const KeyConfig& k : cfg.keys) {
    ControlKey key;
    if (!KeyRing::parse_hex(k.hex, key)) {
      error = "key " + std::to_string(k.id) + ": not 64 hex digits";
      return false;
    }
    uint8_t roles = 0;
    for (const std::string& r : k.roles) {
      NodeRole role;
      if (parse_role(r, role)) roles |= uint8_t(1u << uint32_t(role));
    }
    keys.add(k.id, key, k.roles.empty() ? uint8_t(0xFF) : roles);
    has_default = has_default || k.id == cfg.controller_key_id;
  }
  if (!has_default) {
    error = "controller_key_id " + std::to_string(cfg.controller_key_id) + " is not among [[keys]]";
    return false;
  }
  keys.set_default_generation(cfg.controller_key_id);
  return true;
}

namespace {

std::unique_ptr<AdmissionAlgorithm> algorithm_of(const ControllerConfig& cfg) {
  AdmissionOptions o;
  o.increment.net_weight = cfg.load.weight_net;
  o.increment.memory_weight = cfg.load.weight_memory;
  parse_group_policy(cfg.admission_k_policy, o.group_policy);
  o.group_k = cfg.admission_group_k;
  auto a = make_admission(cfg.admission_algorithm, o);
  return a ? std::move(a) : make_admission("balanced", o);
}

}  // namespace

Controller::Controller(const ControllerConfig& cfg, Transport& transport, int64_t now_ns, uint64_t counter_start)
    : cfg_(cfg),
      transport_(transport),
      // Every send seals under the recipient's node key (seal_with); this key is unused.
      sealer_(make_sender_id(NodeRole::controller, cfg.controller_id), cfg.controller_key_id, ControlKey{},
              counter_start),
      opener_(masters_),
      load_model_(cfg.load),
      trigger_(cfg.trigger),
      // Gateways are probed when their report is late; GPU servers report every 100 ms-1 s
      // on their own and are judged by silence.
      gateway_liveness_(cfg.dead_after_periods, ProbePolicy{3}),
      gpu_liveness_(cfg.dead_after_periods),
      executor_(*this, counter_start) {
  std::string error;
  build_master_keys(cfg_, masters_, error);  // the daemon validated the keys before
  algorithm_ = algorithm_of(cfg_);
  executor_.set_timing({cfg_.migration_retry_ms * 1000000, cfg_.migration_retries});
  now_ns_ = started_ns_ = now_ns;
  const int64_t warmup_ms =
      cfg_.admission_warmup_ms >= 0 ? cfg_.admission_warmup_ms : int64_t(cfg_.sync_period_ms) + 100;
  warmup_end_ns_ = now_ns + warmup_ms * 1000000;
  next_round_ns_ = now_ns + int64_t(cfg_.sync_period_ms) * 1000000;
  for (uint32_t id : cfg_.drained_gateways) {
    gateways_[id].id = id;
    gateways_[id].draining_operator = true;
  }
}

Controller::~Controller() = default;

void Controller::advance_clock(int64_t now_ns) {
  const int64_t period_ns = int64_t(cfg_.sync_period_ms) * 1000000;
  if (last_event_ns_ != 0 && now_ns - last_event_ns_ > 2 * period_ns) {
    // The daemon ticks at least once a round, so this silence was ours, not theirs.
    const int64_t gap = now_ns - last_event_ns_ - period_ns;
    gateway_liveness_.excuse(gap);
    gpu_liveness_.excuse(gap);
    ++metrics_.stalls;
    log::warn("controller_stalled", "gap_ms={}", gap / 1000000);
  }
  last_event_ns_ = now_ns_ = now_ns;
}

void Controller::check_liveness() {
  for (uint32_t id : gateway_liveness_.probes_due(now_ns_)) {
    auto g = gateways_.find(id);
    if (g == gateways_.end() || !g->second.alive) continue;
    ctl::Heartbeat probe;
    probe.set_sender_id(sealer_.sender_id());
    probe.set_role(ctl::ROLE_CONTROLLER);
    probe.set_seq(++metrics_.gateway_probes);
    send(g->second.control, make_sender_id(NodeRole::gateway, id), MessageType::heartbeat, probe);
  }
  for (uint32_t id : gateway_liveness_.expire(now_ns_)) gateway_gone(id, "gateway_dead");
  for (uint32_t id : gpu_liveness_.expire(now_ns_)) gpu_gone(id);
}

void Controller::poll(int64_t now_ns) {
  advance_clock(now_ns);
  check_liveness();
  if (window_end_ns_ != 0 && now_ns >= window_end_ns_ && now_ns >= warmup_end_ns_) decide_window();
  executor_.poll(now_ns);
  if (now_ns >= next_round_ns_) {
    control_round();
    next_round_ns_ = now_ns + int64_t(cfg_.sync_period_ms) * 1000000;
  }
}

int64_t Controller::next_deadline_ns() const {
  int64_t next = std::min({next_round_ns_, executor_.next_deadline_ns(), gateway_liveness_.next_deadline_ns(),
                           gpu_liveness_.next_deadline_ns()});
  if (window_end_ns_ != 0) next = std::min(next, std::max(window_end_ns_, warmup_end_ns_));
  return next;
}

bool Controller::apply_config(const ControllerConfig& next, std::string& error) {
  if (!validate_config(next, error)) return false;
  if (!is_admission_name(next.admission_algorithm)) {
    error = "unknown admission algorithm " + next.admission_algorithm;
    return false;
  }
  cfg_ = next;
  algorithm_ = algorithm_of(cfg_);
  load_model_.set_params(cfg_.load);
  trigger_.set_params(cfg_.trigger);
  gateway_liveness_.set_dead_after(cfg_.dead_after_periods);
  gpu_liveness_.set_dead_after(cfg_.dead_after_periods);
  executor_.set_timing({cfg_.migration_retry_ms * 1000000, cfg_.migration_retries});
  log::Level level;
  if (log::parse_level(cfg_.log_level, level)) log::set_level(level);
  next_round_ns_ = std::min(next_round_ns_, now_ns_ + int64_t(cfg_.sync_period_ms) * 1000000);
  return true;
}

bool Controller::set_drain(uint32_t gateway_id, bool drain, std::string& error) {
  auto it = gateways_.find(gateway_id);
  if (it == gateways_.end()) {
    error = "unknown gateway " + std::to_string(gateway_id);
    return false;
  }
  it->second.draining_operator = drain;
  auto& list = cfg_.drained_gateways;
  list.erase(std::remove(list.begin(), list.end(), gateway_id), list.end());
  if (drain) list.push_back(gateway_id);
  log::info(drain ? "gateway_drain" : "gateway_undrain", "gateway={}", gateway_id);
  return true;
}

bool Controller::migrate(uint32_t stream_id, uint32_t gateway_id, bool dry_run, int64_t now_ns, std::string& error,
                         uint64_t& migration_id) {
  now_ns_ = now_ns;
  migration_id = 0;
  error.clear();
  auto s = streams_.find(stream_id);
  auto g = gateways_.find(gateway_id);
  if (s == streams_.end()) error = "unknown stream " + std::to_string(stream_id);
  else if (g == gateways_.end() || !g->second.alive) error = "gateway " + std::to_string(gateway_id) + " is not live";
  else if (s->second.gateway_id == gateway_id) error = "stream already on gateway " + std::to_string(gateway_id);
  else if (executor_.migrating(stream_id)) error = "stream is already migrating";
  else if (g->second.draining()) error = "gateway is draining";
  if (!error.empty()) return false;
  const uint32_t port = pick_port(gateway_id, s->second);
  if (port == UINT32_MAX) {
    error = "no port of gateway " + std::to_string(gateway_id) + " has room for the stream";
    return false;
  }
  if (dry_run) return true;
  migration_id = start_migration(s->second, gateway_id, port, "operator");
  if (migration_id == 0) {
    error = "could not start";
    return false;
  }
  return true;
}

}  // namespace aigw::controller
