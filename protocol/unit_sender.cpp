#include "protocol/unit_sender.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "protocol/flat_index.h"
#include "protocol/intrusive_list.h"
#include "protocol/timer_heap.h"

namespace aigw {

const char* to_string(SubmitError e) {
  switch (e) {
    case SubmitError::ok: return "ok";
    case SubmitError::unknown_stream: return "unknown_stream";
    case SubmitError::empty_unit: return "empty_unit";
    case SubmitError::unit_too_large: return "unit_too_large";
    case SubmitError::store_full: return "store_full";
    case SubmitError::sequence_reused: return "sequence_reused";
  }
  return "unknown";
}

const char* to_string(NackAnswer a) {
  switch (a) {
    case NackAnswer::queued: return "queued";
    case NackAnswer::unknown_stream: return "unknown_stream";
    case NackAnswer::unit_not_stored: return "unit_not_stored";
    case NackAnswer::malformed: return "malformed";
  }
  return "unknown";
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr uint32_t kNone = FlatIndex::kNone;
static_assert(kNone == ListLink::kEnd, "list ends and empty slots share one marker");

}  // namespace

struct UnitSender::Impl {
  // One unit in the retransmit store. Stream slot s owns store slots [s*D, s*D + D).
  struct Stored {
    UnitHandle buf;
    uint32_t len = 0;
    uint32_t stride = 0;
    uint16_t count = 0;
    uint32_t cursor = 0;         // next fragment of the first transmission
    uint32_t seq = 0;
    uint32_t gen = 0;            // bumped on release: stale resend entries skip it
    uint8_t flags = 0;
    bool active = false;
    int64_t submit_ns = 0;
    ListLink age;   // all stored units, oldest first
    ListLink send;  // units with unsent fragments
    uint32_t probes = 0;         // tail-loss probes sent for it
  };

  using AgeList = IntrusiveList<Stored, &Stored::age>;
  using SendList = IntrusiveList<Stored, &Stored::send>;

  struct Stream {
    uint32_t id = 0;
    bool active = false;
    uint32_t ring_pos = 0;
    uint32_t next_free = kNone;
  };

  // A run [first, end) of fragments to resend, valid while the unit's gen matches.
  struct Resend {
    uint32_t slot;
    uint32_t gen;
    uint32_t first;
    uint32_t end;
  };

  Impl(const SenderConfig& c, UnitSender& s)
      : cfg(c),
        owner(s),
        depth(c.store_units),
        pool(c.store_budget_bytes, c.max_unit_bytes),
        streams(c.max_streams),
        stored(size_t{c.max_streams} * depth),
        stream_index(c.max_streams),
        resend(std::max<uint32_t>(c.resend_queue_entries, 1)),
        probe_timers(c.probe_timeout_ns > 0 && c.max_probes > 0 ? stored.size() : 0),
        decoded(new uint16_t[65535]) {
    for (size_t i = streams.size(); i > 0; --i) {
      streams[i - 1].next_free = free_streams;
      free_streams = static_cast<uint32_t>(i - 1);
    }
    set_pace(c.pace_bytes_per_s);
  }

  const SenderConfig& cfg;
  UnitSender& owner;
  uint32_t depth;
  UnitBufferPool pool;
  std::vector<Stream> streams;
  std::vector<Stored> stored;
  FlatIndex stream_index;
  uint32_t free_streams = kNone;
  AgeList by_age;
  SendList to_send;
  size_t store_bytes = 0;
  std::vector<Resend> resend;  // ring
  size_t resend_head = 0, resend_n = 0;
  TimerHeap probe_timers;  // by store slot: when its unacked unit is probed next
  std::unique_ptr<uint16_t[]> decoded;  // scratch for one NACK; left uninitialised
  // Token bucket, in bytes; sending is allowed while tokens >= 0.
  double rate = 0;
  double tokens = 0;
  double bucket_depth = 0;
  int64_t refill_ns = 0;
  bool clock_started = false;
  int64_t last_poll_ns = 0;

  SenderCounters& counters() { return owner.counters_; }

