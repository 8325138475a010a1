// The unit receiver fed arbitrary packets, through decode_data_header as a gateway does,
// with a fake clock and its timers. Whatever arrives: no crash, bounded memory, every
// fragment counted under one verdict, every NACK decodable, completed units hold the
// bytes their fragments carried, and once the streams are removed every unit is
// accounted for and every buffer is back in the pool.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/byte_order.h"
#include "protocol/data_header.h"
#include "protocol/nack.h"
#include "protocol/unit_receiver.h"

namespace {

using namespace aigw;

// Content byte at `offset` of unit (stream, seq), what structured fragments carry:
// offset * 131 + seq * 7 + stream (mod 256). 131 is odd, so that is ramp()[offset + shift]
// with ramp()[j] = j * 131 and a shift per unit: fragments are filled with one memcpy and
// completed units checked with one memcmp, not byte by byte through the sanitizers.
constexpr uint32_t kMaxOffset = 64 * 1024;
const uint8_t* ramp() {
  static const std::vector<uint8_t> r = [] {
    std::vector<uint8_t> v(kMaxOffset + 256);
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<uint8_t>(j * 131u);
    return v;
  }();
  return r.data();
}
const uint8_t* pattern(uint32_t stream, uint32_t seq) {
  const uint32_t inverse_131 = 43;  // 131 * 43 = 5633 = 22 * 256 + 1
  return ramp() + ((seq * 7u + stream) * inverse_131 & 255u);
}

class Checker : public ReceiverEvents {
 public:
  void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) override {
    ++completed;
    if (unit.size() == 0 || unit.size() > unit.capacity()) std::abort();
    if (patterned && std::memcmp(unit.data(), pattern(info.stream_id, info.unit_seq), unit.size()) != 0) {
      std::abort();
    }
  }
  void on_unit_lost(const LostUnit& info) override {
    ++lost;
    if (info.fragments_received >= info.fragment_count) std::abort();
  }
  void on_nack(const NackOut& n) override {
    if (n.chunk.size > max_nack_bytes || n.chunk.missing_count == 0) std::abort();
    size_t got = 0;
    static std::vector<uint16_t> out(65535);
    if (decode_nack(n.chunk.encoding, n.chunk.first_fragment, n.chunk.missing_count,
                    n.fragment_count, n.chunk.bytes, n.chunk.size, out.data(), out.size(),
                    got) != NackError::ok) {
      std::abort();
    }
  }
  bool patterned = true;
  size_t max_nack_bytes = 0;
  uint64_t completed = 0, lost = 0;
};

struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() { return n ? (--n, *p++) : 0; }
  uint16_t u16() {
    const uint8_t hi = u8();
    return static_cast<uint16_t>((hi << 8) | u8());
  }
  uint32_t u32() {
    const uint32_t hi = u16();
    return (hi << 16) | u16();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReceiverConfig cfg;
  // Small enough that each timer pass stays cheap (passes walk every missing fragment of
  // every unit, with the sanitizers' comparison hooks on each step), large enough for
  // every path: 160 fragments span three bitmap words, a 16-byte NACK budget splits
  // lists (> 8), ranges (> 4) and bitmaps (> 128 fragments) into several chunks, and
  // four 16 KiB units fill the budget.
  cfg.memory_budget_bytes = 64 * 1024;
  cfg.max_unit_bytes = 16 * 1024;
  cfg.max_units_in_flight = 8;
  cfg.max_streams = 4;
  cfg.recent_units_window = 4;
  cfg.max_nack_rounds = 3;
  cfg.nack_max_bytes = 16;
  Checker ev;
  ev.max_nack_bytes = cfg.nack_max_bytes;
  UnitReceiver rx(cfg, ev);
  for (uint32_t s = 1; s <= 3; ++s) rx.add_stream(s, 0xFFFFFFF0u);

  static std::vector<uint8_t> dg(kDataHeaderSize + 65535);
  int64_t now = 0;
  uint64_t fed = 0;
  constexpr int kMaxTimerRuns = 64;
  int timer_runs = 0;
  Reader in{data, size};
  while (!in.empty()) {
    const uint8_t op = in.u8();
    switch (op % 4) {
      case 0: {  // raw datagram: anything, through the decoder
        const size_t len = in.u8();
        std::memset(dg.data(), 0, kDataHeaderSize + 256);
        for (size_t i = 0; i < len; ++i) dg[i] = in.u8();
        DataHeader h;
        if (decode_data_header(dg.data(), len, h) == DecodeError::ok) {
          ev.patterned = false;  // its payload is not the pattern
          rx.on_fragment(h, dg.data() + kDataHeaderSize, now);
          ++fed;
        }
        break;
      }
      case 1: {  // a well-formed header with fuzzed fields and a correct CRC
        DataHeader h;
        h.stream_id = 1 + in.u8() % 4;  // stream 4 is unknown
        h.unit_seq = 0xFFFFFFF0u + in.u8() % 32;  // around the wrap
        h.fragment_count = static_cast<uint16_t>(1 + in.u16() % 160);
        h.unit_length = in.u8() & 1 ? in.u32() % (20 * 1024) : h.fragment_count * 100u - in.u8();
        h.fragment_index = static_cast<uint16_t>(in.u16() % h.fragment_count);
        h.flags = in.u8() & (data_flag::retransmission | data_flag::encrypted);
        if (h.fragment_index + 1 == h.fragment_count) h.flags |= data_flag::last_fragment;
        const UnitGeometry g{h.unit_length, h.fragment_count};
        if (!g.valid() || g.stride() > 65535) break;  // no sender cuts such a unit
        h.payload_length = static_cast<uint16_t>(g.payload_length(h.fragment_index));
        encode_data_header(h, dg.data());
        const uint32_t off = g.offset(h.fragment_index);
        std::memcpy(dg.data() + kDataHeaderSize, pattern(h.stream_id, h.unit_seq) + off, h.payload_length);
        DataHeader d;
        if (decode_data_header(dg.data(), kDataHeaderSize + h.payload_length, d) != DecodeError::ok) {
          std::abort();
        }
        rx.on_fragment(d, dg.data() + kDataHeaderSize, now);
        ++fed;
        break;
      }
      case 2: {  // time passes; timers run when due
        now += int64_t{in.u16()} * 10'000;
        // A timer run walks every missing fragment of every unit; bounding the runs per
        // input bounds its cost (a unit's NACK rounds and deadline fit in far fewer).
        if (rx.next_deadline_ns() <= now && timer_runs < kMaxTimerRuns) {
          ++timer_runs;
          rx.poll(now);
        }
        break;
      }
      case 3: {  // stream churn
        const uint32_t s = 1 + in.u8() % 4;
        if (op & 0x80) rx.remove_stream(s); else rx.add_stream(s, 0xFFFFFFF0u);
        break;
      }
    }
    if (rx.memory_in_use() > cfg.memory_budget_bytes) std::abort();
    if (rx.units_in_flight() > cfg.max_units_in_flight) std::abort();
  }
  uint64_t counted = 0;
  for (uint64_t c : rx.counters().fragments) counted += c;
  if (counted != fed) std::abort();
  const size_t open = rx.units_in_flight();
  for (uint32_t s = 1; s <= 4; ++s) rx.remove_stream(s);
  if (rx.units_in_flight() != 0 || rx.memory_in_use() != 0) std::abort();
  // Every unit that was opened is now complete or reported lost, and counted as such.
  uint64_t lost = 0;
  for (uint64_t c : rx.counters().units_lost) lost += c;
  if (lost != ev.lost || rx.counters().units_completed != ev.completed) std::abort();
  if (ev.lost < open) std::abort();
  return 0;
}
