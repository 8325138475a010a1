#include "protocol/unit_receiver.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "protocol/flat_index.h"
#include "protocol/intrusive_list.h"
#include "protocol/timer_heap.h"

namespace aigw {

const char* to_string(LossReason r) {
  switch (r) {
    case LossReason::deadline: return "deadline";
    case LossReason::nack_rounds: return "nack_rounds";
    case LossReason::memory_budget: return "memory_budget";
    case LossReason::table_full: return "table_full";
    case LossReason::stream_removed: return "stream_removed";
    case LossReason::superseded: return "superseded";
  }
  return "unknown";
}

const char* to_string(FragmentVerdict v) {
  switch (v) {
    case FragmentVerdict::accepted: return "accepted";
    case FragmentVerdict::completed: return "completed";
    case FragmentVerdict::duplicate: return "duplicate";
    case FragmentVerdict::late: return "late";
    case FragmentVerdict::unknown_stream: return "unknown_stream";
    case FragmentVerdict::unit_too_large: return "unit_too_large";
    case FragmentVerdict::inconsistent: return "inconsistent";
    case FragmentVerdict::no_memory: return "no_memory";
    case FragmentVerdict::out_of_window: return "out_of_window";
    case FragmentVerdict::kVerdictCount: break;
  }
  return "unknown";
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr uint32_t kNone = FlatIndex::kNone;
static_assert(kNone == ListLink::kEnd, "list ends and empty slots share one marker");

// Serial-number arithmetic (RFC 1982) on 32-bit unit sequence numbers.
inline bool seq_before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

inline uint64_t unit_key(uint32_t stream_id, uint32_t seq) {
  return (uint64_t{stream_id} << 32) | seq;
}

inline uint32_t bitmap_words(uint32_t count) { return (count + 63) / 64; }

// What one NACK costs on the wire beyond its ranges (IP, UDP, envelope, MAC, message
// fields): a unit may earn NACKs only up to the bytes its fragments brought.
constexpr uint32_t kNackWireOverhead = 96;
// Under memory pressure, how many of the oldest units are looked at for one of a stream
// heavier than the one asking; the bound keeps a packet's cost fixed.
constexpr uint32_t kVictimScan = 64;
inline uint32_t round8(uint32_t v) { return (v + 7u) & ~7u; }

// One buffer per unit: its bytes, the received bitmap, the payload sums (when kept) and
// the per-fragment request state (last request time, request count).
struct BufferLayout {
  uint32_t bitmap_at, sums_at, asked_at_at, asked_n_at, bytes;
};

inline BufferLayout buffer_layout(uint32_t unit_length, uint32_t count, bool sums) {
  BufferLayout l;
  l.bitmap_at = round8(unit_length);
  l.sums_at = l.bitmap_at + 8 * bitmap_words(count);
  l.asked_at_at = round8(l.sums_at + (sums ? 2 * count : 0));
  l.asked_n_at = l.asked_at_at + 4 * count;
  l.bytes = l.asked_n_at + count;
  return l;
}

// The most fragments a unit can have: decoding refuses strides below kMinStride, and
// units longer than max_unit_bytes are refused before any state is kept for them.
size_t max_fragments(const ReceiverConfig& c) {
  return std::min<size_t>(65535, (size_t{c.max_unit_bytes} + kMinStride - 1) / kMinStride + 1);
}

}  // namespace

struct UnitReceiver::Impl {
  struct Unit {
    UnitHandle buf;              // unit bytes, the received bitmap (8-aligned), the sums
    uint64_t* bitmap = nullptr;
    uint16_t* sums = nullptr;    // per-fragment payload sums, when kept
    uint32_t* asked_at = nullptr;  // per fragment: time of its last request, us after first_ns + 1; 0 never
    uint8_t* asked_n = nullptr;    // per fragment: how many times it was requested
    bool sums_whole = false;     // every accepted fragment came with its sum
    uint64_t key = 0;
    uint32_t stream_slot = 0;
    uint32_t seq = 0;
    uint32_t unit_length = 0;
    uint32_t stride = 0;
    uint16_t count = 0;
    uint16_t received = 0;
    uint32_t frontier = 0;       // highest index received + 1
    uint32_t gap_mark = 0;       // frontier when the pending gap NACK was scheduled
    uint32_t nacked_limit = 0;   // every fragment below it has been NACKed at least once
    uint32_t rounds = 0;         // most requests of any one fragment
    uint32_t retransmitted = 0;
    uint32_t wire_in = 0;        // header + payload bytes of the fragments taken
    uint32_t wire_out = 0;       // what its NACKs cost (kNackWireOverhead + ranges each)
    uint8_t flags = 0;
    bool active = false;
    bool tail = false;           // a later unit of the stream began: NACK through the end
    int64_t first_ns = 0;
    int64_t last_ns = 0;
    int64_t next_gap_ns = kNever;   // NACK of new gaps (first request for them)
    int64_t next_pass_ns = kNever;  // re-NACK of everything missing (a round)
    int64_t hold_until_ns = 0;      // no pass before: the last NACK could not be paid for
    int64_t deadline_ns = 0;
    ListLink age;     // all units, oldest first
    ListLink stream;  // units of the same stream
  };
  using AgeList = IntrusiveList<Unit, &Unit::age>;
  using StreamUnits = IntrusiveList<Unit, &Unit::stream>;