  void set_pace(double bytes_per_s) {
    rate = bytes_per_s > 0 ? bytes_per_s : 0;
    // The bucket holds at least one whole fragment, so pacing can never stall.
    bucket_depth = std::max<double>(cfg.burst_bytes, double{kDataHeaderSize} + cfg.max_payload);
    tokens = std::min(tokens, bucket_depth);
  }

  // Tokens the bucket must hold again before a dry pacer sends: a batch less the one
  // fragment the bucket may overdraw.
  double resume_level() const {
    const double batch = std::min<double>(cfg.pace_batch_bytes, bucket_depth);
    return std::max(0.0, batch - (double{kDataHeaderSize} + cfg.max_payload));
  }

  void refill(int64_t now_ns) {
    if (!clock_started) {
      clock_started = true;
      refill_ns = now_ns;
      tokens = bucket_depth;
      return;
    }
    if (now_ns <= refill_ns) return;
    tokens = std::min(bucket_depth, tokens + rate * static_cast<double>(now_ns - refill_ns) * 1e-9);
    refill_ns = now_ns;
  }

  void unlink_send(uint32_t i) {
    if (to_send.contains(stored, i)) to_send.erase(stored, i);
  }

  void release(uint32_t i, bool acknowledged) {
    Stored& u = stored[i];
    by_age.erase(stored, i);
    unlink_send(i);
    if (probing()) probe_timers.remove(i);
    store_bytes -= u.buf.capacity();
    u.buf.reset();
    u.active = false;
    ++u.gen;
    if (owner.events_ != nullptr) {
      owner.events_->on_unit_released(streams[i / depth].id, u.seq, acknowledged);
    }
  }

  void expire(int64_t now_ns) {
    while (!by_age.empty() && stored[by_age.front()].submit_ns + cfg.store_ttl_ns <= now_ns) {
      release(by_age.front(), false);
      ++counters().units_expired;
    }
  }

  uint32_t find_stored(uint32_t stream_slot, uint32_t seq) const {
    for (uint32_t k = 0; k < depth; ++k) {
      const uint32_t i = stream_slot * depth + k;
      if (stored[i].active && stored[i].seq == seq) return i;
    }
    return kNone;
  }

  // Makes `bytes` of store budget free by evicting the oldest units.
  bool make_room(size_t bytes) {
    while (store_bytes + bytes > cfg.store_budget_bytes && !by_age.empty()) {
      release(by_age.front(), false);
      ++counters().units_evicted;
    }
    return store_bytes + bytes <= cfg.store_budget_bytes;
  }

  // Checks a submission and frees its ring position; the store slot, or kNone + error.
  // `need` is the store memory the unit takes (its buffer's capacity).
  uint32_t prepare(uint32_t stream_id, uint32_t seq, uint32_t len, size_t need, SubmitError& err) {
    const uint32_t s = stream_index.find(stream_id);
    if (s == kNone) {
      err = SubmitError::unknown_stream;
      return kNone;
    }
    if (len == 0) {
      err = SubmitError::empty_unit;
      return kNone;
    }
    if (len > cfg.max_unit_bytes || UnitGeometry::count_for(len, cfg.max_payload) == 0) {
      err = SubmitError::unit_too_large;
      return kNone;
    }
    if (find_stored(s, seq) != kNone) {
      err = SubmitError::sequence_reused;
      return kNone;
    }
    if (need > cfg.store_budget_bytes) {
      err = SubmitError::store_full;
      return kNone;
    }
    const uint32_t slot = s * depth + streams[s].ring_pos;
    if (stored[slot].active) {  // the D-th older unit leaves to make room
      release(slot, false);
      ++counters().units_evicted;
    }
    err = SubmitError::ok;
    return slot;
  }

