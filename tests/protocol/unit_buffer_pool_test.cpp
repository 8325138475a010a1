#include "protocol/unit_buffer_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace aigw {
namespace {

TEST(UnitBufferPool, SizeClassesAreTightAndMonotone) {
  UnitBufferPool pool(size_t{1} << 30, 16u << 20);
  EXPECT_EQ(pool.class_size(1), 4096u);
  EXPECT_EQ(pool.class_size(4096), 4096u);
  EXPECT_EQ(pool.class_size(4097), 5120u);
  EXPECT_EQ(pool.class_size(8192), 8192u);
  // The reference unit (946 fragments of 728 bytes) wastes little.
  EXPECT_EQ(pool.class_size(688688), 786432u);
  uint32_t prev = 0;
  for (uint32_t b = 1; b <= (16u << 20); b = b * 9 / 8 + 1) {
    const uint32_t c = pool.class_size(b);
    EXPECT_GE(c, b);
    EXPECT_GE(c, prev);
    if (b > 4096) {
      EXPECT_LT(c, b + b / 4 + 1) << b;
    }
    prev = c;
  }
  EXPECT_EQ(pool.class_size(16u << 20), 16u << 20);
}

TEST(UnitBufferPool, AcquireReleaseAccountsByCount) {
  UnitBufferPool pool(1 << 20, 1 << 20);
  {
    UnitHandle a = pool.acquire(100000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a.size(), 100000u);
    EXPECT_EQ(a.capacity(), pool.class_size(100000));
    std::memset(a.data(), 0xAB, a.size());
    UnitHandle b = pool.acquire(5000);
    ASSERT_TRUE(b);
    EXPECT_EQ(pool.buffers_in_use(), 2u);
    EXPECT_EQ(pool.bytes_in_use(), a.capacity() + b.capacity());
    UnitHandle c = std::move(a);
    EXPECT_FALSE(a);
    EXPECT_EQ(pool.buffers_in_use(), 2u);
    c = std::move(b);  // frees c's old buffer
    EXPECT_EQ(pool.buffers_in_use(), 1u);
  }
  EXPECT_EQ(pool.buffers_in_use(), 0u);
  EXPECT_EQ(pool.bytes_in_use(), 0u);
}

TEST(UnitBufferPool, BudgetRefusesAndReuses) {
  UnitBufferPool pool(3 * 65536, 1 << 20);
  std::vector<UnitHandle> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(pool.acquire(65536));
    ASSERT_TRUE(held.back());
  }
  EXPECT_FALSE(pool.acquire(65536));
  EXPECT_FALSE(pool.acquire(1));
  EXPECT_FALSE(pool.acquire(0));
  EXPECT_FALSE(pool.acquire((1 << 20) + 1));
  uint8_t* first = held[0].data();
  held[0].reset();
  UnitHandle again = pool.acquire(60000);  // same class: the freed buffer comes back
  EXPECT_EQ(again.data(), first);
  EXPECT_LE(pool.bytes_reserved(), pool.budget_bytes());
  held.clear();
  again.reset();
  EXPECT_EQ(pool.buffers_in_use(), 0u);
}

TEST(UnitBufferPool, IdleBuffersOfOtherClassesAreGivenBack) {
  UnitBufferPool pool(4 * 65536, 1 << 20);
  {
    std::vector<UnitHandle> small;
    for (int i = 0; i < 4; ++i) small.push_back(pool.acquire(65536));
  }
  EXPECT_EQ(pool.bytes_reserved(), 4u * 65536);
  UnitHandle big = pool.acquire(4 * 65536);  // needs the idle small ones trimmed
  ASSERT_TRUE(big);
  EXPECT_LE(pool.bytes_reserved(), pool.budget_bytes());
  big.reset();
  EXPECT_EQ(pool.buffers_in_use(), 0u);
}

TEST(UnitBufferPool, PrewarmCarvesUpFront) {
  UnitBufferPool pool(10 << 20, 1 << 20);
  EXPECT_EQ(pool.prewarm(688688 / 2, 5), 5u);
  EXPECT_EQ(pool.bytes_reserved(), 5u * pool.class_size(688688 / 2));
  EXPECT_EQ(pool.buffers_in_use(), 0u);
  // 10 MiB - 5 * 384 KiB leaves room for eight 1 MiB buffers.
  EXPECT_EQ(pool.class_size(688688 / 2), 393216u);
  EXPECT_EQ(pool.prewarm(1 << 20, 100), 8u);
  UnitHandle h = pool.acquire(688688 / 2);
  EXPECT_TRUE(h);
}

TEST(UnitBufferPool, BuffersComeFromTheAllocatorHookAndGoBackToIt) {
  struct Hook {
    std::vector<void*> live;
    size_t failures_left = 0;
  } hook;
  BufferAllocator a;
  a.user = &hook;
  a.alloc = [](void* u, size_t n) -> void* {
    auto* h = static_cast<Hook*>(u);
    if (h->failures_left > 0) {
      --h->failures_left;
      return nullptr;
    }
    void* p = ::operator new(n);
    h->live.push_back(p);
    return p;
  };
  a.free = [](void* u, void* p) {
    auto* h = static_cast<Hook*>(u);
    auto it = std::find(h->live.begin(), h->live.end(), p);
    ASSERT_NE(it, h->live.end());
    h->live.erase(it);
    ::operator delete(p);
  };
  {
    UnitBufferPool pool(4 * 65536, 1 << 20, 4096, a);
    UnitHandle x = pool.acquire(65536);
    ASSERT_TRUE(x);
    EXPECT_EQ(hook.live.size(), 1u);
    EXPECT_EQ(hook.live[0], x.data());
    x.reset();
    UnitHandle y = pool.acquire(65536);  // reused, not allocated again
    EXPECT_EQ(hook.live.size(), 1u);
    hook.failures_left = 1;  // the hook's own out-of-memory is an empty handle
    EXPECT_FALSE(pool.acquire(65536));
    EXPECT_TRUE(pool.acquire(65536));
    EXPECT_EQ(hook.live.size(), 2u);
  }
  EXPECT_TRUE(hook.live.empty());
}

}  // namespace
}  // namespace aigw
