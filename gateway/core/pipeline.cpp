#include "gateway/core/pipeline.h"

#include <algorithm>
#include <climits>

#include "gateway/net/checksum.h"
#include "gateway/core/gpu_command.h"
#include "protocol/control.pb.h"
#include "protocol/log.h"
#include "protocol/node_identity.h"

namespace aigw {

namespace {
constexpr int64_t kHousekeepingNs = 10'000'000;

size_t idx(PortStat s) { return static_cast<size_t>(s); }
size_t idx(EgressStat s) { return static_cast<size_t>(s); }
}  // namespace

/// One data port: its receiver and counters. The receiver calls back into the pipeline.
struct Pipeline::Port final : ReceiverEvents {
  Port(Pipeline& p, uint16_t udp, const ReceiverConfig& rc, bool counts)
      : owner(p), udp_port(udp), counts_streams(counts), receiver(rc, *this) {}

  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    owner.on_complete(*this, info, unit);
  }
  void on_unit_lost(const LostUnit& info) override { owner.on_lost(info); }
  void on_nack(const NackOut& nack) override { owner.on_nack(nack); }

  Pipeline& owner;
  uint16_t udp_port;
  bool counts_streams;
  UnitReceiver receiver;
  uint64_t c[kPortStatCount] = {};
  PublishedPortStats published;
};

/// Adapts the egress UnitSender's output to the backend, resolving each stream's GPU.
class Pipeline::SenderSink final : public PacketOut, public SenderEvents {
 public:
  explicit SenderSink(Pipeline& p) : owner_(p) {}
  bool send_fragment(uint32_t stream_id, const uint8_t* header, const uint8_t* payload,
                     size_t payload_len, uint32_t payload_sum) override {
    return owner_.send_egress(stream_id, header, payload, payload_len, payload_sum);
  }
  void on_unit_released(uint32_t, uint32_t, bool) override {}

 private:
  Pipeline& owner_;
};

Pipeline::Pipeline(const PipelineConfig& config, PipelineEvents& events, EgressOut& egress,
                   const KeySource& keys)
    : config_(config), events_(events), egress_(egress), opener_(keys), streams_(config.max_streams) {
  opener_.set_not_before(config.envelopes_not_before);
  for (const PipelinePort& p : config_.data_ports) {
    ReceiverConfig rc = config_.receiver;
    rc.memory_budget_bytes = p.memory_budget_bytes;
    ports_.push_back(std::make_unique<Port>(*this, p.udp_port, rc, p.counts_streams));
  }
  sender_sink_ = std::make_unique<SenderSink>(*this);
  sender_ = std::make_unique<UnitSender>(config_.egress, *sender_sink_, sender_sink_.get());
  releasing_.reserve(config_.max_streams);
  retiring_.reserve(config_.max_streams);
}

Pipeline::~Pipeline() = default;

uint16_t Pipeline::data_port(size_t i) const { return ports_[i]->udp_port; }

int Pipeline::port_index(uint16_t udp_port) const {
  for (size_t i = 0; i < ports_.size(); ++i)
    if (ports_[i]->udp_port == udp_port) return static_cast<int>(i);
  return -1;
}

Pipeline::Port* Pipeline::port_by_udp(uint16_t udp_port) {
  int i = port_index(udp_port);
  return i < 0 ? nullptr : ports_[static_cast<size_t>(i)].get();
}

const PublishedPortStats& Pipeline::port_stats(size_t i) const { return ports_[i]->published; }
const UnitReceiver& Pipeline::receiver(size_t i) const { return ports_[i]->receiver; }