  void store(uint32_t slot, uint32_t seq, UnitHandle&& buf, uint32_t len, uint8_t flags,
             int64_t now_ns) {
    Stored& u = stored[slot];
    const uint16_t count = UnitGeometry::count_for(len, cfg.max_payload);
    u.buf = std::move(buf);
    u.len = len;
    u.count = count;
    u.stride = UnitGeometry{len, count}.stride();
    u.cursor = 0;
    u.seq = seq;
    u.flags = flags & data_flag::encrypted;
    u.active = true;
    u.submit_ns = now_ns;
    store_bytes += u.buf.capacity();
    by_age.push_back(stored, slot);
    to_send.push_back(stored, slot);
    Stream& st = streams[slot / depth];
    st.ring_pos = (st.ring_pos + 1) % depth;
    ++counters().units_submitted;
  }

  SubmitError submit_copy(uint32_t stream_id, uint32_t seq, const uint8_t* data, uint32_t len,
                          uint8_t flags, int64_t now_ns) {
    SubmitError err;
    const size_t need = pool.class_size(len);
    const uint32_t slot = prepare(stream_id, seq, len, need, err);
    if (slot == kNone) return err;
    if (!make_room(need)) return SubmitError::store_full;
    UnitHandle buf = pool.acquire(len);
    if (!buf) return SubmitError::store_full;
    std::memcpy(buf.data(), data, len);
    store(slot, seq, std::move(buf), len, flags, now_ns);
    return SubmitError::ok;
  }

  SubmitError submit_handle(uint32_t stream_id, uint32_t seq, UnitHandle&& unit, uint8_t flags,
                            int64_t now_ns) {
    SubmitError err;
    const uint32_t len = unit ? unit.size() : 0;
    const uint32_t slot = prepare(stream_id, seq, len, unit.capacity(), err);
    if (slot == kNone) return err;
    if (!make_room(unit.capacity())) return SubmitError::store_full;
    store(slot, seq, std::move(unit), len, flags, now_ns);
    return SubmitError::ok;
  }