  struct Stream {
    uint32_t id = 0;
    bool active = false;
    bool closed = false;
    bool have_newest = false;
    uint32_t newest = 0;
    uint32_t floor = 0;          // units before it are late
    uint32_t close_after = 0;
    std::vector<uint32_t> finished;  // ring of recently finished seqs
    uint32_t finished_pos = 0;
    uint32_t finished_n = 0;
    StreamUnits units;            // its units, oldest first
    uint32_t held_units = 0;      // in flight, and their buffers' bytes
    size_t held_bytes = 0;
    uint32_t max_unit_bytes = 0;
    uint32_t next_free = kNone;
    // Request -> retransmission time of this stream's device (RFC 6298 smoothing), which
    // includes the device's queueing; a request is repeated only after the timeout.
    // Karn's rule: a repeated request's answer is ambiguous and not sampled; instead each
    // pass that repeats requests doubles the timeout until an unambiguous sample arrives.
    bool have_rtt = false;
    int64_t srtt_ns = 0;
    int64_t rttvar_ns = 0;
    uint32_t backoff = 0;
  };

  Impl(const ReceiverConfig& c, UnitReceiver& r)
      : cfg(c),
        owner(r),
        pool(c.memory_budget_bytes, buffer_layout(c.max_unit_bytes, 65535, c.keep_payload_sums).bytes, 4096,
             c.allocator),
        units(c.max_units_in_flight),
        unit_index(c.max_units_in_flight),
        stream_index(c.max_streams),
        timers(c.max_units_in_flight),
        missing(new uint16_t[max_fragments(c)]),
        nack_bytes(c.nack_max_bytes) {
    free_units.reserve(units.size());
    for (size_t i = units.size(); i > 0; --i) free_units.push_back(static_cast<uint32_t>(i - 1));
    streams.reserve(c.max_streams);
  }

  const ReceiverConfig& cfg;
  UnitReceiver& owner;
  UnitBufferPool pool;
  std::vector<Unit> units;
  std::vector<uint32_t> free_units;
  FlatIndex unit_index;
  FlatIndex stream_index;
  std::vector<Stream> streams;
  uint32_t free_streams = kNone;
  size_t live_streams = 0;
  AgeList by_age;
  size_t in_flight = 0;
  // The unit of the previous fragment: a burst of one unit skips the hash lookup.
  uint64_t last_key = 0;
  uint32_t last_slot = kNone;
  // Per unit, a time at or before its next event (idle time moves later per packet
  // without touching the heap, so a unit may come up early and is re-keyed then).
  TimerHeap timers;
  std::unique_ptr<uint16_t[]> missing;  // scratch for one NACK; left uninitialised
  std::vector<uint8_t> nack_bytes;

  ReceiverCounters& counters() { return owner.counters_; }
  ReceiverEvents& events() { return owner.events_; }

  Stream* find_stream(uint32_t id) {
    const uint32_t s = stream_index.find(id);
    return s == kNone ? nullptr : &streams[s];
  }

  static bool recently_finished(const Stream& s, uint32_t seq) {
    for (uint32_t i = 0; i < s.finished_n; ++i) {
      if (s.finished[i] == seq) return true;
    }
    return false;
  }

