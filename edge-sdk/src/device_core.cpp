#include "edge-sdk/src/device_core.h"

#include <algorithm>
#include <climits>

#include "protocol/control.pb.h"

namespace aigw::edge {

namespace {

bool parse(google::protobuf::MessageLite& m, const uint8_t* body, size_t len) {
  return len <= INT_MAX && m.ParseFromArray(body, static_cast<int>(len));
}

int rejection_code(ctl::AdmissionStatus s) {
  switch (s) {
    case ctl::ADMISSION_REJECTED_CAPACITY: return AIGW_ERR_REJECTED_CAPACITY;
    case ctl::ADMISSION_REJECTED_NO_GPU: return AIGW_ERR_REJECTED_NO_GPU;
    case ctl::ADMISSION_REJECTED_NO_GATEWAY: return AIGW_ERR_REJECTED_NO_GATEWAY;
    default: return AIGW_ERR_REJECTED_INVALID;
  }
}

}  // namespace

DeviceCore::DeviceCore(const CoreConfig& config, CoreIo& io, const Allocator& alloc,
                       const Logger& log)
    : config_(config),
      io_(io),
      alloc_(alloc),
      log_(log),
      keys_(make_sender_id(NodeRole::device, config.device_id)),
      sealer_(keys_.self(), config.key_id, config.key, config.counter_start),
      opener_(keys_),
      // Request ids only grow across restarts too, so the controller's reply cache
      // (keyed by device and request id) never answers a new request with an old reply.
      next_request_id_(config.counter_start) {
  keys_.add_own(config.key_id, config.key);
  sealer_.set_clock(config.clock);
  opener_.set_not_before(config.envelopes_not_before);
}

DeviceCore::~DeviceCore() {
  for (auto& kv : streams_) alloc_.destroy(kv.second);
}

void DeviceCore::send_to_controller(MessageType type, const std::string& body) {
  if (!sealer_.seal(type, body, out_)) {
    log_.warn("control_too_large", "type={} bytes={}", to_string(type), body.size());
    return;
  }
  io_.send_control(config_.controller, out_.data(), out_.size());
}

uint64_t DeviceCore::begin_admission(const StreamSetup& setup, int64_t now_ns) {
  const uint64_t id = next_request_id_++;
  Admission& a = admissions_[id];
  a.setup = setup;
  a.started_ns = now_ns;
  a.wait_ns = config_.retry_ns;
  ctl::AdmissionRequest rq;
  rq.set_request_id(id);
  rq.set_device_id(config_.device_id);
  rq.set_stream_id(0);
  // The demand the controller reserves is what goes on the wire per unit.
  rq.set_unit_bytes(setup.unit_bytes + (setup.encrypted ? AIGW_UNIT_SEAL_OVERHEAD
                                                        : AIGW_UNIT_DIGEST_BYTES));
  rq.set_period_ms(setup.period_ms);
  rq.set_model(setup.model);
  rq.set_control_address(config_.control_address);
  rq.set_control_port(config_.control_port);
  rq.set_source_address(config_.source_address);
  rq.set_source_port(config_.source_port);
  a.body = rq.SerializeAsString();
  send_admission(a, now_ns);
  log_.info("admission_request", "request_id={} unit_bytes={} period_ms={} model={}", id,
            setup.unit_bytes, setup.period_ms, setup.model);
  return id;
}

void DeviceCore::send_admission(Admission& a, int64_t now_ns) {
  // A retry is a new envelope with the same body: the controller deduplicates by
  // request id, the replay window by envelope counter.
  send_to_controller(MessageType::admission_request, a.body);
  ++a.attempts;
  a.next_send_ns = now_ns + a.wait_ns;
  a.wait_ns = std::min(a.wait_ns * 2, config_.max_retry_ns);
}

int DeviceCore::admission(uint64_t request_id, aigw_stream_info* info) {
  auto it = admissions_.find(request_id);
  if (it == admissions_.end()) return AIGW_ERR_STATE;
  const int result = it->second.result;
  if (result == kAdmissionPending) return result;
  if (result == AIGW_OK && info != nullptr) {
    const uint32_t size = info->size;
    *info = it->second.info;
    info->size = size;
  }
  admissions_.erase(it);
  return result;
}

void DeviceCore::cancel_admission(uint64_t request_id) { admissions_.erase(request_id); }

void DeviceCore::on_control(const uint8_t* data, size_t len, int64_t now_ns) {
  ++counters_.control_received;
  EnvelopeView v;
  const EnvelopeError e = opener_.open(data, len, v);
  if (e != EnvelopeError::ok) {
    ++counters_.envelope_rejected[static_cast<size_t>(e)];  // open() returns only EnvelopeError values
    log_.debug("control_rejected", "reason={} bytes={}", to_string(e), len);
    return;
  }
  // The key proved the sender (the controller's messages come under this device's own
  // key, a gateway's under the pair key the controller gave); its role must fit.
  const bool from_controller = has_role(v.sender_id, NodeRole::controller);
  if (from_controller) counters_.controller_seen_ns = now_ns;
  switch (v.type) {
    case MessageType::admission_reply:
      if (!from_controller) break;
      on_admission_reply(v);
      return;
    case MessageType::retransmit_request:
      if (!has_role(v.sender_id, NodeRole::gateway)) break;
      on_retransmit_request(v.body, v.body_len, now_ns);
      return;
    case MessageType::migrate_command:
      if (!from_controller) break;
      on_migrate(v);
      return;
    case MessageType::stream_close:
      if (!from_controller) break;
      on_stream_close(v.body, v.body_len, now_ns);
      return;
    case MessageType::heartbeat:
      if (!from_controller) break;
      ++counters_.controller_heartbeats;
      return;
    default:
      ++counters_.unexpected_type;
      log_.debug("control_unexpected", "type={} sender={:#x}", to_string(v.type), v.sender_id);
      return;
  }
  ++counters_.wrong_sender;
  log_.debug("control_wrong_sender", "type={} sender={:#x}", to_string(v.type), v.sender_id);
}

void DeviceCore::learn_gateway_key(uint32_t gateway_id, uint32_t pair_key_id, uint32_t box_key_id,
                                   const std::string& box) {
  if (keys_.learn_pair_key(make_sender_id(NodeRole::gateway, gateway_id), pair_key_id, box_key_id, box)) return;
  // Admitted all the same: units still flow, but this gateway's NACKs will not verify.
  ++counters_.pair_key_refused;
  log_.warn("pair_key_refused", "gateway={} key_id={}", gateway_id, pair_key_id);
}

void DeviceCore::on_admission_reply(const EnvelopeView& v) {
  ctl::AdmissionReply r;
  if (!parse(r, v.body, v.body_len)) {
    ++counters_.bad_body;
    return;
  }
  auto it = admissions_.find(r.request_id());
  if (it == admissions_.end() || it->second.result != kAdmissionPending) {
    ++counters_.stale_replies;
    return;
  }
  Admission& a = it->second;
  if (r.status() != ctl::ADMISSION_ACCEPTED) {
    a.result = rejection_code(r.status());
    log_.warn("admission_rejected", "request_id={} status={} reason=\"{}\"", r.request_id(),
              static_cast<int>(r.status()), r.reason());
    return;
  }
  Route route;
  route.gateway_id = r.gateway_id();
  const std::string address_error = make_endpoint(r.gateway_address(), r.gateway_port(), route.endpoint);
  if (r.stream_id() == 0 || !address_error.empty() || r.gateway_port() == 0) {
    ++counters_.bad_body;
    a.result = AIGW_ERR_REJECTED_INVALID;
    log_.warn("admission_bad_reply", "request_id={} stream={} gateway={}:{} address_error=\"{}\"",
              r.request_id(), r.stream_id(), r.gateway_address(), r.gateway_port(), address_error);
    return;
  }
  if (find(r.stream_id()) != nullptr) {
    // The controller handed out an id this device still uses: refuse rather than mix.
    a.result = AIGW_ERR_STATE;
    log_.warn("admission_duplicate_stream", "request_id={} stream={}", r.request_id(), r.stream_id());
    return;
  }
  Stream* s = alloc_.make<Stream>(r.stream_id(), a.setup, config_.limits, route,
                                  r.first_unit_seq(), io_, events_);
  if (s == nullptr || !s->init(alloc_)) {
    alloc_.destroy(s);
    a.result = AIGW_ERR_NO_MEMORY;
    return;
  }
  streams_[r.stream_id()] = s;
  learn_gateway_key(r.gateway_id(), r.gateway_key_id(), v.key_id, r.gateway_key_box());
  a.result = AIGW_OK;
  a.info.stream_id = r.stream_id();
  a.info.gateway_id = r.gateway_id();
  std::snprintf(a.info.gateway_address, sizeof a.info.gateway_address, "%s",
                route.endpoint.host().c_str());
  a.info.gateway_port = route.endpoint.port();
  a.info.gpu_id = r.gpu_id();
  a.info.first_unit_seq = r.first_unit_seq();
  log_.info("admitted", "request_id={} stream={} gateway={} data={} gpu={} first_seq={}",
            r.request_id(), r.stream_id(), r.gateway_id(), route.endpoint.to_string(), r.gpu_id(),
            r.first_unit_seq());
}

void DeviceCore::on_retransmit_request(const uint8_t* body, size_t len, int64_t now_ns) {
  ctl::RetransmitRequest n;
  if (!parse(n, body, len)) {
    ++counters_.bad_body;
    return;
  }
  Stream* s = find(n.stream_id());
  if (s == nullptr) {
    ++counters_.unknown_stream;
    return;
  }
  if (n.encoding() < ctl::NACK_LIST || n.encoding() > ctl::NACK_BITMAP) {
    ++counters_.nacks_malformed;
    return;
  }
  const NackAnswer a = s->on_nack(n.unit_seq(), n.fragment_count(),
                                  static_cast<NackEncoding>(n.encoding()), n.first_fragment(),
                                  n.missing_count(),
                                  reinterpret_cast<const uint8_t*>(n.missing().data()),
                                  n.missing().size(), now_ns);
  if (a == NackAnswer::malformed) ++counters_.nacks_malformed;
  if (a == NackAnswer::unit_not_stored) {
    log_.debug("nack_unanswerable", "stream={} unit={}", n.stream_id(), n.unit_seq());
  }
}

void DeviceCore::on_migrate(const EnvelopeView& v) {
  ctl::MigrateCommand m;
  if (!parse(m, v.body, v.body_len)) {
    ++counters_.bad_body;
    return;
  }
  if (m.phase() != ctl::MIGRATE_SWITCH) {
    ++counters_.unexpected_type;
    return;
  }
  Stream* s = find(m.stream_id());
  if (s == nullptr || s->closed()) {
    // No ack: the controller aborts the migration of a stream this device does not run.
    ++counters_.unknown_stream;
    return;
  }
  Route to;
  to.gateway_id = m.target_gateway_id();
  if (!make_endpoint(m.gateway_address(), m.gateway_port(), to.endpoint).empty() || m.gateway_port() == 0) {
    ++counters_.bad_body;
    return;
  }
  learn_gateway_key(m.target_gateway_id(), m.gateway_key_id(), v.key_id, m.gateway_key_box());
  const uint32_t actual = s->switch_gateway(to, m.switch_unit_seq(), m.migration_id());
  ctl::MigrateAck ack;
  ack.set_migration_id(m.migration_id());
  ack.set_phase(ctl::MIGRATE_SWITCH);
  ack.set_stream_id(m.stream_id());
  ack.set_switch_unit_seq(actual);
  send_to_controller(MessageType::migrate_ack, ack.SerializeAsString());
  log_.info("migrated", "stream={} migration={} gateway={} data={} requested_seq={} switch_seq={} "
            "reason=\"{}\"", m.stream_id(), m.migration_id(), m.target_gateway_id(),
            to.endpoint.to_string(), m.switch_unit_seq(), actual, m.reason());
}

void DeviceCore::on_stream_close(const uint8_t* body, size_t len, int64_t now_ns) {
  ctl::StreamClose c;
  if (!parse(c, body, len)) {
    ++counters_.bad_body;
    return;
  }
  Stream* s = find(c.stream_id());
  if (s == nullptr) {
    ++counters_.unknown_stream;
    return;
  }
  if (s->closed()) return;
  s->close(now_ns + config_.limits.store_ttl_ns);
  aigw_event ev{};
  ev.size = sizeof ev;
  ev.type = AIGW_EVENT_STREAM_CLOSED;
  ev.stream_id = c.stream_id();
  ev.unit_seq = s->next_unit_seq();
  set_event_gateway(ev, s->current_route());
  events_.push_back(ev);
  log_.warn("stream_closed_by_controller", "stream={}", c.stream_id());
}

int DeviceCore::send_unit(uint32_t stream_id, const uint8_t* data, size_t len, int64_t now_ns) {
  Stream* s = find(stream_id);
  if (s == nullptr) return AIGW_ERR_UNKNOWN_STREAM;
  return s->send_unit(data, len, now_ns);
}

int DeviceCore::close_stream(uint32_t stream_id, int64_t now_ns) {
  Stream* s = find(stream_id);
  if (s == nullptr) return AIGW_ERR_UNKNOWN_STREAM;
  if (s->closed()) return AIGW_ERR_CLOSED;
  ctl::StreamClose c;
  c.set_stream_id(stream_id);
  c.set_device_id(config_.device_id);
  c.set_last_unit_seq(s->next_unit_seq() - 1);
  send_to_controller(MessageType::stream_close, c.SerializeAsString());
  // The store keeps answering NACKs for units in flight until they would expire.
  s->close(now_ns + config_.limits.store_ttl_ns);
  log_.info("stream_close", "stream={} last_unit_seq={}", stream_id, c.last_unit_seq());
  return AIGW_OK;
}

void DeviceCore::close_all(int64_t now_ns) {
  for (auto& kv : streams_) {
    if (!kv.second->closed()) close_stream(kv.first, now_ns);
  }
  for (auto& kv : streams_) alloc_.destroy(kv.second);
  streams_.clear();
}

void DeviceCore::send_heartbeat(int64_t now_ns) {
  ctl::Heartbeat hb;
  hb.set_sender_id(sealer_.sender_id());
  hb.set_role(ctl::ROLE_DEVICE);
  hb.set_seq(++heartbeat_seq_);
  for (const auto& kv : streams_) {
    if (!kv.second->closed()) hb.add_stream_ids(kv.first);
  }
  send_to_controller(MessageType::heartbeat, hb.SerializeAsString());
  ++counters_.heartbeats_sent;
  next_heartbeat_ns_ = now_ns + config_.heartbeat_ns;
}

void DeviceCore::poll(int64_t now_ns) {
  for (auto& kv : admissions_) {
    Admission& a = kv.second;
    if (a.result != kAdmissionPending) continue;
    if (now_ns - a.started_ns >= config_.admission_timeout_ns ||
        (now_ns >= a.next_send_ns && a.attempts >= config_.max_attempts)) {
      a.result = AIGW_ERR_TIMEOUT;
      log_.warn("admission_timeout", "request_id={} attempts={}", kv.first, a.attempts);
    } else if (now_ns >= a.next_send_ns) {
      send_admission(a, now_ns);
    }
  }
  bool any_open = false;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream* s = it->second;
    s->poll(now_ns);
    if (s->closed() && now_ns >= s->forget_at_ns()) {
      alloc_.destroy(s);
      it = streams_.erase(it);
      continue;
    }
    any_open = any_open || !s->closed();
    ++it;
  }
  if (any_open && now_ns >= next_heartbeat_ns_) send_heartbeat(now_ns);
}

int64_t DeviceCore::next_deadline_ns() const {
  int64_t t = INT64_MAX;
  for (const auto& kv : admissions_) {
    const Admission& a = kv.second;
    if (a.result != kAdmissionPending) continue;
    t = std::min({t, a.next_send_ns, a.started_ns + config_.admission_timeout_ns});
  }
  bool any_open = false;
  for (const auto& kv : streams_) {
    const Stream* s = kv.second;
    t = std::min(t, s->next_deadline_ns());
    if (s->closed()) {
      t = std::min(t, s->forget_at_ns());
    } else {
      any_open = true;
    }
  }
  if (any_open) t = std::min(t, next_heartbeat_ns_);
  return t;
}

int DeviceCore::stream_stats(uint32_t stream_id, aigw_stream_stats& out) const {
  const Stream* s = find(stream_id);
  if (s == nullptr) return AIGW_ERR_UNKNOWN_STREAM;
  s->fill_stats(out);
  return AIGW_OK;
}

Stream* DeviceCore::find(uint32_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second;
}

}  // namespace aigw::edge