  NackAnswer on_nack(uint32_t stream_id, uint32_t seq, uint32_t fragment_count,
                     NackEncoding encoding, uint32_t first_fragment, uint32_t missing_count,
                     const uint8_t* bytes, size_t size, int64_t now_ns) {
    ++counters().nacks_received;
    const uint32_t s = stream_index.find(stream_id);
    NackAnswer answer = NackAnswer::queued;
    const uint32_t slot = s == kNone ? kNone : find_stored(s, seq);
    size_t n = 0;
    if (s == kNone) {
      answer = NackAnswer::unknown_stream;
    } else if (slot == kNone) {
      answer = NackAnswer::unit_not_stored;
    } else if (fragment_count != stored[slot].count ||
               decode_nack(encoding, first_fragment, missing_count, fragment_count, bytes, size,
                           decoded.get(), 65535, n) != NackError::ok) {
      answer = NackAnswer::malformed;
    }
    if (answer != NackAnswer::queued) {
      ++counters().nacks_unanswerable;
      return answer;
    }
    const Stored& u = stored[slot];
    // Fragments not yet sent the first time go out anyway: resend only up to the cursor.
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && decoded[j] == decoded[j - 1] + 1) ++j;
      const uint32_t first = decoded[i];
      const uint32_t end = std::min<uint32_t>(decoded[j - 1] + 1u, u.cursor);
      if (first < end) queue_resend(slot, first, end);
      i = j;
    }
    // The receiver knows the unit and drives its recovery: probe only if it falls silent.
    if (probing() && probe_timers.contains(slot)) probe_timers.set(slot, now_ns + probe_wait(u.probes));
    return NackAnswer::queued;
  }

  bool probing() const { return cfg.probe_timeout_ns > 0 && cfg.max_probes > 0; }

  int64_t probe_wait(uint32_t probes_sent) const {
    return cfg.probe_timeout_ns << std::min<uint32_t>(probes_sent, 20);
  }

  void queue_resend(uint32_t slot, uint32_t first, uint32_t end) {
    if (resend_n == resend.size()) {
      counters().resend_dropped += end - first;
      return;
    }
    resend[(resend_head + resend_n) % resend.size()] = Resend{slot, stored[slot].gen, first, end};
    ++resend_n;
  }

  // Queues the last fragment of every unit whose probe is due.
  void probe(int64_t now_ns) {
    while (!probe_timers.empty() && probe_timers.top_key() <= now_ns) {
      const uint32_t slot = probe_timers.top_id();
      Stored& u = stored[slot];
      queue_resend(slot, u.count - 1u, u.count);
      ++u.probes;
      ++counters().probes_sent;
      if (u.probes < cfg.max_probes) probe_timers.set(slot, now_ns + probe_wait(u.probes));
      else probe_timers.remove(slot);  // the store's expiry reports it if no ack comes
    }
  }

  bool emit(uint32_t slot, uint32_t index, bool resent, int64_t now_ns) {
    const Stored& u = stored[slot];
    DataHeader h;
    h.flags = u.flags;
    if (resent) h.flags |= data_flag::retransmission;
    if (index + 1 == u.count) h.flags |= data_flag::last_fragment;
    h.fragment_index = static_cast<uint16_t>(index);
    h.stream_id = streams[slot / depth].id;
    h.unit_seq = u.seq;
    h.fragment_count = u.count;
    const uint32_t offset = index * u.stride;
    const uint32_t len = std::min(u.stride, u.len - offset);
    h.payload_length = static_cast<uint16_t>(len);
    h.unit_length = u.len;
    h.send_time_us = static_cast<uint32_t>(static_cast<uint64_t>(now_ns) / 1000);
    uint8_t header[kDataHeaderSize];
    encode_data_header(h, header);
    // Sums taken with the same geometry describe exactly this fragment's bytes.
    const uint16_t* sums = u.buf.payload_sums();
    const uint32_t sum = sums != nullptr && u.buf.payload_sum_count() == u.count ? sums[index] : kNoPayloadSum;
    if (!owner.out_.send_fragment(h.stream_id, header, u.buf.data() + offset, len, sum)) {
      ++counters().send_blocked;
      return false;
    }
    ++counters().fragments_sent;
    if (resent) ++counters().fragments_resent;
    counters().bytes_sent += kDataHeaderSize + len;
    if (rate > 0) tokens -= double{kDataHeaderSize} + len;
    return true;
  }

  // Sends one fragment: a queued retransmission first, else the next first
  // transmission. Returns false when nothing was sent (idle or transport full).
  bool send_one(int64_t now_ns, bool& blocked) {
    while (resend_n > 0) {
      Resend& r = resend[resend_head];
      if (stored[r.slot].gen != r.gen || !stored[r.slot].active || r.first >= r.end) {
        resend_head = (resend_head + 1) % resend.size();
        --resend_n;
        continue;
      }
      if (!emit(r.slot, r.first, true, now_ns)) {
        blocked = true;
        return false;
      }
      ++r.first;
      return true;
    }
    if (to_send.empty()) return false;
    const uint32_t slot = to_send.front();
    Stored& u = stored[slot];
    if (!emit(slot, u.cursor, false, now_ns)) {
      blocked = true;
      return false;
    }
    if (++u.cursor == u.count) {
      to_send.erase(stored, slot);
      if (probing()) {
        u.probes = 0;
        probe_timers.set(slot, now_ns + probe_wait(0));
      }
    }
    return true;
  }

  size_t poll(int64_t now_ns, size_t max_fragments) {
    last_poll_ns = now_ns;
    expire(now_ns);
    probe(now_ns);
    refill(now_ns);
    size_t sent = 0;
    bool blocked = false;
    while (sent < max_fragments && !blocked) {
      if (rate > 0 && tokens < 0) break;
      if (!send_one(now_ns, blocked)) break;
      ++sent;
    }
    return sent;
  }

  bool has_pending() const { return resend_n > 0 || !to_send.empty(); }

  int64_t next_deadline_ns() const {
    int64_t t = kNever;
    if (has_pending()) {
      t = last_poll_ns;
      if (rate > 0 && tokens < 0) {
        t = refill_ns + static_cast<int64_t>(std::ceil((resume_level() - tokens) / rate * 1e9));
      }
    }
    if (!by_age.empty()) t = std::min(t, stored[by_age.front()].submit_ns + cfg.store_ttl_ns);
    if (!probe_timers.empty()) t = std::min(t, probe_timers.top_key());
    return t;
  }

  bool add_stream(uint32_t id) {
    if (stream_index.find(id) != kNone || free_streams == kNone) return false;
    const uint32_t s = free_streams;
    free_streams = streams[s].next_free;
    streams[s].id = id;
    streams[s].active = true;
    streams[s].ring_pos = 0;
    stream_index.insert(id, s);
    return true;
  }

  void remove_stream(uint32_t id) {
    const uint32_t s = stream_index.find(id);
    if (s == kNone) return;
    for (uint32_t k = 0; k < depth; ++k) {
      if (stored[s * depth + k].active) release(s * depth + k, false);
    }
    stream_index.erase(id);
    streams[s].active = false;
    streams[s].next_free = free_streams;
    free_streams = s;
  }
};

