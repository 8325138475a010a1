#include "gateway/core/stream_table.h"

namespace aigw {

namespace {
size_t round_up_pow2(size_t n) {
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

StreamTable::StreamTable(size_t max_streams)
    : slots_(round_up_pow2(max_streams * 2)), mask_(slots_.size() - 1), max_(max_streams) {}

size_t StreamTable::index_of(uint32_t id) const {
  // Fibonacci hashing spreads sequential ids across the table.
  return static_cast<size_t>((uint64_t{id} * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
}

StreamRoute* StreamTable::find(uint32_t stream_id) {
  for (size_t i = index_of(stream_id);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (!s.used) return nullptr;
    if (s.route.stream_id == stream_id) return &s.route;
  }
}

const StreamRoute* StreamTable::find(uint32_t stream_id) const {
  return const_cast<StreamTable*>(this)->find(stream_id);
}

bool StreamTable::upsert(const StreamRoute& route) {
  size_t i = index_of(route.stream_id);
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (!s.used) break;
    if (s.route.stream_id == route.stream_id) {
      s.route = route;
      return true;
    }
  }
  if (size_ >= max_) return false;
  slots_[i].used = true;
  slots_[i].route = route;
  ++size_;
  return true;
}

bool StreamTable::erase(uint32_t stream_id) {
  size_t i = index_of(stream_id);
  for (;; i = (i + 1) & mask_) {
    if (!slots_[i].used) return false;
    if (slots_[i].route.stream_id == stream_id) break;
  }
  // Backward-shift deletion keeps probe chains intact without tombstones.
  size_t hole = i;
  for (size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
    size_t home = index_of(slots_[j].route.stream_id);
    // Move j into the hole when its home is not cyclically within (hole, j].
    bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!in_range) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole].used = false;
  --size_;
  return true;
}

}  // namespace aigw