  void remember_finished(Stream& s, uint32_t seq) {
    s.finished[s.finished_pos] = seq;
    s.finished_pos = (s.finished_pos + 1) % static_cast<uint32_t>(s.finished.size());
    if (s.finished_n < s.finished.size()) ++s.finished_n;
  }

  // Unlinks the unit from every structure and returns its buffer to the caller.
  UnitHandle unlink(uint32_t slot) {
    Unit& u = units[slot];
    by_age.erase(units, slot);
    Stream& s = streams[u.stream_slot];
    s.units.erase(units, slot);
    --s.held_units;
    s.held_bytes -= u.buf.capacity();
    unit_index.erase(u.key);
    timers.remove(slot);
    remember_finished(s, u.seq);
    if (last_slot == slot) last_slot = kNone;
    u.active = false;
    u.bitmap = nullptr;
    u.sums = nullptr;
    u.asked_at = nullptr;
    u.asked_n = nullptr;
    free_units.push_back(slot);
    --in_flight;
    return std::move(u.buf);
  }

  void lose(uint32_t slot, LossReason reason) {
    const Unit& u = units[slot];
    const LostUnit info{streams[u.stream_slot].id, u.seq, reason, u.count, u.received,
                        u.unit_length};
    UnitHandle buf = unlink(slot);
    buf.reset();
    ++counters().units_lost[static_cast<size_t>(reason)];
    events().on_unit_lost(info);
  }

  void complete(uint32_t slot, int64_t now_ns) {
    const Unit& u = units[slot];
    const CompletedUnit info{streams[u.stream_slot].id, u.seq, u.flags, u.count,
                             u.retransmitted, u.rounds, u.first_ns, now_ns};
    const uint32_t len = u.unit_length;
    const uint32_t sums_at = u.sums_whole ? static_cast<uint32_t>(reinterpret_cast<uint8_t*>(u.sums) - u.buf.data()) : 0;
    const uint16_t count = u.count;
    UnitHandle buf = unlink(slot);
    buf.set_size(len);
    if (sums_at != 0) buf.set_payload_sums(sums_at, count);
    ++counters().units_completed;
    events().on_unit_complete(info, buf);
  }

  uint32_t slot_of(const Unit& u) const { return static_cast<uint32_t>(&u - units.data()); }

  void schedule_gap(Unit& u, int64_t at) {
    u.gap_mark = u.frontier;
    u.next_gap_ns = at;
    timers.lower(slot_of(u), at);
  }

  void schedule_pass(Unit& u, int64_t at) {
    if (at < u.next_pass_ns) u.next_pass_ns = at;
    timers.lower(slot_of(u), at);
  }

  // A new newest unit of the stream: older incomplete units are now known to have a
  // gap at their end; those that fell out of the seq window are given up.
  void advance_stream(Stream& s, uint32_t seq, int64_t now_ns) {
    s.newest = seq;
    s.have_newest = true;
    const uint32_t window_floor = seq - (static_cast<uint32_t>(s.finished.size()) - 1);
    if (seq_before(s.floor, window_floor)) s.floor = window_floor;
    for (uint32_t i = s.units.front(); i != kNone;) {
      const uint32_t next = StreamUnits::next(units, i);
      Unit& u = units[i];
      if (seq_before(u.seq, s.floor)) {
        lose(i, LossReason::superseded);
      } else if (!u.tail) {
        u.tail = true;
        if (u.rounds == 0) schedule_pass(u, now_ns + cfg.reorder_tolerance_ns);
      }
      i = next;
    }
  }

  // The unit to give up so that `asking` can open one more of `need` bytes (or take a
  // table slot, `by_slots`): the oldest unit of a stream that holds more than `asking`
  // would; failing that, `asking`'s own oldest when the new one would take it past its
  // fair share.
  // kNone: refuse the new unit instead (its fragments are NACKed once memory frees).
  uint32_t pick_victim(const Stream& asking, size_t need, bool by_slots) const {
    const auto weight = [&](const Stream& s) { return by_slots ? size_t{s.held_units} : s.held_bytes; };
    const size_t after = weight(asking) + (by_slots ? 1 : need);
    uint32_t seen = 0;
    for (uint32_t i = by_age.front(); i != kNone && seen < kVictimScan; i = AgeList::next(units, i), ++seen) {
      if (weight(streams[units[i].stream_slot]) > after) return i;
    }
    const size_t total = by_slots ? cfg.max_units_in_flight : cfg.memory_budget_bytes;
    const size_t fair = total / std::max<size_t>(live_streams, 1);
    return after > fair ? asking.units.front() : kNone;
  }