namespace {

// A payload of 0 bytes cannot cut anything; one larger than a datagram cannot travel.
SenderConfig sanitized(SenderConfig c) {
  constexpr uint16_t kMaxPayload = 65507 - kDataHeaderSize;  // largest UDP/IPv4 payload
  c.max_payload = std::min<uint16_t>(std::max<uint16_t>(c.max_payload, 1), kMaxPayload);
  c.store_units = std::max<uint32_t>(c.store_units, 1);
  c.max_unit_bytes = std::min(c.max_unit_bytes, 1u << 30);
  return c;
}

}  // namespace

UnitSender::UnitSender(const SenderConfig& config, PacketOut& out, SenderEvents* events)
    : config_(sanitized(config)),
      out_(out),
      events_(events),
      impl_(std::make_unique<Impl>(config_, *this)) {}

UnitSender::~UnitSender() = default;  // here, where Impl is complete

bool UnitSender::add_stream(uint32_t stream_id) { return impl_->add_stream(stream_id); }

bool UnitSender::has_stream(uint32_t stream_id) const { return impl_->stream_index.find(stream_id) != kNone; }

void UnitSender::remove_stream(uint32_t stream_id) { impl_->remove_stream(stream_id); }

SubmitError UnitSender::submit(uint32_t stream_id, uint32_t unit_seq, const uint8_t* data,
                               uint32_t len, uint8_t flags, int64_t now_ns) {
  return impl_->submit_copy(stream_id, unit_seq, data, len, flags, now_ns);
}

SubmitError UnitSender::submit(uint32_t stream_id, uint32_t unit_seq, UnitHandle&& unit,
                               uint8_t flags, int64_t now_ns) {
  return impl_->submit_handle(stream_id, unit_seq, std::move(unit), flags, now_ns);
}

NackAnswer UnitSender::on_nack(uint32_t stream_id, uint32_t unit_seq, uint32_t fragment_count,
                               NackEncoding encoding, uint32_t first_fragment,
                               uint32_t missing_count, const uint8_t* bytes, size_t size,
                               int64_t now_ns) {
  return impl_->on_nack(stream_id, unit_seq, fragment_count, encoding, first_fragment,
                        missing_count, bytes, size, now_ns);
}

void UnitSender::on_ack(uint32_t stream_id, uint32_t unit_seq) {
  const uint32_t s = impl_->stream_index.find(stream_id);
  if (s == kNone) return;
  const uint32_t slot = impl_->find_stored(s, unit_seq);
  if (slot == kNone) return;
  impl_->release(slot, true);
  ++counters_.units_acked;
}

size_t UnitSender::poll(int64_t now_ns, size_t max_fragments) {
  return impl_->poll(now_ns, max_fragments);
}

int64_t UnitSender::next_deadline_ns() const { return impl_->next_deadline_ns(); }

bool UnitSender::has_pending() const { return impl_->has_pending(); }

void UnitSender::set_pace(double bytes_per_s) {
  config_.pace_bytes_per_s = bytes_per_s;
  impl_->set_pace(bytes_per_s);
}

}  // namespace aigw
