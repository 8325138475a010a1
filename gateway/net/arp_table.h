// Neighbour table of one DPDK lcore: IPv4 -> MAC learned from ARP replies, used to
// address egress fragments to GPU servers (or their next hop). Fixed size, no
// allocation after construction; the oldest entry is replaced when full.
//
// Answers to the gateway's own requests are learned (learn_solicited). An unsolicited
// reply (a neighbour's announcement) may fill a free slot for an address not yet
// known, but never replaces a live entry nor evicts one (learn_announced): otherwise
// one forged reply would redirect the GPU next hop and a sweep of sender addresses
// would evict it.
#pragma once

#include <climits>
#include <cstdint>
#include <vector>

#include "gateway/net/frame_parser.h"

namespace aigw {

class ArpTable {
 public:
  explicit ArpTable(size_t capacity = 256) : entries_(capacity) {}

  /// Records (or refreshes) `ip` at `mac`: for what another lcore of this gateway learned.
  void learn(uint32_t ip, const net::Mac& mac, int64_t now_ns);
  /// Learns `ip` at `mac` from an ARP reply only if this table asked for `ip` within
  /// `solicit_window_ns`; false (nothing changed) otherwise.
  bool learn_solicited(uint32_t ip, const net::Mac& mac, int64_t now_ns);
  /// Learns an unsolicited announcement only into a free slot for an address without a
  /// live entry; false (nothing changed) otherwise.
  bool learn_announced(uint32_t ip, const net::Mac& mac, int64_t now_ns);
  /// The MAC of `ip`, or nullptr when unknown or older than `max_age_ns`.
  const net::Mac* lookup(uint32_t ip, int64_t now_ns) const;
  /// True when an ARP request for `ip` may be sent now (at most one per interval), and
  /// notes that one is being sent.
  bool should_request(uint32_t ip, int64_t now_ns);

  int64_t max_age_ns = 300'000'000'000;    ///< entries expire after 5 minutes
  int64_t request_interval_ns = 200'000'000;
  int64_t solicit_window_ns = 1'000'000'000;  ///< a reply later than this after our request is unsolicited

 private:
  struct Entry {
    uint32_t ip = 0;
    net::Mac mac{};
    bool valid = false;
    int64_t updated_ns = 0;
    int64_t requested_ns = INT64_MIN / 2;
  };
  Entry* find(uint32_t ip);
  Entry& slot_for(uint32_t ip);
  std::vector<Entry> entries_;
};

}  // namespace aigw
