#include "edge-sdk/src/stream.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "aigw/edge_crypto.h"
#include "protocol/byte_order.h"
#include "protocol/unit_digest.h"

namespace aigw::edge {

namespace {

constexpr size_t kUdpIpOverhead = 28;  // IPv4 + UDP headers, for the pacing estimate
constexpr uint32_t kPaceBatchFragments = 16;

size_t wire_bytes(const StreamSetup& s) {
  return size_t{s.unit_bytes} + (s.encrypted ? AIGW_UNIT_SEAL_OVERHEAD : kUnitDigestSize);
}

SenderConfig sender_config(const StreamSetup& s, const StreamLimits& l) {
  SenderConfig c;
  const size_t wire = wire_bytes(s);
  c.max_payload = l.max_payload;
  c.store_units = l.store_units;
  c.store_ttl_ns = l.store_ttl_ns;
  c.max_streams = 1;
  c.max_unit_bytes = static_cast<uint32_t>(wire);
  // Room for D units plus the one being submitted, with slack for the store's size
  // classes (a unit may occupy up to twice its length).
  c.store_budget_bytes = (size_t{l.store_units} + 1) * 2 * wire;
  // Room for every fragment of every stored unit as a separate run (the worst NACK).
  const size_t fragments = (wire + l.max_payload - 1) / l.max_payload;
  c.resend_queue_entries =
      static_cast<uint32_t>(std::min<size_t>(65536, std::max<size_t>(256, l.store_units * fragments)));
  if (s.pace_bytes_per_s > 0) {
    c.pace_bytes_per_s = s.pace_bytes_per_s;
  } else {
    // Twice the stream's average rate on the wire: a unit takes half a period to leave,
    // which leaves room for retransmissions before the next unit.
    const double bytes = static_cast<double>(wire + fragments * (kDataHeaderSize + kUdpIpOverhead));
    c.pace_bytes_per_s = 2.0 * bytes * 1000.0 / s.period_ms;
  }
  // Paced fragments leave kPaceBatchFragments at a time: one send call (sendmmsg, or one
  // UDP GSO datagram) and one wake-up per batch instead of per fragment; a batch is
  // ~12 KB, far below any socket buffer.
  c.pace_batch_bytes = kPaceBatchFragments * (static_cast<uint32_t>(kDataHeaderSize) + l.max_payload);
  return c;
}

}  // namespace

void set_event_gateway(aigw_event& ev, const Route& route) {
  ev.gateway_id = route.gateway_id;
  const std::string host = route.endpoint.host();
  std::snprintf(ev.gateway_address, sizeof ev.gateway_address, "%s", host.c_str());
  ev.gateway_port = route.endpoint.port();
}

Stream::Stream(uint32_t id, const StreamSetup& setup, const StreamLimits& limits,
               const Route& route, uint32_t first_unit_seq, CoreIo& io,
               std::vector<aigw_event>& events)
    : id_(id),
      setup_(setup),
      store_units_(limits.store_units),
      max_payload_(limits.max_payload),
      io_(io),
      events_(events),
      sender_(sender_config(setup, limits), *this),
      route_(route),
      previous_(route),
      switch_seq_(first_unit_seq),
      next_seq_(first_unit_seq) {}

Stream::~Stream() { sender_.remove_stream(id_); }

bool Stream::init(const Allocator& alloc) {
  return scratch_.allocate(alloc, wire_capacity()) &&
         unit_ends_.allocate(alloc, sizeof(uint64_t) * store_units_) && sender_.add_stream(id_);
}

uint64_t Stream::first_transmissions() const {
  const SenderCounters& c = sender_.counters();
  return c.fragments_sent - c.fragments_resent;
}

size_t Stream::wire_capacity() const { return wire_bytes(setup_); }

int Stream::send_unit(const uint8_t* data, size_t len, int64_t now_ns) {
  if (closed_) return AIGW_ERR_CLOSED;
  if (len == 0) return AIGW_ERR_INVALID_ARG;
  if (len > setup_.unit_bytes) return AIGW_ERR_TOO_LARGE;
  // The store holds D units and a new one pushes the oldest out: refuse while that
  // one has not completely left yet, rather than cut it short.
  auto* ends = reinterpret_cast<uint64_t*>(unit_ends_.data());
  const uint64_t submitted = sender_.counters().units_submitted;
  if (submitted >= store_units_ && first_transmissions() < ends[submitted % store_units_])
    return AIGW_ERR_BUSY;
  size_t wire_len = 0;
  uint8_t flags = 0;
  if (setup_.encrypted) {
    const int rc = aigw_unit_seal(setup_.payload_key.data(), id_, next_seq_, data, len,
                                  scratch_.data(), scratch_.size(), &wire_len);
    if (rc != AIGW_OK) return rc;
    flags = data_flag::encrypted;
  } else {
    std::memcpy(scratch_.data(), data, len);
    wire_len = append_unit_digest(scratch_.data(), len);
  }
  const SubmitError e = sender_.submit(id_, next_seq_, scratch_.data(),
                                       static_cast<uint32_t>(wire_len), flags, now_ns);
  switch (e) {
    case SubmitError::ok: break;
    case SubmitError::store_full: return AIGW_ERR_BUSY;
    case SubmitError::unit_too_large: return AIGW_ERR_TOO_LARGE;
    case SubmitError::empty_unit: return AIGW_ERR_INVALID_ARG;
    case SubmitError::unknown_stream:
    case SubmitError::sequence_reused: return AIGW_ERR_STATE;
  }
  const uint64_t previous = submitted > 0 ? ends[(submitted - 1) % store_units_] : 0;
  ends[submitted % store_units_] =
      previous + UnitGeometry::count_for(static_cast<uint32_t>(wire_len), max_payload_);
  ++next_seq_;
  poll(now_ns);
  return AIGW_OK;
}

NackAnswer Stream::on_nack(uint32_t unit_seq, uint32_t fragment_count, NackEncoding encoding,
                           uint32_t first_fragment, uint32_t missing_count,
                           const uint8_t* bytes, size_t size, int64_t now_ns) {
  const NackAnswer a = sender_.on_nack(id_, unit_seq, fragment_count, encoding, first_fragment,
                                       missing_count, bytes, size, now_ns);
  if (a == NackAnswer::unit_not_stored) {
    aigw_event ev{};
    ev.size = sizeof ev;
    ev.type = AIGW_EVENT_UNIT_UNRECOVERABLE;
    ev.stream_id = id_;
    ev.unit_seq = unit_seq;
    set_event_gateway(ev, route_for(unit_seq));
    events_.push_back(ev);
  }
  if (a == NackAnswer::queued) poll(now_ns);
  return a;
}

uint32_t Stream::switch_gateway(const Route& to, uint32_t switch_seq, uint64_t migration_id) {
  if (migrations_ > 0 && migration_id == last_migration_id_) return last_switch_answer_;
  // A unit already begun stays where it started; the switch waits for the next one.
  const uint32_t actual = seq_before(switch_seq, next_seq_) ? next_seq_ : switch_seq;
  previous_ = current_route();
  route_ = to;
  switch_seq_ = actual;
  last_migration_id_ = migration_id;
  last_switch_answer_ = actual;
  ++migrations_;
  aigw_event ev{};
  ev.size = sizeof ev;
  ev.type = AIGW_EVENT_MIGRATED;
  ev.stream_id = id_;
  ev.unit_seq = actual;
  set_event_gateway(ev, to);
  events_.push_back(ev);
  return actual;
}

const Route& Stream::route_for(uint32_t unit_seq) const {
  return seq_before(unit_seq, switch_seq_) ? previous_ : route_;
}

size_t Stream::poll(int64_t now_ns) {
  size_t total = 0;
  for (;;) {
    const size_t n = sender_.poll(now_ns);
    total += n;
    if (n == 0 || !sender_.has_pending()) break;
  }
  io_.flush();
  return total;
}

void Stream::close(int64_t forget_at_ns) {
  closed_ = true;
  forget_at_ns_ = forget_at_ns;
}

bool Stream::send_fragment(uint32_t /*stream_id*/, const uint8_t* header, const uint8_t* payload,
                           size_t payload_len, uint32_t /*payload_sum: the kernel sums*/) {
  // The unit sequence number sits at byte 12 of the v1 header (protocol/data_header.h).
  const uint32_t unit_seq = wire::get_u32(header + 12);
  return io_.send_fragment(route_for(unit_seq).endpoint, header, kDataHeaderSize, payload,
                           payload_len);
}

void Stream::fill_stats(aigw_stream_stats& out) const {
  const SenderCounters& c = sender_.counters();
  out.stream_id = id_;
  out.units_sent = c.units_submitted;
  out.fragments_sent = first_transmissions();
  out.fragments_resent = c.fragments_resent;
  out.bytes_sent = c.bytes_sent;
  out.nacks_received = c.nacks_received;
  out.nacks_unanswerable = c.nacks_unanswerable;
  out.units_expired = c.units_expired;
  out.units_evicted = c.units_evicted;
  out.migrations = migrations_;
  out.next_unit_seq = next_seq_;
  const Route& r = current_route();
  out.gateway_id = r.gateway_id;
  const std::string host = r.endpoint.host();
  std::snprintf(out.gateway_address, sizeof out.gateway_address, "%s", host.c_str());
  out.gateway_port = r.endpoint.port();
}

}  // namespace aigw::edge
