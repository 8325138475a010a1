// Single-producer single-consumer ring of fixed capacity, for handing commands from the
// agent's thread to a DPDK lcore and events back without locks. Elements are copied in
// and out; storage is allocated once.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace aigw {

template <typename T>
class SpscRing {
 public:
  /// Capacity is rounded up to a power of two.
  explicit SpscRing(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    slots_ = std::make_unique<T[]>(c);
    mask_ = c - 1;
  }

  /// Producer side. False when full.
  bool push(const T& v) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) return false;
    slots_[head & mask_] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  /// Consumer side: the oldest element or nullptr; call pop() when done with it.
  const T* front() const {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & mask_];
  }
  void pop() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  size_t capacity() const { return mask_ + 1; }

 private:
  std::unique_ptr<T[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace aigw
