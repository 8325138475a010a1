#include "edge-sdk/server/server_core.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "aigw/edge_crypto.h"
#include "aigw/server.h"
#include "protocol/control.pb.h"
#include "protocol/data_header.h"
#include "protocol/log.h"
#include "protocol/message_roles.h"
#include "protocol/retransmit_request.h"
#include "protocol/unit_digest.h"

namespace aigw::server {

namespace {
// Streams that first appear mid-way (after a migration, or when the server started
// late) accept a few earlier units that complete out of order at the gateway.
constexpr uint32_t kEarlierUnitsAccepted = 16;
constexpr uint32_t kNonceBytes = 24;

uint64_t make_token(uint32_t index, uint32_t generation) { return (uint64_t{generation} << 32) | index; }
}  // namespace

ServerCore::ServerCore(const ServerConfig& config, ServerOutput& out, int64_t now_ns)
    : config_(config),
      out_(out),
      keys_(gpu_sender_id(config.gpu_id)),
      sealer_(keys_.self(), config.key_id, config.key, envelope_counter_start()),
      opener_(keys_),
      receiver_(std::make_unique<UnitReceiver>(config_.receiver, static_cast<ReceiverEvents&>(*this))),
      held_(std::max<uint32_t>(1, config.max_held_units)),
      ready_(held_.size()),
      next_period_ns_(now_ns + config.period_ns) {
  keys_.add_own(config.key_id, config.key);
  sealer_.set_clock(envelope_wall_clock);
  opener_.set_not_before(envelope_counter_start() - kMaxClockSkewNs);
  for (size_t i = held_.size(); i > 0; --i) {
    held_[i - 1].next_free = free_held_;
    free_held_ = static_cast<int32_t>(i - 1);
  }
  send_register(false);
}

ServerCore::~ServerCore() {
  // Held buffers go back to the receiver's pool before the pool goes.
  for (HeldUnit& h : held_) h.buffer.reset();
}

void ServerCore::on_control(const uint8_t* data, size_t len) {
  ++counters_.control_received;
  EnvelopeView v;
  if (opener_.open(data, len, v) != EnvelopeError::ok || !sender_may_send(v.sender_id, v.type)) {
    ++counters_.control_rejected;
    return;
  }
  if (v.type != MessageType::peer_keys) return;  // heartbeat answers need nothing
  ctl::PeerKeys m;
  if (!m.ParseFromArray(v.body, static_cast<int>(v.body_len))) {
    ++counters_.control_rejected;
    return;
  }
  for (const ctl::PeerKey& k : m.keys()) {
    const uint32_t gateway = make_sender_id(NodeRole::gateway, k.gateway_id());
    UdpEndpoint egress;
    if (!make_endpoint(k.egress_address(), k.egress_port(), egress).empty() ||
        !keys_.learn_pair_key(gateway, k.key_id(), v.key_id, k.key_box())) {
      ++counters_.control_rejected;
      continue;
    }
    ++counters_.pair_keys_learned;
    auto it = std::find_if(gateway_of_egress_.begin(), gateway_of_egress_.end(),
                           [&](const auto& e) { return e.first == egress; });
    if (it != gateway_of_egress_.end()) it->second = gateway;
    else if (gateway_of_egress_.size() < NodeKeys::kMaxPeerKeys) gateway_of_egress_.emplace_back(egress, gateway);
  }
}

void ServerCore::send_gateway(const UdpEndpoint& to, MessageType type, const std::string& body) {
  // Sealed with that gateway's pair key, which only it (and the controller) can check.
  auto gw = std::find_if(gateway_of_egress_.begin(), gateway_of_egress_.end(),
                         [&](const auto& e) { return e.first == to; });
  uint32_t key_id = 0;
  ControlKey key;
  if (gw == gateway_of_egress_.end() || !keys_.pair_key_to(gw->second, key_id, key)) {
    ++counters_.no_pair_key;
    return;
  }
  if (!sealer_.seal_with(key_id, key, type, body, tx_)) {
    ++counters_.seal_failures;
    return;
  }
  out_.to_gateway(to, tx_.data(), tx_.size());
}

void ServerCore::send_controller(MessageType type, const std::string& body) {
  if (!sealer_.seal(type, body, tx_)) {
    ++counters_.seal_failures;
    return;
  }
  out_.to_controller(tx_.data(), tx_.size());
}

void ServerCore::send_register(bool leaving) {
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

void ServerCore::leave() { send_register(true); }

double ServerCore::current_load() const {
  const double budget = static_cast<double>(std::max<size_t>(1, config_.receiver.memory_budget_bytes));
  const double held_share = static_cast<double>(held_bytes_) / budget;
  const double held_slots = static_cast<double>(held_count_) / static_cast<double>(held_.size());
  return std::min(1.0, std::max({app_load_, held_share, held_slots}));
}

void ServerCore::send_load_sync() {
  last_load_ = current_load();
  ctl::GpuLoadSync s;
  s.set_gpu_id(config_.gpu_id);
  s.set_period_seq(++period_seq_);
  s.set_load(last_load_);
  s.set_units_received(counters_.units_completed);
  s.set_units_verified(counters_.units_verified);
  s.set_units_corrupt(counters_.units_corrupt);
  std::vector<uint32_t> held_per_model(config_.models.size(), 0);
  for (const HeldUnit& h : held_)
    if (h.in_use) ++held_per_model[h.model];
  for (size_t i = 0; i < config_.models.size(); ++i) {
    ctl::ModelLoad* ml = s.add_models();
    ml->set_model(config_.models[i]);
    uint32_t queued = held_per_model[i];
    double latency = 0;
    if (auto it = app_models_.find(config_.models[i]); it != app_models_.end()) {
      queued += it->second.first;
      latency = it->second.second;
    }
    ml->set_queued_units(queued);
    ml->set_batch_latency_ms(latency);
  }
  s.SerializeToString(&body_);
  send_controller(MessageType::gpu_load_sync, body_);
  ++counters_.syncs_sent;
}

void ServerCore::set_app_load(double load, std::map<std::string, std::pair<uint32_t, double>> models) {
  app_load_ = std::min(1.0, std::max(0.0, load));
  app_models_ = std::move(models);
}

void ServerCore::set_stream_key(uint32_t stream_id, const uint8_t* key) {
  auto it = routes_.find(stream_id);
  if (it == routes_.end()) {
    if (key == nullptr) {
      pending_keys_.erase(stream_id);
    } else {
      std::memcpy(pending_keys_[stream_id].data(), key, 32);
    }
    return;
  }
  it->second.have_key = key != nullptr;
  if (key != nullptr) std::memcpy(it->second.key.data(), key, 32);
}

ServerCore::StreamRoute* ServerCore::route_for(uint32_t stream_id, uint32_t unit_seq) {
  auto it = routes_.find(stream_id);
  if (it != routes_.end()) return &it->second;
  const uint32_t first = unit_seq > kEarlierUnitsAccepted ? unit_seq - kEarlierUnitsAccepted : 0;
  if (routes_.size() >= config_.max_streams || !receiver_->add_stream(stream_id, first)) {
    ++counters_.streams_refused;
    return nullptr;
  }
  StreamRoute& r = routes_.emplace(stream_id, StreamRoute{}).first->second;
  // Units carry no model name: a stream is served by one of this server's models, chosen
  // by its id, so every model sees traffic when several are configured.
  r.model = static_cast<uint32_t>(stream_id % config_.models.size());
  if (auto k = pending_keys_.find(stream_id); k != pending_keys_.end()) {
    r.have_key = true;
    r.key = k->second;
    pending_keys_.erase(k);
  } else if (config_.have_payload_key) {
    r.have_key = true;
    r.key = config_.payload_key;
  }
  records_.emplace(stream_id, StreamRecord{});
  return &r;
}

void ServerCore::on_data(const UdpEndpoint& from, const uint8_t* data, size_t len, int64_t now_ns) {
  ++counters_.datagrams;
  DataHeader h;
  if (decode_data_header(data, len, h) != DecodeError::ok) {
    ++counters_.malformed;
    return;
  }
  StreamRoute* route = route_for(h.stream_id, h.unit_seq);
  if (route == nullptr) return;
  auto& slot = route->sources[h.unit_seq % kSourceRing];
  if (slot.first != h.unit_seq || !(slot.second == from)) slot = {h.unit_seq, from};
  const FragmentVerdict v = receiver_->on_fragment(h, data + kDataHeaderSize, now_ns);
  // A resent last fragment of a unit verified here is the gateway's tail-loss probe: the
  // ack did not arrive. One ack (~100 bytes) per such fragment (~760): no amplification.
  constexpr uint8_t kProbe = data_flag::retransmission | data_flag::last_fragment;
  if (v == FragmentVerdict::late && (h.flags & kProbe) == kProbe && route->was_verified(h.unit_seq)) {
    send_ack(*route, h.stream_id, h.unit_seq);
    ++counters_.acks_repeated;
  }
}

bool ServerCore::StreamRoute::was_verified(uint32_t seq) const {
  const size_t n = std::min<size_t>(verified_n, kVerifiedRing);
  return std::find(verified.begin(), verified.begin() + static_cast<std::ptrdiff_t>(n), seq) !=
         verified.begin() + static_cast<std::ptrdiff_t>(n);
}

void ServerCore::send_ack(const StreamRoute& r, uint32_t stream_id, uint32_t unit_seq) {
  const UdpEndpoint* gw = source_of(r, unit_seq);
  if (gw == nullptr) return;
  ctl::UnitAck ack;
  ack.set_stream_id(stream_id);
  ack.set_unit_seq(unit_seq);
  ack.SerializeToString(&body_);
  send_gateway(*gw, MessageType::unit_ack, body_);
  ++counters_.acks_sent;
}

const UdpEndpoint* ServerCore::source_of(const StreamRoute& r, uint32_t unit_seq) const {
  const auto& slot = r.sources[unit_seq % kSourceRing];
  if (slot.first == unit_seq && slot.second.valid()) return &slot.second;
  // Fall back to whichever gateway sent the stream's latest known unit.
  const std::pair<uint32_t, UdpEndpoint>* best = nullptr;
  for (const auto& s : r.sources)
    if (s.second.valid() && (!best || s.first > best->first)) best = &s;
  return best ? &best->second : nullptr;
}

void ServerCore::on_unit_complete(const CompletedUnit& info, UnitHandle& unit) {
  ++counters_.units_completed;
  StreamRecord& rec = records_[info.stream_id];
  rec.last_seq = std::max(rec.last_seq, info.unit_seq);
  StreamRoute& route = routes_[info.stream_id];
  if (!verify_unit_digest(unit.data(), unit.size())) {
    ++counters_.units_corrupt;
    ++rec.corrupt;
    AIGW_WARN_RATE_LIMITED(1000, "unit_corrupt", "stream={} unit_seq={} bytes={}", info.stream_id,
                           info.unit_seq, unit.size());
    return;  // not acknowledged: the gateway's store resends or expires it and counts it
  }
  if (free_held_ < 0) {
    // The application holds max_held_units: leave the unit unacknowledged, so the
    // gateway keeps it and counts it if it expires there. Counted here too.
    ++counters_.units_refused_held;
    return;
  }
  Payload payload;
  if (!open_payload(info, route, rec, unit, payload)) return;
  ++counters_.units_verified;
  ++rec.verified;
  if (info.nack_rounds > 0) ++rec.recovered;
  route.verified[route.verified_n++ % kVerifiedRing] = info.unit_seq;
  send_ack(route, info.stream_id, info.unit_seq);
  hold(info, route, payload, unit);
}

bool ServerCore::open_payload(const CompletedUnit& info, const StreamRoute& route, StreamRecord& rec,
                              UnitHandle& unit, Payload& out) {
  out.offset = 0;
  out.length = unit.size() - static_cast<uint32_t>(kUnitDigestSize);
  out.flags = info.nack_rounds > 0 ? AIGW_UNIT_RECOVERED : 0;
  if (!(info.flags & data_flag::encrypted)) return true;
  if (!route.have_key) {
    out.flags |= AIGW_UNIT_SEALED;
    return true;
  }
  size_t n = 0;
  // Opened in place: the plaintext lands where the ciphertext was.
  const uint32_t plain_cap = unit.size() >= AIGW_UNIT_SEAL_OVERHEAD ? unit.size() - AIGW_UNIT_SEAL_OVERHEAD : 0;
  const int rc = aigw_unit_open(route.key.data(), info.stream_id, info.unit_seq, unit.data(), unit.size(),
                                unit.data() + kNonceBytes, plain_cap, &n);
  if (rc != AIGW_OK) {
    ++counters_.units_auth_failed;
    ++rec.auth_failed;
    AIGW_WARN_RATE_LIMITED(1000, "unit_auth_failed", "stream={} unit_seq={}", info.stream_id, info.unit_seq);
    // Whole and as sent: a resend cannot repair it, so the gateway may let it go.
    send_ack(route, info.stream_id, info.unit_seq);
    return false;
  }
  out.offset = kNonceBytes;
  out.length = static_cast<uint32_t>(n);
  out.flags |= AIGW_UNIT_DECRYPTED;
  return true;
}

void ServerCore::hold(const CompletedUnit& info, const StreamRoute& route, const Payload& payload,
                      UnitHandle& unit) {
  const uint32_t index = static_cast<uint32_t>(free_held_);
  HeldUnit& h = held_[index];
  free_held_ = h.next_free;
  h.next_free = -1;
  h.in_use = true;
  ++h.generation;
  if (h.generation == 0) h.generation = 1;
  h.stream_id = info.stream_id;
  h.unit_seq = info.unit_seq;
  h.model = route.model;
  h.offset = payload.offset;
  h.length = payload.length;
  h.flags = payload.flags;
  h.nack_rounds = info.nack_rounds;
  h.retransmitted_fragments = info.retransmitted_fragments;
  h.first_fragment_ns = info.first_fragment_ns;
  h.completed_ns = info.completed_ns;
  const UdpEndpoint* gw = source_of(route, info.unit_seq);
  h.gateway = gw ? *gw : UdpEndpoint{};
  h.buffer = std::move(unit);
  ++held_count_;
  held_bytes_ += h.buffer.capacity();
  ready_[(ready_head_ + ready_count_) % ready_.size()] = make_token(index, h.generation);
  ++ready_count_;
}

bool ServerCore::take_ready(uint64_t& token) {
  while (ready_count_ > 0) {
    token = ready_[ready_head_];
    ready_head_ = (ready_head_ + 1) % ready_.size();
    --ready_count_;
    if (held(token) != nullptr) return true;  // skip units released before they were taken
  }
  return false;
}

const HeldUnit* ServerCore::held(uint64_t token) const {
  const uint32_t index = static_cast<uint32_t>(token & 0xFFFFFFFFu);
  const uint32_t generation = static_cast<uint32_t>(token >> 32);
  if (index >= held_.size()) return nullptr;
  const HeldUnit& h = held_[index];
  return h.in_use && h.generation == generation ? &h : nullptr;
}

bool ServerCore::release(uint64_t token) {
  if (held(token) == nullptr) return false;
  const uint32_t index = static_cast<uint32_t>(token & 0xFFFFFFFFu);
  HeldUnit& h = held_[index];
  held_bytes_ -= h.buffer.capacity();
  --held_count_;
  h.buffer.reset();
  h.in_use = false;
  h.next_free = free_held_;
  free_held_ = static_cast<int32_t>(index);
  return true;
}

void ServerCore::on_unit_lost(const LostUnit& info) {
  ++counters_.units_lost;
  ++records_[info.stream_id].lost[to_string(info.reason)];
  log::info("unit_lost", "stream={} unit_seq={} reason={} fragments={}/{}", info.stream_id, info.unit_seq,
            to_string(info.reason), info.fragments_received, info.fragment_count);
}

void ServerCore::on_nack(const NackOut& nack) {
  auto it = routes_.find(nack.stream_id);
  if (it == routes_.end()) return;
  const UdpEndpoint* gw = source_of(it->second, nack.unit_seq);
  if (!gw) return;
  ctl::RetransmitRequest r;
  to_retransmit_request(nack, r);
  r.SerializeToString(&body_);
  send_gateway(*gw, MessageType::retransmit_request, body_);
  ++counters_.nacks_sent;
  ++records_[nack.stream_id].nacks;
}

void ServerCore::poll(int64_t now_ns) {
  if (receiver_->next_deadline_ns() <= now_ns) receiver_->poll(now_ns);
  if (now_ns >= next_period_ns_) {
    send_load_sync();
    if (config_.register_every_periods && period_seq_ % config_.register_every_periods == 0) send_register(false);
    next_period_ns_ += config_.period_ns;
    if (next_period_ns_ <= now_ns) next_period_ns_ = now_ns + config_.period_ns;  // after a stall
  }
}

int64_t ServerCore::next_deadline_ns() const { return std::min(receiver_->next_deadline_ns(), next_period_ns_); }

}  // namespace aigw::server
