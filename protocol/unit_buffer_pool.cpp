#include "protocol/unit_buffer_pool.h"

#include <algorithm>
#include <new>
#include <utility>

namespace aigw {

UnitHandle& UnitHandle::operator=(UnitHandle&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    index_ = std::exchange(o.index_, 0);
    sums_offset_ = std::exchange(o.sums_offset_, 0);
    sum_count_ = std::exchange(o.sum_count_, 0);
  }
  return *this;
}

void UnitHandle::reset() {
  if (pool_ != nullptr) pool_->release(index_);
  pool_ = nullptr;
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
  index_ = 0;
  sums_offset_ = 0;
  sum_count_ = 0;
}

namespace {

uint32_t floor_log2(uint32_t v) { return 31u - static_cast<uint32_t>(__builtin_clz(v)); }

}  // namespace

UnitBufferPool::UnitBufferPool(size_t budget_bytes, uint32_t max_buffer, uint32_t min_buffer,
                               const BufferAllocator& allocator)
    : budget_(budget_bytes), allocator_(allocator) {
  // Class arithmetic needs a power-of-two floor of at least 16 bytes.
  min_shift_ = std::max<uint32_t>(4, min_buffer <= 1 ? 0 : floor_log2(min_buffer - 1) + 1);
  min_buffer_ = 1u << min_shift_;
  max_buffer_ = std::max(max_buffer, min_buffer_);
  free_heads_.assign(class_index(max_buffer_) + 1, -1);
}

UnitBufferPool::~UnitBufferPool() {
  for (Slot& s : slots_) deallocate(s.bytes);
}

uint8_t* UnitBufferPool::allocate(uint32_t bytes) {
  if (allocator_.set()) return static_cast<uint8_t*>(allocator_.alloc(allocator_.user, bytes));
  return new (std::nothrow) uint8_t[bytes];
}

void UnitBufferPool::deallocate(uint8_t* p) {
  if (p == nullptr) return;
  if (allocator_.set()) {
    allocator_.free(allocator_.user, p);
  } else {
    delete[] p;
  }
}

// Class 0 is min_buffer; class i >= 1 is 2^k + s * 2^(k-2) with k = min_shift + (i-1)/4
// and s = 1 + (i-1)%4, so sizes run 1, 1.25, 1.5, 1.75, 2, 2.5, ... times min_buffer.
uint32_t UnitBufferPool::class_index(uint32_t bytes) const {
  if (bytes <= min_buffer_) return 0;
  const uint32_t k = floor_log2(bytes - 1);  // 2^k < bytes <= 2^(k+1)
  const uint32_t q = 1u << (k - 2);
  const uint32_t step = (bytes - (1u << k) + q - 1) / q;  // 1..4
  return 1 + (k - min_shift_) * 4 + (step - 1);
}

uint32_t UnitBufferPool::class_bytes(uint32_t cls) const {
  if (cls == 0) return min_buffer_;
  const uint32_t k = min_shift_ + (cls - 1) / 4;
  const uint32_t step = 1 + (cls - 1) % 4;
  const uint64_t raw = (uint64_t{4} + step) << (k - 2);
  return static_cast<uint32_t>(std::min<uint64_t>(raw, max_buffer_));
}

uint32_t UnitBufferPool::class_size(uint32_t bytes) const {
  return class_bytes(class_index(std::max(bytes, 1u)));
}

bool UnitBufferPool::trim_free_buffers(size_t need) {
  // Gives back idle buffers (any class) until `need` more bytes fit the budget.
  for (size_t c = 0; c < free_heads_.size() && reserved_ + need > budget_; ++c) {
    while (free_heads_[c] >= 0 && reserved_ + need > budget_) {
      const int32_t i = free_heads_[c];
      Slot& s = slots_[static_cast<size_t>(i)];
      free_heads_[c] = s.next_free;
      reserved_ -= s.capacity;
      deallocate(s.bytes);
      s.bytes = nullptr;
      s.next_free = vacant_head_;
      vacant_head_ = i;
    }
  }
  return reserved_ + need <= budget_;
}

int32_t UnitBufferPool::carve(uint32_t cls) {
  const uint32_t cap = class_bytes(cls);
  if (reserved_ + cap > budget_ && !trim_free_buffers(cap)) return -1;
  uint8_t* bytes = allocate(cap);
  if (bytes == nullptr) return -1;
  int32_t i = vacant_head_;
  if (i >= 0) {
    vacant_head_ = slots_[static_cast<size_t>(i)].next_free;
  } else {
    i = static_cast<int32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[static_cast<size_t>(i)];
  s.bytes = bytes;
  s.capacity = cap;
  s.cls = cls;
  s.next_free = -1;
  reserved_ += cap;
  return i;
}

UnitHandle UnitBufferPool::acquire(uint32_t bytes) {
  UnitHandle h;
  if (bytes == 0 || bytes > max_buffer_) return h;
  const uint32_t cls = class_index(bytes);
  const uint32_t cap = class_bytes(cls);
  if (in_use_ + cap > budget_) return h;
  int32_t i = free_heads_[cls];
  if (i >= 0) {
    free_heads_[cls] = slots_[static_cast<size_t>(i)].next_free;
  } else {
    i = carve(cls);
    if (i < 0) return h;
  }
  Slot& s = slots_[static_cast<size_t>(i)];
  in_use_ += cap;
  ++handed_out_;
  h.pool_ = this;
  h.data_ = s.bytes;
  h.capacity_ = cap;
  h.size_ = bytes;
  h.index_ = static_cast<uint32_t>(i);
  return h;
}

void UnitBufferPool::release(uint32_t index) {
  Slot& s = slots_[index];
  in_use_ -= s.capacity;
  --handed_out_;
  s.next_free = free_heads_[s.cls];
  free_heads_[s.cls] = static_cast<int32_t>(index);
}

size_t UnitBufferPool::prewarm(uint32_t bytes, size_t count) {
  if (bytes == 0 || bytes > max_buffer_) return 0;
  const uint32_t cls = class_index(bytes);
  const uint32_t cap = class_bytes(cls);
  size_t have = 0;
  for (int32_t i = free_heads_[cls]; i >= 0; i = slots_[static_cast<size_t>(i)].next_free) ++have;
  while (have < count && reserved_ + cap <= budget_) {
    const int32_t i = carve(cls);
    if (i < 0) break;
    slots_[static_cast<size_t>(i)].next_free = free_heads_[cls];
    free_heads_[cls] = i;
    ++have;
  }
  return have;
}

}  // namespace aigw