void Pipeline::on_datagram(size_t port_index, const Ipv4Endpoint& from, const uint8_t* data, size_t len,
                           int64_t now_ns, uint32_t udp_payload_sum) {
  now_ns_ = now_ns;
  Port& port = *ports_[port_index];
  ++port.c[idx(PortStat::datagrams)];
  port.c[idx(PortStat::bytes)] += len;
  DataHeader h;
  const DecodeError e = decode_data_header(data, len, h);
  if (e != DecodeError::ok) {
    ++port.c[idx(port_stat(e))];
    return;
  }
  StreamRoute* route = streams_.find(h.stream_id);
  if (route == nullptr) {
    ++port.c[idx(PortStat::drop_unknown_stream)];
    return;
  }
  if (route->data_port != port.udp_port) {
    ++port.c[idx(PortStat::drop_wrong_port)];
    return;
  }
  if (!route->source_matches(from)) {
    ++port.c[idx(PortStat::drop_wrong_source)];
    return;
  }
  if (route->retired || (route->releasing && seq_after(h.unit_seq, route->release_after_unit_seq))) {
    ++port.c[idx(PortStat::drop_released)];
    return;
  }
  uint32_t payload_sum = kNoPayloadSum;
  if (udp_payload_sum < kNoPayloadSum && config_.receiver.keep_payload_sums) {
    // The fragment's own sum: the datagram's less its data header's (ones-complement
    // subtraction adds the complement).
    static_assert(kDataHeaderSize == 32);
    const uint16_t header_sum = static_cast<uint16_t>(~net::checksum_finish(net::checksum_add32(0, data)));
    payload_sum = static_cast<uint16_t>(~net::checksum_finish(uint64_t{udp_payload_sum} + uint16_t(~header_sum)));
  }
  port.receiver.on_fragment(h, data + kDataHeaderSize, now_ns, payload_sum);
}

void Pipeline::on_complete(Port& port, const CompletedUnit& info, UnitHandle& unit) {
  (void)port;
  const uint32_t bytes = unit.size();
  StreamRoute* route = streams_.find(info.stream_id);
  if (route != nullptr && !route->retired) {
    const SubmitError e = sender_->submit(info.stream_id, info.unit_seq, std::move(unit), info.flags, now_ns_);
    ++egress_counts_[idx(e == SubmitError::ok ? EgressStat::units_forwarded : EgressStat::units_not_forwarded)];
    if (e != SubmitError::ok)
      AIGW_WARN_RATE_LIMITED(1000, "egress_submit_failed", "stream={} unit={} error={}", info.stream_id,
                             info.unit_seq, to_string(e));
  } else {
    ++egress_counts_[idx(EgressStat::units_not_forwarded)];
  }
  events_.unit_done(info.stream_id, info.unit_seq, true, bytes, LossReason::deadline);
  unit_finished(info.stream_id, info.unit_seq);
}

void Pipeline::on_lost(const LostUnit& info) {
  events_.unit_done(info.stream_id, info.unit_seq, false, info.unit_length, info.reason);
  unit_finished(info.stream_id, info.unit_seq);
}

void Pipeline::on_nack(const NackOut& nack) {
  const StreamRoute* route = streams_.find(nack.stream_id);
  if (route != nullptr) events_.send_nack(route->device_control, nack);
}

void Pipeline::unit_finished(uint32_t stream_id, uint32_t unit_seq) {
  StreamRoute* route = streams_.find(stream_id);
  if (route == nullptr) return;
  if (!route->any_done || seq_after(unit_seq, route->last_done_seq)) route->last_done_seq = unit_seq;
  route->any_done = true;
  // The receiver is not re-entered from its own callback: finishing happens in poll().
}

void Pipeline::start_release(StreamRoute& route, uint32_t last_unit_seq, int64_t now_ns) {
  route.releasing = true;
  route.release_after_unit_seq = last_unit_seq;
  for (auto& p : releasing_)
    if (p.stream_id == route.stream_id) {
      p.deadline_ns = now_ns + config_.release_timeout_ns;
      return;
    }
  releasing_.push_back({route.stream_id, now_ns + config_.release_timeout_ns});
}

void Pipeline::finish_release(StreamRoute& route) {
  if (Port* port = port_by_udp(route.data_port)) port->receiver.remove_stream(route.stream_id);
  route.releasing = false;
  route.retired = true;
  events_.stream_released(route.stream_id, route.release_after_unit_seq);
  // Keep routing the egress store's units until they expire, then forget the stream.
  retiring_.push_back({route.stream_id, now_ns_ + config_.egress.store_ttl_ns});
  recount_streams();
}

void Pipeline::expire_releases(int64_t now_ns) {
  for (size_t i = 0; i < releasing_.size();) {
    StreamRoute* route = streams_.find(releasing_[i].stream_id);
    const bool gone = route == nullptr || !route->releasing;
    const bool done = !gone && route->any_done && !seq_after(route->release_after_unit_seq, route->last_done_seq);
    if (gone || done || now_ns >= releasing_[i].deadline_ns) {
      if (!gone) finish_release(*route);
      releasing_[i] = releasing_.back();
      releasing_.pop_back();
    } else {
      ++i;
    }
  }
  for (size_t i = 0; i < retiring_.size();) {
    if (now_ns >= retiring_[i].deadline_ns) {
      StreamRoute* route = streams_.find(retiring_[i].stream_id);
      if (route != nullptr && route->retired) {
        sender_->remove_stream(route->stream_id);
        streams_.erase(route->stream_id);
      }
      retiring_[i] = retiring_.back();
      retiring_.pop_back();
    } else {
      ++i;
    }
  }
}