  // Opens a unit for the first fragment `h` of it; kNone with `verdict` set on refusal.
  uint32_t open_unit(const DataHeader& h, int64_t now_ns, FragmentVerdict& verdict) {
    const uint32_t stream_slot = stream_index.find(h.stream_id);
    if (stream_slot == kNone) {
      verdict = FragmentVerdict::unknown_stream;
      return kNone;
    }
    Stream& s = streams[stream_slot];
    verdict = new_unit_verdict(s, h);
    if (verdict != FragmentVerdict::accepted) return kNone;
    if (!s.have_newest || seq_before(s.newest, h.unit_seq)) advance_stream(s, h.unit_seq, now_ns);
    if (!free_table_slot(s)) {
      verdict = FragmentVerdict::no_memory;
      return kNone;
    }
    const BufferLayout layout = buffer_layout(h.unit_length, h.fragment_count, cfg.keep_payload_sums);
    UnitHandle buf = acquire_buffer(s, layout.bytes);
    if (!buf) {
      verdict = FragmentVerdict::no_memory;
      return kNone;
    }
    const uint32_t slot = free_units.back();
    free_units.pop_back();
    start_unit(units[slot], std::move(buf), layout, h, stream_slot, now_ns);
    track_unit(slot, s, now_ns);
    return slot;
  }

  // Whether the first fragment `h` of a new unit of `s` may open it: accepted, or why not.
  FragmentVerdict new_unit_verdict(const Stream& s, const DataHeader& h) const {
    if (seq_before(h.unit_seq, s.floor) || recently_finished(s, h.unit_seq)) return FragmentVerdict::late;
    if (s.closed && seq_before(s.close_after, h.unit_seq)) return FragmentVerdict::unknown_stream;
    if (h.unit_length > cfg.max_unit_bytes || (s.max_unit_bytes != 0 && h.unit_length > s.max_unit_bytes))
      return FragmentVerdict::unit_too_large;
    if (seq_before(s.newest, h.unit_seq) && h.unit_seq - s.newest > cfg.max_units_ahead)
      return FragmentVerdict::out_of_window;
    const UnitGeometry g{h.unit_length, h.fragment_count};
    // valid() includes the stride floor, so with unit_length <= max_unit_bytes (checked
    // above) the unit has at most max_fragments(cfg): the NACK scratch holds them all,
    // also for a caller that did not decode the header.
    if (!g.valid() || h.fragment_index >= h.fragment_count || h.payload_length != g.payload_length(h.fragment_index))
      return FragmentVerdict::inconsistent;
    return FragmentVerdict::accepted;
  }

  // Whether a unit table slot is free, giving up a unit (pick_victim) when the table is
  // full; false when none may be given up for `asking`.
  bool free_table_slot(const Stream& asking) {
    if (!free_units.empty()) return true;
    const uint32_t victim = pick_victim(asking, 0, true);
    if (victim == kNone) return false;
    lose(victim, LossReason::table_full);
    return true;
  }

  // A buffer of `bytes`, giving up units (pick_victim) while the budget has none; empty
  // when no more may be given up for `asking`.
  UnitHandle acquire_buffer(const Stream& asking, uint32_t bytes) {
    UnitHandle buf = pool.acquire(bytes);
    while (!buf) {
      const uint32_t victim = pick_victim(asking, pool.class_size(bytes), false);
      if (victim == kNone) break;
      lose(victim, LossReason::memory_budget);
      buf = pool.acquire(bytes);
    }
    return buf;
  }

