#include "sim/gpu/gpu_node.h"

#include <algorithm>
#include <climits>

#include "protocol/control.pb.h"
#include "protocol/data_header.h"
#include "protocol/log.h"
#include "protocol/retransmit_request.h"
#include "protocol/unit_digest.h"

namespace aigw::sim {

namespace {
// Streams that first appear mid-way (after a migration, or when the emulator started
// late) accept a few earlier units that complete out of order at the gateway.
constexpr uint32_t kEarlierUnitsAccepted = 16;
}  // namespace

GpuNode::GpuNode(const GpuNodeConfig& config, GpuOutput& out, int64_t now_ns)
    : config_(config),
      out_(out),
      sealer_(gpu_sender_id(config.gpu_id), config.key_id, config.key, envelope_counter_start()),
      receiver_(std::make_unique<UnitReceiver>(config.receiver, static_cast<ReceiverEvents&>(*this))),
      accel_(config.accelerator, config.models),
      now_ns_(now_ns),
      next_period_ns_(now_ns + config.period_ns) {
  accel_.take_busy_fraction(now_ns);
  send_register(false);
}

GpuNode::~GpuNode() = default;

void GpuNode::send_gateway(const Endpoint& to, MessageType type, const std::string& body) {
  if (!sealer_.seal(type, body, tx_)) {
    ++counters_.seal_failures;
    return;
  }
  out_.to_gateway(to, tx_.data(), tx_.size());
}

void GpuNode::send_controller(MessageType type, const std::string& body) {
  if (!sealer_.seal(type, body, tx_)) {
    ++counters_.seal_failures;
    return;
  }
  out_.to_controller(tx_.data(), tx_.size());
}

void GpuNode::send_register(bool leaving) {
  ctl::GpuRegister r;
  r.set_gpu_id(config_.gpu_id);
  r.set_address(config_.data_endpoint.host());
  r.set_port(config_.data_endpoint.port());
  for (const auto& m : config_.models) r.add_models(m);
  r.set_capacity_units_per_s(config_.capacity_units_per_s);
  r.set_control_address(config_.control_endpoint.host());
  r.set_control_port(config_.control_endpoint.port());
  r.set_leaving(leaving);
  r.SerializeToString(&body_);
  send_controller(MessageType::gpu_register, body_);
}

void GpuNode::leave() { send_register(true); }

void GpuNode::send_load_sync(int64_t now_ns) {
  last_load_ = accel_.take_busy_fraction(now_ns);
  ctl::GpuLoadSync s;
  s.set_gpu_id(config_.gpu_id);
  s.set_period_seq(++period_seq_);
  s.set_load(last_load_);
  s.set_units_received(counters_.units_completed);
  s.set_units_verified(counters_.units_verified);
  s.set_units_corrupt(counters_.units_corrupt);
  for (const auto& m : accel_.stats()) {
    ctl::ModelLoad* ml = s.add_models();
    ml->set_model(m.name);
    ml->set_queued_units(static_cast<uint32_t>(m.queued));
    ml->set_batch_latency_ms(m.mean_latency_ms());
  }
  s.SerializeToString(&body_);
  send_controller(MessageType::gpu_load_sync, body_);
  ++counters_.syncs_sent;
}

void GpuNode::on_data(const Endpoint& from, const uint8_t* data, size_t len, int64_t now_ns) {
  now_ns_ = now_ns;
  ++counters_.datagrams;
  DataHeader h;
  if (decode_data_header(data, len, h) != DecodeError::ok) {
    ++counters_.malformed;
    return;
  }
  auto it = routes_.find(h.stream_id);
  if (it == routes_.end()) {
    if (routes_.size() >= config_.max_streams ||
        !receiver_->add_stream(h.stream_id, h.unit_seq > kEarlierUnitsAccepted ? h.unit_seq - kEarlierUnitsAccepted : 0)) {
      ++counters_.streams_refused;
      return;
    }
    it = routes_.emplace(h.stream_id, StreamRoute{}).first;
    // Units carry no model name: a stream is served by one of this server's models,
    // chosen by its id, so every model sees traffic when several are configured.
    it->second.model = static_cast<uint32_t>(h.stream_id % config_.models.size());
    records_.emplace(h.stream_id, GpuStreamRecord{});
  }
  auto& slot = it->second.sources[h.unit_seq % kSourceRing];
  if (slot.first != h.unit_seq || !(slot.second == from)) slot = {h.unit_seq, from};
  const FragmentVerdict v = receiver_->on_fragment(h, data + kDataHeaderSize, now_ns);
  // A resent last fragment of a unit verified here is the gateway's tail-loss probe: the
  // ack did not arrive. One ack (~100 bytes) per such fragment (~760): no amplification.
  constexpr uint8_t kProbe = data_flag::retransmission | data_flag::last_fragment;
  if (v == FragmentVerdict::late && (h.flags & kProbe) == kProbe && it->second.was_verified(h.unit_seq)) {
    send_ack(it->second, h.stream_id, h.unit_seq);
    ++counters_.acks_repeated;
  }
}

bool GpuNode::StreamRoute::was_verified(uint32_t seq) const {
  const size_t n = std::min<size_t>(verified_n, kVerifiedRing);
  return std::find(verified.begin(), verified.begin() + static_cast<std::ptrdiff_t>(n), seq) !=
         verified.begin() + static_cast<std::ptrdiff_t>(n);
}

void GpuNode::send_ack(const StreamRoute& r, uint32_t stream_id, uint32_t unit_seq) {
  const Endpoint* gw = source_of(r, unit_seq);
  if (gw == nullptr) return;
  ctl::UnitAck ack;
  ack.set_stream_id(stream_id);
  ack.set_unit_seq(unit_seq);
  ack.SerializeToString(&body_);
  send_gateway(*gw, MessageType::unit_ack, body_);
  ++counters_.acks_sent;
}

const Endpoint* GpuNode::source_of(const StreamRoute& r, uint32_t unit_seq) const {
  const auto& slot = r.sources[unit_seq % kSourceRing];
  if (slot.first == unit_seq && slot.second.valid()) return &slot.second;
  // Fall back to whichever gateway sent the stream's latest known unit.
  const std::pair<uint32_t, Endpoint>* best = nullptr;
  for (const auto& s : r.sources)
    if (s.second.valid() && (!best || s.first > best->first)) best = &s;
  return best ? &best->second : nullptr;
}

void GpuNode::on_unit_complete(const CompletedUnit& info, UnitHandle& unit) {
  ++counters_.units_completed;
  GpuStreamRecord& rec = records_[info.stream_id];
  rec.last_seq = std::max(rec.last_seq, info.unit_seq);
  StreamRoute& route = routes_[info.stream_id];
  if (!verify_unit_digest(unit.data(), unit.size())) {
    ++counters_.units_corrupt;
    ++rec.corrupt;
    log::warn("unit_corrupt", "stream={} unit_seq={} bytes={}", info.stream_id, info.unit_seq, unit.size());
    return;  // not acknowledged: the gateway's store expires it and counts it
  }
  ++counters_.units_verified;
  ++rec.verified;
  if (info.nack_rounds > 0) ++rec.recovered;
  route.verified[route.verified_n++ % kVerifiedRing] = info.unit_seq;
  send_ack(route, info.stream_id, info.unit_seq);
  accel_.advance(info.completed_ns, *this);  // batches due before this unit go first
  if (!accel_.enqueue(route.model, {info.stream_id, info.unit_seq, unit.size(), info.completed_ns}))
    ++counters_.units_not_queued;
}

void GpuNode::on_unit_lost(const LostUnit& info) {
  ++counters_.units_lost;
  GpuStreamRecord& rec = records_[info.stream_id];
  ++rec.lost[to_string(info.reason)];
  log::info("unit_lost", "stream={} unit_seq={} reason={} fragments={}/{}", info.stream_id, info.unit_seq,
            to_string(info.reason), info.fragments_received, info.fragment_count);
}

void GpuNode::on_nack(const NackOut& nack) {
  auto it = routes_.find(nack.stream_id);
  if (it == routes_.end()) return;
  const Endpoint* gw = source_of(it->second, nack.unit_seq);
  if (!gw) return;
  ctl::RetransmitRequest r;
  to_retransmit_request(nack, r);
  r.SerializeToString(&body_);
  send_gateway(*gw, MessageType::retransmit_request, body_);
  ++counters_.nacks_sent;
  ++records_[nack.stream_id].nacks;
}

void GpuNode::on_timer(int64_t now_ns) {
  now_ns_ = now_ns;
  if (receiver_->next_timer_ns() <= now_ns) receiver_->on_timer(now_ns);
  accel_.advance(now_ns, *this);
  if (now_ns >= next_period_ns_) {
    send_load_sync(now_ns);
    if (config_.register_every_periods && period_seq_ % config_.register_every_periods == 0) send_register(false);
    next_period_ns_ += config_.period_ns;
    if (next_period_ns_ <= now_ns) next_period_ns_ = now_ns + config_.period_ns;  // after a stall
  }
}

int64_t GpuNode::next_timer_ns() const {
  return std::min({receiver_->next_timer_ns(), accel_.next_event_ns(), next_period_ns_});
}

}  // namespace aigw::sim
