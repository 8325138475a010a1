// The unit receiver (reassembler + loss detection + NACK timing) for one port, owned by
// one core. I/O-free: the caller feeds decoded fragments with the current time, calls
// poll() at next_deadline_ns(), and gets completed units, losses and NACKs through a
// ReceiverEvents implementation. Nothing is allocated per packet.
//
// Per unit: a contiguous buffer of unit length from the pool plus a bitmap of received
// fragments. Payload is copied into place on arrival. Loss detection (docs/protocol.md §4):
//  * a gap (a later fragment index or a later unit of the stream arrived while earlier
//    fragments are missing) schedules a NACK after `reorder_tolerance_ns`;
//  * a unit that went quiet (`idle_nack_ns` with no fragment) NACKs its tail;
//  * a NACKed fragment still missing is asked for again once its request has had the
//    stream's retransmit timeout to be answered (the measured request-to-retransmission
//    time, RFC 6298 style; `renack_interval_ns` before the first sample), so a round is
//    spent only when the retransmission had time to arrive: a lost NACK or a lost
//    retransmission costs one round, a slow answer none;
//  * once one fragment was asked for `max_nack_rounds` times in vain, or
//    `unit_deadline_ns` after its first fragment, the unit is lost and reported with the
//    reason.
// Hostile input must not cost more than it carries: the NACKs a unit earns are bounded
// by the bytes it brought, a unit may not be longer than its stream allows, a unit seq
// far beyond the stream's newest is refused, and over the memory budget or table size
// the stream holding the most pays (its oldest incomplete unit is evicted and reported)
// — never a lighter stream for a heavier one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/data_header.h"
#include "protocol/nack.h"
#include "protocol/payload_sum.h"
#include "protocol/unit_buffer_pool.h"

namespace aigw {

struct ReceiverConfig {
  size_t memory_budget_bytes = size_t{256} << 20;  ///< per port, all units in flight
  uint32_t max_unit_bytes = 16u << 20;             ///< larger units are rejected (<= 1 GiB)
  uint32_t max_units_in_flight = 4096;             ///< table slots
  uint32_t max_streams = 65536;
  int64_t reorder_tolerance_ns = 3'000'000;        ///< gap -> first NACK
  int64_t idle_nack_ns = 20'000'000;               ///< quiet incomplete unit -> NACK tail
  /// How long a request waits to be answered before it is repeated, until the stream's
  /// request-to-retransmission time has been measured; then srtt + 4 * rttvar, clamped.
  int64_t renack_interval_ns = 40'000'000;
  int64_t min_retransmit_timeout_ns = 10'000'000;
  int64_t max_retransmit_timeout_ns = 500'000'000;
  /// A unit is lost when one fragment was requested this many times, each time given its
  /// retransmit timeout, and never arrived.
  uint32_t max_nack_rounds = 10;
  int64_t unit_deadline_ns = 3'000'000'000;        ///< first fragment -> lost
  size_t nack_max_bytes = 1200;                    ///< NACK payload budget per datagram (>= 8)
  uint32_t recent_units_window = 64;               ///< finished seqs remembered per stream
  /// A unit seq more than this far ahead of its stream's newest is refused
  /// (FragmentVerdict::out_of_window): one forged fragment cannot push the stream's
  /// window past every real unit.
  uint32_t max_units_ahead = 4096;
  /// Keep each fragment's payload sum with its unit (2 bytes per fragment) and hand
  /// them on with the completed unit (UnitHandle::payload_sums) when every fragment
  /// brought one: for an egress that fills UDP checksums itself.
  bool keep_payload_sums = false;
  /// Source of the unit buffers (default operator new[]): lets a GPU server receive
  /// straight into memory its application registered (pinned host memory).
  BufferAllocator allocator;
};

enum class LossReason : uint8_t {
  deadline = 1,        ///< not complete within unit_deadline_ns
  nack_rounds,         ///< still incomplete after max_nack_rounds NACKs
  memory_budget,       ///< evicted: port over its memory budget
  table_full,          ///< evicted: too many units in flight
  stream_removed,      ///< its stream was released while the unit was incomplete
  superseded,          ///< the stream moved too far ahead (seq window) to keep it
};
/// Size of an array indexed by LossReason value (slot 0 unused).
inline constexpr size_t kLossReasonSlots = static_cast<size_t>(LossReason::superseded) + 1;

const char* to_string(LossReason r);

/// Why a fragment was not taken. Every value has its own counter.
enum class FragmentVerdict : uint8_t {
  accepted = 0,        ///< new fragment copied into its unit
  completed,           ///< accepted and it completed the unit
  duplicate,           ///< fragment already held (counted, harmless)
  late,                ///< unit already completed or reported lost
  unknown_stream,
  unit_too_large,
  inconsistent,        ///< count/length differ from the unit's earlier fragments
  no_memory,           ///< budget exhausted and nothing evictable
  out_of_window,       ///< unit seq more than max_units_ahead past the stream's newest
  kVerdictCount
};

const char* to_string(FragmentVerdict v);

struct CompletedUnit {
  uint32_t stream_id;
  uint32_t unit_seq;
  uint8_t flags;              ///< data_flag::encrypted carried through
  uint16_t fragment_count;
  uint32_t retransmitted_fragments;
  uint32_t nack_rounds;
  int64_t first_fragment_ns;
  int64_t completed_ns;
};

struct LostUnit {
  uint32_t stream_id;
  uint32_t unit_seq;
  LossReason reason;
  uint16_t fragment_count;
  uint16_t fragments_received;
  uint32_t unit_length;
};

/// A NACK for one unit, ready to be put into a ctl::RetransmitRequest.
struct NackOut {
  uint32_t stream_id;
  uint32_t unit_seq;
  uint16_t fragment_count;
  uint32_t round;
  NackChunk chunk;
};

/// Callbacks from the receiver, on the thread that drives it. The receiver never
/// calls into itself from a callback.
class ReceiverEvents {
 public:
  virtual ~ReceiverEvents() = default;
  /// The unit is whole. Take `unit` (move) to keep the bytes; otherwise the buffer
  /// returns to the pool when the call returns. A kept handle still counts against the
  /// port's memory budget and must be released before the receiver is destroyed.
  virtual void on_unit_complete(const CompletedUnit& info, UnitHandle& unit) = 0;
  virtual void on_unit_lost(const LostUnit& info) = 0;
  /// A NACK chunk to send; `nack.chunk.bytes` is valid only during the call.
  virtual void on_nack(const NackOut& nack) = 0;
};

struct ReceiverCounters {
  uint64_t fragments[static_cast<size_t>(FragmentVerdict::kVerdictCount)] = {};
  uint64_t bytes_accepted = 0;
  uint64_t units_completed = 0;
  uint64_t units_lost[kLossReasonSlots] = {};  ///< by LossReason value
  uint64_t nacks_sent = 0;
  uint64_t nacks_withheld = 0;  ///< NACKs not sent: the unit brought too few bytes to pay for them
  uint64_t nacked_fragments = 0;
  uint64_t retransmissions_received = 0;
};

class UnitReceiver {
 public:
  UnitReceiver(const ReceiverConfig& config, ReceiverEvents& events);
  ~UnitReceiver();
  UnitReceiver(const UnitReceiver&) = delete;
  UnitReceiver& operator=(const UnitReceiver&) = delete;

