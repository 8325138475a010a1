// Fixed pool of unit buffers for one port/core: allocated at start-up, never per
// packet. A UnitHandle owns one buffer and returns it to the pool when destroyed, so
// a completed unit can be handed on by reference (e.g. to the egress store) and the
// memory comes back when the last user is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace aigw {

class UnitBufferPool;

/// Where a pool's buffers come from when not operator new[] (e.g. pinned host memory
/// an application provides for a copy to a GPU). `alloc` returns null when out of memory.
struct BufferAllocator {
  void* (*alloc)(void* user, size_t bytes) = nullptr;
  void (*free)(void* user, void* p) = nullptr;
  void* user = nullptr;
  bool set() const { return alloc != nullptr && free != nullptr; }
};

/// Move-only ownership of one pooled buffer holding a unit's bytes.
class UnitHandle {
 public:
  UnitHandle() = default;
  UnitHandle(UnitHandle&& o) noexcept { *this = std::move(o); }
  UnitHandle& operator=(UnitHandle&& o) noexcept;
  UnitHandle(const UnitHandle&) = delete;
  UnitHandle& operator=(const UnitHandle&) = delete;
  ~UnitHandle() { reset(); }

  uint8_t* data() const { return data_; }
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  explicit operator bool() const { return data_ != nullptr; }
  /// Sets the length of valid bytes (<= capacity).
  void set_size(uint32_t n) { size_ = n; }
  /// The unit's per-fragment payload sums (protocol/payload_sum.h) kept in the same
  /// buffer, or nullptr when none were recorded.
  const uint16_t* payload_sums() const {
    return sums_offset_ == 0 ? nullptr : reinterpret_cast<const uint16_t*>(data_ + sums_offset_);
  }
  /// How many fragments the sums describe (the geometry they were taken with).
  uint32_t payload_sum_count() const { return sum_count_; }
  /// Records that `count` sums sit at byte `offset` (> 0, even, within capacity).
  void set_payload_sums(uint32_t offset, uint32_t count) {
    sums_offset_ = offset;
    sum_count_ = count;
  }
  void reset();

 private:
  friend class UnitBufferPool;
  UnitBufferPool* pool_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
  uint32_t index_ = 0;
  uint32_t sums_offset_ = 0;
  uint32_t sum_count_ = 0;
};

/// Buffers of a few size classes (from `min_buffer` to `max_buffer`: each power of two and
/// three steps between it and the next, so a buffer wastes at most a fifth of itself),
/// with a byte budget across all of them. Single-threaded: owned by one core; handles
/// must be destroyed before the pool.
class UnitBufferPool {
 public:
  /// `budget_bytes` caps the bytes handed out at once; buffers are carved lazily at
  /// first use of a size class and kept afterwards (steady state allocates nothing).
  UnitBufferPool(size_t budget_bytes, uint32_t max_buffer, uint32_t min_buffer = 4096,
                 const BufferAllocator& allocator = BufferAllocator{});
  ~UnitBufferPool();
  UnitBufferPool(const UnitBufferPool&) = delete;
  UnitBufferPool& operator=(const UnitBufferPool&) = delete;

  /// A buffer of at least `bytes`, or an empty handle when the budget is exhausted or
  /// `bytes` > max_buffer.
  UnitHandle acquire(uint32_t bytes);

  size_t budget_bytes() const { return budget_; }
  size_t bytes_in_use() const { return in_use_; }
  size_t buffers_in_use() const { return handed_out_; }
  /// Bytes a buffer for a unit of `bytes` would take (its size class).
  uint32_t class_size(uint32_t bytes) const;
  /// Bytes of memory the pool holds (handed out plus kept free); never above the budget.
  size_t bytes_reserved() const { return reserved_; }
  /// Carves `count` buffers for units of `bytes` now, so that start-up, not the first
  /// units, pays for the allocation. Returns how many exist afterwards (budget-bound).
  size_t prewarm(uint32_t bytes, size_t count);

 private:
  friend class UnitHandle;
  void release(uint32_t index);

  uint32_t class_index(uint32_t bytes) const;
  uint32_t class_bytes(uint32_t cls) const;
  int32_t carve(uint32_t cls);
  bool trim_free_buffers(size_t need);

  uint8_t* allocate(uint32_t bytes);
  void deallocate(uint8_t* p);

  struct Slot {
    uint8_t* bytes = nullptr;  // null: a vacant slot whose buffer was given back
    uint32_t capacity;
    uint32_t cls;
    int32_t next_free;  // free-list link within its class (or in the vacant list)
  };
  std::vector<Slot> slots_;
  std::vector<int32_t> free_heads_;  // per size class
  int32_t vacant_head_ = -1;
  size_t budget_;
  size_t in_use_ = 0;
  size_t handed_out_ = 0;
  size_t reserved_ = 0;
  uint32_t max_buffer_;
  uint32_t min_buffer_;
  uint32_t min_shift_;
  BufferAllocator allocator_;
};

}  // namespace aigw
