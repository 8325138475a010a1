// The admitted streams of one pipeline: who may send on which port, where NACKs go and
// which GPU server receives the stream's units. Changed only by controller commands
// (and static config); looked up per packet, so it is a fixed-capacity open-addressing
// table that never allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/udp_endpoint.h"

namespace aigw {

/// One admitted stream as the data plane needs it.
struct StreamRoute {
  uint32_t stream_id = 0;
  uint16_t data_port = 0;       ///< UDP port of the gateway the device sends to
  Ipv4Endpoint source;          ///< device data source; port 0 accepts any source port
  Ipv4Endpoint device_control;  ///< where NACKs go
  uint32_t gpu_id = 0;
  uint32_t device_id = 0;       ///< owner, reported back so a restarted controller knows it
  Ipv4Endpoint gpu;             ///< where complete units go
  double bandwidth_bps = 0;     ///< admitted profile, reported back in StreamSync
  double memory_bytes = 0;
  uint32_t unit_bytes = 0;      ///< admitted unit size: longer units are refused; 0 unknown
  uint32_t first_unit_seq = 0;  ///< units before it are not ours (migration target)
  bool releasing = false;       ///< migration source: stop after release_after_unit_seq
  uint32_t release_after_unit_seq = 0;
  bool retired = false;         ///< released: no ingest, egress store still draining
  bool any_done = false;        ///< a unit of the stream completed or was lost here
  uint32_t last_done_seq = 0;   ///< newest such unit

  /// True when the source address may send this stream.
  bool source_matches(const Ipv4Endpoint& from) const {
    return from.ip == source.ip && (source.port == 0 || from.port == source.port);
  }
};

/// Serial-number comparison for wrapping 32-bit unit sequence numbers: a is after b.
inline bool seq_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

class StreamTable {
 public:
  /// Room for `max_streams` entries; the table keeps its load factor at most 1/2.
  explicit StreamTable(size_t max_streams);

  /// The stream's entry, or nullptr.
  StreamRoute* find(uint32_t stream_id);
  const StreamRoute* find(uint32_t stream_id) const;
  /// Inserts or replaces. False when the table is full.
  bool upsert(const StreamRoute& route);
  /// Removes; false when absent.
  bool erase(uint32_t stream_id);

  size_t size() const { return size_; }
  size_t capacity() const { return max_; }

  /// Calls f(StreamRoute&) for every entry (control path: syncs, deadlines).
  template <typename F>
  void for_each(F&& f) {
    for (auto& s : slots_)
      if (s.used) f(s.route);
  }

 private:
  struct Slot {
    bool used = false;
    StreamRoute route;
  };
  size_t index_of(uint32_t id) const;
  std::vector<Slot> slots_;
  size_t mask_;
  size_t max_;
  size_t size_ = 0;
};

}  // namespace aigw
