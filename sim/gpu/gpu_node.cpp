#include "sim/gpu/gpu_node.h"

#include <algorithm>

namespace aigw::sim {

GpuNode::GpuNode(const GpuNodeConfig& config, GpuOutput& out, int64_t now_ns)
    : out_(out), accel_(config.accelerator, config.server.models) {
  accel_.take_busy_fraction(now_ns);
  core_ = std::make_unique<server::ServerCore>(config.server, static_cast<server::ServerOutput&>(*this), now_ns);
}

GpuNode::~GpuNode() = default;

void GpuNode::to_gateway(const UdpEndpoint& egress, const uint8_t* data, size_t len) {
  out_.to_gateway(egress, data, len);
}

void GpuNode::to_controller(const uint8_t* data, size_t len) { out_.to_controller(data, len); }

void GpuNode::leave() { core_->leave(); }

void GpuNode::on_data(const UdpEndpoint& from, const uint8_t* data, size_t len, int64_t now_ns) {
  core_->on_data(from, data, len, now_ns);
  take_units();
}

void GpuNode::take_units() {
  uint64_t token = 0;
  while (core_->take_ready(token)) {
    const server::HeldUnit* h = core_->held(token);
    accel_.advance(h->completed_ns, *this);  // batches due before this unit go first
    if (!accel_.enqueue(h->model, {h->stream_id, h->unit_seq, h->buffer.size(), h->completed_ns}))
      ++units_not_queued_;
    // The accelerator models the queue from here on; the bytes are not needed.
    core_->release(token);
  }
}

void GpuNode::report_load(int64_t now_ns) {
  std::map<std::string, std::pair<uint32_t, double>> models;
  for (const auto& m : accel_.stats()) models[m.name] = {static_cast<uint32_t>(m.queued), m.mean_latency_ms()};
  core_->set_app_load(accel_.take_busy_fraction(now_ns), std::move(models));
}

void GpuNode::poll(int64_t now_ns) {
  accel_.advance(now_ns, *this);
  if (now_ns >= core_->next_report_ns()) report_load(now_ns);
  core_->poll(now_ns);
  take_units();
}

int64_t GpuNode::next_deadline_ns() const { return std::min(core_->next_deadline_ns(), accel_.next_event_ns()); }

const GpuNodeCounters& GpuNode::counters() const {
  const server::ServerCounters& c = core_->counters();
  counters_.datagrams = c.datagrams;
  counters_.malformed = c.malformed;
  counters_.streams_refused = c.streams_refused;
  counters_.units_completed = c.units_completed;
  counters_.units_verified = c.units_verified;
  counters_.units_corrupt = c.units_corrupt;
  counters_.units_lost = c.units_lost;
  counters_.units_not_queued = units_not_queued_;
  counters_.acks_sent = c.acks_sent;
  counters_.acks_repeated = c.acks_repeated;
  counters_.nacks_sent = c.nacks_sent;
  counters_.syncs_sent = c.syncs_sent;
  counters_.seal_failures = c.seal_failures;
  return counters_;
}

}  // namespace aigw::sim