  // Resets slot `u` to a fresh unit with `buf` laid out as `layout`, nothing received.
  void start_unit(Unit& u, UnitHandle&& buf, const BufferLayout& layout, const DataHeader& h, uint32_t stream_slot,
                  int64_t now_ns) {
    u.buf = std::move(buf);
    uint8_t* base = u.buf.data();
    u.bitmap = reinterpret_cast<uint64_t*>(base + layout.bitmap_at);
    std::memset(u.bitmap, 0, 8 * size_t{bitmap_words(h.fragment_count)});
    u.sums = cfg.keep_payload_sums ? reinterpret_cast<uint16_t*>(base + layout.sums_at) : nullptr;
    u.sums_whole = u.sums != nullptr;
    u.asked_at = reinterpret_cast<uint32_t*>(base + layout.asked_at_at);
    u.asked_n = base + layout.asked_n_at;
    std::memset(u.asked_at, 0, layout.bytes - layout.asked_at_at);
    u.key = unit_key(h.stream_id, h.unit_seq);
    u.stream_slot = stream_slot;
    u.seq = h.unit_seq;
    u.unit_length = h.unit_length;
    u.stride = UnitGeometry{h.unit_length, h.fragment_count}.stride();
    u.count = h.fragment_count;
    u.received = 0;
    u.frontier = 0;
    u.gap_mark = 0;
    u.nacked_limit = 0;
    u.rounds = 0;
    u.retransmitted = 0;
    u.wire_in = 0;
    u.wire_out = 0;
    u.flags = h.flags & data_flag::encrypted;
    u.active = true;
    // A unit that begins after a newer one of its stream is itself a straggler.
    u.tail = seq_before(h.unit_seq, streams[stream_slot].newest);
    u.first_ns = now_ns;
    u.last_ns = now_ns;
    u.next_gap_ns = kNever;
    u.next_pass_ns = kNever;
    u.hold_until_ns = 0;
    u.deadline_ns = now_ns + cfg.unit_deadline_ns;
  }

  // Puts the started unit in `slot` on the age and stream lists, the index and the timers.
  void track_unit(uint32_t slot, Stream& s, int64_t now_ns) {
    Unit& u = units[slot];
    by_age.push_back(units, slot);
    s.units.push_back(units, slot);
    ++s.held_units;
    s.held_bytes += u.buf.capacity();
    unit_index.insert(u.key, slot);
    ++in_flight;
    timers.set(slot, std::min(u.deadline_ns, now_ns + cfg.idle_nack_ns));
    if (u.tail) schedule_pass(u, now_ns + cfg.reorder_tolerance_ns);
  }

  FragmentVerdict take(const DataHeader& h, const uint8_t* payload, uint32_t payload_sum, int64_t now_ns) {
    const uint64_t key = unit_key(h.stream_id, h.unit_seq);
    uint32_t slot = last_slot;
    if (slot == kNone || key != last_key) {
      slot = unit_index.find(key);
      if (slot == kNone) {
        FragmentVerdict v = FragmentVerdict::accepted;
        slot = open_unit(h, now_ns, v);
        if (slot == kNone) return v;
      }
      last_key = key;
      last_slot = slot;
    }
    Unit& u = units[slot];
    const uint32_t idx = h.fragment_index;
    // The unit's geometry is fixed by its first fragment; the payload length check
    // guards callers that skipped decode_data_header.
    if (h.fragment_count != u.count || h.unit_length != u.unit_length || idx >= u.count ||
        (h.flags & data_flag::encrypted) != u.flags) {
      return FragmentVerdict::inconsistent;
    }
    const uint32_t offset = idx * u.stride;
    const uint32_t len = std::min(u.stride, u.unit_length - offset);
    if (h.payload_length != len) return FragmentVerdict::inconsistent;
    uint64_t& word = u.bitmap[idx >> 6];
    const uint64_t bit = uint64_t{1} << (idx & 63);
    if (word & bit) return FragmentVerdict::duplicate;
    word |= bit;
    std::memcpy(u.buf.data() + offset, payload, len);
    if (u.sums != nullptr) {
      if (payload_sum < kNoPayloadSum) u.sums[idx] = static_cast<uint16_t>(payload_sum); else u.sums_whole = false;
    }
    ++u.received;
    u.wire_in += static_cast<uint32_t>(kDataHeaderSize) + len;
    u.last_ns = now_ns;
    counters().bytes_accepted += len;
    if (h.flags & data_flag::retransmission) {
      ++u.retransmitted;
      ++counters().retransmissions_received;
      // Karn's rule: only a fragment asked for once tells which request it answers.
      if (u.asked_n[idx] == 1) sample_rtt(streams[u.stream_slot], now_ns - asked_time(u, idx));
    }
    if (u.received == u.count) {
      complete(slot, now_ns);
      return FragmentVerdict::completed;
    }
    if (idx >= u.frontier) {
      // Jumping past the frontier opens a gap [frontier, idx); in-order arrival never does.
      const bool gap = idx > u.frontier;
      u.frontier = idx + 1;
      if (gap && u.next_gap_ns == kNever) schedule_gap(u, now_ns + cfg.reorder_tolerance_ns);
    }
    return FragmentVerdict::accepted;
  }

