#include "gateway/net/neighbour_board.h"

namespace aigw {

namespace {
uint64_t pack(const net::Mac& m) {
  uint64_t v = 0;
  for (uint8_t b : m) v = v << 8 | b;
  return v;
}
net::Mac unpack(uint64_t v) {
  net::Mac m;
  for (size_t i = 6; i-- > 0;) {
    m[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  return m;
}
}  // namespace

void NeighbourBoard::post(uint32_t ip, const net::Mac& mac, int64_t now_ns) {
  if (ip == 0) return;
  while (write_lock_.test_and_set(std::memory_order_acquire)) {
  }
  Entry* slot = nullptr;
  Entry* oldest = &entries_[0];
  for (Entry& e : entries_) {
    const uint32_t eip = e.ip.load(std::memory_order_relaxed);
    if (eip == ip) {
      slot = &e;
      break;
    }
    if (slot == nullptr && eip == 0) slot = &e;
    if (e.learned_ns.load(std::memory_order_relaxed) < oldest->learned_ns.load(std::memory_order_relaxed)) oldest = &e;
  }
  if (slot == nullptr) slot = oldest;
  const uint32_t s = slot->seq.load(std::memory_order_relaxed);
  slot->seq.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot->ip.store(ip, std::memory_order_relaxed);
  slot->mac.store(pack(mac), std::memory_order_relaxed);
  slot->learned_ns.store(now_ns, std::memory_order_relaxed);
  slot->seq.store(s + 2, std::memory_order_release);
  write_lock_.clear(std::memory_order_release);
}

bool NeighbourBoard::read(uint32_t ip, net::Mac& mac, int64_t& learned_ns) const {
  for (const Entry& e : entries_) {
    if (e.ip.load(std::memory_order_relaxed) != ip) continue;
    for (int attempt = 0; attempt < 16; ++attempt) {
      const uint32_t s0 = e.seq.load(std::memory_order_acquire);
      if (s0 & 1) continue;
      const uint32_t eip = e.ip.load(std::memory_order_relaxed);
      const uint64_t m = e.mac.load(std::memory_order_relaxed);
      const int64_t t = e.learned_ns.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (e.seq.load(std::memory_order_relaxed) != s0) continue;
      if (eip != ip) break;  // replaced meanwhile
      mac = unpack(m);
      learned_ns = t;
      return true;
    }
  }
  return false;
}

}  // namespace aigw
