// Neighbour table of one DPDK lcore: IPv4 -> MAC learned from ARP traffic, used to
// address egress fragments to GPU servers (or their next hop). Fixed size, no
// allocation after construction; the oldest entry is replaced when full.
#pragma once

#include <climits>
#include <cstdint>
#include <vector>

#include "gateway/frame_parser.h"

namespace aigw {

class ArpTable {
 public:
  explicit ArpTable(size_t capacity = 256) : entries_(capacity) {}

  /// Records (or refreshes) `ip` at `mac`.
  void learn(uint32_t ip, const net::Mac& mac, int64_t now_ns);
  /// The MAC of `ip`, or nullptr when unknown or older than `max_age_ns`.
  const net::Mac* lookup(uint32_t ip, int64_t now_ns) const;
  /// True when an ARP request for `ip` may be sent now (at most one per interval), and
  /// notes that one is being sent.
  bool should_request(uint32_t ip, int64_t now_ns);

  int64_t max_age_ns = 300'000'000'000;    ///< entries expire after 5 minutes
  int64_t request_interval_ns = 200'000'000;

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