  static int64_t asked_time(const Unit& u, uint32_t idx) {
    return u.first_ns + (int64_t{u.asked_at[idx]} - 1) * 1000;
  }

  void sample_rtt(Stream& s, int64_t rtt_ns) {
    if (rtt_ns < 0) return;
    s.backoff = 0;
    if (!s.have_rtt) {
      s.have_rtt = true;
      s.srtt_ns = rtt_ns;
      s.rttvar_ns = rtt_ns / 2;
      return;
    }
    const int64_t err = rtt_ns > s.srtt_ns ? rtt_ns - s.srtt_ns : s.srtt_ns - rtt_ns;
    s.rttvar_ns += (err - s.rttvar_ns) / 4;
    s.srtt_ns += (rtt_ns - s.srtt_ns) / 8;
  }

  // How long a request is given to be answered before it is repeated.
  int64_t retransmit_timeout(const Stream& s) const {
    const int64_t base = s.have_rtt ? std::max(s.srtt_ns + 4 * s.rttvar_ns, cfg.min_retransmit_timeout_ns)
                                    : cfg.renack_interval_ns;
    return std::min(base << s.backoff, cfg.max_retransmit_timeout_ns);
  }

  void mark_asked(Unit& u, uint32_t idx, int64_t now_ns) {
    const int64_t us = (now_ns - u.first_ns) / 1000 + 1;
    u.asked_at[idx] = static_cast<uint32_t>(std::min<int64_t>(std::max<int64_t>(us, 1), UINT32_MAX));
    if (u.asked_n[idx] < UINT8_MAX) ++u.asked_n[idx];
    u.rounds = std::max<uint32_t>(u.rounds, u.asked_n[idx]);
  }

  // Whether the unit's fragments brought enough bytes to pay for one more NACK.
  bool nack_affordable(Unit& u) {
    if (u.wire_out + kNackWireOverhead <= u.wire_in) return true;
    ++counters().nacks_withheld;
    return false;
  }

  void send_nack(Unit& u, size_t n) {
    NackOut out{streams[u.stream_slot].id, u.seq, u.count, u.rounds, NackChunk{}};
    encode_nack(missing.get(), n, u.count, nack_bytes.data(), cfg.nack_max_bytes,
                [&](const NackChunk& c) {
                  out.chunk = c;
                  ++counters().nacks_sent;
                  u.wire_out += kNackWireOverhead + static_cast<uint32_t>(c.size);
                  events().on_nack(out);
                });
    counters().nacked_fragments += n;
  }

  int64_t pass_due(const Unit& u) const {
    // Before any NACK a quiet unit asks for its tail; afterwards the pass timer rules.
    const int64_t due = u.rounds == 0 ? std::min(u.next_pass_ns, u.last_ns + cfg.idle_nack_ns) : u.next_pass_ns;
    return std::max(due, u.hold_until_ns);
  }

  // Outcome of selecting which missing fragments to request now.
  struct Selection {
    size_t n = 0;                   // fragments to request, at the front of `missing`
    bool repeats = false;           // some of them were asked for before
    bool exhausted = false;         // one was asked for max_nack_rounds times in vain
    int64_t next_due = kNever;      // when the earliest pending request times out
  };

  // Among the missing fragments in [0, limit): those never asked for, and those whose
  // last request has had its timeout to be answered. A request is repeated (a round is
  // spent) only after the retransmission it asked for had time to arrive.
  Selection select_requests(Unit& u, uint32_t limit, int64_t now_ns) {
    Selection sel;
    const size_t found = missing_fragments(u.bitmap, 0, limit, missing.get());
    const int64_t rto = retransmit_timeout(streams[u.stream_slot]);
    for (size_t i = 0; i < found; ++i) {
      const uint16_t idx = missing[i];
      if (u.asked_n[idx] != 0) {
        const int64_t due = asked_time(u, idx) + rto;
        if (due > now_ns) {
          sel.next_due = std::min(sel.next_due, due);
          continue;
        }
        if (u.asked_n[idx] >= cfg.max_nack_rounds) {
          sel.exhausted = true;
          return sel;
        }
        sel.repeats = true;
      }
      missing[sel.n++] = idx;
    }
    return sel;
  }

