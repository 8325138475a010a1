// Admission on the controller: requests are collected for one decision window, decided
// together by the configured algorithm, then each accepted stream is assigned to its
// gateway (StreamAssign) before the device hears back (docs/controller.md §1.4).
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "controller/core/controller.h"
#include "protocol/log.h"

namespace aigw::controller {

namespace {

constexpr int64_t kReplyCacheNs = 30'000'000'000;

ctl::AdmissionReply rejection(const ctl::AdmissionRequest& req, ctl::AdmissionStatus status, std::string reason) {
  ctl::AdmissionReply r;
  r.set_request_id(req.request_id());
  r.set_status(status);
  r.set_reason(std::move(reason));
  r.set_stream_id(req.stream_id());
  return r;
}

const char* status_name(ctl::AdmissionStatus s) {
  switch (s) {
    case ctl::ADMISSION_ACCEPTED: return "accepted";
    case ctl::ADMISSION_REJECTED_CAPACITY: return "rejected_capacity";
    case ctl::ADMISSION_REJECTED_NO_GPU: return "rejected_no_gpu";
    case ctl::ADMISSION_REJECTED_INVALID: return "rejected_invalid";
    case ctl::ADMISSION_REJECTED_NO_GATEWAY: return "rejected_no_gateway";
    default: return "unknown";
  }
}

const char* refusal_text(const std::string& rule) {
  if (rule == "bad_demand") return "unit_bytes and period_ms must be > 0 and within the admission bounds";
  if (rule == "control_address") return "the control address must be the request's source address";
  if (rule == "device_stream_cap") return "the device holds admission.max_streams_per_device streams";
  return "invalid request";
}

}  // namespace

const char* Controller::refusal(const ctl::AdmissionRequest& req, const UdpEndpoint& from) const {
  if (req.unit_bytes() == 0 || req.unit_bytes() > cfg_.admission_max_unit_bytes || req.period_ms() == 0 ||
      req.period_ms() > cfg_.admission_max_period_ms)
    return "bad_demand";
  // NACKs and commands go to the control address: a device may name only its own, or
  // one request could aim a gateway's answers at a third host.
  const std::string& control = req.control_address();
  if (!control.empty() && control != "0.0.0.0" && control != from.host()) return "control_address";
  return nullptr;
}

bool Controller::on_admission_request(ctl::AdmissionRequest& m, const Sender& sender) {
  if (!sent_by(sender, NodeRole::device, m.device_id())) return false;
  const auto key = std::make_pair(m.device_id(), m.request_id());
  auto cached = replies_.find(key);
  if (cached != replies_.end() && cached->second.expires_ns > now_ns_) {
    // A retry: the same answer, and the assignment again in case that was lost too.
    const ctl::AdmissionReply& r = cached->second.reply;
    if (r.status() == ctl::ADMISSION_ACCEPTED) {
      auto s = streams_.find(r.stream_id());
      if (s != streams_.end()) send_assign(s->second, false, 0);
    }
    send(sender.from, make_sender_id(NodeRole::device, m.device_id()), MessageType::admission_reply, r);
    return true;
  }
  for (const auto& p : pending_)
    if (p.request.device_id() == m.device_id() && p.request.request_id() == m.request_id()) return true;
  pending_.push_back({std::move(m), sender.from});
  if (window_end_ns_ == 0) window_end_ns_ = now_ns_ + static_cast<int64_t>(cfg_.admission_window_ms * 1e6);
  return true;
}

void Controller::reply(const UdpEndpoint& to, const ctl::AdmissionReply& r, const ctl::AdmissionRequest& req) {
  metrics_.admissions.inc(status_name(r.status()));
  ctl::AdmissionReply full = r;
  const uint32_t device = make_sender_id(NodeRole::device, req.device_id());
  uint32_t pair_key_id = 0;
  if (r.status() == ctl::ADMISSION_ACCEPTED &&
      masters_.pair_key_box(make_sender_id(NodeRole::gateway, r.gateway_id()), device, pair_key_id,
                            *full.mutable_gateway_key_box()))
    full.set_gateway_key_id(pair_key_id);
  replies_[{req.device_id(), req.request_id()}] = {full, now_ns_ + kReplyCacheNs};
  send(to, device, MessageType::admission_reply, full);
  if (r.status() != ctl::ADMISSION_ACCEPTED)
    log::info("admission_rejected", "device={} request={} status={} reason=\"{}\"", req.device_id(),
              req.request_id(), status_name(r.status()), r.reason());
}

std::vector<AdmissionTarget> Controller::admission_targets(uint32_t exclude_gateway) const {
  const double u = cfg_.load.utilization_cap;
  std::vector<AdmissionTarget> out;
  for (const auto& [id, g] : gateways_) {
    if (!g.alive || g.draining() || id == exclude_gateway) continue;
    const GatewayLoad* gl = load_model_.find(id);
    double vmax_total = 0, mem_total = 0;
    for (const auto& p : g.ports) {
      vmax_total += p.bandwidth_capacity_bps;
      mem_total += p.memory_capacity_bytes;
    }
    if (g.memory_capacity_bytes > 0) mem_total = g.memory_capacity_bytes;
    vmax_total = vmax_total > 0 ? vmax_total : 1;
    mem_total = mem_total > 0 ? mem_total : 1;
    const size_t first = out.size();
    // Streams admitted but not yet visible in the measured load still count, so
    // successive windows do not all pick the same gateway.
    double unmeasured = 0;
    for (size_t i = 0; i < g.ports.size(); ++i) {
      const PortState& p = g.ports[i];
      // Admitted streams and migrations under way, kept up to date as they change.
      const Committed& c = committed_.port(id, uint32_t(i));
      const auto pi = static_cast<Eigen::Index>(i);
      const double measured_bw = gl && pi < gl->bandwidth.size() ? gl->bandwidth(pi) : p.bandwidth_bps;
      const double measured_mem = gl && pi < gl->memory.size() ? gl->memory(pi) : p.memory_bytes;
      unmeasured += cfg_.load.weight_net * std::max(0.0, c.bw - measured_bw) / vmax_total +
                    cfg_.load.weight_memory * std::max(0.0, c.mem - measured_mem) / mem_total;
      if (c.streams >= cfg_.admission_max_streams_per_port) continue;
      AdmissionTarget t;
      t.gateway_id = id;
      t.port_index = static_cast<uint32_t>(i);
      // What is left both by measurement and by what was admitted.
      t.bw_remaining = std::min(gl ? load_model_.port_bandwidth_left(id, i) : u * p.bandwidth_capacity_bps,
                                u * p.bandwidth_capacity_bps - c.bw);
      t.mem_remaining = std::min(gl ? load_model_.port_memory_left(id, i) : u * p.memory_capacity_bytes,
                                 u * p.memory_capacity_bytes - c.mem);
      t.bw_capacity = vmax_total;
      t.mem_capacity = mem_total;
      t.streams = c.streams;
      out.push_back(t);
    }
    for (size_t k = first; k < out.size(); ++k) out[k].load = (gl ? gl->load : 0) + unmeasured;
  }
  return out;
}

uint32_t Controller::allocate_stream_id(uint32_t wanted) {
  if (wanted != 0 && !streams_.count(wanted)) return wanted;
  while (next_stream_id_ == 0 || streams_.count(next_stream_id_)) ++next_stream_id_;
  return next_stream_id_++;
}

ctl::AdmissionReply Controller::existing_assignment(const ctl::AdmissionRequest& req, const StreamState& s) const {
  ctl::AdmissionReply r;
  r.set_request_id(req.request_id());
  r.set_status(ctl::ADMISSION_ACCEPTED);
  r.set_stream_id(s.stream_id);
  r.set_gateway_id(s.gateway_id);
  auto g = gateways_.find(s.gateway_id);
  if (g != gateways_.end() && s.port_index < g->second.ports.size()) {
    r.set_gateway_address(g->second.ports[s.port_index].address);
    r.set_gateway_port(g->second.ports[s.port_index].port);
  }
  r.set_gpu_id(s.gpu_id);
  {
    const auto [gpu_addr, gpu_port] = gpu_endpoint(s.gpu_id);
    r.set_gpu_address(gpu_addr);
    r.set_gpu_port(gpu_port);
  }
  r.set_first_unit_seq(s.last_unit_seq != 0 ? s.last_unit_seq + 1 : s.first_unit_seq);
  return r;
}

ctl::AdmissionReply Controller::accept(const PendingRequest& p, const AdmissionTarget& t) {
  const ctl::AdmissionRequest& req = p.request;
  StreamState s;
  s.stream_id = allocate_stream_id(req.stream_id());
  s.device_id = req.device_id();
  s.gateway_id = t.gateway_id;
  s.port_index = t.port_index;
  s.source_address = req.source_address();
  s.source_port = req.source_port();
  s.device_control = resolve_control(req.control_address(), req.control_port(), p.reply_to);
  s.unit_bytes = req.unit_bytes();
  s.period_ms = req.period_ms();
  s.model = req.model();
  s.bandwidth_bps = double(req.unit_bytes()) * 8 * 1000 / req.period_ms();
  s.memory_bytes = double(req.unit_bytes()) * cfg_.admission_memory_units;
  s.gpu_id = steering_.choose(s.model, s.units_per_s());
  s.assigned_ns = now_ns_;
  ++streams_per_device_[s.device_id];
  auto [it, inserted] = streams_.emplace(s.stream_id, std::move(s));
  add_home(it->second);
  send_assign(it->second, false, 0);
  log::info("stream_admitted", "stream={} device={} gateway={} port={} gpu={}", it->second.stream_id,
            it->second.device_id, t.gateway_id, t.port_index, it->second.gpu_id);
  return existing_assignment(req, it->second);
}

void Controller::decide_window() {
  std::vector<PendingRequest> batch;
  batch.swap(pending_);
  window_end_ns_ = 0;
  ++metrics_.admission_windows;

  std::vector<const PendingRequest*> undecided;
  std::vector<AdmissionDemand> demands;
  std::map<uint32_t, uint32_t> window_per_device;
  for (PendingRequest& p : batch) {
    if (!needs_decision(p, window_per_device)) continue;
    undecided.push_back(&p);
    demands.push_back({double(p.request.unit_bytes()) * 8 * 1000 / p.request.period_ms(),
                       double(p.request.unit_bytes()) * cfg_.admission_memory_units});
  }
  if (undecided.empty()) return;

  const std::vector<AdmissionTarget> targets = admission_targets(0);
  bool any_live = false;
  for (const auto& [id, g] : gateways_) any_live = any_live || g.alive;
  const std::vector<int32_t> out = run_algorithm(targets, demands);
  for (size_t k = 0; k < undecided.size(); ++k) {
    const AdmissionTarget* t = out[k] == kRejected ? nullptr : &targets[static_cast<size_t>(out[k])];
    // Checked per request, after the accepts before it: the cap holds inside one window too.
    if (t && committed_.port(t->gateway_id, t->port_index).streams >= cfg_.admission_max_streams_per_port)
      t = nullptr;
    answer_decided(*undecided[k], t, demands[k], any_live);
  }
}

bool Controller::needs_decision(PendingRequest& p, std::map<uint32_t, uint32_t>& window_per_device) {
  ctl::AdmissionRequest& req = p.request;
  if (const char* refused = refusal(req, p.reply_to)) {
    metrics_.admissions_refused.inc(refused);
    reply(p.reply_to, rejection(req, ctl::ADMISSION_REJECTED_INVALID, refusal_text(refused)), req);
    return false;
  }
  if (req.source_address().empty()) req.set_source_address(p.reply_to.host());
  if (req.stream_id() != 0) {
    auto it = streams_.find(req.stream_id());
    if (it != streams_.end()) {
      StreamState& s = it->second;
      if (s.device_id != req.device_id()) {
        metrics_.admissions_refused.inc("stream_owner");
        reply(p.reply_to, rejection(req, ctl::ADMISSION_REJECTED_INVALID, "stream id belongs to another device"), req);
        return false;
      }
      // The device restarted or lost the reply, or the stream was adopted after a
      // controller restart: confirm where it is.
      s.device_control = resolve_control(req.control_address(), req.control_port(), p.reply_to);
      if (s.model.empty()) s.model = req.model();
      reply(p.reply_to, existing_assignment(req, s), req);
      return false;
    }
  }
  // Counted with the requests of this window still undecided, so one burst cannot pass the cap.
  auto held = streams_per_device_.find(req.device_id());
  if ((held == streams_per_device_.end() ? 0 : held->second) + window_per_device[req.device_id()]++ >=
      cfg_.admission_max_streams_per_device) {
    metrics_.admissions_refused.inc("device_stream_cap");
    reply(p.reply_to, rejection(req, ctl::ADMISSION_REJECTED_INVALID, refusal_text("device_stream_cap")), req);
    return false;
  }
  bool gpu = false;
  for (uint32_t id : steering_.ids()) gpu = gpu || steering_.serves(id, req.model());
  if (!gpu) {
    reply(p.reply_to,
          rejection(req, ctl::ADMISSION_REJECTED_NO_GPU, fmt::format("no GPU server serves model '{}'", req.model())),
          req);
    return false;
  }
  return true;
}

std::vector<int32_t> Controller::run_algorithm(const std::vector<AdmissionTarget>& targets,
                                               const std::vector<AdmissionDemand>& demands) {
  std::vector<int32_t> out;
  // Measured only for the decision-time metric; no decision depends on it.
  const auto t0 = std::chrono::steady_clock::now();
  algorithm_->decide(targets, demands, out);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  metrics_.admission_decision_ns_sum += static_cast<uint64_t>(ns);
  metrics_.admission_decision_ns_last = static_cast<uint64_t>(ns);
  return out;
}

void Controller::answer_decided(const PendingRequest& p, const AdmissionTarget* target, const AdmissionDemand& demand,
                                bool any_live_gateway) {
  const ctl::AdmissionRequest& req = p.request;
  if (target != nullptr) {
    reply(p.reply_to, accept(p, *target), req);
  } else if (!any_live_gateway) {
    reply(p.reply_to, rejection(req, ctl::ADMISSION_REJECTED_NO_GATEWAY, "no live gateway"), req);
  } else {
    reply(p.reply_to,
          rejection(req, ctl::ADMISSION_REJECTED_CAPACITY,
                    fmt::format("no gateway port has {:.0f} bit/s and {:.0f} bytes left", demand.bandwidth_bps,
                                demand.memory_bytes)),
          req);
  }
}

}  // namespace aigw::controller
