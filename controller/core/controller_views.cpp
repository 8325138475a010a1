// Read-only views of the controller for aigwctl, the HTTP JSON API and Prometheus.
#include <fmt/format.h>

#include <algorithm>

#include "controller/core/controller.h"

namespace aigw::controller {

using Json = nlohmann::json;

Json Controller::status_json(int64_t now_ns) const {
  size_t live = 0, draining = 0;
  for (const auto& [id, g] : gateways_) {
    live += g.alive;
    draining += g.alive && g.draining();
  }
  Json j;
  j["controller_id"] = cfg_.controller_id;
  j["sender_id"] = sealer_.sender_id();
  j["uptime_s"] = double(now_ns - started_ns_) / 1e9;
  j["warming_up"] = now_ns < warmup_end_ns_;
  j["admission_algorithm"] = std::string(algorithm_->name());
  j["gateways_live"] = live;
  j["gateways_draining"] = draining;
  j["gateways_known"] = gateways_.size();
  j["streams"] = streams_.size();
  j["gpus"] = steering_.ids().size();
  j["migrations_active"] = executor_.size();
  j["lsd"] = last_snapshot_.lsd;
  j["mean_forecast_load"] = last_snapshot_.mean_forecast;
  j["theta"] = cfg_.trigger.theta;
  j["balancing"] = trigger_.active();
  j["periods_over_theta"] = trigger_.periods_over();
  j["pending_requests"] = pending_.size();
  return j;
}

Json Controller::gateways_json() const {
  Json arr = Json::array();
  for (const auto& [id, g] : gateways_) {
    Json j;
    j["id"] = id;
    j["alive"] = g.alive;
    j["draining"] = g.draining();
    j["control"] = g.control.to_string();
    j["period_ms"] = g.period_ms;
    j["cpu_busy"] = g.cpu_busy;
    j["streams"] = committed_.streams_on(id);
    if (const GatewayLoad* gl = load_model_.find(id)) {
      j["load"] = gl->load;
      j["forecast"] = gl->predicted(cfg_.load.forecast_horizon);
      j["net"] = gl->net;
      j["memory"] = gl->mem;
      j["cpu"] = gl->cpu;
    }
    j["ports"] = Json::array();
    for (const auto& p : g.ports)
      j["ports"].push_back({{"address", p.address},
                            {"port", p.port},
                            {"bandwidth_bps", p.bandwidth_bps},
                            {"bandwidth_capacity_bps", p.bandwidth_capacity_bps},
                            {"memory_bytes", p.memory_bytes},
                            {"memory_capacity_bytes", p.memory_capacity_bytes},
                            {"streams", p.reported_streams}});
    arr.push_back(std::move(j));
  }
  return arr;
}

namespace {

Json stream_row(uint32_t id, const StreamState& s) {
  Json j;
  j["id"] = id;
  j["device"] = s.device_id;
  j["gateway"] = s.gateway_id;
  j["port_index"] = s.port_index;
  j["gpu"] = s.gpu_id;
  j["model"] = s.model;
  j["bandwidth_bps"] = s.bandwidth_bps;
  j["memory_bytes"] = s.memory_bytes;
  j["last_unit_seq"] = s.last_unit_seq;
  j["units_delivered"] = s.units_delivered;
  j["units_lost"] = s.units_lost;
  j["units_lost_failover"] = s.units_lost_failover;
  j["confirmed"] = s.confirmed;
  j["migrating_to"] = s.target_gateway;
  j["device_control"] = s.device_control.to_string();
  return j;
}

}  // namespace

Json Controller::streams_json(const StreamPageQuery& q) const {
  const size_t limit = std::max<uint32_t>(q.limit, 1);  // a page always moves the cursor
  Json arr = Json::array();
  Json next = nullptr;
  size_t total = 0;
  // Both walks start at the first id after the cursor and stop one past the page,
  // so a page never reads the streams before or beyond it.
  if (q.gateway) {
    const std::set<uint32_t>& ids = by_gateway_.on(*q.gateway);
    total = ids.size();
    for (auto it = ids.upper_bound(q.after); it != ids.end(); ++it) {
      if (arr.size() == limit) {
        next = arr.back()["id"];
        break;
      }
      arr.push_back(stream_row(*it, streams_.at(*it)));
    }
  } else {
    total = streams_.size();
    for (auto it = streams_.upper_bound(q.after); it != streams_.end(); ++it) {
      if (arr.size() == limit) {
        next = arr.back()["id"];
        break;
      }
      arr.push_back(stream_row(it->first, it->second));
    }
  }
  return {{"streams", std::move(arr)}, {"next", std::move(next)}, {"total", total}};
}

Json Controller::gpus_json() const {
  Json arr = Json::array();
  for (uint32_t id : steering_.ids()) {
    const GpuServer* g = steering_.find(id);
    arr.push_back({{"id", id},
                   {"address", g->address},
                   {"port", g->port},
                   {"models", g->models},
                   {"capacity_units_per_s", g->capacity_units_per_s},
                   {"load", steering_.estimated_load(id)},
                   {"streams", steering_.streams_on(id)}});
  }
  return arr;
}

Json Controller::migrations_json() const {
  Json arr = Json::array();
  for (const Migration& m : executor_.list())
    arr.push_back({{"id", m.id},
                   {"stream", m.stream_id},
                   {"from", m.source_gateway},
                   {"to", m.target_gateway},
                   {"switch_unit_seq", m.switch_unit_seq},
                   {"phase", to_string(m.phase)},
                   {"attempts", m.attempts},
                   {"reason", m.reason}});
  return arr;
}

std::string Controller::prometheus(int64_t now_ns) const {
  std::string out;
  PromText w(out);
  write_family(w, "aigw_controller_rx_messages_total", "Authenticated control messages handled, by type.", "type",
               metrics_.rx_messages);
  write_family(w, "aigw_controller_rx_rejected_total", "Control datagrams rejected, by reason.", "reason",
               metrics_.rx_rejected);
  write_family(w, "aigw_controller_tx_messages_total", "Control messages sent, by type.", "type",
               metrics_.tx_messages);
  write_family(w, "aigw_controller_admissions_total", "Admission replies, by status.", "status", metrics_.admissions);
  write_family(w, "aigw_controller_admissions_refused_total",
               "Admission requests refused as invalid, by the rule they broke.", "reason", metrics_.admissions_refused);
  write_family(w, "aigw_controller_migrations_started_total", "Migrations started, by reason.", "reason",
               metrics_.migrations_started);
  write_family(w, "aigw_controller_migrations_finished_total", "Migrations ended, by outcome.", "outcome",
               metrics_.migrations_finished);
  const auto counter = PromType::counter;
  const auto gauge = PromType::gauge;
  w.metric("aigw_controller_tx_errors_total", counter, "Control messages that could not be sent.", metrics_.tx_errors);
  w.metric("aigw_controller_gpu_resteers_total", counter, "Streams moved to another GPU server.", metrics_.resteers);
  w.metric("aigw_controller_gateway_failures_total", counter, "Gateways declared dead or gone.",
           metrics_.gateway_deaths);
  w.metric("aigw_controller_gateway_probes_total", counter, "Heartbeats sent to gateways whose load report was late.",
           metrics_.gateway_probes);
  w.metric("aigw_controller_stalls_total", counter,
           "Times the controller had not run for over two rounds (its silence excused every node).", metrics_.stalls);
  w.metric("aigw_controller_failover_units_lost_total", counter,
           "Units sent to a gateway that died before reporting them finished (lost with it).",
           metrics_.failover_units_lost);
  w.metric("aigw_controller_admission_windows_total", counter, "Admission decision windows run.",
           metrics_.admission_windows);
  w.metric("aigw_controller_admission_decision_seconds_total", counter, "Time spent in admission algorithms.",
           double(metrics_.admission_decision_ns_sum) / 1e9);
  w.metric("aigw_controller_streams", gauge, "Streams in the stream-access table.", streams_.size());
  w.metric("aigw_controller_migrations_active", gauge, "Migrations under way.", executor_.size());
  w.metric("aigw_controller_load_stddev", gauge, "LSD of the forecast gateway load.", last_snapshot_.lsd);
  w.metric("aigw_controller_uptime_seconds", gauge, "Seconds since start.", double(now_ns - started_ns_) / 1e9);
  w.family("aigw_controller_gateway_up", gauge, "1 while the gateway is live.");
  for (const auto& [id, g] : gateways_) w.sample({{"gateway", id}}, g.alive);
  w.family("aigw_controller_gateway_load", gauge, "Load degree L of the gateway.");
  for (const auto& [id, g] : gateways_)
    if (const GatewayLoad* gl = load_model_.find(id)) w.sample({{"gateway", id}}, gl->load);
  w.family("aigw_controller_gateway_load_forecast", gauge, "Forecast load degree F(t+m) of the gateway.");
  for (const auto& [id, g] : gateways_)
    if (const GatewayLoad* gl = load_model_.find(id))
      w.sample({{"gateway", id}}, gl->predicted(cfg_.load.forecast_horizon));
  w.family("aigw_controller_gpu_load", gauge, "Estimated load of the GPU server.");
  for (uint32_t id : steering_.ids()) w.sample({{"gpu", id}}, steering_.estimated_load(id));
  return out;
}

}  // namespace aigw::controller