bool Pipeline::send_egress(uint32_t stream_id, const uint8_t* header, const uint8_t* payload, size_t len,
                           uint32_t payload_sum) {
  const StreamRoute* route = streams_.find(stream_id);
  if (route == nullptr || route->gpu.ip == 0) {
    ++egress_counts_[idx(EgressStat::fragments_without_route)];
    return true;  // nothing will ever take it: let the sender move on
  }
  return egress_.send(route->gpu, header, payload, len, payload_sum);
}

void Pipeline::apply(const StreamCommand& cmd, int64_t now_ns) {
  now_ns_ = now_ns;
  switch (cmd.kind) {
    case StreamCommand::Kind::assign: {
      Port* port = port_by_udp(cmd.route.data_port);
      if (port == nullptr) {
        log::warn("stream_assign_unknown_port", "stream={} port={}", cmd.route.stream_id, cmd.route.data_port);
        return;
      }
      StreamRoute* old = streams_.find(cmd.route.stream_id);
      if (old != nullptr && old->data_port != cmd.route.data_port) {
        if (Port* prev = port_by_udp(old->data_port)) prev->receiver.remove_stream(old->stream_id);
      }
      StreamRoute route = cmd.route;
      route.releasing = false;
      route.retired = false;
      if (old != nullptr) {
        route.any_done = old->any_done;
        route.last_done_seq = old->last_done_seq;
      }
      // All three tables or none: a stream routed but unknown to the receiver or the
      // egress would be admitted and silently never forwarded.
      const bool routed = streams_.upsert(route);
      const bool received = routed && (port->receiver.has_stream(route.stream_id) ||
                                       port->receiver.add_stream(route.stream_id, route.first_unit_seq, route.unit_bytes));
      if (!received || !(sender_->has_stream(route.stream_id) || sender_->add_stream(route.stream_id))) {
        if (received) port->receiver.remove_stream(route.stream_id);
        if (routed) streams_.erase(route.stream_id);
        ++egress_counts_[idx(EgressStat::streams_refused)];
        log::warn("stream_table_full", "stream={} routed={} received={} capacity={}", route.stream_id, routed, received,
                  streams_.capacity());
        break;
      }
      break;
    }
    case StreamCommand::Kind::release: {
      StreamRoute* route = streams_.find(cmd.route.stream_id);
      if (route != nullptr && !route->retired) start_release(*route, cmd.unit_seq, now_ns);
      break;
    }
    case StreamCommand::Kind::steer: {
      StreamRoute* route = streams_.find(cmd.route.stream_id);
      if (route != nullptr) {
        route->gpu = cmd.route.gpu;
        route->gpu_id = cmd.route.gpu_id;
      }
      break;
    }
    case StreamCommand::Kind::gpu_ack:
      ++egress_counts_[idx(EgressStat::gpu_acks)];
      sender_->on_ack(cmd.route.stream_id, cmd.unit_seq);
      break;
    case StreamCommand::Kind::gpu_nack:
      apply_gpu_nack(cmd, now_ns);
      break;
  }
  if (cmd.kind == StreamCommand::Kind::assign) recount_streams();
}

void Pipeline::recount_streams() {
  for (auto& p : ports_) p->c[idx(PortStat::streams)] = 0;
  streams_.for_each([&](StreamRoute& r) {
    if (r.retired) return;
    Port* p = port_by_udp(r.data_port);
    if (p != nullptr && p->counts_streams) ++p->c[idx(PortStat::streams)];
  });
}

void Pipeline::apply_gpu_nack(const StreamCommand& cmd, int64_t now_ns) {
  ++egress_counts_[idx(EgressStat::gpu_nacks)];
  NackAnswer a = sender_->on_nack(cmd.route.stream_id, cmd.unit_seq, cmd.fragment_count, cmd.encoding,
                                  cmd.first_fragment, cmd.missing_count, cmd.nack, cmd.nack_size, now_ns);
  if (a != NackAnswer::queued) ++egress_counts_[idx(EgressStat::gpu_nacks_unanswerable)];
}

