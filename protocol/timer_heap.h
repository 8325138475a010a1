// Fixed-capacity indexed binary min-heap of deadlines, one per slot id: the receiver's
// timer structure. Sized once; every operation is O(log n) or O(1) and allocates
// nothing, so finding due units never scans the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aigw {

class TimerHeap {
 public:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  /// Ids are 0 .. capacity-1.
  explicit TimerHeap(size_t capacity) : key_(capacity, 0), pos_(capacity, kAbsent) {
    heap_.reserve(capacity);
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  bool contains(uint32_t id) const { return pos_[id] != kAbsent; }
  /// Earliest deadline; only when !empty().
  int64_t top_key() const { return key_[heap_[0]]; }
  uint32_t top_id() const { return heap_[0]; }

  /// Sets the deadline of `id`, inserting it when absent.
  void set(uint32_t id, int64_t key) {
    if (pos_[id] == kAbsent) {
      pos_[id] = static_cast<uint32_t>(heap_.size());
      heap_.push_back(id);
      key_[id] = key;
      up(pos_[id]);
      return;
    }
    const int64_t old = key_[id];
    key_[id] = key;
    if (key < old) up(pos_[id]); else down(pos_[id]);
  }

  /// Moves the deadline of `id` earlier (or inserts it); a later `key` is ignored.
  void lower(uint32_t id, int64_t key) {
    if (pos_[id] == kAbsent || key < key_[id]) set(id, key);
  }

  void remove(uint32_t id) {
    const uint32_t p = pos_[id];
    if (p == kAbsent) return;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    pos_[id] = kAbsent;
    if (last == id) return;
    heap_[p] = last;
    pos_[last] = p;
    up(p);
    down(pos_[last]);
  }

 private:
  void place(uint32_t p, uint32_t id) {
    heap_[p] = id;
    pos_[id] = p;
  }
  void up(uint32_t p) {
    const uint32_t id = heap_[p];
    while (p > 0) {
      const uint32_t parent = (p - 1) / 2;
      if (key_[heap_[parent]] <= key_[id]) break;
      place(p, heap_[parent]);
      p = parent;
    }
    place(p, id);
  }
  void down(uint32_t p) {
    const uint32_t id = heap_[p];
    const size_t n = heap_.size();
    for (;;) {
      size_t c = 2 * size_t{p} + 1;
      if (c >= n) break;
      if (c + 1 < n && key_[heap_[c + 1]] < key_[heap_[c]]) ++c;
      if (key_[heap_[c]] >= key_[id]) break;
      place(p, heap_[c]);
      p = static_cast<uint32_t>(c);
    }
    place(p, id);
  }

  std::vector<uint32_t> heap_;
  std::vector<int64_t> key_;   // by id
  std::vector<uint32_t> pos_;  // by id: index in heap_, or kAbsent
};

}  // namespace aigw
