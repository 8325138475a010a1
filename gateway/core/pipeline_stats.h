// Counters of one ingest pipeline, indexed by enum so that the data path bumps plain
// integers and the control thread (metrics, load sync, telemetry) reads an atomic copy
// the pipeline publishes every few milliseconds. Names and help texts live in one table
// so every exporter prints the same metric names.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "protocol/data_header.h"
#include "protocol/unit_receiver.h"

namespace aigw {

/// Per-port counters and gauges.
enum class PortStat : uint8_t {
  datagrams,
  bytes,
  // Header decode failures, one per protocol DecodeError (same order, ok excluded).
  drop_truncated,
  drop_bad_magic,
  drop_bad_version,
  drop_bad_header_length,
  drop_bad_type,
  drop_bad_flags,
  drop_bad_header_checksum,
  drop_zero_count,
  drop_index_out_of_range,
  drop_inconsistent_geometry,
  drop_length_mismatch,
  drop_payload_truncated,
  // Stream table checks.
  drop_unknown_stream,
  drop_wrong_source,
  drop_wrong_port,
  drop_released,
  // Receiver verdicts (protocol FragmentVerdict).
  fragments_accepted,
  fragments_completing,
  fragments_duplicate,
  fragments_late,
  fragments_unknown_to_receiver,
  fragments_unit_too_large,
  fragments_inconsistent,
  fragments_no_memory,
  fragments_out_of_window,
  units_completed,
  units_lost_deadline,
  units_lost_nack_rounds,
  units_lost_memory_budget,
  units_lost_table_full,
  units_lost_stream_removed,
  units_lost_superseded,
  nacks_sent,
  nacks_withheld,
  nacked_fragments,
  retransmissions_received,
  memory_bytes,      ///< gauge: bytes held by in-flight units
  units_in_flight,   ///< gauge
  streams,           ///< gauge: admitted streams on the port
  kCount
};

/// Egress (sender role towards GPU servers) counters of one pipeline.
enum class EgressStat : uint8_t {
  units_forwarded,
  units_not_forwarded,   ///< submit to the egress store failed (budget, unknown stream)
  fragments_sent,
  fragments_resent,
  bytes_sent,
  gpu_nacks,
  gpu_nacks_unanswerable,
  gpu_acks,
  gpu_messages_rejected,  ///< bad envelope or body on the egress socket
  units_acked,
  units_expired,
  units_evicted,
  send_blocked,
  fragments_without_route,  ///< stream gone before its stored fragments were sent
  probes_sent,              ///< tail-loss probes of units the GPU server had not acked
  streams_refused,          ///< assignments refused: a stream table (route, receiver, egress) full
  kCount
};

inline constexpr size_t kPortStatCount = static_cast<size_t>(PortStat::kCount);
inline constexpr size_t kEgressStatCount = static_cast<size_t>(EgressStat::kCount);

// The ranges of PortStat that mirror protocol enums, value for value.
static_assert(static_cast<size_t>(PortStat::drop_payload_truncated) - static_cast<size_t>(PortStat::drop_truncated) ==
                  static_cast<size_t>(kLastDecodeError) - static_cast<size_t>(DecodeError::truncated),
              "one drop_* counter per DecodeError, in order");
static_assert(static_cast<size_t>(PortStat::fragments_out_of_window) -
                      static_cast<size_t>(PortStat::fragments_accepted) + 1 ==
                  static_cast<size_t>(FragmentVerdict::kVerdictCount),
              "one fragments_* counter per FragmentVerdict, in order");
static_assert(static_cast<size_t>(PortStat::units_lost_superseded) - static_cast<size_t>(PortStat::units_lost_deadline) +
                      1 ==
                  kLossReasonSlots - static_cast<size_t>(LossReason::deadline),
              "one units_lost_* counter per LossReason, in order");

/// The drop counter of a header that failed to decode (not DecodeError::ok).
constexpr PortStat port_stat(DecodeError e) {
  return static_cast<PortStat>(static_cast<size_t>(PortStat::drop_truncated) + static_cast<size_t>(e) -
                               static_cast<size_t>(DecodeError::truncated));
}
constexpr PortStat port_stat(FragmentVerdict v) {
  return static_cast<PortStat>(static_cast<size_t>(PortStat::fragments_accepted) + static_cast<size_t>(v));
}
constexpr PortStat port_stat(LossReason r) {
  return static_cast<PortStat>(static_cast<size_t>(PortStat::units_lost_deadline) + static_cast<size_t>(r) -
                               static_cast<size_t>(LossReason::deadline));
}

struct StatInfo {
  const char* metric;  ///< Prometheus metric name without the aigw_gateway_ prefix
  const char* reason;  ///< value of the `reason` label, or nullptr
  bool gauge;
  const char* help;
};

const StatInfo& stat_info(PortStat s);
const StatInfo& stat_info(EgressStat s);

/// A set of counters readable from another thread (relaxed atomics: each value is
/// exact, the set is not a single snapshot).
template <size_t N>
struct PublishedStats {
  std::atomic<uint64_t> v[N] = {};
  void store(const uint64_t* src) {
    for (size_t i = 0; i < N; ++i) v[i].store(src[i], std::memory_order_relaxed);
  }
  uint64_t get(size_t i) const { return v[i].load(std::memory_order_relaxed); }
};

using PublishedPortStats = PublishedStats<kPortStatCount>;
using PublishedEgressStats = PublishedStats<kEgressStatCount>;

/// The counters of one data port summed over the pipelines that serve it (one per RSS
/// queue or socket worker). Built on the reading thread; holds no copies.
template <size_t N>
class StatsSum {
 public:
  static constexpr size_t kMaxParts = 64;
  StatsSum() = default;
  explicit StatsSum(const PublishedStats<N>& s) { add(s); }
  void add(const PublishedStats<N>& s) {
    if (n_ < kMaxParts) parts_[n_++] = &s;
  }
  uint64_t get(size_t i) const {
    uint64_t v = 0;
    for (size_t p = 0; p < n_; ++p) v += parts_[p]->get(i);
    return v;
  }

 private:
  const PublishedStats<N>* parts_[kMaxParts] = {};
  size_t n_ = 0;
};
using PortStatsView = StatsSum<kPortStatCount>;

}  // namespace aigw