  // A pass: asks for everything missing whose request is due (the whole unit once it is
  // idle or its stream moved on). Waits while fragments still flow. False when the unit
  // is gone.
  bool run_pass(uint32_t slot, int64_t now_ns) {
    Unit& u = units[slot];
    const int64_t quiet_for = now_ns - u.last_ns;
    const bool idle = quiet_for >= cfg.idle_nack_ns;
    if (u.rounds > 0 && !idle && quiet_for < cfg.reorder_tolerance_ns) {
      u.next_pass_ns = u.last_ns + cfg.reorder_tolerance_ns;  // resends still arriving
      return true;
    }
    const uint32_t limit = idle || u.tail ? u.count : u.frontier;
    const Selection sel = select_requests(u, limit, now_ns);
    if (sel.exhausted) {
      lose(slot, LossReason::nack_rounds);
      return false;
    }
    if (sel.n == 0 && sel.next_due == kNever) {
      // Only the tail is missing and may still come: wait for idle.
      u.next_pass_ns = u.last_ns + cfg.idle_nack_ns;
      return true;
    }
    int64_t next = sel.next_due;
    if (sel.n > 0 && !nack_affordable(u)) {
      // Too few bytes arrived to pay for asking: wait for more, or for the deadline.
      u.hold_until_ns = now_ns + retransmit_timeout(streams[u.stream_slot]);
      u.next_pass_ns = u.hold_until_ns;
      return true;
    }
    Stream& s = streams[u.stream_slot];
    if (sel.repeats && s.backoff < 16) ++s.backoff;
    if (sel.n > 0) {
      for (size_t i = 0; i < sel.n; ++i) mark_asked(u, missing[i], now_ns);
      send_nack(u, sel.n);
      u.nacked_limit = std::max(u.nacked_limit, limit);
      u.next_gap_ns = kNever;  // every gap below the frontier was just asked for
      next = std::min(next, now_ns + retransmit_timeout(streams[u.stream_slot]));
    }
    u.next_pass_ns = next;
    return true;
  }

  // First request for gaps at least the reorder tolerance old: those below the frontier
  // of when the gap appeared, or every gap once nothing arrived for the tolerance.
  void run_gap(Unit& u, int64_t now_ns) {
    const bool quiet = now_ns - u.last_ns >= cfg.reorder_tolerance_ns;
    const uint32_t limit = quiet ? u.frontier : u.gap_mark;
    const uint32_t from = std::min(u.nacked_limit, limit);
    const size_t found = missing_fragments(u.bitmap, from, limit, missing.get());
    size_t n = 0;
    for (size_t i = 0; i < found; ++i) {
      if (u.asked_n[missing[i]] == 0) missing[n++] = missing[i];
    }
    u.next_gap_ns = kNever;
    if (n > 0 && !nack_affordable(u)) n = 0;  // the next pass asks, if it can pay
    if (n > 0) {
      for (size_t i = 0; i < n; ++i) mark_asked(u, missing[i], now_ns);
      send_nack(u, n);
      u.nacked_limit = std::max(u.nacked_limit, limit);
      const int64_t due = now_ns + retransmit_timeout(streams[u.stream_slot]);
      if (u.next_pass_ns == kNever || u.next_pass_ns > due) u.next_pass_ns = due;
    }
    // Gaps that opened since get their own tolerance.
    if (limit < u.frontier && missing_fragments(u.bitmap, limit, u.frontier, missing.get()) > 0) {
      schedule_gap(u, now_ns + cfg.reorder_tolerance_ns);
    }
  }

  // Runs the unit's due work; false when the unit is gone.
  bool service(uint32_t slot, int64_t now_ns) {
    Unit& u = units[slot];
    if (now_ns >= u.deadline_ns) {
      lose(slot, LossReason::deadline);
      return false;
    }
    if (pass_due(u) <= now_ns && !run_pass(slot, now_ns)) return false;
    if (u.next_gap_ns <= now_ns) run_gap(u, now_ns);
    return true;
  }

  int64_t next_event(const Unit& u) const {
    return std::min({u.deadline_ns, u.next_gap_ns, pass_due(u)});
  }

  void poll(int64_t now_ns) {
    while (!timers.empty() && timers.top_key() <= now_ns) {
      const uint32_t slot = timers.top_id();
      if (!service(slot, now_ns)) continue;  // gone, and out of the heap
      // service() leaves nothing due at now_ns; the guard keeps the loop finite whatever
      // the configuration or a clock that stepped back.
      timers.set(slot, std::max(next_event(units[slot]), now_ns + 1));
    }
  }

  bool add_stream(uint32_t id, uint32_t first_seq, uint32_t max_unit_bytes) {
    if (stream_index.find(id) != kNone || live_streams >= cfg.max_streams) return false;
    uint32_t slot = free_streams;
    if (slot != kNone) {
      free_streams = streams[slot].next_free;
    } else {
      slot = static_cast<uint32_t>(streams.size());
      streams.emplace_back();
    }
    Stream& s = streams[slot];
    s.id = id;
    s.active = true;
    s.closed = false;
    s.have_newest = false;
    s.newest = first_seq - 1;
    s.floor = first_seq;
    s.finished.assign(cfg.recent_units_window, 0);
    s.finished_pos = 0;
    s.finished_n = 0;
    assert(s.units.empty());  // a freed slot lost its units in remove_stream
    s.held_units = 0;
    s.held_bytes = 0;
    s.max_unit_bytes = max_unit_bytes;
    s.next_free = kNone;
    s.have_rtt = false;
    s.srtt_ns = 0;
    s.rttvar_ns = 0;
    stream_index.insert(id, slot);
    ++live_streams;
    return true;
  }

  void remove_stream(uint32_t id) {
    const uint32_t slot = stream_index.find(id);
    if (slot == kNone) return;
    while (!streams[slot].units.empty()) lose(streams[slot].units.front(), LossReason::stream_removed);
    stream_index.erase(id);
    Stream& s = streams[slot];
    s.active = false;
    s.next_free = free_streams;
    free_streams = slot;
    --live_streams;
  }
};

namespace {

// Limits that keep buffer arithmetic in 32 bits and every NACK able to name something.
ReceiverConfig sanitized(ReceiverConfig c) {
  c.max_unit_bytes = std::min(c.max_unit_bytes, 1u << 30);
  c.recent_units_window = std::min<uint32_t>(std::max<uint32_t>(c.recent_units_window, 1), 1u << 20);
  c.nack_max_bytes = std::max<size_t>(c.nack_max_bytes, 8);
  c.max_units_ahead = std::max<uint32_t>(c.max_units_ahead, 1);
  return c;
}

}  // namespace

UnitReceiver::UnitReceiver(const ReceiverConfig& config, ReceiverEvents& events)
    : config_(sanitized(config)), events_(events), impl_(std::make_unique<Impl>(config_, *this)) {}

UnitReceiver::~UnitReceiver() = default;  // here, where Impl is complete

bool UnitReceiver::add_stream(uint32_t stream_id, uint32_t first_unit_seq, uint32_t max_unit_bytes) {
  return impl_->add_stream(stream_id, first_unit_seq, max_unit_bytes);
}

void UnitReceiver::remove_stream(uint32_t stream_id) { impl_->remove_stream(stream_id); }

void UnitReceiver::close_stream_after(uint32_t stream_id, uint32_t last_unit_seq) {
  if (Impl::Stream* s = impl_->find_stream(stream_id)) {
    s->closed = true;
    s->close_after = last_unit_seq;
  }
}

bool UnitReceiver::has_stream(uint32_t stream_id) const {
  return impl_->stream_index.find(stream_id) != kNone;
}

FragmentVerdict UnitReceiver::on_fragment(const DataHeader& h, const uint8_t* payload,
                                          int64_t now_ns, uint32_t payload_sum) {
  const FragmentVerdict v = impl_->take(h, payload, payload_sum, now_ns);
  ++counters_.fragments[static_cast<size_t>(v)];
  return v;
}

void UnitReceiver::poll(int64_t now_ns) { impl_->poll(now_ns); }

int64_t UnitReceiver::next_deadline_ns() const {
  return impl_->timers.empty() ? kNever : impl_->timers.top_key();
}

size_t UnitReceiver::units_in_flight() const { return impl_->in_flight; }

size_t UnitReceiver::memory_in_use() const { return impl_->pool.bytes_in_use(); }

}  // namespace aigw