  /// Admits a stream; fragments of other streams get FragmentVerdict::unknown_stream.
  /// `first_unit_seq` is the first unit expected (units before it are late);
  /// `max_unit_bytes` (0: the config's) bounds its units' length (the admitted size).
  bool add_stream(uint32_t stream_id, uint32_t first_unit_seq = 0, uint32_t max_unit_bytes = 0);
  /// Stops accepting the stream now; its incomplete units are reported lost with
  /// LossReason::stream_removed. To let units up to a switch point finish first (stream
  /// migration), call close_stream_after() and remove the stream later.
  void remove_stream(uint32_t stream_id);
  /// Keeps receiving units up to `last_unit_seq` (inclusive, serial order) but treats
  /// fragments of later units as FragmentVerdict::unknown_stream.
  void close_stream_after(uint32_t stream_id, uint32_t last_unit_seq);
  bool has_stream(uint32_t stream_id) const;

  /// Feeds one validated fragment (decode_data_header returned ok). `payload` holds
  /// h.payload_length bytes; `payload_sum` is their ones-complement sum when the caller
  /// has it (protocol/payload_sum.h), kept when config().keep_payload_sums.
  FragmentVerdict on_fragment(const DataHeader& h, const uint8_t* payload, int64_t now_ns,
                              uint32_t payload_sum = kNoPayloadSum);

  /// Sends due NACKs, reports expired units. Call at or after next_deadline_ns().
  void poll(int64_t now_ns);
  /// Earliest time poll() has work, or INT64_MAX.
  int64_t next_deadline_ns() const;

  const ReceiverCounters& counters() const { return counters_; }
  size_t units_in_flight() const;
  size_t memory_in_use() const;
  const ReceiverConfig& config() const { return config_; }

 private:
  struct Impl;
  ReceiverConfig config_;
  ReceiverEvents& events_;
  ReceiverCounters counters_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw
