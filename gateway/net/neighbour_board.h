// IPv4 -> MAC entries shared by all DPDK lcores. An ARP reply lands on whichever lcore
// serves the port (and RSS queue) it arrives on, while egress to that neighbour may
// leave from any lcore: each lcore posts what it learns here and reads it back when its
// own ArpTable misses. Readers never block (per-entry sequence lock); writers (ARP
// frames only, never data packets) serialise on a spin flag. Fixed size, no allocation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gateway/net/frame_parser.h"

namespace aigw {

class NeighbourBoard {
 public:
  static constexpr size_t kCapacity = 256;

  /// Records `ip` at `mac`; a full board replaces the entry least recently written.
  void post(uint32_t ip, const net::Mac& mac, int64_t now_ns);
  /// The MAC of `ip` and when it was learned; false when unknown.
  bool read(uint32_t ip, net::Mac& mac, int64_t& learned_ns) const;

 private:
  struct Entry {
    std::atomic<uint32_t> seq{0};  ///< odd while being written
    std::atomic<uint32_t> ip{0};
    std::atomic<uint64_t> mac{0};  ///< 48 bits
    std::atomic<int64_t> learned_ns{0};
  };
  Entry entries_[kCapacity];
  std::atomic_flag write_lock_ = ATOMIC_FLAG_INIT;
};

}  // namespace aigw