void Pipeline::on_egress_datagram(const Ipv4Endpoint& from, const uint8_t* data, size_t len, int64_t now_ns) {
  (void)from;
  EnvelopeView v;
  if (opener_.open(data, len, v) != EnvelopeError::ok || !has_role(v.sender_id, NodeRole::gpu)) {
    ++egress_counts_[idx(EgressStat::gpu_messages_rejected)];
    return;
  }
  StreamCommand cmd;
  if (!gpu_command_from(v, cmd)) {
    ++egress_counts_[idx(EgressStat::gpu_messages_rejected)];
    return;
  }
  // Only the GPU server the stream is steered to may release or re-request its units.
  const StreamRoute* route = streams_.find(cmd.route.stream_id);
  if (route != nullptr && route->gpu_id != 0 && route->gpu_id != node_of(v.sender_id)) {
    ++egress_counts_[idx(EgressStat::gpu_messages_rejected)];
    return;
  }
  // A stream served by another core's pipeline: its egress store is there.
  if (route == nullptr && events_.foreign_gpu_command(cmd)) return;
  apply(cmd, now_ns);
}

void Pipeline::poll(int64_t now_ns, size_t max_fragments) {
  now_ns_ = now_ns;
  for (auto& p : ports_)
    if (now_ns >= p->receiver.next_deadline_ns()) p->receiver.poll(now_ns);
  if (now_ns >= next_housekeeping_ns_) {
    expire_releases(now_ns);
    next_housekeeping_ns_ = now_ns + kHousekeepingNs;
  }
  if (sender_->has_pending() || now_ns >= sender_->next_deadline_ns()) {
    sender_->poll(now_ns, max_fragments);
    egress_.flush();
  }
  if (now_ns >= next_publish_ns_) {
    publish();
    next_publish_ns_ = now_ns + config_.publish_interval_ns;
  }
}

int64_t Pipeline::next_deadline_ns() const {
  int64_t t = std::min(next_housekeeping_ns_, next_publish_ns_);
  for (const auto& p : ports_) t = std::min(t, p->receiver.next_deadline_ns());
  if (sender_->has_pending()) return now_ns_;
  return std::min(t, sender_->next_deadline_ns());
}

void Pipeline::publish() {
  for (auto& p : ports_) {
    const ReceiverCounters& rc = p->receiver.counters();
    for (size_t v = 0; v < static_cast<size_t>(FragmentVerdict::kVerdictCount); ++v)
      p->c[idx(port_stat(static_cast<FragmentVerdict>(v)))] = rc.fragments[v];
    p->c[idx(PortStat::units_completed)] = rc.units_completed;
    for (size_t r = static_cast<size_t>(LossReason::deadline); r < kLossReasonSlots; ++r)
      p->c[idx(port_stat(static_cast<LossReason>(r)))] = rc.units_lost[r];
    p->c[idx(PortStat::nacks_sent)] = rc.nacks_sent;
    p->c[idx(PortStat::nacks_withheld)] = rc.nacks_withheld;
    p->c[idx(PortStat::nacked_fragments)] = rc.nacked_fragments;
    p->c[idx(PortStat::retransmissions_received)] = rc.retransmissions_received;
    p->c[idx(PortStat::memory_bytes)] = p->receiver.memory_in_use();
    p->c[idx(PortStat::units_in_flight)] = p->receiver.units_in_flight();
    p->published.store(p->c);
  }
  const SenderCounters& sc = sender_->counters();
  egress_counts_[idx(EgressStat::fragments_sent)] = sc.fragments_sent;
  egress_counts_[idx(EgressStat::fragments_resent)] = sc.fragments_resent;
  egress_counts_[idx(EgressStat::bytes_sent)] = sc.bytes_sent;
  egress_counts_[idx(EgressStat::units_acked)] = sc.units_acked;
  egress_counts_[idx(EgressStat::units_expired)] = sc.units_expired;
  egress_counts_[idx(EgressStat::probes_sent)] = sc.probes_sent;
  egress_counts_[idx(EgressStat::units_evicted)] = sc.units_evicted;
  egress_counts_[idx(EgressStat::send_blocked)] = sc.send_blocked;
  egress_published_.store(egress_counts_);
}

}  // namespace aigw
