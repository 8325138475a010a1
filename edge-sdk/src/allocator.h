// The application's allocator hook (aigw_edge_options.alloc/free) for the memory the
// SDK itself owns: the handle, per-stream state and unit buffers. Falls back to
// malloc/free. Allocation failure is reported as AIGW_ERR_NO_MEMORY, never thrown.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#include "aigw/edge.h"

namespace aigw::edge {

class Allocator {
 public:
  Allocator() = default;
  Allocator(aigw_alloc_fn alloc, aigw_free_fn free, void* user)
      : alloc_(alloc), free_(free), user_(user) {}

  void* allocate(size_t n) const { return alloc_ ? alloc_(user_, n) : std::malloc(n); }
  void release(void* p) const {
    if (p == nullptr) return;
    if (free_) {
      free_(user_, p);
    } else {
      std::free(p);
    }
  }

  /// Constructs a T in hooked memory; nullptr when the hook returns NULL.
  template <typename T, typename... Args>
  T* make(Args&&... args) const {
    void* mem = allocate(sizeof(T));
    return mem ? new (mem) T(std::forward<Args>(args)...) : nullptr;
  }
  template <typename T>
  void destroy(T* p) const {
    if (p == nullptr) return;
    p->~T();
    release(p);
  }

 private:
  aigw_alloc_fn alloc_ = nullptr;
  aigw_free_fn free_ = nullptr;
  void* user_ = nullptr;
};

/// A byte buffer from the hook, sized once (e.g. a stream's unit scratch buffer).
class HookBuffer {
 public:
  HookBuffer() = default;
  ~HookBuffer() { reset(); }
  HookBuffer(const HookBuffer&) = delete;
  HookBuffer& operator=(const HookBuffer&) = delete;

  bool allocate(const Allocator& a, size_t n) {
    reset();
    data_ = static_cast<uint8_t*>(a.allocate(n));
    if (data_ == nullptr) return false;
    alloc_ = a;
    size_ = n;
    return true;
  }
  void reset() {
    alloc_.release(data_);
    data_ = nullptr;
    size_ = 0;
  }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  Allocator alloc_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace aigw::edge
